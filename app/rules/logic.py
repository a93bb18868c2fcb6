"""Three-valued logic: an interval value compared with a threshold, and the combinations of outcomes.

An outcome is true, false or unknown (`None`): a comparison is true when it holds for every value
of the interval, false when it holds for none; a combination is decided as soon as the known
outcomes decide it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def _inferieur_ou_egal(bas: Any, haut: Any, seuil: Any) -> bool | None:
    return True if haut <= seuil else False if bas > seuil else None


def _inferieur(bas: Any, haut: Any, seuil: Any) -> bool | None:
    return True if haut < seuil else False if bas >= seuil else None


def _superieur_ou_egal(bas: Any, haut: Any, seuil: Any) -> bool | None:
    return True if bas >= seuil else False if haut < seuil else None


def _superieur(bas: Any, haut: Any, seuil: Any) -> bool | None:
    return True if bas > seuil else False if haut <= seuil else None


def _egal(bas: Any, haut: Any, seuil: Any) -> bool | None:
    if bas == haut:
        return bool(bas == seuil)
    if isinstance(bas, bool | str) or bas <= seuil <= haut:
        return None  # an interval holding the threshold: undecided
    return False


def _different(bas: Any, haut: Any, seuil: Any) -> bool | None:
    egal = _egal(bas, haut, seuil)
    return None if egal is None else not egal


#: Three-valued comparison of an interval [bas, haut] with a threshold: true when it holds for
#: every value of the interval, false when for none, None otherwise.
COMPARATEURS: Mapping[str, Any] = {
    "<=": _inferieur_ou_egal,
    "<": _inferieur,
    ">=": _superieur_ou_egal,
    ">": _superieur,
    "==": _egal,
    "!=": _different,
    "in": lambda b, h, s: b in s,
    "not in": lambda b, h, s: b not in s,
}


# The combinations read the outcomes of an aid's leaves, already worked out, in evaluation order; a
# leaf is its position in that order.


class CombinaisonToutes:
    """`toutes`: true when every outcome is, false as soon as one is."""

    __slots__ = ("code", "enfants", "feuilles", "noeuds", "tranche")

    def __init__(self, enfants: tuple[int | CombinaisonToutes, ...], code: str = "") -> None:
        self.code = code
        self.enfants = enfants  # as written
        # The combinations count outcomes, whatever their order: leaves first, then sub-combinations.
        self.feuilles = [e for e in enfants if isinstance(e, int)]
        self.noeuds = [e for e in enfants if not isinstance(e, int)]
        debut = self.feuilles[0] if self.feuilles else 0
        fin = debut + len(self.feuilles)
        # Consecutive positions (unless a sub-combination comes between): the outcomes are a slice.
        self.tranche = slice(debut, fin) if self.feuilles == list(range(debut, fin)) else None

    def seuil(self) -> int:
        """How many outcomes must hold (`toutes`: all of them)."""
        return len(self.enfants)

    def issues(self, valeurs: list[bool | None]) -> list[bool | None]:
        tranche = self.tranche
        issues = valeurs[tranche] if tranche is not None else [valeurs[i] for i in self.feuilles]
        if self.noeuds:
            issues += [n.evaluer(valeurs) for n in self.noeuds]
        return issues

    def issues_ordonnees(self, valeurs: list[bool | None]) -> list[bool | None]:
        """The outcome of each child, in the order they are written."""
        return [valeurs[e] if isinstance(e, int) else e.evaluer(valeurs) for e in self.enfants]

    def evaluer(self, valeurs: list[bool | None]) -> bool | None:
        issues = self.issues(valeurs)
        return False if False in issues else None if None in issues else True


class CombinaisonAuMoinsUne(CombinaisonToutes):
    """`au_moins_une`: true as soon as one outcome is, false when every outcome is."""

    __slots__ = ()

    def seuil(self) -> int:
        return 1

    def evaluer(self, valeurs: list[bool | None]) -> bool | None:
        issues = self.issues(valeurs)
        return True if True in issues else None if None in issues else False


class CombinaisonAuMoins(CombinaisonToutes):
    """`au_moins`: true when `nombre` outcomes are, false when too few can still be."""

    __slots__ = ("nombre",)

    def __init__(self, nombre: int, enfants: tuple[int | CombinaisonToutes, ...], code: str = "") -> None:
        super().__init__(enfants, code)
        self.nombre = nombre

    def seuil(self) -> int:
        return self.nombre

    def evaluer(self, valeurs: list[bool | None]) -> bool | None:
        issues = self.issues(valeurs)
        vrais = issues.count(True)
        if vrais >= self.nombre:
            return True
        return False if vrais + issues.count(None) < self.nombre else None


class CombinaisonNon:
    """`non`: the opposite outcome; unknown stays unknown. (The plan pushes negations down to the
    leaves, so that each leaf is explained in the sense the aid needs; this node remains for code
    that builds trees by hand.)"""

    __slots__ = ("enfant",)

    def __init__(self, enfant: int | Noeud) -> None:
        self.enfant = enfant

    def evaluer(self, valeurs: list[bool | None]) -> bool | None:
        enfant = self.enfant
        valeur = valeurs[enfant] if isinstance(enfant, int) else enfant.evaluer(valeurs)
        return None if valeur is None else not valeur


Noeud = CombinaisonToutes | CombinaisonNon

#: The opposite of each operator, exact in three-valued logic on intervals: `non (x <= s)` holds
#: for every value of the interval exactly when `x > s` does, and is undecided exactly when it is.
NEGATION: Mapping[str, str] = {
    "<=": ">",
    ">": "<=",
    "<": ">=",
    ">=": "<",
    "==": "!=",
    "!=": "==",
    "in": "not in",
    "not in": "in",
}
