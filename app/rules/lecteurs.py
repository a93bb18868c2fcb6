"""Fact readers compiled for one reference date: how each fact a leaf or an amount reads is got
from the household's facts, with the freshness rules already turned into a check by period.

Two kinds: value readers (`lecture`: the interval, or None when unknown) for verdicts, and
presenters (`presentation`: the resolution with its French context) for explanations. Anything out
of the ordinary (missing, stale or noted data, partial dates) goes to the general resolver, so the
sentences are those of the interpreted evaluation.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date
from decimal import Decimal
from fractions import Fraction
from functools import partial
from typing import Any

from app.rules import explain
from app.rules.comparison import (
    ChampsCondition,
    Presentation,
    Resolution,
    Resolveur,
    calculer,
    source_commune,
    textes_nombre,
)
from app.rules.comparison import ordinaire as source_ordinaire
from app.rules.comparison import presenter as presenter_resolution
from app.rules.dates import DatePartielle
from app.rules.derived import Calcul, DefinitionDerivee, Incalculable, libelle_du_fait
from app.rules.facts import Fait, RefFait, Source, TypeFait
from app.rules.model import Fraicheur, Reglement
from app.rules.plan import Feuille, Regles, Seuil

#: A fact's interval of values at the date, or None when it is unknown (missing, stale, after the
#: reference date or not computable): what a verdict needs of it.
Valeurs = tuple[Any, Any] | None
Lecture = Callable[[Mapping[str, Fait]], Valeurs]


def _mois(periode: str) -> int:
    annee = int(periode[:4])
    return annee * 12 + (int(periode[5:7]) - 1 if len(periode) >= 7 else 11)


class _Periodes:
    """Whether a period is usable at the reference date under some freshness rules."""

    __slots__ = ("annee", "mois_reference", "regles")

    def __init__(self, jour: date, regles: Mapping[str, Fraicheur]) -> None:
        self.mois_reference = jour.year * 12 + jour.month - 1
        self.annee = jour.year
        self.regles = regles  # base fact → its freshness rule for this use

    def refusee(self, base: str, periode: str) -> bool:
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


#: Periods kept per base fact by a reader (a few distinct ones recur: "2026-04", "2025"…).
_PERIODES_EN_CACHE = 256


class _ParPeriode(dict[str, bool]):
    """A yes/no answer about a period (`repondre(periode)`: refused, usable without remark…), kept
    by period text, at most `_PERIODES_EN_CACHE`: `reponses[periode]`."""

    __slots__ = ("repondre",)

    def __init__(self, repondre: Callable[[str], bool]) -> None:
        super().__init__()
        self.repondre = repondre

    def __missing__(self, periode: str) -> bool:
        reponse = self.repondre(periode)
        if len(self) < _PERIODES_EN_CACHE:
            self[periode] = reponse
        return reponse


def lecture(ref: RefFait, regles: Regles, reglement: Reglement, jour: date) -> Lecture:
    """A reader of one fact under its freshness rules: its interval, or None when unknown."""
    catalogue = reglement.catalogue
    bases = catalogue.bases(ref.nom)
    periodes = _Periodes(jour, dict(regles))
    refus = tuple((base, _ParPeriode(partial(periodes.refusee, base))) for base in bases)
    nom = ref.nom
    definition = catalogue.derives.get(nom)
    if definition is None:
        refus_base = refus[0][1]

        def base(connus: Mapping[str, Fait]) -> Valeurs:
            fait = connus.get(nom)
            if fait is None:
                return None
            periode = fait.source.periode
            if periode is not None and refus_base[periode]:
                return None
            valeur = fait.valeur
            if type(valeur) is DatePartielle:
                return valeur.earliest(), valeur.latest()
            return valeur, valeur

        return base
    calcul = definition.calcul

    def derive(connus: Mapping[str, Fait]) -> Valeurs:
        for nom_base, refus_base in refus:
            fait = connus.get(nom_base)
            if fait is None:
                return None
            periode = fait.source.periode
            if periode is not None and refus_base[periode]:
                return None
        try:
            return calcul(connus, jour, ref)
        except Incalculable:
            return None

    return derive


#: What the amounts of a compiled plan read, compiled on first use: reader, label, unit.
LecturesMontant = dict[tuple[RefFait, Regles], tuple[Lecture, str, str | None]]


class ValeursMontant(Resolveur):
    """What an amount reads, for verdicts: the values from the compiled readers, without the
    sources, notes and proofs a sentence would need."""

    __slots__ = ("lectures", "lues", "reglement")

    def __init__(
        self, lectures: LecturesMontant, reglement: Reglement, jour: date, connus: Mapping[str, Fait]
    ) -> None:
        # Not Resolveur.__init__: only `jour` of it is used here.
        self.lectures = lectures
        self.reglement = reglement
        self.jour = jour
        self.connus = connus
        self.lues: dict[tuple[RefFait, Regles], Resolution] = {}  # several amounts read the same fact

    def resoudre_frais(self, ref: RefFait, regles: Regles) -> Resolution:
        cle = (ref, regles)
        lue = self.lues.get(cle)
        if lue is not None:
            return lue
        entree = self.lectures.get(cle)
        if entree is None:
            catalogue = self.reglement.catalogue
            lire = lecture(ref, regles, self.reglement, self.jour)
            entree = self.lectures[cle] = (lire, libelle_du_fait(ref, catalogue), catalogue.unite(ref.nom))
        valeurs = entree[0](self.connus)
        if valeurs is None:
            lue = self.lues[cle] = Resolution(entree[1], entree[2], inconnu="inconnu")
        else:
            lue = self.lues[cle] = Resolution(entree[1], entree[2], valeurs[0], valeurs[1])
        return lue


Presenter = Callable[[Mapping[str, Fait], Resolveur, Feuille], Presentation]
_NOMBRES = (int, Decimal, Fraction)


def presentation(feuille: Feuille, reglement: Reglement, jour: date) -> Presenter:
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
    simples = _ParPeriode(_simple(dict(feuille.regles).get(nom), jour))

    afficher, source_de, montrer = explain.afficher, explain.source, explain.montrer

    def base(connus: Mapping[str, Fait], resolveur: Resolveur, feuille: Feuille) -> Presentation:
        fait = connus.get(nom)
        if fait is None:
            return resolveur.presenter(feuille)
        valeur, source = fait.valeur, fait.source
        periode = source.periode
        if periode is not None and not simples[periode]:
            return resolveur.presenter(feuille)
        if type(valeur) is DatePartielle:
            return resolveur.presenter(feuille)
        resolution = Resolution(libelle, unite, valeur, valeur, source, ((nom, source),), None, pieces)
        texte = afficher(valeur, unite)
        origine = source_de(source)
        contexte = f"{texte}, {origine}" if origine else texte
        return Presentation(resolution, contexte, montrer(valeur), True, type(valeur) in _NOMBRES)

    return base


#: The fields the presenters of derived facts assign when they build these without `__init__`.
RESOLUTION = ("libelle", "unite", "bas", "haut", "source", "sources", "inconnu", "pieces", "note")
PRESENTATION = ("resolution", "contexte", "valeur", "exacte", "numerique", "centimes")

#: A base fact of a derived one: its name, and whether a period is usable without remark.
_Base = tuple[str, _ParPeriode]


class _Derivee:
    """What a derived fact's presenter knows before any household: the fact, how it reads, the
    proofs its bases ask for, the general path, and how its value is shown."""

    __slots__ = ("contextes", "general", "jour", "libelle", "montrer", "pieces", "ref", "unite")

    def __init__(self, feuille: Feuille, reglement: Reglement, jour: date, general: Presenter) -> None:
        ref = self.ref = feuille.comparaison.fait
        catalogue = reglement.catalogue
        bases = catalogue.bases(ref.nom)
        self.libelle, self.unite = libelle_du_fait(ref, catalogue), catalogue.unite(ref.nom)
        self.pieces = tuple(dict.fromkeys(p for n in bases if (p := catalogue.faits[n].piece_justificative)))
        self.jour, self.general = jour, general
        self.contextes: _Contextes = {}
        self.montrer = _montrer_derivee(self.unite, self.contextes)


def _presentation_derivee(
    feuille: Feuille, reglement: Reglement, jour: date, general: Presenter
) -> Presenter:
    """A derived fact whose bases are all known and usable without remark, computed directly (as
    `Resolveur._resoudre`) and shown (as `comparison.presenter`); anything else by the resolver."""
    nom = feuille.comparaison.fait.nom
    definition = reglement.catalogue.derives[nom]
    regles = dict(feuille.regles)
    bases: tuple[_Base, ...] = tuple(
        (base, _ParPeriode(_simple(regles.get(base), jour))) for base in reglement.catalogue.bases(nom)
    )
    derivee = _Derivee(feuille, reglement, jour, general)
    if len(bases) == 1 and definition.calcul_detaille is None and definition.detail is None:
        return _derivee_une_base(derivee, definition.calcul, bases[0])
    return _derivee_plusieurs_bases(derivee, definition, bases)


def _derivee_plusieurs_bases(
    derivee: _Derivee, definition: DefinitionDerivee, bases: tuple[_Base, ...]
) -> Presenter:
    """`_presentation_derivee` for a fact computed from several bases, or with a detail."""
    ref, jour, general, montrer = derivee.ref, derivee.jour, derivee.general, derivee.montrer
    libelle, unite, pieces = derivee.libelle, derivee.unite, derivee.pieces
    detaille = definition.calcul_detaille
    sans_detail = definition.calcul if detaille is None and definition.detail is None else None
    nouveau = object.__new__

    def presenter(connus: Mapping[str, Fait], resolveur: Resolveur, feuille: Feuille) -> Presentation:
        sources = []
        premiere: Source | None = None
        # Every base from the same provenance (the usual case): `source_commune` would say just
        # what the first says.
        commune = True
        for base, simples in bases:
            fait = connus.get(base)
            if fait is None:
                return general(connus, resolveur, feuille)
            source = fait.source
            if premiere is None:
                premiere = source
            elif commune and source is not premiere:
                # `source == premiere`, field by field (quicker than the dataclass's `__eq__`), each
                # by identity first: the same text, None, True or False (most fields of equal
                # sources) is then settled without a rich comparison (`None == None` goes through
                # the general one). Equal either way for these types (each equal to itself).
                a, b = source, premiere
                commune = (
                    (a.fournisseur is b.fournisseur or a.fournisseur == b.fournisseur)
                    and (a.certifie is b.certifie or a.certifie == b.certifie)
                    and (a.periode is b.periode or a.periode == b.periode)
                    and (a.obtenu_le is b.obtenu_le or a.obtenu_le == b.obtenu_le)
                    and (a.depuis_cache is b.depuis_cache or a.depuis_cache == b.depuis_cache)
                    and (a.request_id is b.request_id or a.request_id == b.request_id)
                    and (a.perime is b.perime or a.perime == b.perime)
                )
            periode = source.periode
            if periode is not None and not simples[periode]:
                return general(connus, resolveur, feuille)
            sources.append((base, source))
        note: str | None
        try:
            if detaille is not None:  # a fact the règlement computes: with its detail
                bas, haut, note = detaille(connus, jour, ref)
            elif sans_detail is not None:  # `calculer` of a fact without detail (a revenu par UC)
                bas, haut = sans_detail(connus, jour, ref)
                note = None
            else:
                bas, haut, note = calculer(definition, connus, jour, ref)
        except Incalculable:
            return general(connus, resolveur, feuille)
        source = premiere if commune and premiere is not None else source_commune(sources)
        # `Resolution(libelle, unite, bas, haut, source, tuple(sources), None, pieces, note)`,
        # without its `__init__` frame: every slot assigned (`RESOLUTION` lists them).
        resolution = nouveau(Resolution)
        resolution.libelle, resolution.unite, resolution.bas, resolution.haut = libelle, unite, bas, haut
        resolution.source, resolution.sources, resolution.inconnu = source, tuple(sources), None
        resolution.pieces, resolution.note = pieces, note
        return montrer(resolution, source)

    return presenter


def _derivee_une_base(derivee: _Derivee, calcul: Calcul, base: _Base) -> Presenter:
    """`_presentation_derivee` for a fact computed from one base, without detail (a count, an age)."""
    ref, jour, general, montrer = derivee.ref, derivee.jour, derivee.general, derivee.montrer
    libelle, unite, pieces = derivee.libelle, derivee.unite, derivee.pieces
    nom, simples = base
    contextes = derivee.contextes
    nouveau = object.__new__

    def presenter(connus: Mapping[str, Fait], resolveur: Resolveur, feuille: Feuille) -> Presentation:
        fait = connus.get(nom)
        if fait is None:
            return general(connus, resolveur, feuille)
        source = fait.source
        periode = source.periode
        if periode is not None and not simples[periode]:
            return general(connus, resolveur, feuille)
        try:
            bas, haut = calcul(connus, jour, ref)
        except Incalculable:
            return general(connus, resolveur, feuille)
        # `Resolution(libelle, unite, bas, haut, source, ((nom, source),), None, pieces)`, without
        # its `__init__` frame: every slot assigned (`RESOLUTION` lists them).
        resolution = nouveau(Resolution)
        resolution.libelle, resolution.unite, resolution.bas, resolution.haut = libelle, unite, bas, haut
        resolution.source, resolution.sources, resolution.inconnu = source, ((nom, source),), None
        resolution.pieces, resolution.note = pieces, None
        if type(bas) is int and bas == haut and not source.perime:  # a kept context, without `montrer`
            contexte = contextes.get((bas, source.fournisseur, source.certifie, periode))
            if contexte is not None:
                # `Presentation(resolution, contexte, bas, True, True)`, likewise (`PRESENTATION`).
                presentation = nouveau(Presentation)
                presentation.resolution, presentation.contexte = resolution, contexte
                presentation.valeur, presentation.centimes = bas, None
                presentation.exacte = presentation.numerique = True
                return presentation
        return montrer(resolution, source)

    return presenter


#: Contexts of whole values kept per derived fact (a few counts and ages recur): by the value and
#: what its source's text is made of (provider, certified, period).
_Contextes = dict[tuple[int, str, bool, str | None], str]
_CONTEXTES_EN_CACHE = 512


def _montrer_derivee(
    unite: str | None, contextes: _Contextes
) -> Callable[[Resolution, Source], Presentation]:
    """`comparison.presenter` for a derived fact computed from usable bases (never unknown): a
    whole value (count, age) without note has its context kept in `contextes`; any other exact
    number written directly; an interval by `presenter`."""
    source_de, nombre, rapport_au_centime = explain.source, explain.nombre, explain.rapport_au_centime
    nouvelle = object.__new__

    def montrer(resolution: Resolution, source: Source) -> Presentation:
        bas = resolution.bas
        if bas is not resolution.haut and bas != resolution.haut:
            return presenter_resolution(resolution)  # « entre 1 et 2 (dates de naissance incomplètes) »
        genre = type(bas)
        if genre is int and resolution.note is None:
            if source.perime and source.obtenu_le is not None:  # its text names a day: not kept
                return presenter_resolution(resolution)
            cle = (bas, source.fournisseur, source.certifie, source.periode)
            contexte = contextes.get(cle)
            if contexte is None:
                contexte = presenter_resolution(resolution).contexte
                if len(contextes) < _CONTEXTES_EN_CACHE:
                    contextes[cle] = contexte
            return Presentation(resolution, contexte, bas, True, True)
        if genre is Fraction:  # a ratio, shown and carried as the same Decimal (at the cent)
            valeur, texte, centimes = rapport_au_centime(bas, unite)
        elif genre is Decimal or genre is int:
            valeur, texte, centimes = bas, nombre(bas, unite), None
        else:
            return presenter_resolution(resolution)
        origine = source_de(source)
        contexte = f"{texte}, {origine}" if origine else texte
        if resolution.note:
            contexte += f", {resolution.note}"
        # `Presentation(resolution, contexte, valeur, True, True, centimes)`, without its
        # `__init__` frame: every slot assigned (`PRESENTATION` lists them).
        presentation = nouvelle(Presentation)
        presentation.resolution, presentation.contexte, presentation.valeur = resolution, contexte, valeur
        presentation.exacte = presentation.numerique = True
        presentation.centimes = centimes
        return presentation

    return montrer


def issue_inconnue(feuille: Feuille, valeur_seuil: Any) -> bool | None:
    """A leaf on an unknown fact, read as the règlement says (as `comparison._si_inconnu`)."""
    regle = feuille.si_inconnu
    if regle is None:
        return None
    if regle in ("remplie", "non_remplie"):
        return regle == "remplie"
    defaut = feuille.comparaison.valeur_si_inconnu
    return bool(feuille.comparer(defaut, defaut, valeur_seuil))


#: A leaf explained without going through a presentation, or None to go through it.
Explication = Callable[[Mapping[str, Fait]], ChampsCondition | None]
#: What a compiled plan builds of a leaf's fields (its conditions), kept with the leaf's sentence.
Construire = Callable[[ChampsCondition], Any]
_EGALITES = frozenset({"==", "!=", "in", "not in"})
_NOMBRES_DE_BASE = frozenset({TypeFait.NOMBRE, TypeFait.ENTIER})
_PHRASES_EN_CACHE = 512
#: Not yet in a memo (None there is a kept answer).
_ABSENTE: Any = object()


def explication_directe(
    feuille: Feuille, seuil: Seuil, reglement: Reglement, jour: date, construire: Construire | None = None
) -> Explication | None:
    """For a leaf testing a base fact that is a yes/no or a text against a value or a list (the
    usual « vaut oui », « figure parmi »), the sentence depends only on the value and on how its
    source reads: kept per (value, what the source's text is made of), as `evaluer_feuille` writes
    it, found in one dictionary lookup (`_ABSENTE` when not kept yet). An order leaf on a base
    number against a number threshold by `_explication_nombre_de_base`. None for any other leaf.

    With `construire`, for a yes/no or text leaf only (else None), the function returns
    `construire(fields)` instead of the fields (a compiled plan's conditions for the leaf), and
    keeps it with the sentence for a plain source (see `expliquer`): a household whose value and
    source are equal to a kept one's gets the same object, made once (an equal source, the first
    household's; results are never mutated once returned)."""
    ref = feuille.comparaison.fait
    catalogue = reglement.catalogue
    definition = None if ref.nom in catalogue.derives else catalogue.faits.get(ref.nom)
    if definition is None:
        return None
    if feuille.sens and type(seuil.valeur) is Decimal and definition.type in _NOMBRES_DE_BASE:
        # What `construire` makes is not kept for a number: its many values (a QF, an RFR) would
        # fill the memo with objects (measured: 24 000 instructions more per household).
        return None if construire else _explication_nombre_de_base(feuille, seuil, reglement, jour)
    if feuille.operateur not in _EGALITES or feuille.sens:
        return None
    if definition.type not in (TypeFait.BOOLEEN, TypeFait.TEXTE):
        return None
    nom, regle = ref.nom, dict(feuille.regles).get(ref.nom)
    simple = _simple(regle, jour)
    unite = catalogue.unite(nom)
    critere, operateur, parametre, comparer = (
        feuille.critere,
        feuille.operateur,
        feuille.parametre,
        feuille.comparer,
    )
    montre, deliberation, valeur_seuil = seuil.montre, seuil.deliberation, seuil.valeur
    # By (value, provider, certified, period): the outcome, the sentence and what `construire` made
    # of them for a plain source (else None), or None when the period needs a remark (then
    # `evaluer_feuille` writes it). One lookup per leaf and household.
    phrases: dict[tuple[Any, str, bool, str | None], tuple[bool, str, Any] | None] = {}
    source_de, afficher = explain.source, explain.afficher

    def phrase_de(valeur: bool | str, source: Source) -> tuple[bool, str] | None:
        periode = source.periode
        if periode is not None and not simple(periode):
            return None
        origine = source_de(source)
        satisfaite = bool(comparer(valeur, valeur, valeur_seuil))
        texte = afficher(valeur, unite)
        contexte = f"{texte}, {origine}" if origine else texte
        suite = seuil.remplie_texte if satisfaite else seuil.non_remplie_texte
        conclusion = "condition remplie" if satisfaite else "condition non remplie"
        return satisfaite, f"{feuille.sujet} ({contexte}){suite}{conclusion}."

    def expliquer(connus: Mapping[str, Fait]) -> Any:
        fait = connus.get(nom)
        if fait is None:
            return None
        valeur, source = fait.valeur, fait.source
        # The type first: `True` and `1` would be one key.
        if type(valeur) is not bool and type(valeur) is not str:
            return None
        cle = None
        if source.perime and source.obtenu_le is not None:
            phrase = phrase_de(valeur, source)  # its text names the day it was obtained: not kept
            entree = None if phrase is None else (*phrase, None)
        else:
            cle = (valeur, source.fournisseur, source.certifie, source.periode)
            entree = phrases.get(cle, _ABSENTE)
            if entree is _ABSENTE:
                phrase = phrase_de(valeur, source)
                entree = None if phrase is None else (*phrase, None)
                if len(phrases) < _PHRASES_EN_CACHE:
                    phrases[cle] = entree
        if entree is None:
            return None
        satisfaite, texte, fait_une_fois = entree
        # A plain source is equal to any other of the same provider, certification and period (the
        # key): what was made for one serves the other.
        if fait_une_fois is not None and source_ordinaire(source):
            return fait_une_fois
        champs = (
            critere, operateur, montre, valeur, satisfaite, None, source, deliberation, parametre, texte,
            None,
        )  # fmt: skip
        if construire is None:
            return champs
        fait_une_fois = construire(champs)
        if cle is not None and cle in phrases and source_ordinaire(source):
            phrases[cle] = (satisfaite, texte, fait_une_fois)
        return fait_une_fois

    return expliquer


#: Sentences an order leaf on a base number keeps, at most: a QF in euros takes a few thousand
#: values (from one or two providers and periods), an RFR or resources to the cent many more, which
#: fill the memo with few found (it then turns itself off).
NOMBRES_EN_MEMO = 4096


def _explication_nombre_de_base(
    feuille: Feuille, seuil: Seuil, reglement: Reglement, jour: date
) -> Explication:
    """`explication_directe` for an order leaf comparing a base number fact with a `Decimal`
    threshold (« est inférieur ou égal au plafond »): an exact `Decimal` or `int` value from a
    source whose period needs no remark, compared and explained as `comparison._explication_nombre`
    does (the margin's sign decides), without the fact's presentation; anything else (unknown,
    stale answer, noted period) None, for the general path."""
    nom = feuille.comparaison.fait.nom
    simples = _ParPeriode(_simple(dict(feuille.regles).get(nom), jour))
    unite = reglement.catalogue.unite(nom)
    critere, operateur, parametre, sens = feuille.critere, feuille.operateur, feuille.parametre, feuille.sens
    valeur_seuil, montre, deliberation = seuil.valeur, seuil.montre, seuil.deliberation
    debut, remplie_egale, non_remplie_egale, marge, manque = textes_nombre(feuille, seuil)
    strict, source_de, nombre = operateur in ("<", ">"), explain.source, explain.nombre
    # Outcome, margin and sentence by (value, provider, certified, period), for a usable period.
    phrases: dict[tuple[Any, str, bool, str | None], tuple[bool, Decimal, str]] = {}
    actif, trouvees = True, 0

    def ecrire(valeur: Any, source: Source) -> tuple[bool, Decimal, str] | None:
        """Outcome, margin and sentence; None for a period that needs a remark (or a value that is
        not finite): the general path writes it."""
        periode = source.periode
        if periode is not None and not simples[periode]:
            return None
        decimal: Decimal = valeur if type(valeur) is Decimal else Decimal(valeur)
        if not decimal.is_finite():
            return None
        # The margin is positive on the satisfied side: its sign (exact) decides the outcome.
        ecart = decimal - valeur_seuil if sens > 0 else valeur_seuil - decimal
        satisfaite = ecart > 0 if strict else ecart >= 0
        if not ecart:
            fin = remplie_egale if satisfaite else non_remplie_egale
        else:
            ecrit = nombre(abs(ecart), unite)
            fin = f"{marge}{ecrit}." if satisfaite else f"{manque}{ecrit}."
        texte = nombre(valeur, unite)  # what `explain.afficher` writes for a Decimal or an int
        origine = source_de(source)
        return satisfaite, ecart, f"{debut}{texte}, {origine}{fin}" if origine else f"{debut}{texte}{fin}"

    def expliquer(connus: Mapping[str, Fait]) -> ChampsCondition | None:
        nonlocal actif, trouvees
        fait = connus.get(nom)
        if fait is None:
            return None
        valeur: Any = fait.valeur
        source = fait.source
        genre = type(valeur)
        if (genre is not Decimal and genre is not int) or (source.perime and source.obtenu_le is not None):
            return None  # `True` is an int, and no number here; a stale answer's text names its day
        if actif:
            # A Decimal by its text (`600.0` is not `600`: its margin is not either), an int as itself.
            cle = (str(valeur) if genre is Decimal else valeur, source.fournisseur, source.certifie,
                   source.periode)  # fmt: skip
            phrase = phrases.get(cle)
            if phrase is not None:
                trouvees += 1
            else:
                phrase = ecrire(valeur, source)
                if phrase is None:
                    return None
                if len(phrases) >= NOMBRES_EN_MEMO:
                    # Full: afresh if one call in four found its sentence, else off for good. Since
                    # it was last empty, NOMBRES_EN_MEMO calls missed and `trouvees` found: one in
                    # four found is trouvees >= (NOMBRES_EN_MEMO + trouvees) / 4.
                    actif = trouvees * 3 >= NOMBRES_EN_MEMO
                    phrases.clear()
                    trouvees = 0
                if actif:
                    phrases[cle] = phrase
        else:
            phrase = ecrire(valeur, source)
            if phrase is None:
                return None
        return (
            critere, operateur, montre, valeur, phrase[0], phrase[1], source, deliberation, parametre,
            phrase[2], None,
        )  # fmt: skip

    return expliquer


def _simple(regle: Fraicheur | None, jour: date) -> Callable[[str], bool]:
    """Whether a period is usable at `jour` without a remark (as `Resolveur._posterieure`, then
    `Resolveur._fraicheur`)."""
    mois_reference = jour.year * 12 + jour.month - 1

    def simple(periode: str) -> bool:
        if len(periode) >= 7 and _mois(periode) > mois_reference:
            return False
        if regle is None:
            return True
        if regle.mois is not None:
            return mois_reference - _mois(periode) <= regle.mois
        if regle.annees is not None:  # beyond last year's income, accepted with a remark, or refused
            return jour.year - int(periode[:4]) <= min(regle.annees, 1)
        return True

    return simple
