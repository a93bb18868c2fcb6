"""The verdicts of a compiled plan as one generated Python function, straight-line: each fact read
once into a local, each leaf's three-valued comparison written out with its threshold, each aid's
verdict and deciding codes looked up by the outcomes of its leaves, its amount from the plan's memo.

Safety of the generated text: it is made only of fixed templates, local names built from indices
(`l3`, `i7`, `S7`…) and the operators of a closed list (`<=`, `<`, `>=`, `>`). Nothing the règlement
says (thresholds, fact names, codes, labels, lists of values) is ever written into the source: every
such value is bound in the function's namespace under an index-built name, so a règlement cannot
inject code, whatever its text. The source is compiled with `compile()` and `exec()` on that
namespace only (no builtins but the few it names).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal
from fractions import Fraction
from typing import Any

from app.rules.facts import Fait

#: (verdict, codes) by outcomes, for one aid.
Decider = Callable[[tuple[bool | None, ...]], tuple[bool | None, tuple[str, ...]]]

# Inline three-valued comparisons of an interval [b, h] with a threshold s (as `logic.COMPARATEURS`).
_EN_LIGNE = {
    "<=": "True if {h} <= {s} else False if {b} > {s} else None",
    "<": "True if {h} < {s} else False if {b} >= {s} else None",
    ">=": "True if {b} >= {s} else False if {h} < {s} else None",
    ">": "True if {b} > {s} else False if {h} <= {s} else None",
}


class Feuille:
    """What the generator needs of one distinct leaf."""

    __slots__ = ("comparer", "inconnue", "lecture", "operateur", "seuil")

    def __init__(
        self, lecture: int, operateur: str, seuil: Any, inconnue: bool | None, comparer: Any
    ) -> None:
        self.lecture = lecture  # index of the reader (one per distinct fact and freshness rules)
        self.operateur = operateur
        self.seuil = seuil
        self.inconnue = inconnue  # the outcome when the fact is unknown
        self.comparer = comparer  # the general three-valued comparison, for what is not inlined


class Aide:
    """What the generator needs of one chosen aid."""

    __slots__ = ("a_montant", "decider", "id", "memo", "positions")

    def __init__(
        self,
        id: str,
        positions: Sequence[int],
        memo: dict[tuple[bool | None, ...], tuple[bool | None, tuple[str, ...]]],
        decider: Decider,
        a_montant: bool,
    ) -> None:
        self.id = id
        self.positions = tuple(positions)
        self.memo = memo  # outcomes → (verdict, codes), filled by `decider`
        self.decider = decider
        self.a_montant = a_montant


Verdicts = Callable[[Any, Mapping[str, Fait], Any], tuple[Any, ...]]


def generer(
    lectures: Sequence[Callable[[Mapping[str, Fait]], Any]],
    feuilles: Sequence[Feuille],
    aides: Sequence[Aide],
    montant: Callable[[Any, int, Any], Any],
    verdict: type,
    statuts: tuple[Any, Any, Any],
) -> tuple[Verdicts, str]:
    """The function `verdicts(reglement, connus, faits) -> tuple[Verdict, ...]` and its source.

    `montant(reglement, index of the aid, connus)` gives an eligible aid's `Calcule` (the plan's
    memo, each distinct amount rule once per household: the caller's state)."""
    eligible, non_eligible, a_verifier = statuts
    espace: dict[str, Any] = {
        "__builtins__": {},
        "type": type,
        "FRACTION": Fraction,
        "VERDICT": verdict,
        "ELIGIBLE": eligible,
        "NON_ELIGIBLE": non_eligible,
        "A_VERIFIER": a_verifier,
        "MONTANT": montant,
        "CODES_MONTANT": ("montant",),
    }
    lignes = ["def verdicts(reglement, connus, etat):"]
    ecrire = lignes.append
    lues: set[int] = set()
    for n, feuille in enumerate(feuilles):
        rang = feuille.lecture
        if rang not in lues:
            lues.add(rang)
            espace[f"L{rang}"] = lectures[rang]
            ecrire(f"    l{rang} = L{rang}(connus)")
        espace[f"S{n}"] = feuille.seuil
        espace[f"U{n}"] = feuille.inconnue
        espace[f"C{n}"] = feuille.comparer
        ecrire(f"    if l{rang} is None:")
        ecrire(f"        i{n} = U{n}")
        ecrire("    else:")
        ecrire(f"        b, h = l{rang}")
        gabarit = _EN_LIGNE.get(feuille.operateur)
        if (
            gabarit is not None
            and isinstance(feuille.seuil, int | Decimal)
            and not isinstance(feuille.seuil, bool)
        ):
            espace[f"F{n}"] = Fraction(feuille.seuil)
            ecrire("        if type(b) is FRACTION:")
            ecrire(f"            i{n} = {gabarit.format(b='b', h='h', s=f'F{n}')}")
            ecrire("        else:")
            ecrire(f"            i{n} = {gabarit.format(b='b', h='h', s=f'S{n}')}")
        elif feuille.operateur in ("in", "not in"):
            ecrire("        if type(b) is FRACTION:")
            ecrire(f"            i{n} = C{n}(b, h, FRACTION(S{n}))")
            ecrire("        else:")
            ecrire(f"            i{n} = b {feuille.operateur} S{n}")
        else:  # equalities, and any threshold that is not a plain number: the general comparison
            ecrire(f"        i{n} = C{n}(b, h, FRACTION(S{n}) if type(b) is FRACTION else S{n})")
    sorties = []
    for a, aide in enumerate(aides):
        espace[f"ID{a}"] = aide.id
        espace[f"J{a}"] = aide.memo
        espace[f"D{a}"] = aide.decider
        cle = "(" + "".join(f"i{p}, " for p in aide.positions) + ")"
        ecrire(f"    k = {cle}")
        ecrire(f"    e = J{a}.get(k)")
        ecrire("    if e is None:")
        ecrire(f"        e = D{a}(k)")
        ecrire("    v, codes = e")
        ecrire("    if v is True:")
        if aide.a_montant:
            ecrire(f"        m = MONTANT(reglement, {a}, etat)")
            ecrire("        if m.vide:")
            ecrire(f"            r{a} = VERDICT(ID{a}, A_VERIFIER, None, None, CODES_MONTANT)")
            ecrire("        else:")
            ecrire(f"            r{a} = VERDICT(ID{a}, ELIGIBLE, m.montant, m.tranche, codes)")
        else:
            ecrire(f"        r{a} = VERDICT(ID{a}, ELIGIBLE, None, None, codes)")
        ecrire("    elif v is False:")
        ecrire(f"        r{a} = VERDICT(ID{a}, NON_ELIGIBLE, None, None, codes)")
        ecrire("    else:")
        ecrire(f"        r{a} = VERDICT(ID{a}, A_VERIFIER, None, None, codes)")
        sorties.append(f"r{a}")
    ecrire(f"    return ({''.join(s + ', ' for s in sorties)})")
    source = "\n".join(lignes) + "\n"
    exec(compile(source, "<verdicts générés>", "exec"), espace)  # noqa: S102 - see the module docstring
    fonction: Verdicts = espace["verdicts"]
    return fonction, source
