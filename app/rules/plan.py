"""The règlement compiled for evaluation: condition trees as small node objects with everything
that does not depend on the facts worked out once (freshness rules, labels, threshold texts by date).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any
from weakref import WeakKeyDictionary

from app.rules import explain
from app.rules.derived import faits_de_base, libelle_du_fait, unite_du_fait
from app.rules.model import (
    AuMoins,
    AuMoinsUne,
    Comparaison,
    Condition,
    Dispositif,
    Fraicheur,
    Non,
    RefFait,
    Reglement,
    Toutes,
)
from app.rules.needs import faits_du_dispositif, references_du_dispositif

if TYPE_CHECKING:
    from app.rules.comparison import Resolveur
    from app.rules.results import ConditionEvaluee

Regles = tuple[tuple[str, Fraicheur], ...]
_DATES_EN_CACHE = 32


@dataclass(frozen=True, slots=True)
class Seuil:
    """A leaf's threshold at one date, and the French phrases built around it."""

    valeur: Any
    montre: Any  # as carried in results
    deliberation: str | None
    apres_a: str  # "au plafond … (600 €, délibération …)"
    apres_verbe_nombre: str
    apres_verbe_texte: str


def _trois_valeurs(test_vrai: Any, test_faux: Any) -> Any:
    def comparer(bas: Any, haut: Any, seuil: Any) -> bool | None:
        return True if test_vrai(bas, haut, seuil) else False if test_faux(bas, haut, seuil) else None

    return comparer


def _egal(bas: Any, haut: Any, seuil: Any) -> bool | None:
    if bas == haut:
        return bool(bas == seuil)
    if isinstance(bas, bool | str) or bas <= seuil <= haut:
        return None  # an interval holding the threshold: undecided
    return False


#: Three-valued comparison of an interval [bas, haut] with a threshold: true when it holds for
#: every value of the interval, false when for none, None otherwise.
COMPARATEURS: Mapping[str, Any] = {
    "<=": _trois_valeurs(lambda b, h, s: h <= s, lambda b, h, s: b > s),
    "<": _trois_valeurs(lambda b, h, s: h < s, lambda b, h, s: b >= s),
    ">=": _trois_valeurs(lambda b, h, s: b >= s, lambda b, h, s: h < s),
    ">": _trois_valeurs(lambda b, h, s: b > s, lambda b, h, s: h <= s),
    "==": _egal,
    "!=": lambda b, h, s: None if (e := _egal(b, h, s)) is None else not e,
    "in": lambda b, h, s: b in s,
    "not in": lambda b, h, s: b not in s,
}


def regles_de_fraicheur(
    ref: RefFait, propre: Fraicheur | None, dispositif: Dispositif, reglement: Reglement
) -> Regles:
    """For each base fact, the freshness rule of the condition, else of the aid, else of the règlement."""
    regles = []
    for base in faits_de_base(ref.nom):
        regle = propre
        for niveau in (dispositif.fraicheur, reglement.fraicheur):
            regle = regle or niveau.get(base) or niveau.get(ref.nom)
        if regle is not None:
            regles.append((base, regle))
    return tuple(regles)


class Feuille:
    """A compiled leaf condition."""

    __slots__ = (
        "cle",
        "comparaison",
        "comparer",
        "critere",
        "libelle",
        "operateur",
        "parametre",
        "reglement",
        "regles",
        "sens",
        "sujet",
        "textes",
        "unite",
        "verbes_nombre",
        "verbes_texte",
    )

    def __init__(self, comparaison: Comparaison, dispositif: Dispositif, reglement: Reglement) -> None:
        self.comparaison = comparaison
        self.reglement = reglement
        self.regles = regles_de_fraicheur(comparaison.fait, comparaison.fraicheur, dispositif, reglement)
        # A string key: its hash is cached, unlike a tuple of dataclasses rehashed on every lookup.
        self.cle = repr((comparaison.fait, self.regles))
        self.libelle = libelle_du_fait(comparaison.fait)
        self.sujet = explain.majuscule(self.libelle)
        self.unite = unite_du_fait(comparaison.fait.nom)
        self.critere = comparaison.fait.nom
        self.operateur = comparaison.operateur
        self.parametre = comparaison.parametre
        self.comparer = COMPARATEURS[comparaison.operateur]
        # +1: margin is value - threshold (">=", ">"); -1: threshold - value ("<=", "<"); 0: none.
        self.sens = {"<=": -1, "<": -1, ">=": 1, ">": 1}.get(comparaison.operateur, 0)
        self.verbes_nombre = explain.VERBES[comparaison.operateur]
        self.verbes_texte = explain.VERBES_TEXTE.get(comparaison.operateur) or self.verbes_nombre
        self.textes: dict[date, Seuil] = {}

    def seuil(self, jour: date) -> Seuil:
        """The threshold in force at `jour`, with its French phrases."""
        textes = self.textes.get(jour)
        if textes is None:
            textes = self._seuil(jour)
            if len(self.textes) >= _DATES_EN_CACHE:
                self.textes.clear()
            self.textes[jour] = textes
        return textes

    def _seuil(self, jour: date) -> Seuil:
        condition = self.comparaison
        deliberation = None
        if condition.parametre is None:
            seuil: Any = condition.valeur
            cible = explain.afficher(seuil, self.unite)
            if isinstance(seuil, tuple):
                cible = f"les valeurs {cible}"
        else:
            parametre = self.reglement.parametres[condition.parametre]
            en_vigueur = self.reglement.en_vigueur(jour).parametre(condition.parametre)
            seuil = en_vigueur.valeur
            deliberation = explain.deliberation(en_vigueur.deliberation)
            seuil_texte = explain.afficher(seuil, parametre.unite or self.unite)
            precision = f"{seuil_texte}, {deliberation}" if deliberation else seuil_texte
            cible = f"{parametre.libelle} ({precision})"
        return Seuil(
            seuil,
            explain.montrer(seuil),
            deliberation,
            explain.avec("à", cible),
            explain.avec(self.verbes_nombre[2], cible),
            explain.avec(self.verbes_texte[2], cible),
        )

    def evaluer(self, resolveur: Resolveur, sortie: list[ConditionEvaluee]) -> bool | None:
        evaluee = resolveur.evaluer_feuille(self)
        sortie.append(evaluee)
        return evaluee.satisfaite


class _Toutes:
    __slots__ = ("enfants",)

    def __init__(self, enfants: tuple[Noeud, ...]) -> None:
        self.enfants = enfants

    def evaluer(self, resolveur: Resolveur, sortie: list[ConditionEvaluee]) -> bool | None:
        valeurs = [e.evaluer(resolveur, sortie) for e in self.enfants]
        return False if False in valeurs else None if None in valeurs else True


class _AuMoinsUne(_Toutes):
    __slots__ = ()

    def evaluer(self, resolveur: Resolveur, sortie: list[ConditionEvaluee]) -> bool | None:
        valeurs = [e.evaluer(resolveur, sortie) for e in self.enfants]
        return True if True in valeurs else None if None in valeurs else False


class _AuMoins(_Toutes):
    __slots__ = ("nombre",)

    def __init__(self, nombre: int, enfants: tuple[Noeud, ...]) -> None:
        super().__init__(enfants)
        self.nombre = nombre

    def evaluer(self, resolveur: Resolveur, sortie: list[ConditionEvaluee]) -> bool | None:
        valeurs = [e.evaluer(resolveur, sortie) for e in self.enfants]
        vrais = valeurs.count(True)
        if vrais >= self.nombre:
            return True
        return False if vrais + valeurs.count(None) < self.nombre else None


class _Non:
    __slots__ = ("enfant",)

    def __init__(self, enfant: Noeud) -> None:
        self.enfant = enfant

    def evaluer(self, resolveur: Resolveur, sortie: list[ConditionEvaluee]) -> bool | None:
        valeur = self.enfant.evaluer(resolveur, sortie)
        return None if valeur is None else not valeur


Noeud = Feuille | _Toutes | _Non


@dataclass(frozen=True, slots=True)
class PlanDispositif:
    dispositif: Dispositif
    racine: Noeud
    feuilles: tuple[Feuille, ...]  # in evaluation order
    regles_bareme: Regles
    regles_multiplicateur: Regles
    parametres: frozenset[str]  # dated parameters the aid uses
    baremes: frozenset[str]
    faits_de_base: frozenset[str]  # catalogue facts the aid reads


def _compiler(
    condition: Condition, dispositif: Dispositif, reglement: Reglement, feuilles: list[Feuille]
) -> Noeud:
    match condition:
        case Comparaison():
            feuille = Feuille(condition, dispositif, reglement)
            feuilles.append(feuille)
            return feuille
        case Toutes(conditions=enfants):
            return _Toutes(tuple(_compiler(c, dispositif, reglement, feuilles) for c in enfants))
        case AuMoinsUne(conditions=enfants):
            return _AuMoinsUne(tuple(_compiler(c, dispositif, reglement, feuilles) for c in enfants))
        case AuMoins(nombre=n, conditions=enfants):
            return _AuMoins(n, tuple(_compiler(c, dispositif, reglement, feuilles) for c in enfants))
        case Non(condition=enfant):
            return _Non(_compiler(enfant, dispositif, reglement, feuilles))
    raise TypeError(condition)  # pragma: no cover - Condition is a closed union


_PLANS: WeakKeyDictionary[Reglement, Mapping[str, PlanDispositif]] = WeakKeyDictionary()


def plan(reglement: Reglement) -> Mapping[str, PlanDispositif]:
    """The compiled aids of a règlement (compiled on first use, then kept as long as the règlement)."""
    plans = _PLANS.get(reglement)
    if plans is None:
        compiles = {}
        for dispositif in reglement.dispositifs:
            feuilles: list[Feuille] = []
            racine = _compiler(dispositif.conditions, dispositif, reglement, feuilles)
            montant = dispositif.montant
            bareme = reglement.baremes[montant.bareme].fait if montant and montant.bareme else None
            multiplicateur = montant.multiplie_par if montant else None
            parametres, baremes = references_du_dispositif(dispositif)
            faits_baremes = {nom: b.fait for nom, b in reglement.baremes.items()}
            bases = {
                b for ref in faits_du_dispositif(dispositif, faits_baremes) for b in faits_de_base(ref.nom)
            }
            compiles[dispositif.id] = PlanDispositif(
                dispositif,
                racine,
                tuple(feuilles),
                regles_de_fraicheur(bareme, None, dispositif, reglement) if bareme else (),
                regles_de_fraicheur(multiplicateur, None, dispositif, reglement) if multiplicateur else (),
                frozenset(parametres),
                frozenset(baremes),
                frozenset(bases),
            )
        plans = _PLANS[reglement] = compiles
    return plans
