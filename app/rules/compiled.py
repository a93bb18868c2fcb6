"""A règlement compiled for one reference date: everything that does not depend on the household
worked out once (dated parameters, thresholds and their phrases, fact readers, freshness limits),
so that evaluating a household is only reading facts, comparisons and assembling sentences.

`compile_plan(reglement, date_reference)` gives a `CompiledPlan` (kept in a bounded LRU per
règlement, so asking again is a dictionary lookup):

- `plan.evaluer(faits) -> Evaluation`: the full evaluation, every condition explained (what
  `engine.evaluer` returns, which goes through it);
- `plan.verdicts(faits) -> tuple[Verdict, ...]`: per aid only status, amount, tranche and the codes
  of the deciding conditions, no French sentence (re-evaluating journaled decisions in bulk).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from fractions import Fraction
from typing import Any
from weakref import WeakKeyDictionary

from app.rules import explain
from app.rules.comparison import (
    Presentation,
    Resolution,
    Resolveur,
    evaluer_feuille,
    source_commune,
)
from app.rules.comparison import presenter as presenter_resolution
from app.rules.dates import DatePartielle
from app.rules.derived import Incalculable, libelle_du_fait
from app.rules.facts import Fait, Faits, RefFait
from app.rules.model import Fraicheur, Reglement
from app.rules.montants import Calculateur, Calcule
from app.rules.motif import codes_decisifs, justifier, motif_a_verifier, motif_eligible, motif_non_eligible
from app.rules.plan import Feuille, PlanDispositif, PlanReglement, Preparation, Regles, plan
from app.rules.results import (
    BaremeApplique,
    ConditionEvaluee,
    Evaluation,
    ParametreApplique,
    ResultatDispositif,
    Statut,
    TrancheAppliquee,
)

#: Compiled (reference date, chosen aids) kept per règlement: requests mostly use "today", replays
#: the dates of the decisions they replay.
PLANS_EN_CACHE = 64

_SANS_MONTANT = Calcule()
_ELIGIBLE, _NON_ELIGIBLE, _A_VERIFIER = Statut.ELIGIBLE, Statut.NON_ELIGIBLE, Statut.A_VERIFIER

#: A fact's interval of values at the date, or None when it is unknown (missing, stale, after the
#: reference date or not computable): what a verdict needs of it.
Valeurs = tuple[Any, Any] | None
Lecture = Callable[[Mapping[str, Fait]], Valeurs]


@dataclass(slots=True)
class Verdict:
    """An aid's outcome without its sentences: what a replay compares with a journaled decision."""

    dispositif: str
    statut: Statut
    montant: Decimal | None  # when eligible
    tranche: str | None  # when eligible
    #: Codes of the conditions (leaves or groups) that decided, as in `ResultatDispositif.decisives`.
    decisives: tuple[str, ...]


def _mois(periode: str) -> int:
    annee = int(periode[:4])
    return annee * 12 + (int(periode[5:7]) - 1 if len(periode) >= 7 else 11)


class _Periodes:
    """Whether a period is usable at the reference date under some freshness rules, kept by period
    text (a few distinct ones recur: "2026-04", "2025"…)."""

    __slots__ = ("annee", "connues", "mois_reference", "regles")

    def __init__(self, jour: date, regles: Mapping[str, Fraicheur]) -> None:
        self.mois_reference = jour.year * 12 + jour.month - 1
        self.annee = jour.year
        self.regles = regles  # base fact → its freshness rule for this use
        self.connues: dict[tuple[str, str], bool] = {}

    def refusee(self, base: str, periode: str) -> bool:
        cle = (base, periode)
        refus = self.connues.get(cle)
        if refus is None:
            refus = self._refusee(base, periode)
            if len(self.connues) < 1024:
                self.connues[cle] = refus
        return refus

    def _refusee(self, base: str, periode: str) -> bool:
        # As `Resolveur._posterieure`, then `Resolveur._fraicheur`.
        if len(periode) >= 7 and _mois(periode) > self.mois_reference:
            return True
        regle = self.regles.get(base)
        if regle is None:
            return False
        if regle.mois is not None:
            return self.mois_reference - _mois(periode) > regle.mois
        if regle.annees is not None:
            return self.annee - int(periode[:4]) > regle.annees
        return False


def _lecture(ref: RefFait, regles: Regles, reglement: Reglement, jour: date) -> Lecture:
    """A reader of one fact under its freshness rules: its interval, or None when unknown."""
    catalogue = reglement.catalogue
    bases = catalogue.bases(ref.nom)
    periodes = _Periodes(jour, dict(regles))
    refusee = periodes.refusee
    nom = ref.nom
    definition = catalogue.derives.get(nom)
    if definition is None:

        def base(connus: Mapping[str, Fait]) -> Valeurs:
            fait = connus.get(nom)
            if fait is None:
                return None
            periode = fait.source.periode
            if periode is not None and refusee(nom, periode):
                return None
            valeur = fait.valeur
            if type(valeur) is DatePartielle:
                return valeur.earliest(), valeur.latest()
            return valeur, valeur

        return base
    calcul = definition.calcul

    def derive(connus: Mapping[str, Fait]) -> Valeurs:
        for nom_base in bases:
            fait = connus.get(nom_base)
            if fait is None:
                return None
            periode = fait.source.periode
            if periode is not None and refusee(nom_base, periode):
                return None
        try:
            return calcul(connus, jour, ref)  # type: ignore[no-any-return]
        except Incalculable:
            return None

    return derive


class _ValeursMontant(Resolveur):
    """What an amount reads, for verdicts: the values from the compiled readers, without the
    sources, notes and proofs a sentence would need."""

    __slots__ = ("compile", "connus", "reglement")

    def __init__(self, compile: _Compile, reglement: Reglement, faits: Faits) -> None:
        # Not Resolveur.__init__: nothing of it is used here.
        self.compile = compile
        self.reglement = reglement
        self.connus = faits.connus

    def resoudre_frais(self, ref: RefFait, regles: Regles) -> Resolution:
        lectures = self.compile.lectures_montant
        cle = (ref, regles)
        lecture = lectures.get(cle)
        if lecture is None:
            reglement = self.reglement
            lire = _lecture(ref, regles, reglement, self.compile.date_reference)
            libelle, unite = libelle_du_fait(ref, reglement.catalogue), reglement.catalogue.unite(ref.nom)
            lecture = lectures[cle] = (lire, libelle, unite)
        valeurs = lecture[0](self.connus)
        if valeurs is None:
            return Resolution(lecture[1], lecture[2], inconnu="inconnu")
        return Resolution(lecture[1], lecture[2], valeurs[0], valeurs[1])


Presenter = Callable[[Mapping[str, Fait], Resolveur, Feuille], Presentation]
_NOMBRES = (int, Decimal, Fraction)


def _presentation(feuille: Feuille, reglement: Reglement, jour: date) -> Presenter:
    """How a leaf's fact is read and shown for an explanation: a known base fact whose period
    needs no remark directly; anything else (derived facts, missing, stale or noted data) by the
    resolver, as the interpreted evaluation does."""
    ref = feuille.comparaison.fait
    catalogue = reglement.catalogue

    def general(connus: Mapping[str, Fait], resolveur: Resolveur, feuille: Feuille) -> Presentation:
        return resolveur.presenter(feuille)

    if ref.nom in catalogue.derives:
        return _presentation_derivee(feuille, reglement, jour, general)
    nom = ref.nom
    libelle, unite = libelle_du_fait(ref, catalogue), catalogue.unite(nom)
    piece = catalogue.faits[nom].piece_justificative
    pieces = (piece,) if piece else ()
    regle = dict(feuille.regles).get(nom)
    mois_reference = jour.year * 12 + jour.month - 1
    simples: dict[str, bool] = {}

    def simple(periode: str) -> bool:
        """Usable at the date, and without a remark (as `Resolveur._posterieure`, `_fraicheur`)."""
        if len(periode) >= 7 and _mois(periode) > mois_reference:
            return False
        if regle is None:
            return True
        if regle.mois is not None:
            return mois_reference - _mois(periode) <= regle.mois
        if regle.annees is not None:
            return jour.year - int(periode[:4]) <= 1
        return True

    afficher, source_de, montrer = explain.afficher, explain.source, explain.montrer

    def base(connus: Mapping[str, Fait], resolveur: Resolveur, feuille: Feuille) -> Presentation:
        fait = connus.get(nom)
        if fait is None:
            return resolveur.presenter(feuille)
        valeur, source = fait.valeur, fait.source
        periode = source.periode
        if periode is not None:
            utilisable = simples.get(periode)
            if utilisable is None:
                utilisable = simple(periode)
                if len(simples) < 256:
                    simples[periode] = utilisable
            if not utilisable:
                return resolveur.presenter(feuille)
        if type(valeur) is DatePartielle:
            return resolveur.presenter(feuille)
        resolution = Resolution(libelle, unite, valeur, valeur, source, ((nom, source),), None, pieces)
        resolveur.memo[ref] = resolution  # the amounts may read it too
        texte = afficher(valeur, unite)
        origine = source_de(source)
        contexte = f"{texte}, {origine}" if origine else texte
        return Presentation(resolution, contexte, montrer(valeur), True, type(valeur) in _NOMBRES)

    return base


def _presentation_derivee(
    feuille: Feuille, reglement: Reglement, jour: date, general: Presenter
) -> Presenter:
    """A derived fact whose bases are all known and usable without remark, computed directly (as
    `Resolveur._resoudre`); anything else by the resolver."""
    ref = feuille.comparaison.fait
    catalogue = reglement.catalogue
    definition = catalogue.derives[ref.nom]
    libelle, unite = libelle_du_fait(ref, catalogue), catalogue.unite(ref.nom)
    bases = catalogue.bases(ref.nom)
    pieces = tuple(dict.fromkeys(p for n in bases if (p := catalogue.faits[n].piece_justificative)))
    regles = dict(feuille.regles)
    mois_reference = jour.year * 12 + jour.month - 1
    simples: dict[tuple[str, str], bool] = {}

    def simple(base: str, periode: str) -> bool:
        if len(periode) >= 7 and _mois(periode) > mois_reference:
            return False
        regle = regles.get(base)
        if regle is None:
            return True
        if regle.mois is not None:
            return mois_reference - _mois(periode) <= regle.mois
        if regle.annees is not None:
            return jour.year - int(periode[:4]) <= 1
        return True

    calcul, detail = definition.calcul, definition.detail

    def derivee(connus: Mapping[str, Fait], resolveur: Resolveur, feuille: Feuille) -> Presentation:
        sources = []
        for base in bases:
            fait = connus.get(base)
            if fait is None:
                return general(connus, resolveur, feuille)
            source = fait.source
            periode = source.periode
            if periode is not None:
                cle = (base, periode)
                utilisable = simples.get(cle)
                if utilisable is None:
                    utilisable = simple(base, periode)
                    if len(simples) < 256:
                        simples[cle] = utilisable
                if not utilisable:
                    return general(connus, resolveur, feuille)
            sources.append((base, source))
        try:
            bas, haut = calcul(connus, jour, ref)
            note = None if detail is None else detail(connus, jour)
        except Incalculable:
            return general(connus, resolveur, feuille)
        source = sources[0][1] if len(sources) == 1 else source_commune(sources)
        resolution = Resolution(libelle, unite, bas, haut, source, tuple(sources), None, pieces, note)
        resolveur.memo[ref] = resolution  # the amounts may read it too
        return presenter_resolution(resolution)

    return derivee


def _issue_inconnue(feuille: Any, valeur_seuil: Any) -> bool | None:
    """A leaf on an unknown fact, read as the règlement says (as `comparison._si_inconnu`)."""
    regle = feuille.si_inconnu
    if regle is None:
        return None
    if regle in ("remplie", "non_remplie"):
        return regle == "remplie"
    defaut = feuille.comparaison.valeur_si_inconnu
    return bool(feuille.comparer(defaut, defaut, valeur_seuil))


class _Aide:
    """One chosen aid, compiled: where its leaves are among the distinct ones, and its amount rule."""

    __slots__ = ("base_legale", "compile", "id", "libelle", "montant", "positions", "regle")

    def __init__(self, compile: PlanDispositif, positions: tuple[int, ...]) -> None:
        self.compile = compile
        self.positions = positions
        dispositif = compile.dispositif
        self.id = dispositif.id
        self.libelle = dispositif.libelle
        self.base_legale = dispositif.base_legale
        self.regle = dispositif.montant
        self.montant = compile.montant if dispositif.montant is not None else None


class _Compile:
    """What a `CompiledPlan` holds, kept in the cache: nothing here refers to the règlement (the
    cache entry goes with it), which each call passes."""

    __slots__ = (
        "_aides",
        "_compile",
        "_feuilles",
        "_lectures",
        "_preparation",
        "_presentations",
        "_presenteurs",
        "_seuils",
        "_valeurs_seuils",
        "date_reference",
        "lectures_montant",
    )

    def __init__(
        self, reglement: Reglement, compile: PlanReglement, preparation: Preparation, jour: date
    ) -> None:
        self.date_reference = jour
        self._compile = compile
        self._preparation = preparation
        self._feuilles = preparation.feuilles
        self._seuils = preparation.seuils
        self._valeurs_seuils = tuple(s.valeur for s in preparation.seuils)
        self._aides = tuple(
            _Aide(p, i) for p, i in zip(preparation.plans, preparation.positions, strict=True)
        )
        lectures: dict[int, Lecture] = {}
        for feuille in preparation.feuilles:
            if feuille.presentation not in lectures:
                lectures[feuille.presentation] = _lecture(
                    feuille.comparaison.fait, feuille.regles, reglement, jour
                )
        self._lectures = tuple(lectures[f.presentation] for f in preparation.feuilles)
        presenteurs: dict[int, Presenter] = {}
        for feuille in preparation.feuilles:
            if feuille.presentation not in presenteurs:
                presenteurs[feuille.presentation] = _presentation(feuille, reglement, jour)
        self._presenteurs = tuple(presenteurs[f.presentation] for f in preparation.feuilles)
        self._presentations = tuple(f.presentation for f in preparation.feuilles)
        # What the amounts read, compiled on first use (a few per règlement).
        self.lectures_montant: dict[tuple[RefFait, Regles], tuple[Lecture, str, str | None]] = {}

    # -- the full evaluation --------------------------------------------------------------------

    def evaluer(self, reglement: Reglement, faits: Faits) -> Evaluation:
        compile = self._compile
        preparation = self._preparation
        jour = self.date_reference
        resolveur = Resolveur(faits, jour, compile.presentations, reglement.catalogue)
        connus = faits.connus
        presentations = resolveur.presentations
        conditions = []
        for feuille, seuil, presenter, rang in zip(
            self._feuilles, self._seuils, self._presenteurs, self._presentations, strict=True
        ):
            presentation = presentations[rang]
            if presentation is None:
                presentation = presentations[rang] = presenter(connus, resolveur, feuille)
            conditions.append(evaluer_feuille(feuille, seuil, presentation))
        montants: list[Calcule | None] = [None] * compile.montants
        resultats = tuple(
            [self._resultat(reglement, a, conditions, montants, resolveur) for a in self._aides]
        )
        return Evaluation(
            compile.reference, jour, resultats, preparation.parametres_appliques,
            tuple([b for b in preparation.faits_de_base if b in connus]), preparation.baremes_appliques,
        )  # fmt: skip

    def _montant(
        self,
        reglement: Reglement,
        aide: _Aide,
        montants: list[Calcule | None],
        resolveur: Resolveur,
        *,
        rediger: bool = True,
    ) -> Calcule:
        rang, regle = aide.montant, aide.regle
        if rang is None or regle is None:
            return _SANS_MONTANT
        calcule = montants[rang]
        if calcule is None:
            regles = aide.compile.regles_montant
            calculateur = Calculateur(
                reglement, resolveur, self._preparation.vigueur, regles, rediger=rediger
            )
            calcule = montants[rang] = calculateur.montant(regle)
        return calcule

    def _resultat(
        self,
        reglement: Reglement,
        aide: _Aide,
        calculees: list[Any],
        montants: list[Calcule | None],
        resolveur: Resolveur,
    ) -> ResultatDispositif:
        compile = aide.compile
        champs = [calculees[i] for i in aide.positions]
        conditions = tuple(
            [ConditionEvaluee(*c, code) for c, code in zip(champs, compile.codes, strict=True)]
        )
        satisfaites = [c[4] for c in champs]
        if compile.plat:
            verdict = False if False in satisfaites else None if None in satisfaites else True
        else:
            verdict = compile.racine.evaluer(satisfaites)
        montant = _SANS_MONTANT
        pieces: tuple[str, ...] = ()
        if verdict is True and aide.montant is not None:
            montant = self._montant(reglement, aide, montants, resolveur)
        justification = justifier(compile.racine, satisfaites, verdict, compile.libelles, compile.codes)
        decisives = justification.codes
        if verdict is True and not montant.vide:
            statut = _ELIGIBLE
            motif = motif_eligible(justification, montant.phrase)
        elif verdict is False:
            statut = _NON_ELIGIBLE
            motif = motif_non_eligible(justification)
        else:
            statut = _A_VERIFIER
            if verdict is True:  # every condition holds, the amount cannot be worked out
                demandees: list[str] = []
                phrases, groupes, decisives = montant.vide, False, ["montant"]
            else:
                demandees = [p for i in justification.feuilles if (p := conditions[i].piece_justificative)]
                phrases, groupes = justification.phrases, justification.groupes
            pieces = tuple(dict.fromkeys([*demandees, *montant.pieces]))
            motif = motif_a_verifier(phrases, groupes, pieces)
        eligible = statut is _ELIGIBLE
        return ResultatDispositif(
            aide.id, aide.libelle, statut, motif, conditions,
            montant.montant if eligible else None, montant.tranche if eligible else None,
            pieces, aide.base_legale, compile.deliberation, tuple(decisives),
        )  # fmt: skip

    # -- verdicts only --------------------------------------------------------------------------

    def verdicts(self, reglement: Reglement, faits: Faits) -> tuple[Verdict, ...]:
        connus = faits.connus
        issues: list[bool | None] = []
        ajouter = issues.append
        for feuille, lire, seuil in zip(self._feuilles, self._lectures, self._valeurs_seuils, strict=True):
            valeurs = lire(connus)
            if valeurs is None:
                ajouter(_issue_inconnue(feuille, seuil))
            elif type(valeurs[0]) is Fraction:
                ajouter(feuille.comparer(valeurs[0], valeurs[1], Fraction(seuil)))
            else:
                ajouter(feuille.comparer(valeurs[0], valeurs[1], seuil))
        resolveur: Resolveur | None = None
        montants: list[Calcule | None] = [None] * self._compile.montants
        resultats = []
        for aide in self._aides:
            compile = aide.compile
            satisfaites = [issues[i] for i in aide.positions]
            if compile.plat:
                verdict = False if False in satisfaites else None if None in satisfaites else True
            else:
                verdict = compile.racine.evaluer(satisfaites)
            montant = _SANS_MONTANT
            if verdict is True and aide.montant is not None:
                if resolveur is None:
                    resolveur = _ValeursMontant(self, reglement, faits)
                montant = self._montant(reglement, aide, montants, resolveur, rediger=False)
            if verdict is True and montant.vide:
                resultats.append(Verdict(aide.id, _A_VERIFIER, None, None, ("montant",)))
                continue
            codes = codes_decisifs(compile.racine, satisfaites, verdict, compile.codes)
            if verdict is True:
                resultats.append(Verdict(aide.id, _ELIGIBLE, montant.montant, montant.tranche, tuple(codes)))
            else:
                statut = _NON_ELIGIBLE if verdict is False else _A_VERIFIER
                resultats.append(Verdict(aide.id, statut, None, None, tuple(codes)))
        return tuple(resultats)


class DispositifInconnu(ValueError):
    """An aid id that the règlement does not declare."""


class ParametreSansValeur(ValueError):
    """The reference date is before the first value of a parameter or barème the aids use."""


def verifier_applicable(
    reglement: Reglement, date_reference: date, dispositifs: Sequence[str] | None = None
) -> None:
    """Raise `DispositifInconnu` or `ParametreSansValeur` now, before any data is fetched."""
    compiler(reglement, date_reference, dispositifs)


def preparer(
    compile: PlanReglement, reglement: Reglement, date_reference: date, dispositifs: Sequence[str] | None
) -> Preparation:
    """The dated data the chosen aids need, prepared once per (date, aids) and kept."""
    cle = (date_reference, None if dispositifs is None else tuple(dispositifs))
    preparation = compile.preparations.get(cle)
    if preparation is None:
        preparation = _preparation(compile, reglement, date_reference, dispositifs)
        compile.garder(cle, preparation)
    return preparation


def _preparation(
    compile: PlanReglement, reglement: Reglement, date_reference: date, dispositifs: Sequence[str] | None
) -> Preparation:
    if dispositifs is None:
        choisis = reglement.dispositifs
    else:
        inconnus = [d for d in dispositifs if reglement.dispositif(d) is None]
        if inconnus:
            raise DispositifInconnu(f"dispositif inconnu du règlement « {reglement.id} » : « {inconnus[0]} »")
        voulus = set(dispositifs)
        choisis = tuple(d for d in reglement.dispositifs if d.id in voulus)
    vigueur = reglement.en_vigueur(date_reference)
    plans = tuple(compile.dispositifs[d.id] for d in choisis)
    parametres = sorted(set().union(*(p.parametres for p in plans)))
    baremes = sorted(set().union(*(p.baremes for p in plans)))
    appliques = []
    for nom in parametres:
        valeur = vigueur.parametres[nom]
        if valeur is None:
            premiere = reglement.parametres[nom].valeurs[0].depuis
            raise ParametreSansValeur(
                f"le paramètre « {nom} » n'a pas de valeur au {explain.jour(date_reference)} "
                f"(première valeur en vigueur le {explain.jour(premiere)})"
            )
        appliques.append(
            ParametreApplique(nom, valeur.valeur, valeur.depuis, explain.deliberation(valeur.deliberation))
        )
    baremes_appliques = []
    for nom in baremes:
        version = vigueur.baremes[nom]
        if version is None:
            premiere = reglement.baremes[nom].versions[0].depuis
            raise ParametreSansValeur(
                f"le barème « {nom} » n'a pas de version au {explain.jour(date_reference)} "
                f"(première version en vigueur le {explain.jour(premiere)})"
            )
        tranches = tuple(
            TrancheAppliquee(t.de, t.moins_de, t.montant, t.libelle, t.jusqu_a, t.plus_de, t.montants)
            for t in version.tranches
        )
        deliberation = explain.deliberation(version.deliberation)
        baremes_appliques.append(BaremeApplique(nom, version.depuis, deliberation, tranches))
    feuilles: dict[Feuille, int] = {}  # distinct leaves of the chosen aids, by first use
    positions = tuple(tuple(feuilles.setdefault(f, len(feuilles)) for f in p.feuilles) for p in plans)
    seuils = tuple(f.seuil(date_reference, vigueur) for f in feuilles)
    bases = sorted(set().union(*(p.faits_de_base for p in plans)))
    return Preparation(
        plans,
        vigueur,
        tuple(feuilles),
        seuils,
        positions,
        tuple(appliques),
        tuple(baremes_appliques),
        tuple(bases),
    )


# Kept as long as the règlement (simulations load one per request), at most PLANS_EN_CACHE per règlement.
_COMPILES: WeakKeyDictionary[Reglement, OrderedDict[tuple[date, tuple[str, ...] | None], _Compile]] = (
    WeakKeyDictionary()
)


class CompiledPlan:
    """The chosen aids of a règlement at one reference date, ready to evaluate households."""

    __slots__ = ("_compile", "date_reference", "reglement")

    def __init__(self, reglement: Reglement, compile: _Compile) -> None:
        self.reglement = reglement
        self.date_reference = compile.date_reference
        self._compile = compile

    def evaluer(self, faits: Faits) -> Evaluation:
        """Every chosen aid evaluated on `faits`, every condition explained (as `engine.evaluer`)."""
        return self._compile.evaluer(self.reglement, faits)

    def verdicts(self, faits: Faits) -> tuple[Verdict, ...]:
        """Per chosen aid, in the règlement's order: status, amount, tranche and deciding codes,
        exactly what `evaluer` gives, without any sentence."""
        return self._compile.verdicts(self.reglement, faits)


def compile_plan(
    reglement: Reglement, date_reference: date, dispositifs: Sequence[str] | None = None
) -> CompiledPlan:
    """The chosen aids (all by default) of `reglement` compiled for `date_reference`; compiled once,
    then kept (bounded LRU per règlement). Raises `DispositifInconnu` or `ParametreSansValeur` (from
    this module) as `evaluer` does."""
    return CompiledPlan(reglement, compiler(reglement, date_reference, dispositifs))


def compiler(
    reglement: Reglement, date_reference: date, dispositifs: Sequence[str] | None = None
) -> _Compile:
    caches = _COMPILES.get(reglement)
    if caches is None:
        caches = _COMPILES[reglement] = OrderedDict()
    cle = (date_reference, None if dispositifs is None else tuple(dispositifs))
    compile_ = caches.get(cle)
    if compile_ is not None:
        caches.move_to_end(cle)
        return compile_
    compile = plan(reglement)
    preparation = preparer(compile, reglement, date_reference, dispositifs)
    compile_ = caches[cle] = _Compile(reglement, compile, preparation, date_reference)
    if len(caches) > PLANS_EN_CACHE:
        caches.popitem(last=False)
    return compile_
