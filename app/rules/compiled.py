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
from typing import Any, TypeVar
from weakref import WeakKeyDictionary

from app.rules import explain, generation
from app.rules.comparison import (
    Resolveur,
    expliquer_feuille,
    expliquer_une_fois,
)
from app.rules.derived import Foyer
from app.rules.facts import Fait, Faits
from app.rules.generation import Verdicts
from app.rules.lecteurs import (
    Lecture,
    LecturesMontant,
    Presenter,
    Valeurs,
    ValeursMontant,
    explication_directe,
    issue_inconnue,
    lecture,
    presentation,
)
from app.rules.memos import MemoMontant
from app.rules.model import Reglement
from app.rules.montants import Calculateur, Calcule
from app.rules.montants_compiles import Montant_, compiler_montant
from app.rules.montants_rediges import Repli, rediger_montant
from app.rules.motif import (
    Justification,
    codes_decisifs,
    justifier,
    motif_a_verifier,
    motif_eligible,
    motif_non_eligible,
)
from app.rules.plan import Feuille, PlanDispositif, PlanReglement, Preparation, plan
from app.rules.results import (
    BaremeApplique,
    ConditionEvaluee,
    Evaluation,
    ParametreApplique,
    ResultatDispositif,
    Statut,
    TrancheAppliquee,
    evaluation,
)

#: Compiled (reference date, chosen aids) kept per règlement: requests mostly use "today", replays
#: the dates of the decisions they replay.
PLANS_EN_CACHE = 64

T = TypeVar("T")
_SANS_MONTANT = Calcule()
_ELIGIBLE, _NON_ELIGIBLE, _A_VERIFIER = Statut.ELIGIBLE, Statut.NON_ELIGIBLE, Statut.A_VERIFIER


@dataclass(slots=True)
class Verdict:
    """An aid's outcome without its sentences: what a replay compares with a journaled decision."""

    dispositif: str
    statut: Statut
    montant: Decimal | None  # when eligible
    tranche: str | None  # when eligible
    #: Codes of the conditions (leaves or groups) that decided, as in `ResultatDispositif.decisives`.
    decisives: tuple[str, ...]


#: An aid's justification by the outcomes of its leaves: verdict, the conditions that decided, the
#: motif without its amount (when decided) and the deciding codes.
Entree = tuple[bool | None, Justification, str, tuple[str, ...]]

#: Justifications kept per aid, by the outcomes of its leaves (3 ** leaves at most).
JUSTIFICATIONS_EN_MEMO = 4096
#: The base facts an evaluation used, kept by the names of the facts a household gave, at most.
UTILISES_EN_MEMO = 256


class _Aide:
    """One chosen aid, compiled: where its leaves are among the distinct ones, its amount rule,
    and its justifications by the outcomes of its leaves (they depend on nothing else)."""

    __slots__ = (
        "base_legale", "codes", "compile", "id", "justifications", "libelle", "montant", "positions",
        "regle",
    )  # fmt: skip

    def __init__(self, compile: PlanDispositif, positions: tuple[int, ...]) -> None:
        self.compile = compile
        self.positions = positions
        dispositif = compile.dispositif
        self.id = dispositif.id
        self.libelle = dispositif.libelle
        self.base_legale = dispositif.base_legale
        self.regle = dispositif.montant
        self.montant = compile.montant if dispositif.montant is not None else None
        #: outcomes → (verdict, justification, the motif without its amount when decided, codes)
        self.justifications: dict[tuple[bool | None, ...], Entree] = {}
        #: outcomes → (verdict, deciding codes), for verdicts
        self.codes: dict[tuple[bool | None, ...], tuple[bool | None, tuple[str, ...]]] = {}

    def _verdict(self, satisfaites: list[bool | None]) -> bool | None:
        """The aid's three-valued verdict from its leaves' outcomes."""
        if self.compile.plat:
            return False if False in satisfaites else None if None in satisfaites else True
        return self.compile.racine.evaluer(satisfaites)

    def justification(self, issues: tuple[bool | None, ...]) -> Entree:
        entree = self.justifications.get(issues)
        if entree is None:
            compile = self.compile
            satisfaites = list(issues)
            verdict = self._verdict(satisfaites)
            justification = justifier(compile.racine, satisfaites, verdict, compile.libelles, compile.codes)
            if verdict is True:
                texte = motif_eligible(justification, None)
            elif verdict is False:
                texte = motif_non_eligible(justification)
            else:
                texte = ""
            if len(self.justifications) >= JUSTIFICATIONS_EN_MEMO:
                self.justifications.clear()
            entree = self.justifications[issues] = (verdict, justification, texte, tuple(justification.codes))
        return entree

    def decisives(self, issues: tuple[bool | None, ...]) -> tuple[bool | None, tuple[str, ...]]:
        entree = self.codes.get(issues)
        if entree is None:
            compile = self.compile
            satisfaites = list(issues)
            verdict = self._verdict(satisfaites)
            codes = tuple(codes_decisifs(compile.racine, satisfaites, verdict, compile.codes))
            if len(self.codes) >= JUSTIFICATIONS_EN_MEMO:
                self.codes.clear()
            entree = self.codes[issues] = (verdict, codes)
        return entree


class _Compile:
    """What a `CompiledPlan` holds, kept in the cache: nothing here refers to the règlement (the
    cache entry goes with it), which each call passes."""

    __slots__ = (
        "_aides",
        "_compile",
        "_evaluation",
        "_explications",
        "_faits_utilises",
        "_feuilles",
        "_genere",
        "_lectures",
        "_memos_rediges",
        "_memos_verdicts",
        "_montants_compiles",
        "_montants_rediges",
        "_preparation",
        "_presentations",
        "_valeurs_seuils",
        "date_reference",
        "lectures_montant",
        "source_evaluation",
        "source_verdicts",
    )

    def __init__(
        self, reglement: Reglement, compile: PlanReglement, preparation: Preparation, jour: date
    ) -> None:
        self.date_reference = jour
        self._compile = compile
        self._preparation = preparation
        self._feuilles = preparation.feuilles
        self._valeurs_seuils = tuple(s.valeur for s in preparation.seuils)
        self._aides = tuple(
            _Aide(p, i) for p, i in zip(preparation.plans, preparation.positions, strict=True)
        )
        lectures: dict[int, Lecture] = {}
        for feuille in preparation.feuilles:
            if feuille.presentation not in lectures:
                lectures[feuille.presentation] = lecture(
                    feuille.comparaison.fait, feuille.regles, reglement, jour
                )
        self._lectures = tuple(lectures[f.presentation] for f in preparation.feuilles)
        presenteurs: dict[int, Presenter] = {}
        for feuille in preparation.feuilles:
            if feuille.presentation not in presenteurs:
                presenteurs[feuille.presentation] = presentation(feuille, reglement, jour)
        self._presentations = tuple(f.presentation for f in preparation.feuilles)
        # Each leaf's conditions made at once (in the order the aids take them), kept by value and
        # source: by its direct explanation for a yes/no or a text (`partagee`), else by its
        # explanation from a presentation for a count or an age (`une_fois`); a number read
        # directly (`directe`) has its conditions made per household.
        liasses = generation.liasses(
            ConditionEvaluee, len(preparation.feuilles), [(a.positions, a.compile.codes) for a in self._aides]
        )
        self._explications = []
        for f, s, liasse in zip(preparation.feuilles, preparation.seuils, liasses, strict=True):
            partagee = explication_directe(f, s, reglement, jour, liasse)
            directe = None if partagee is not None else explication_directe(f, s, reglement, jour)
            une_fois = expliquer_une_fois(f, s, liasse) if partagee is None and directe is None else None
            self._explications.append(
                generation.FeuilleExpliquee(
                    f,
                    f.presentation,
                    presenteurs[f.presentation],
                    directe,
                    expliquer_feuille(f, s),
                    partagee=partagee,
                    liasse=liasse,
                    une_fois=une_fois,
                )
            )
        # The full evaluation as one generated function, made on first use.
        self._evaluation: generation.Evaluations | None = None
        self.source_evaluation = ""
        # The base facts used (`Evaluation.faits_utilises`) by the names of the known facts, in
        # their order: households giving the same facts share one tuple.
        self._faits_utilises: dict[tuple[str, ...], tuple[str, ...]] = {}
        # What the amounts read, compiled on first use (a few per règlement).
        self.lectures_montant: LecturesMontant = {}
        # Amounts by the values they read, per distinct amount rule: with their sentence, without.
        self._memos_rediges = tuple(MemoMontant() for _ in range(compile.montants))
        self._memos_verdicts = tuple(MemoMontant() for _ in range(compile.montants))
        # The verdicts as one generated function, made on first use (None: not yet).
        self._genere: Verdicts | bool | None = None
        # The amount rules compiled for verdicts, on first use (False: left to `Calculateur`).
        self._montants_compiles: list[Montant_ | bool | None] = [None] * compile.montants
        # The amount rules with their sentences, compiled on first use (False: left to `Calculateur`).
        self._montants_rediges: list[Callable[[Mapping[str, Fait]], Calcule] | bool | None] = [
            None
        ] * compile.montants
        self.source_verdicts = ""

    # -- the full evaluation --------------------------------------------------------------------

    def evaluer(self, reglement: Reglement, faits: Faits) -> Evaluation:
        compile = self._compile
        preparation = self._preparation
        jour = self.date_reference
        genere = self._evaluation
        if genere is None:
            genere = self._evaluation = self._generer_evaluation()
        connus = _foyer(faits, jour)
        resolveur = Resolveur(faits, jour, compile.presentations, reglement.catalogue, connus)
        montants: list[Calcule | None] = [None] * compile.montants
        resultats = genere(reglement, connus, resolveur, resolveur.presentations, montants)
        return evaluation(
            compile.reference, jour, resultats, preparation.parametres_appliques, self._utilises(connus),
            preparation.baremes_appliques,
        )  # fmt: skip

    def _utilises(self, connus: Foyer) -> tuple[str, ...]:
        """The plan's base facts that `connus` knows, in the plan's order: kept by the names of
        the known facts (a few sets of facts recur), at most `UTILISES_EN_MEMO`."""
        noms = tuple(connus)
        utilises = self._faits_utilises.get(noms)
        if utilises is None:
            utilises = tuple(filter(connus.__contains__, self._preparation.faits_de_base))
            if len(self._faits_utilises) < UTILISES_EN_MEMO:
                self._faits_utilises[noms] = utilises
        return utilises

    def _generer_evaluation(self) -> generation.Evaluations:
        """The generated evaluation function (generation.py): each distinct leaf explained once,
        then each aid's result."""
        aides = [
            generation.AideExpliquee(a, a.positions, a.compile.codes, a.montant is not None)
            for a in self._aides
        ]
        fonction, self.source_evaluation = generation.generer_evaluation(
            self._explications,
            aides,
            condition=ConditionEvaluee,
            resultat=ResultatDispositif,
            statuts=(_ELIGIBLE, _NON_ELIGIBLE, _A_VERIFIER),
            montant=self._montant,
            a_verifier=_a_verifier,
            sans_montant=_SANS_MONTANT,
        )
        return fonction

    def _montant(
        self,
        reglement: Reglement,
        aide: _Aide,
        montants: list[Calcule | None],
        resolveur: Resolveur,
        *,
        rediger: bool = True,
    ) -> Calcule:
        rang = aide.montant
        if rang is None:
            return _SANS_MONTANT
        calcule = montants[rang]
        if calcule is not None:
            return calcule
        if rediger:
            # The usual case first, asked rather than checked: the written rule compiled (a
            # callable), reading known values that decide. `None` (not compiled yet) and `False`
            # (left to `Calculateur`) are not callable: TypeError; `Repli`: `Calculateur` writes it.
            try:
                calcule = montants[rang] = self._montants_rediges[rang](resolveur.connus)  # type: ignore[operator,misc]
                return calcule
            except Repli:
                pass
            except TypeError:
                redige = self._montants_rediges[rang]
                if redige is None:
                    self._montants_rediges[rang] = self._rediger_montant(reglement, aide)
                    return self._montant(reglement, aide, montants, resolveur)
                if redige is not False:
                    raise  # from the compiled rule itself
        return self._calculateur(reglement, aide, montants, resolveur, rediger)

    def _calculateur(
        self, reglement: Reglement, aide: _Aide, montants: list[Calcule | None], resolveur: Resolveur,
        rediger: bool,
    ) -> Calcule:  # fmt: skip
        """The amount by `Calculateur` and its memo (what the compiled rules leave to it)."""
        rang, regle = aide.montant, aide.regle
        if rang is None or regle is None:  # pragma: no cover - the caller checks it
            return _SANS_MONTANT
        regles = aide.compile.regles_montant
        vigueur = self._preparation.vigueur

        def calculer(lecteur: Resolveur) -> Calcule:
            calculateur = Calculateur(reglement, lecteur, vigueur, regles, rediger=rediger)
            return calculateur.montant(regle)

        memo = (self._memos_rediges if rediger else self._memos_verdicts)[rang]
        calcule = montants[rang] = memo.calcule(resolveur, calculer)
        return calcule

    # -- verdicts only --------------------------------------------------------------------------

    def _issues(self, connus: Mapping[str, Fait]) -> list[bool | None]:
        """The outcome of each distinct leaf (each fact read once)."""
        issues: list[bool | None] = []
        ajouter = issues.append
        lues: list[Valeurs | bool] = [False] * self._compile.presentations  # False: not read yet
        for feuille, lire, seuil, rang in zip(
            self._feuilles, self._lectures, self._valeurs_seuils, self._presentations, strict=True
        ):
            valeurs = lues[rang]
            if valeurs is False:
                valeurs = lues[rang] = lire(connus)
            if valeurs is None:
                ajouter(issue_inconnue(feuille, seuil))
            elif type(valeurs[0]) is Fraction:  # type: ignore[index]
                ajouter(feuille.comparer(valeurs[0], valeurs[1], Fraction(seuil)))  # type: ignore[index]
            else:
                ajouter(feuille.comparer(valeurs[0], valeurs[1], seuil))  # type: ignore[index]
        return issues

    def verdicts(self, reglement: Reglement, faits: Faits) -> tuple[Verdict, ...]:
        genere = self._genere
        if genere is None:
            genere = self._genere = self._generer()
        if genere is not False:
            connus = _foyer(faits, self.date_reference)
            return genere(reglement, connus, _EtatMontants(connus, self._compile.montants))  # type: ignore[operator]
        return self._verdicts(reglement, faits)

    def _generer(self) -> Verdicts | bool:
        """The generated verdicts function (generation.py); False when a leaf's outcome on an
        unknown fact cannot be worked out in advance (the loop below then serves)."""
        try:
            feuilles = [
                generation.Feuille(f.presentation, f.operateur, s, issue_inconnue(f, s), f.comparer)
                for f, s in zip(self._feuilles, self._valeurs_seuils, strict=True)
            ]
        except (TypeError, ArithmeticError):  # pragma: no cover - a default value the loader let through
            return False
        lectures: list[Lecture] = [lecture_absente] * self._compile.presentations
        for f, lire in zip(self._feuilles, self._lectures, strict=True):
            lectures[f.presentation] = lire
        aides = [
            generation.Aide(a.id, a.positions, a.codes, a.decisives, a.montant is not None)
            for a in self._aides
        ]
        fonction, self.source_verdicts = generation.generer(
            lectures,
            feuilles,
            aides,
            montant=self._montant_verdict,
            verdict=Verdict,
            statuts=(_ELIGIBLE, _NON_ELIGIBLE, _A_VERIFIER),
        )
        return fonction

    def _montant_verdict(self, reglement: Reglement, rang: int, etat: _EtatMontants) -> Any:
        """An eligible aid's amount for verdicts: its rule compiled (montants_compiles.py), each
        distinct rule once per household; the general computation if it could not be compiled."""
        aide = self._aides[rang]
        regle = aide.montant
        if regle is None:
            return _SANS_MONTANT
        calcule = etat.montants[regle]
        if calcule is None:
            compile = self._montants_compiles[regle]
            if compile is None:
                compile = self._montants_compiles[regle] = self._compiler_montant(reglement, aide)
            if compile is False:
                resolveur = etat.resolveur
                if resolveur is None:
                    resolveur = etat.resolveur = ValeursMontant(
                        self.lectures_montant, reglement, self.date_reference, etat.connus
                    )
                return self._montant(reglement, aide, etat.montants, resolveur, rediger=False)
            calcule = etat.montants[regle] = compile(etat.connus)  # type: ignore[operator]
        return calcule

    def _rediger_montant(
        self, reglement: Reglement, aide: _Aide
    ) -> Callable[[Mapping[str, Fait]], Calcule] | bool:
        """The amount rule with its sentence compiled (montants_rediges.py); False: a rule it does
        not know how to write, left to `Calculateur`."""
        return self._compiler_regle(rediger_montant, reglement, aide, self._montants_rediges)

    def _compiler_montant(self, reglement: Reglement, aide: _Aide) -> Montant_ | bool:
        return self._compiler_regle(compiler_montant, reglement, aide, self._montants_compiles)

    def _compiler_regle(
        self, compilateur: Callable[..., T], reglement: Reglement, aide: _Aide, places: list[Any]
    ) -> T | bool:
        """The aid's amount rule compiled by `compilateur` for `places[aide.montant]`, where its
        memo may later put a cheaper equivalent (`memos.memoriser`'s `remplacer`)."""
        rang = aide.montant
        assert aide.regle is not None  # noqa: S101 - the caller checks it
        assert rang is not None  # noqa: S101 - as `aide.regle`

        def remplacer(equivalent: T) -> None:
            places[rang] = equivalent

        try:
            return compilateur(
                aide.regle,
                reglement,
                self._preparation.vigueur,
                aide.compile.regles_montant,
                self.date_reference,
                remplacer=remplacer,
            )
        except Exception:
            return False

    def _verdicts(self, reglement: Reglement, faits: Faits) -> tuple[Verdict, ...]:
        issues = self._issues(faits.connus)
        resolveur: Resolveur | None = None
        montants: list[Calcule | None] = [None] * self._compile.montants
        resultats = []
        for aide in self._aides:
            verdict, codes = aide.decisives(tuple([issues[i] for i in aide.positions]))
            montant = _SANS_MONTANT
            if verdict is True and aide.montant is not None:
                if resolveur is None:
                    resolveur = ValeursMontant(
                        self.lectures_montant, reglement, self.date_reference, faits.connus
                    )
                montant = self._montant(reglement, aide, montants, resolveur, rediger=False)
            if verdict is True and montant.vide:
                resultats.append(Verdict(aide.id, _A_VERIFIER, None, None, ("montant",)))
                continue
            if verdict is True:
                resultats.append(Verdict(aide.id, _ELIGIBLE, montant.montant, montant.tranche, codes))
            else:
                statut = _NON_ELIGIBLE if verdict is False else _A_VERIFIER
                resultats.append(Verdict(aide.id, statut, None, None, codes))
        return tuple(resultats)


def _a_verifier(
    reglement: Reglement,
    aide: _Aide,
    conditions: tuple[ConditionEvaluee, ...],
    entree: Entree,
    montant: Calcule,
) -> ResultatDispositif:
    """An aid left to check: undecided conditions (their proofs asked for), or every condition
    holds and the amount cannot be worked out."""
    verdict, justification = entree[0], entree[1]
    if verdict is True:
        demandees: list[str] = []
        phrases, groupes, decisives = montant.vide, False, ["montant"]
    else:
        demandees = [p for i in justification.feuilles if (p := conditions[i].piece_justificative)]
        phrases, groupes, decisives = justification.phrases, justification.groupes, justification.codes
    pieces = tuple(dict.fromkeys([*demandees, *montant.pieces]))
    return ResultatDispositif(
        aide.id, aide.libelle, _A_VERIFIER, motif_a_verifier(phrases, groupes, pieces), conditions,
        None, None, pieces, aide.base_legale, aide.compile.deliberation, tuple(decisives),
    )  # fmt: skip


class _EtatMontants:
    """What the amounts of one household's verdicts share: the facts, the amounts worked out."""

    __slots__ = ("connus", "montants", "resolveur")

    def __init__(self, connus: Mapping[str, Fait], montants: int) -> None:
        self.connus = connus
        self.montants: list[Any] = [None] * montants  # Calcule or montants_compiles.Resultat
        self.resolveur: Resolveur | None = None


def lecture_absente(connus: Mapping[str, Fait]) -> Valeurs:  # pragma: no cover - never read
    raise AssertionError


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


def _foyer(faits: Faits, jour: date) -> Foyer:
    """The household's facts with its derived values, each worked out once for this evaluation: the
    caller's own `Foyer` when it gives one for this day (an impact replay evaluates one decision
    under two plans of the same catalogue, so the derived values are worked out once for both;
    they are kept under their computation, so a plan whose computation differs works out its own),
    else a new one."""
    connus = faits.connus
    if type(connus) is Foyer and connus.jour == jour:
        return connus
    return Foyer(connus, jour)


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
    """What `compile_plan` wraps, from the cache (compiled on a miss): `engine.evaluer` calls it
    directly, without the wrapper."""
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
