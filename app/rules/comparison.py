"""One leaf condition: resolve the fact (derived, fresh enough), compare it, explain it in French.

Values are intervals: a comparison is true when it holds for every possible value, false when it
holds for none, unknown otherwise. Freshness is checked on the period of each base fact.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal
from fractions import Fraction
from functools import lru_cache
from math import gcd
from typing import Any

from app.rules import explain
from app.rules.dates import DatePartielle
from app.rules.derived import (
    CATALOGUE,
    Catalogue,
    DefinitionDerivee,
    Incalculable,
    libelle_du_fait,
)
from app.rules.facts import Fait, Faits, RefFait, Source
from app.rules.plan import Feuille, Regles, Seuil
from app.rules.results import ValeurAffichee

# Resolution and Presentation live for one evaluation and are never changed once built: not frozen,
# because a frozen dataclass is several times slower to build.


@dataclass(slots=True)
class Resolution:
    """A fact's value at the reference date (an interval), or why it is not known."""

    libelle: str
    unite: str | None
    bas: Any = None
    haut: Any = None
    source: Source | None = None
    sources: tuple[tuple[str, Source], ...] = ()
    inconnu: str | None = None  # French reason: missing, stale or not computable
    pieces: tuple[str, ...] = ()
    note: str | None = None  # accepted with a mark (tax year N-2)


@lru_cache(maxsize=256)
def _informations(
    ref: RefFait, catalogue: Catalogue
) -> tuple[str, str | None, tuple[str, ...], tuple[str, ...]]:
    """What does not depend on the facts: label, unit, base facts, proofs to ask for."""
    bases = catalogue.bases(ref.nom)
    return libelle_du_fait(ref, catalogue), catalogue.unite(ref.nom), bases, _pieces(bases, catalogue)


def _pieces(noms: tuple[str, ...], catalogue: Catalogue) -> tuple[str, ...]:
    faits = catalogue.faits
    return tuple(dict.fromkeys(p for n in noms if (p := faits[n].piece_justificative)))


def source_commune(sources: list[tuple[str, Source]]) -> Source:
    if len(sources) == 1:
        return sources[0][1]
    # One pass over the sources (a computed fact has a few): what the fields below say.
    fournisseurs: list[str] = []
    certifie, depuis_cache, perime = True, False, False
    premiere = sources[0][1]
    periode, request_id = premiere.periode, premiere.request_id
    meme_periode = meme_id = True
    obtenu_le = None
    for _, s in sources:
        if s.fournisseur not in fournisseurs:
            fournisseurs.append(s.fournisseur)
        certifie = certifie and s.certifie
        depuis_cache = depuis_cache or s.depuis_cache
        perime = perime or s.perime
        if s.periode != periode:
            meme_periode = False
        if s.request_id != request_id:
            meme_id = False
        if s.obtenu_le and (obtenu_le is None or s.obtenu_le < obtenu_le):
            obtenu_le = s.obtenu_le
    return Source(
        fournisseur="+".join(fournisseurs),
        certifie=certifie,
        periode=periode if meme_periode else None,
        obtenu_le=obtenu_le,
        depuis_cache=depuis_cache,
        # Facts from one upstream answer (RFR and parts…) keep its request id, to quote to support.
        request_id=request_id if meme_id else None,
        # A value derived from one stale input is stale too.
        perime=perime,
    )


def calculer(
    definition: DefinitionDerivee, connus: Mapping[str, Fait], jour: date, ref: RefFait
) -> tuple[Any, Any, str | None]:
    """A derived fact's interval and its detail in French, if it has one (`Incalculable` when the
    bases do not allow it)."""
    if definition.calcul_detaille is not None:
        return definition.calcul_detaille(connus, jour, ref)
    bas, haut = definition.calcul(connus, jour, ref)
    return bas, haut, None if definition.detail is None else definition.detail(connus, jour)


def _mois(periode: str) -> int:
    annee = int(periode[:4])
    return annee * 12 + (int(periode[5:7]) - 1 if len(periode) >= 7 else 11)


@dataclass(slots=True)
class Presentation:
    """A fresh-checked resolution with its French context text, shared by every leaf that reads it."""

    resolution: Resolution
    contexte: str  # "550 €, octobre 2026, CNAF" or "entre 1 et 2 (dates de naissance incomplètes), …"
    valeur: Any  # the value as shown in results (None for an interval or an unknown)
    exacte: bool
    numerique: bool
    #: A ratio's value in whole cents (`explain.rapport_au_centime`), when it has them: the leaves
    #: that compare it with a threshold at the cent take their margin from it.
    centimes: int | None = None


_NOMBRES = (int, Decimal, Fraction)


class Resolveur:
    """Resolves facts for one evaluation, memoising derived values and their presentation."""

    __slots__ = ("catalogue", "connus", "faits", "jour", "memo", "presentations")

    def __init__(
        self,
        faits: Faits,
        jour: date,
        presentations: int,
        catalogue: Catalogue = CATALOGUE,
        connus: Mapping[str, Fait] | None = None,
    ) -> None:
        self.catalogue = catalogue
        self.faits = faits
        #: The known facts as the compiled readers take them (a plan's `derived.Foyer`, which
        #: shares derived values between conditions and amounts), `faits.connus` by default.
        self.connus = faits.connus if connus is None else connus
        self.jour = jour
        self.memo: dict[RefFait, Resolution] = {}
        # By the leaf's presentation index: leaves reading the same fact under the same rules share it.
        self.presentations: list[Presentation | None] = [None] * presentations

    def resoudre(self, ref: RefFait) -> Resolution:
        resolution = self.memo.get(ref)
        if resolution is None:
            resolution = self.memo[ref] = self._resoudre(ref)
        return resolution

    def _resoudre(self, ref: RefFait) -> Resolution:
        catalogue = self.catalogue
        derives = catalogue.derives
        libelle, unite, bases, pieces = _informations(ref, catalogue)
        if ref.nom not in derives and (fait := self.faits.connus.get(ref.nom)) is not None:
            # A known base fact (the usual case): what the general path below gives, more directly.
            valeur, source = fait.valeur, fait.source
            if type(valeur) is DatePartielle:  # a declared date: the interval of the days it may be
                return Resolution(
                    libelle,
                    unite,
                    valeur.earliest(),
                    valeur.latest(),
                    source,
                    ((ref.nom, source),),
                    None,
                    pieces,
                )
            return Resolution(libelle, unite, valeur, valeur, source, ((ref.nom, source),), None, pieces)
        connus: dict[str, Fait] = {}
        raisons: list[str] = []
        for nom in bases:
            fait = self.faits.connus.get(nom)
            if fait is not None:
                connus[nom] = fait
            elif (indisponible := self.faits.indisponibles.get(nom)) is not None:
                raisons.append(indisponible.raison)
            elif nom == ref.nom:
                raisons.append("donnée non fournie")
            else:
                raisons.append(f"{catalogue.faits[nom].libelle} : donnée non fournie")
        if raisons:
            manquants = tuple(n for n in bases if n not in connus)
            return Resolution(
                libelle,
                unite,
                inconnu=" ; ".join(dict.fromkeys(raisons)),
                pieces=_pieces(manquants, catalogue),
            )
        sources = [(nom, connus[nom].source) for nom in bases]
        source = sources[0][1] if len(sources) == 1 else source_commune(sources)
        bas: Any
        haut: Any
        note = None
        if ref.nom in derives:
            try:
                bas, haut, note = calculer(derives[ref.nom], connus, self.jour, ref)
            except Incalculable as exc:
                return Resolution(libelle, unite, inconnu=str(exc), pieces=pieces)
        else:
            bas = haut = connus[ref.nom].valeur
        return Resolution(libelle, unite, bas, haut, source, tuple(sources), None, pieces, note)

    def resoudre_frais(self, ref: RefFait, regles: Regles) -> Resolution:
        """`resoudre`, then the freshness rules (base fact → rule) that apply to this use."""
        resolution = self.resoudre(ref)
        if resolution.inconnu is not None:
            return resolution
        posterieure = self._posterieure(resolution)
        if posterieure is not None:
            return replace(resolution, inconnu=posterieure)
        return self._fraicheur(resolution, regles)

    def _fraicheur(self, resolution: Resolution, regles: Regles) -> Resolution:
        """The freshness rules of the règlement: too old a datum is unknown; an older tax year
        accepted is noted."""
        if not regles:
            return resolution
        notes: list[str] = []
        periodes = dict(resolution.sources)
        for base, regle in regles:
            periode = periodes[base].periode
            if periode is None:
                continue  # a fact without period (declared, simulated) is taken as current
            if regle.mois is not None:
                age = self.jour.year * 12 + self.jour.month - 1 - _mois(periode)
                if age > regle.mois:
                    raison = (
                        f"la donnée connue ({explain.periode(periode)}) a plus de {regle.mois} mois au "
                        f"{explain.jour(self.jour)} : trop ancienne pour ce règlement"
                    )
                    return replace(resolution, inconnu=raison)
            elif regle.annees is not None:
                ecart = self.jour.year - int(periode[:4])
                if ecart > regle.annees:
                    raison = f"les revenus {periode[:4]} sont plus anciens que ce qu'admet le règlement"
                    return replace(resolution, inconnu=raison)
                if ecart > 1:
                    notes.append(f"revenus {periode[:4]} acceptés à défaut de revenus plus récents")
        if not notes:
            return resolution
        if resolution.note:
            notes.insert(0, resolution.note)
        return replace(resolution, note="; ".join(notes))

    def _posterieure(self, resolution: Resolution) -> str | None:
        """Why a datum cannot be used: a month after the reference date is never evidence of the
        situation on that date (issue 12)."""
        mois_reference = self.jour.year * 12 + self.jour.month - 1
        for _base, source in resolution.sources:
            periode = source.periode
            if periode is not None and len(periode) >= 7 and _mois(periode) > mois_reference:
                return (
                    f"la donnée connue ({explain.periode(periode)}) est postérieure à la date "
                    f"de référence ({explain.jour(self.jour)}) : elle ne peut pas être retenue"
                )
        return None

    def presenter(self, feuille: Feuille) -> Presentation:
        presentation = self.presentations[feuille.presentation]
        if presentation is None:
            resolution = self.resoudre_frais(feuille.comparaison.fait, feuille.regles)
            presentation = self.presentations[feuille.presentation] = presenter(resolution)
        return presentation


def presenter(resolution: Resolution) -> Presentation:
    """A resolution with its French context text."""
    bas, haut = resolution.bas, resolution.haut
    if resolution.inconnu is not None:
        return Presentation(resolution, "", None, exacte=False, numerique=False)
    numerique = type(bas) in _NOMBRES
    exacte = bas is haut or bas == haut
    centimes = None
    if not exacte:
        texte = (
            f"entre {explain.afficher(bas, resolution.unite)} et {explain.afficher(haut, resolution.unite)}"
        )
        texte += " (dates de naissance incomplètes)"
        valeur = None
    elif type(bas) is Fraction:  # a ratio, shown and carried as the same Decimal (at the cent)
        valeur, texte, centimes = explain.rapport_au_centime(bas, resolution.unite)
    else:
        valeur = explain.montrer(bas)
        texte = explain.afficher(bas, resolution.unite)
    origine = explain.source(resolution.source)
    contexte = f"{texte}, {origine}" if origine else texte
    if resolution.note:
        contexte += f", {resolution.note}"
    return Presentation(resolution, contexte, valeur, exacte, numerique, centimes)


def _ecart_exact(sens: int, valeur: Any, seuil: Any) -> Decimal:
    """Signed margin: positive on the satisfied side of an order comparison, negative beyond it."""
    if type(valeur) is Fraction or type(seuil) is Fraction:
        # (valeur - seuil) × sens as a ratio of integers, without building Fractions.
        n1, d1 = valeur.as_integer_ratio()
        n2, d2 = seuil.as_integer_ratio()
        numerateur, denominateur = (n1 * d2 - n2 * d1) * sens, d1 * d2
        commun = gcd(numerateur, denominateur)
        return explain.decimal_du_rapport(numerateur // commun, denominateur // commun)
    return (Decimal(valeur) - Decimal(seuil)) * sens


def _conclusion(satisfaite: bool, ecart: Decimal | None, sens: int, unite: str | None) -> str:
    conclusion = "condition remplie" if satisfaite else "condition non remplie"
    if ecart is None:
        return conclusion
    if not ecart:
        return f"{conclusion}, valeur exactement égale au seuil"
    if satisfaite:
        return f"{conclusion}, marge de {explain.nombre(abs(ecart), unite)}"
    manque = "dépassement de" if sens < 0 else "il manque"
    return f"{conclusion}, {manque} {explain.nombre(abs(ecart), unite)}"


#: The fields of a `ConditionEvaluee`, in order: worked out once per distinct leaf and evaluation,
#: then given to a new `ConditionEvaluee` for each aid that has the leaf.
ChampsCondition = tuple[
    str, str, ValeurAffichee, ValeurAffichee, bool | None, Decimal | None, Source | None, str | None,
    str | None, str, str | None,
]  # fmt: skip


def _si_inconnu(feuille: Feuille, seuil: Seuil, presentation: Presentation) -> ChampsCondition:
    """An unknown fact, read as the règlement says: the condition held, failed, or a default value."""
    resolution = presentation.resolution
    regle = feuille.si_inconnu
    inconnu = f"{feuille.impossible}{resolution.inconnu})"
    if regle in ("remplie", "non_remplie"):
        satisfaite = regle == "remplie"
        conclusion = "condition remplie" if satisfaite else "condition non remplie"
        texte = f"{inconnu} : {conclusion}, comme le prévoit le règlement quand la donnée est inconnue."
        return (
            feuille.critere, feuille.operateur, seuil.montre, None, satisfaite, None, resolution.source,
            seuil.deliberation, feuille.parametre, texte, None,
        )  # fmt: skip
    defaut = feuille.comparaison.valeur_si_inconnu
    satisfaite = bool(feuille.comparer(defaut, defaut, seuil.valeur))
    if isinstance(defaut, Decimal):
        suite = seuil.remplie_nombre if satisfaite else seuil.non_remplie_nombre
    else:
        suite = seuil.remplie_texte if satisfaite else seuil.non_remplie_texte
    conclusion = "condition remplie" if satisfaite else "condition non remplie"
    valeur = explain.afficher(defaut, resolution.unite)
    texte = f"{inconnu} ; le règlement retient alors {valeur}, qui{suite}{conclusion}."
    return (
        feuille.critere, feuille.operateur, seuil.montre, explain.montrer(defaut), satisfaite, None,
        resolution.source, seuil.deliberation, feuille.parametre, texte, None,
    )  # fmt: skip


def evaluer_feuille(feuille: Feuille, seuil: Seuil, presentation: Presentation) -> ChampsCondition:
    resolution = presentation.resolution
    if resolution.inconnu is not None:
        if feuille.si_inconnu is not None:
            return _si_inconnu(feuille, seuil, presentation)
        piece = resolution.pieces[0] if resolution.pieces else None
        demande = f" ; pièce à demander : {piece}" if piece else ""
        texte = f"{feuille.impossible}{resolution.inconnu}) : condition à vérifier{demande}."
        return (
            feuille.critere, feuille.operateur, seuil.montre, None, None, None, resolution.source,
            seuil.deliberation, feuille.parametre, texte, piece,
        )  # fmt: skip
    bas = resolution.bas
    valeur_seuil = seuil.valeur
    if type(bas) is Fraction:
        # Only a ratio without finite decimal form (1000 / 3) gets here; compare as fractions.
        satisfaite = feuille.comparer(bas, resolution.haut, Fraction(valeur_seuil))
    else:
        satisfaite = feuille.comparer(bas, resolution.haut, valeur_seuil)
    ecart = None
    sens = feuille.sens
    if sens and presentation.exacte:
        genre = type(bas)
        if genre is date:
            ecart = None
        elif (genre is Decimal or genre is int) and type(valeur_seuil) is Decimal:
            # Counts and ages (int) against a Decimal threshold: no detour through Fraction.
            valeur = bas if genre is Decimal else Decimal(bas)
            ecart = valeur - valeur_seuil if sens > 0 else valeur_seuil - valeur
        else:
            ecart = _ecart_exact(sens, bas, valeur_seuil)
    piece = None
    if satisfaite is None:
        piece = resolution.pieces[0] if resolution.pieces else None
        demande = f" ; pièce à demander : {piece}" if piece else ""
        texte = f"{feuille.sujet} ({presentation.contexte}){seuil.indecise}{demande}."
    else:
        if presentation.numerique:
            suite = seuil.remplie_nombre if satisfaite else seuil.non_remplie_nombre
        else:
            suite = seuil.remplie_texte if satisfaite else seuil.non_remplie_texte
        conclusion = _conclusion(satisfaite, ecart, sens, resolution.unite)
        texte = f"{feuille.sujet} ({presentation.contexte}){suite}{conclusion}."
    return (
        feuille.critere, feuille.operateur, seuil.montre, presentation.valeur, satisfaite, ecart,
        resolution.source, seuil.deliberation, feuille.parametre, texte, piece,
    )  # fmt: skip


#: A leaf explained from its fact's presentation (what `evaluer_feuille` gives for it).
Expliquer = Callable[[Presentation], ChampsCondition]


def expliquer_feuille(feuille: Feuille, seuil: Seuil) -> Expliquer:
    """How a compiled plan explains one leaf: an order comparison with a number threshold (the
    usual « est inférieur ou égal au plafond ») by `_explication_nombre`, with its texts written
    once; any other leaf by `evaluer_feuille`."""
    if feuille.sens and type(seuil.valeur) is Decimal:
        return _explication_nombre(feuille, seuil)

    def generale(presentation: Presentation) -> ChampsCondition:
        return evaluer_feuille(feuille, seuil, presentation)

    return generale


#: What a leaf's made fields are kept under, at most, per leaf (`expliquer_une_fois`).
_FAITES_EN_MEMO = 256


def expliquer_une_fois(
    feuille: Feuille, seuil: Seuil, construire: Callable[[ChampsCondition], Any]
) -> Callable[[Presentation], Any] | None:
    """For an order leaf with a number threshold (`_explication_nombre`): `construire` of its fields
    (a compiled plan's conditions for the leaf), kept for a whole value (a count, an age) whose
    presentation reads the same (its value, context and unit) from a plain source (`ordinaire`):
    the next such household gets the same object, made once (an equal source, the first one's;
    results are never mutated once returned). Anything else made anew. None for other leaves."""
    if not (feuille.sens and type(seuil.valeur) is Decimal):
        return None
    expliquer = _explication_nombre(feuille, seuil)
    faites: dict[tuple[Any, ...], Any] = {}

    def une_fois(presentation: Presentation) -> Any:
        resolution = presentation.resolution
        source = resolution.source
        if (
            type(resolution.bas) is not int
            or resolution.inconnu is not None
            or not presentation.exacte
            or source is None
            or not ordinaire(source)
        ):
            return construire(expliquer(presentation))
        # What the fields are made of: the value (its type too), the text around it, the unit,
        # and the source (a plain one: equal to any other with these three).
        cle = (resolution.bas, type(presentation.valeur), presentation.valeur, presentation.contexte,
               presentation.numerique, resolution.unite, source.fournisseur, source.certifie,
               source.periode)  # fmt: skip
        faite = faites.get(cle)
        if faite is None:
            faite = construire(expliquer(presentation))
            if len(faites) < _FAITES_EN_MEMO:
                faites[cle] = faite
        return faite

    return une_fois


def ordinaire(source: Source) -> bool:
    """Whether a source equals any other of the same provider, certification and period: a plain
    `Source` (a bool certification) without the day it was obtained, a request, the cache or
    staleness (what a declared or simulated fact carries)."""
    return (
        source.obtenu_le is None
        and source.request_id is None
        and source.depuis_cache is False
        and source.perime is False
        and type(source) is Source
        and type(source.certifie) is bool
    )


#: Whole values whose sentence end a number leaf keeps (counts, ages), and how many per leaf.
_ENTIER_GARDE = 10**9
_ENTIERS_EN_MEMO = 256


#: Thresholds whose cents `_explication_nombre` takes: below 1e19 cents (a margin then stays
#: below 1e18, as `explain.au_centime_entier` asks).
_SEUIL_CENTIMES = 10**19


def _centimes_du_seuil(seuil: Decimal) -> int | None:
    """A finite threshold with at most two decimals (its exponent, so that a difference with a
    value at the cent keeps two), below 1e17, in whole cents; else None."""
    exposant = seuil.as_tuple().exponent
    if type(exposant) is not int or exposant < -2:
        return None
    centimes = int(seuil.scaleb(2))
    return centimes if -_SEUIL_CENTIMES < centimes < _SEUIL_CENTIMES else None


def textes_nombre(feuille: Feuille, seuil: Seuil) -> tuple[str, str, str, str, str]:
    """The fixed parts of an order leaf's sentence with a number threshold: its start (before the
    context), its ends at the threshold (satisfied, not), and the starts of its ends with a margin
    (satisfied, not), each to be followed by the margin's text and « . »."""
    debut = f"{feuille.sujet} ("
    remplie = f"){seuil.remplie_nombre}condition remplie"
    non_remplie = f"){seuil.non_remplie_nombre}condition non remplie"
    remplie_egale = f"{remplie}, valeur exactement égale au seuil."
    non_remplie_egale = f"{non_remplie}, valeur exactement égale au seuil."
    marge = f"{remplie}, marge de "
    manque = f"{non_remplie}, {'dépassement de' if feuille.sens < 0 else 'il manque'} "
    return debut, remplie_egale, non_remplie_egale, marge, manque


def _explication_nombre(feuille: Feuille, seuil: Seuil) -> Expliquer:
    """`evaluer_feuille` for a leaf comparing a number with a `Decimal` threshold: an exact value
    (the usual case) is compared and its margin worked out directly (a ratio through its integer
    ratio, without `Fraction` arithmetic), its sentence made of texts written once per outcome with
    the household's context and margin placed in them; anything else by `evaluer_feuille`."""
    critere, operateur, parametre, sens = feuille.critere, feuille.operateur, feuille.parametre, feuille.sens
    valeur_seuil, montre, deliberation = seuil.valeur, seuil.montre, seuil.deliberation
    p, q = valeur_seuil.as_integer_ratio()
    debut, remplie_egale, non_remplie_egale, marge, manque = textes_nombre(feuille, seuil)
    strict = operateur in ("<", ">")
    nombre, ecart_rapport, texte_centimes = explain.nombre, explain.ecart_rapport, explain.texte_centimes
    unite = feuille.unite
    # A threshold at the cent (at most two decimals, as `Decimal` writes it) in whole cents: a ratio's
    # margin is then the difference of the two in cents (see `explain.DENOMINATEUR_CENTIMES`).
    seuil_centimes = _centimes_du_seuil(valeur_seuil)
    # Counts and ages (int) against a whole threshold: outcome, margin and the sentence's end by
    # value, kept (a few values recur; `Decimal(n) - seuil` is then `Decimal(n - seuil)`).
    entier = int(valeur_seuil) if valeur_seuil.as_tuple().exponent == 0 else None
    entiers: dict[int, tuple[bool, Decimal, str]] = {}

    def expliquer(presentation: Presentation) -> ChampsCondition:
        resolution = presentation.resolution
        if resolution.inconnu is not None or not presentation.exacte:
            return evaluer_feuille(feuille, seuil, presentation)
        bas = resolution.bas
        genre = type(bas)
        garder = False
        ecrit = ""  # the margin's text, when written with it
        # The margin is positive on the satisfied side: its sign (exact) decides the outcome.
        if genre is Decimal:
            ecart = signe = bas - valeur_seuil if sens > 0 else valeur_seuil - bas
        elif genre is int:
            if entier is not None and resolution.unite == unite and -_ENTIER_GARDE < bas < _ENTIER_GARDE:
                entree = entiers.get(bas)
                if entree is not None:
                    satisfaite, ecart, fin = entree
                    return (
                        critere, operateur, montre, presentation.valeur, satisfaite, ecart, resolution.source,
                        deliberation, parametre, f"{debut}{presentation.contexte}{fin}", None,
                    )  # fmt: skip
                garder = len(entiers) < _ENTIERS_EN_MEMO
            valeur = Decimal(bas)
            ecart = signe = valeur - valeur_seuil if sens > 0 else valeur_seuil - valeur
        elif genre is Fraction:
            centimes = presentation.centimes if seuil_centimes is not None else None
            # In whole cents, rounded: not zero, its sign is the exact margin's.
            difference = 0 if centimes is None else (centimes - seuil_centimes) * sens  # type: ignore[operator]
            if difference:
                # The margin at the cent: the value shown minus the threshold, exact (two decimals each,
                # below 1e17), what rounding the exact margin gives (see `_centimes_du_seuil`).
                ecart = presentation.valeur - valeur_seuil if sens > 0 else valeur_seuil - presentation.valeur
                satisfaite = difference > 0
                ecrit = texte_centimes(difference if satisfaite else -difference, resolution.unite)
                # The sentence in one piece: start, context, the end's start and the margin.
                texte = f"{debut}{presentation.contexte}{marge if satisfaite else manque}{ecrit}."
                return (
                    critere, operateur, montre, presentation.valeur, satisfaite, ecart, resolution.source,
                    deliberation, parametre, texte, None,
                )  # fmt: skip
            n, d = bas.as_integer_ratio()
            signe, denominateur = (n * q - p * d) * sens, d * q
            ecart, ecrit = ecart_rapport(signe, denominateur, resolution.unite)  # to the cent
        else:
            return evaluer_feuille(feuille, seuil, presentation)
        satisfaite = signe > 0 if strict else signe >= 0
        if not ecart:
            fin = remplie_egale if satisfaite else non_remplie_egale
        else:
            ecrit = ecrit or nombre(abs(ecart), resolution.unite)
            fin = f"{marge}{ecrit}." if satisfaite else f"{manque}{ecrit}."
        if garder:
            entiers[bas] = (satisfaite, ecart, fin)
        return (
            critere, operateur, montre, presentation.valeur, satisfaite, ecart, resolution.source,
            deliberation, parametre, f"{debut}{presentation.contexte}{fin}", None,
        )  # fmt: skip

    return expliquer
