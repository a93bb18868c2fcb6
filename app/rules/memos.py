"""What a compiled plan keeps from one household to the next, because it depends only on values
that recur (amounts, motifs and codes are règlement text and numbers):

- `MemoMontant`: an aid's amount (`Calcule`) by the values its computation read, when these are
  numbers or yes/no only: a computation that reads a date (a birth date), a text or a list is not
  kept, so no such value is ever a key (house rule: no birth date, name or address in a cache
  key). The computation is a deterministic function of the values it reads, in the order it reads
  them (which fact it reads next depends only on what it has read so far), so the memo is a tree:
  each node names the fact read next, each branch a value of it, each leaf the result. Walking it
  reads the same facts as the computation would, and only those; on a miss the computation runs
  (through a recording resolver) and its path is added. Values are told apart by type and exact
  text (`Decimal("2.0")` is not `Decimal("2")`), so a kept result is the one the computation
  gives, to the digit.
- `memoriser`: a compiled amount rule (montants_rediges.py, montants_compiles.py) by the values of
  every fact it may read, under the same rule (numbers and yes/no only, told apart by type and
  exact text); it switches itself off for good when, after `ESSAIS_MEMO` calls, fewer than one in
  four were found (an amount read from monthly resources or a QF to the cent seldom recurs: reading
  the key would then only add to the computation), and then hands its caller the bare computation
  to call in its place (`remplacer`), so that a memo switched off costs nothing.
- the justifications of an aid by the outcomes of its leaves (`compiled.py`): the tree's verdict,
  the deciding codes, the motif's phrases, which depend on nothing else.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping, Sequence
from decimal import Decimal
from fractions import Fraction
from typing import Any, TypeVar

from app.rules.comparison import Resolution, Resolveur
from app.rules.facts import Fait, RefFait
from app.rules.montants import Calcule
from app.rules.plan import Regles

#: Results kept per amount rule before its memo starts afresh (continuous inputs, such as monthly
#: resources, would otherwise grow it without bound).
MONTANTS_EN_MEMO = 4096


#: Calls after which `memoriser` looks at how often it found the amount (at least one in four: on).
ESSAIS_MEMO = 128

T = TypeVar("T")

#: The signature of a value a memo does not keep (anything but a number or yes/no).
NON_GARDEE: Hashable = ("non gardée",)
_NOMBRES = (int, bool, Fraction)


def _exact(valeur: Any) -> Hashable:
    # Decimals by their text (exponent included); other numbers with their type (True is not 1,
    # Fraction(5) is not 5); anything else is not kept.
    if type(valeur) is Decimal:
        return str(valeur)
    if type(valeur) in _NOMBRES:
        return (type(valeur), valeur)
    return NON_GARDEE


def signature(resolution: Resolution) -> Hashable:
    """What an amount's computation can read of a resolution: its value, or why it is unknown;
    `NON_GARDEE` for a value that is not a number or yes/no."""
    if resolution.inconnu is not None:
        return (resolution.libelle, resolution.pieces)
    bas, haut = resolution.bas, resolution.haut
    if bas is haut:
        exact = _exact(bas)
        return NON_GARDEE if exact is NON_GARDEE else (resolution.libelle, resolution.unite, exact)
    exact_bas, exact_haut = _exact(bas), _exact(haut)
    if exact_bas is NON_GARDEE or exact_haut is NON_GARDEE:
        return NON_GARDEE
    return (resolution.libelle, resolution.unite, exact_bas, exact_haut)


class _Noeud:
    __slots__ = ("branches", "lecture", "resultat")

    def __init__(self) -> None:
        self.lecture: tuple[RefFait, Regles] | None = None  # what is read here
        self.branches: dict[Hashable, _Noeud] = {}  # by the signature of what was read
        self.resultat: Calcule | None = None


class _Trace(Resolveur):
    """A resolver that resolves through another and records what was read."""

    __slots__ = ("deja", "interne", "lectures")

    def __init__(self, interne: Resolveur, deja: list[tuple[tuple[RefFait, Regles], Resolution]]) -> None:
        # Not Resolveur.__init__: everything goes to `interne`.
        self.interne = interne
        self.jour = interne.jour
        self.deja = deja  # what the walk down the memo has already read, in order
        self.lectures: list[tuple[tuple[RefFait, Regles], Hashable]] = []

    def resoudre_frais(self, ref: RefFait, regles: Regles) -> Resolution:
        rang = len(self.lectures)
        if rang < len(self.deja) and self.deja[rang][0] == (ref, regles):
            resolution = self.deja[rang][1]
        else:
            resolution = self.interne.resoudre_frais(ref, regles)
        self.lectures.append(((ref, regles), signature(resolution)))
        return resolution


class MemoMontant:
    """The amounts of one amount rule, by the values read (see the module's docstring)."""

    __slots__ = ("racine", "taille")

    def __init__(self) -> None:
        self.racine = _Noeud()
        self.taille = 0

    def calcule(self, resolveur: Resolveur, calculer: Callable[[Resolveur], Calcule]) -> Calcule:
        """The amount for the facts `resolveur` reads: from the memo, else `calculer(resolveur)`."""
        noeud = self.racine
        lues = []
        while True:
            resultat = noeud.resultat
            if resultat is not None:
                return resultat
            lecture = noeud.lecture
            if lecture is None:
                break
            resolution = resolveur.resoudre_frais(*lecture)
            cle = signature(resolution)
            if cle is NON_GARDEE:
                return calculer(resolveur)  # computed, not kept
            suivant = noeud.branches.get(cle)
            if suivant is None:
                lues.append((lecture, resolution))
                break
            lues.append((lecture, resolution))
            noeud = suivant
        trace = _Trace(resolveur, lues)
        resultat = calculer(trace)
        if any(cle is NON_GARDEE for _, cle in trace.lectures):
            return resultat  # it read a date, a text or a list: not kept
        if self.taille >= MONTANTS_EN_MEMO:
            self.racine, self.taille = _Noeud(), 0
        noeud = self.racine
        for lecture, cle in trace.lectures:
            if noeud.lecture is None:
                noeud.lecture = lecture
            elif noeud.lecture != lecture:  # pragma: no cover - the computation is deterministic
                raise AssertionError(f"lecture {lecture!r} au lieu de {noeud.lecture!r}")
            suivant = noeud.branches.get(cle)
            if suivant is None:
                suivant = noeud.branches[cle] = _Noeud()
            noeud = suivant
        noeud.resultat = resultat
        self.taille += 1
        return resultat


def _cle(valeur: Any) -> Hashable:
    """A value's part of a `memoriser` key: an int as itself, a Decimal by its text (exponent
    included), a Fraction as « n/d » (never a Decimal's text), yes/no as a 1-tuple (`True` is not
    1); `NON_GARDEE` for anything else (a date, a text, a list)."""
    genre = type(valeur)
    if genre is int:
        return valeur  # type: ignore[no-any-return]
    if genre is Decimal:
        return str(valeur)
    if genre is Fraction:
        return f"{valeur.numerator}/{valeur.denominator}"
    if genre is bool:
        return (valeur,)
    return NON_GARDEE


def memoriser(
    lectures: Sequence[Callable[[Mapping[str, Fait]], tuple[Any, Any] | None]],
    calculer: Callable[[Mapping[str, Fait]], T],
    remplacer: Callable[[Callable[[Mapping[str, Fait]], T]], object] | None = None,
) -> Callable[[Mapping[str, Fait]], T]:
    """`calculer` (a compiled amount rule, a deterministic function of what `lectures` read: every
    fact it may read, each reader giving its (low, high) or None) kept by the values read: a
    household whose facts read the same, to the type and the digit, gets the same result object
    (results are never mutated once returned). A call where a fact is unknown or is not a number
    or yes/no is computed and not kept. Off for good after `ESSAIS_MEMO` calls if fewer than one in
    four were found; at most `MONTANTS_EN_MEMO` results, then afresh.

    `remplacer`, when given, is how the caller swaps the returned function for a cheaper one that
    gives the same results: called with `calculer` itself when the memo switches itself off (it
    would only pass the calls on), and, for a rule that reads nothing, with a function returning
    its first result (the one every later call would find)."""
    if not lectures and remplacer is not None:
        return _constant(calculer, remplacer)
    memo: dict[tuple[Hashable, ...], T] = {}
    appels = trouves = 0
    actif = True

    def memorise(connus: Mapping[str, Fait]) -> T:
        nonlocal appels, trouves, actif
        if not actif:
            return calculer(connus)
        cle: list[Hashable] = []
        for lire in lectures:
            valeurs = lire(connus)
            if valeurs is None:
                return calculer(connus)
            bas, haut = valeurs
            partie = bas if type(bas) is int else _cle(bas)  # an int (a count) without the frame
            if partie is NON_GARDEE:
                return calculer(connus)
            if haut is not bas:  # an interval: its two ends in one part (the key stays unambiguous)
                fin = _cle(haut)
                if fin is NON_GARDEE:
                    return calculer(connus)
                partie = (partie, fin)
            cle.append(partie)
        appels += 1
        if appels == ESSAIS_MEMO and trouves * 4 < appels:
            actif = False
            memo.clear()
            if remplacer is not None:
                remplacer(calculer)  # from now on the caller calls it directly
        gardee = tuple(cle)
        resultat = memo.get(gardee, _ABSENT)
        if resultat is not _ABSENT:
            trouves += 1
            return resultat  # type: ignore[no-any-return]
        resultat = calculer(connus)
        if actif:
            if len(memo) >= MONTANTS_EN_MEMO:
                memo.clear()
            memo[gardee] = resultat
        return resultat

    return memorise


def _constant(
    calculer: Callable[[Mapping[str, Fait]], T],
    remplacer: Callable[[Callable[[Mapping[str, Fait]], T]], object],
) -> Callable[[Mapping[str, Fait]], T]:
    """`memoriser` of a rule that reads nothing: its first result, then `remplacer` with a function
    returning that result (a rule that raises, raises on every call: nothing is kept)."""

    def premier(connus: Mapping[str, Fait]) -> T:
        resultat = calculer(connus)

        def constant(connus: Mapping[str, Fait]) -> T:
            return resultat

        remplacer(constant)
        return resultat

    return premier


_ABSENT: Any = object()
