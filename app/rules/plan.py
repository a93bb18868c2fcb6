"""The règlement compiled for evaluation: condition trees as small node objects with everything
that does not depend on the facts worked out once (freshness rules, labels, threshold texts by date).

Identical leaves (same fact, freshness rules, operator and threshold) and identical amount rules
are compiled once and shared by every aid that writes them, so an evaluation works each out once.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any
from weakref import WeakKeyDictionary

from app.rules import explain
from app.rules.derived import CATALOGUE, Catalogue, faits_de_base, libelle_du_fait, unite_du_fait
from app.rules.facts import TypeFait
from app.rules.logic import (
    COMPARATEURS,
    NEGATION,
    CombinaisonAuMoins,
    CombinaisonAuMoinsUne,
    CombinaisonToutes,
)
from app.rules.model import (
    AuMoins,
    AuMoinsUne,
    Comparaison,
    Condition,
    Dispositif,
    EnVigueur,
    Fraicheur,
    Non,
    Parametre,
    RefFait,
    Reglement,
    Toutes,
)
from app.rules.needs import faits_du_dispositif, references_du_dispositif
from app.rules.results import BaremeApplique, ParametreApplique, ReferenceReglement

Regles = tuple[tuple[str, Fraicheur], ...]
_DATES_EN_CACHE = 32
#: Prepared (reference date, chosen aids) pairs kept per règlement: requests mostly use "today".
_PREPARATIONS_EN_CACHE = 64


@dataclass(frozen=True, slots=True)
class Seuil:
    """A leaf's threshold at one date, and the French phrases built around it."""

    valeur: Any
    montre: Any  # as carried in results
    deliberation: str | None
    # What follows "Le quotient familial (550 €, …)" in the explanation, by outcome:
    remplie_nombre: str  # " est inférieur ou égal au plafond … (600 €, délibération …) : "
    non_remplie_nombre: str
    remplie_texte: str  # texts and booleans "valent" rather than "are equal"
    non_remplie_texte: str
    indecise: str  # " ne permet pas de conclure par rapport au plafond … : condition à vérifier"


def regles_de_fraicheur(
    ref: RefFait, propre: Fraicheur | None, dispositif: Dispositif, reglement: Reglement
) -> Regles:
    """For each base fact, the freshness rule of the condition, else of the aid, else of the règlement."""
    regles = []
    for base in faits_de_base(ref.nom, reglement.catalogue):
        regle = propre
        for niveau in (dispositif.fraicheur, reglement.fraicheur):
            regle = regle or niveau.get(base) or niveau.get(ref.nom)
        if regle is not None:
            regles.append((base, regle))
    return tuple(regles)


class Feuille:
    """A compiled leaf condition, shared by every aid of the règlement that writes the same one."""

    __slots__ = (
        "comparaison",
        "comparer",
        "critere",
        "defini",
        "impossible",
        "libelle",
        "operateur",
        "parametre",
        "presentation",
        "regles",
        "sens",
        "si_inconnu",
        "sujet",
        "textes",
        "unite",
        "verbes_nombre",
        "verbes_texte",
    )

    def __init__(
        self,
        comparaison: Comparaison,
        regles: Regles,
        parametre: Parametre | None,
        presentation: int,
        catalogue: Catalogue = CATALOGUE,
    ) -> None:
        self.comparaison = comparaison
        self.regles = regles
        self.defini = parametre  # the règlement's parameter giving the threshold, if any
        self.presentation = presentation  # index among the distinct (fact, freshness rules) pairs
        self.libelle = libelle_du_fait(comparaison.fait, catalogue)
        self.sujet = explain.majuscule(self.libelle)
        self.impossible = f"Impossible d'établir {self.libelle} ("
        self.unite = unite_du_fait(comparaison.fait.nom, catalogue)
        self.critere = comparaison.fait.nom
        self.operateur = comparaison.operateur
        self.parametre = comparaison.parametre
        self.comparer = COMPARATEURS[comparaison.operateur]
        # +1: margin is value - threshold (">=", ">"); -1: threshold - value ("<=", "<"); 0: none.
        self.sens = {"<=": -1, "<": -1, ">=": 1, ">": 1}.get(comparaison.operateur, 0)
        self.si_inconnu = comparaison.si_inconnu
        self.verbes_nombre = explain.VERBES[comparaison.operateur]
        self.verbes_texte = explain.VERBES_TEXTE.get(comparaison.operateur) or self.verbes_nombre
        if catalogue.type(comparaison.fait.nom) is TypeFait.DATE:
            self.verbes_texte = explain.VERBES_DATE[comparaison.operateur]
        self.textes: dict[date, Seuil] = {}

    def seuil(self, jour: date, vigueur: EnVigueur) -> Seuil:
        """The threshold in force at `jour` (whose dated values are `vigueur`), with its French phrases."""
        textes = self.textes.get(jour)
        if textes is None:
            textes = self._seuil(vigueur)
            if len(self.textes) >= _DATES_EN_CACHE:
                self.textes.clear()
            self.textes[jour] = textes
        return textes

    def _seuil(self, vigueur: EnVigueur) -> Seuil:
        condition = self.comparaison
        deliberation = None
        if self.defini is None:
            seuil: Any = condition.valeur
            cible = explain.afficher(seuil, self.unite)
            if isinstance(seuil, tuple):
                cible = f"les valeurs {cible}"
        else:
            en_vigueur = vigueur.parametre(self.defini.nom)
            seuil = en_vigueur.valeur
            deliberation = explain.deliberation(en_vigueur.deliberation)
            seuil_texte = explain.afficher(seuil, self.defini.unite or self.unite)
            precision = f"{seuil_texte}, {deliberation}" if deliberation else seuil_texte
            cible = f"{self.defini.libelle} ({precision})"
        oui_nombre, non_nombre, preposition_nombre = self.verbes_nombre
        oui_texte, non_texte, preposition_texte = self.verbes_texte
        apres_nombre = explain.avec(preposition_nombre, cible)
        apres_texte = explain.avec(preposition_texte, cible)
        return Seuil(
            seuil,
            explain.montrer(seuil),
            deliberation,
            f" {oui_nombre} {apres_nombre} : ",
            f" {non_nombre} {apres_nombre} : ",
            f" {oui_texte} {apres_texte} : ",
            f" {non_texte} {apres_texte} : ",
            f" ne permet pas de conclure par rapport {explain.avec('à', cible)} : condition à vérifier",
        )


@dataclass(frozen=True, slots=True)
class PlanDispositif:
    dispositif: Dispositif
    racine: CombinaisonToutes
    feuilles: tuple[Feuille, ...]  # in evaluation order
    plat: bool  # the root is "all of" leaves only: the verdict needs no tree walk
    regles_bareme: Regles
    regles_multiplicateur: Regles
    parametres: frozenset[str]  # dated parameters the aid uses
    baremes: frozenset[str]
    faits_de_base: frozenset[str]  # catalogue facts the aid reads
    montant: int | None  # index among the règlement's distinct amount rules
    deliberation: str | None  # the délibération that created the aid, as a French phrase
    codes: tuple[str, ...] = ()  # each leaf's code in the aid, in evaluation order
    regles_montant: Mapping[RefFait, Regles] = field(
        default_factory=dict
    )  # freshness of what the amount reads
    libelles: tuple[str, ...] = ()  # each leaf's fact, as a French noun phrase (marked under a `non`)


@dataclass(frozen=True, slots=True)
class Preparation:
    """What an evaluation of some aids at one date needs besides the facts."""

    plans: tuple[PlanDispositif, ...]
    vigueur: EnVigueur
    feuilles: tuple[Feuille, ...]  # the distinct leaves of the chosen aids …
    seuils: tuple[Seuil, ...]  # … their thresholds at the date …
    positions: tuple[tuple[int, ...], ...]  # … and where each aid's leaves are among them
    parametres_appliques: tuple[ParametreApplique, ...]
    baremes_appliques: tuple[BaremeApplique, ...]
    faits_de_base: tuple[str, ...]  # sorted: the catalogue facts the chosen aids read


class PlanReglement:
    """A compiled règlement: its aids, and the preparations made for dates."""

    __slots__ = ("dispositifs", "montants", "preparations", "presentations", "reference")

    def __init__(
        self,
        dispositifs: Mapping[str, PlanDispositif],
        presentations: int,
        montants: int,
        reference: ReferenceReglement,
    ) -> None:
        self.dispositifs = dispositifs
        self.presentations = presentations  # how many distinct (fact, freshness rules) pairs
        self.montants = montants  # how many distinct amount rules
        self.reference = reference
        self.preparations: dict[tuple[date, tuple[str, ...] | None], Preparation] = {}

    def garder(self, cle: tuple[date, tuple[str, ...] | None], preparation: Preparation) -> None:
        if len(self.preparations) >= _PREPARATIONS_EN_CACHE:
            self.preparations.clear()
        self.preparations[cle] = preparation


class _Aide:
    """An aid being compiled: its leaves, in evaluation order, with their codes and labels."""

    def __init__(self, dispositif: Dispositif) -> None:
        self.dispositif = dispositif
        self.feuilles: list[Feuille] = []
        self.codes: list[str] = []
        self.libelles: list[str] = []


class _Compilateur:
    """Compiles the aids of one règlement, sharing identical leaves and amount rules."""

    def __init__(self, reglement: Reglement) -> None:
        self.reglement = reglement
        self.feuilles: dict[str, Feuille] = {}
        self.presentations: dict[str, int] = {}
        self.montants: dict[str, int] = {}

    def feuille(self, comparaison: Comparaison, dispositif: Dispositif) -> Feuille:
        regles = regles_de_fraicheur(comparaison.fait, comparaison.fraicheur, dispositif, self.reglement)
        # repr keeps the types apart: a threshold `true` is not the number 1.
        signature = repr(
            (comparaison.fait, regles, comparaison.operateur, comparaison.valeur, comparaison.parametre)
        )
        feuille = self.feuilles.get(signature)
        if feuille is None:
            cle = repr((comparaison.fait, regles))
            presentation = self.presentations.setdefault(cle, len(self.presentations))
            parametre = (
                None if comparaison.parametre is None else self.reglement.parametres[comparaison.parametre]
            )
            feuille = Feuille(comparaison, regles, parametre, presentation, self.reglement.catalogue)
            self.feuilles[signature] = feuille
        return feuille

    def noeud(
        self, condition: Condition, aide: _Aide, *, contraire: bool = False, code: str | None = None
    ) -> int | CombinaisonToutes:
        """The compiled node; `contraire` pushes a `non` down to the leaves (De Morgan), so that each
        leaf is evaluated and explained in the sense the aid needs it."""
        code = code or (f"non-{condition.code}" if contraire else condition.code)
        match condition:
            case Comparaison():
                if contraire:
                    inverse = {"remplie": "non_remplie", "non_remplie": "remplie"}
                    si_inconnu = inverse.get(condition.si_inconnu or "", condition.si_inconnu)
                    condition = replace(
                        condition, operateur=NEGATION[condition.operateur], si_inconnu=si_inconnu
                    )
                feuille = self.feuille(condition, aide.dispositif)
                aide.feuilles.append(feuille)
                aide.codes.append(code)
                aide.libelles.append(
                    f"{feuille.libelle} (condition « non »)" if contraire else feuille.libelle
                )
                return len(aide.feuilles) - 1
            case Non(condition=enfant):
                return self.noeud(enfant, aide, contraire=not contraire, code=code)
            case Toutes(conditions=liste) | AuMoinsUne(conditions=liste) | AuMoins(conditions=liste):
                enfants = tuple(self.noeud(c, aide, contraire=contraire) for c in liste)
                # Under a `non`: non (A et B) = non A ou non B ; non (A ou B) = non A et non B ;
                # fewer than n of m hold = at least m - n + 1 of them fail.
                requis = {Toutes: len(liste), AuMoinsUne: 1}.get(type(condition))
                if requis is None:
                    requis = condition.nombre if isinstance(condition, AuMoins) else 1
                if contraire:
                    requis = len(liste) - requis + 1
                if requis == len(liste):
                    return CombinaisonToutes(enfants, code)
                if requis == 1:
                    return CombinaisonAuMoinsUne(enfants, code)
                return CombinaisonAuMoins(requis, enfants, code)
        raise TypeError(condition)  # pragma: no cover - Condition is a closed union

    def dispositif(self, dispositif: Dispositif) -> PlanDispositif:
        reglement = self.reglement
        aide = _Aide(dispositif)
        racine = CombinaisonToutes(tuple(self.noeud(c, aide) for c in dispositif.conditions.conditions))
        feuilles, codes, libelles = aide.feuilles, aide.codes, aide.libelles
        montant = dispositif.montant
        bareme = reglement.baremes[montant.bareme].fait if montant and montant.bareme else None
        multiplicateur = montant.multiplie_par if montant else None
        regles_bareme = regles_de_fraicheur(bareme, None, dispositif, reglement) if bareme else ()
        regles_multiplicateur = (
            regles_de_fraicheur(multiplicateur, None, dispositif, reglement) if multiplicateur else ()
        )
        rang_montant = None
        regles_montant: dict[RefFait, Regles] = {}
        if montant is not None:
            lus_montant = faits_du_dispositif(replace(dispositif, conditions=Toutes(())), None, reglement)
            regles_montant = {r: regles_de_fraicheur(r, None, dispositif, reglement) for r in lus_montant}
            signature = repr(
                (montant, regles_bareme, regles_multiplicateur, sorted(map(repr, regles_montant.items())))
            )
            rang_montant = self.montants.setdefault(signature, len(self.montants))
        parametres, baremes = references_du_dispositif(dispositif, reglement.parametres, reglement.baremes)
        faits_baremes = {nom: b.fait for nom, b in reglement.baremes.items()}
        catalogue = reglement.catalogue
        lus = faits_du_dispositif(dispositif, faits_baremes, reglement)
        bases = {b for ref in lus for b in faits_de_base(ref.nom, catalogue)}
        plat = racine.tranche is not None and not racine.noeuds
        return PlanDispositif(
            dispositif,
            racine,
            tuple(feuilles),
            plat,
            regles_bareme,
            regles_multiplicateur,
            frozenset(parametres),
            frozenset(baremes),
            frozenset(bases),
            rang_montant,
            explain.deliberation(dispositif.deliberation),
            tuple(codes),
            regles_montant,
            tuple(libelles),
        )


# No value refers back to its règlement, so an entry goes with the règlement (simulations load one
# per request).
_PLANS: WeakKeyDictionary[Reglement, PlanReglement] = WeakKeyDictionary()


def plan(reglement: Reglement) -> PlanReglement:
    """The compiled règlement (compiled on first use, then kept as long as the règlement)."""
    compile = _PLANS.get(reglement)
    if compile is None:
        compilateur = _Compilateur(reglement)
        dispositifs = {d.id: compilateur.dispositif(d) for d in reglement.dispositifs}
        compile = _PLANS[reglement] = PlanReglement(
            dispositifs,
            len(compilateur.presentations),
            len(compilateur.montants),
            reglement.reference(),
        )
    return compile
