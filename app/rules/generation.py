"""The verdicts of a compiled plan as one generated Python function, straight-line: each fact read
once into a local, each leaf's three-valued comparison written out with its threshold, each aid's
verdict and deciding codes looked up by the outcomes of its leaves, its amount from the plan's memo.
The full evaluation likewise (`generer_evaluation`): each distinct leaf explained once into a local,
then each aid's conditions, motif and amount, without a loop or an intermediate list.

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

from app.rules.derived import DENOMINATEUR, NUMERATEUR
from app.rules.facts import Fait
from app.rules.results import champs_resultat

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
    *,
    montant: Callable[[Any, int, Any], Any],
    verdict: type,
    statuts: tuple[Any, Any, Any],
) -> tuple[Verdicts, str]:
    """The function `verdicts(reglement, connus, etat) -> tuple[Verdict, ...]` and its source.

    `montant(reglement, index of the aid, etat)` gives an eligible aid's amount (`etat`: what the
    caller keeps for one household, each distinct amount rule worked out once)."""
    eligible, non_eligible, a_verifier = statuts
    espace = espace_sans_builtins(
        NOUVEAU=object.__new__,
        type=type,
        FRACTION=Fraction,
        VERDICT=verdict,
        ELIGIBLE=eligible,
        NON_ELIGIBLE=non_eligible,
        A_VERIFIER=a_verifier,
        MONTANT=montant,
        CODES_MONTANT=("montant",),
    )
    lignes = ["def verdicts(reglement, connus, etat):"]
    lues: set[int] = set()
    for n, feuille in enumerate(feuilles):
        rang = feuille.lecture
        if rang not in lues:
            lues.add(rang)
            espace[f"L{rang}"] = lectures[rang]
            lignes.append(f"    l{rang} = L{rang}(connus)")
        lignes += _feuille(n, feuille, espace)
    champs = champs_resultat(verdict)
    for a, aide in enumerate(aides):
        lignes += _aide(a, aide, espace, champs)
    return _fonction(lignes, len(aides), espace, "verdicts", "<verdicts générés>")


def espace_sans_builtins(**liaisons: Any) -> dict[str, Any]:
    """A generated function's namespace: what it may name (`liaisons`), and no builtins."""
    return {"__builtins__": {}, **liaisons}


def compiler(lignes: list[str], espace: dict[str, Any], nom: str, fichier: str) -> tuple[Any, str]:
    """The function `nom` defined by `lignes` in `espace` (from `espace_sans_builtins`), and its
    source. Only for text made of this project's fixed templates (see the module docstring)."""
    source = "\n".join(lignes) + "\n"
    exec(compile(source, fichier, "exec"), espace)  # noqa: S102 - see the module docstring
    return espace[nom], source


def _fonction(
    lignes: list[str], aides: int, espace: dict[str, Any], nom: str, fichier: str
) -> tuple[Any, str]:
    """The generated function `nom` returning its aids' results `r0, r1…`, and its source."""
    lignes.append(f"    return ({''.join(f'r{a}, ' for a in range(aides))})")
    return compiler(lignes, espace, nom, fichier)


def _feuille(n: int, feuille: Feuille, espace: dict[str, Any]) -> list[str]:
    """The outcome of leaf n into `i{n}`, as `compiled._Compile._issues` works it out."""
    rang = feuille.lecture
    espace[f"S{n}"] = feuille.seuil
    espace[f"U{n}"] = feuille.inconnue
    espace[f"C{n}"] = feuille.comparer
    lignes = [f"    if l{rang} is None:", f"        i{n} = U{n}", "    else:", f"        b, h = l{rang}"]
    gabarit = _EN_LIGNE.get(feuille.operateur)
    seuil = feuille.seuil
    if gabarit is not None and type(seuil) in (int, Decimal):
        # A ratio (the usual exact one: b is h) against p / q: n × q against p × d, in integers.
        p, q = seuil.as_integer_ratio()
        espace[f"F{n}"], espace[f"P{n}"], espace[f"Q{n}"] = Fraction(seuil), p, q
        operateur = feuille.operateur  # one of `_EN_LIGNE`'s keys, a literal of this module
        lignes += [
            "        if type(b) is FRACTION:",
            "            if b is h:",
            f"                i{n} = b.{NUMERATEUR} * Q{n} {operateur} P{n} * b.{DENOMINATEUR}",
            "            else:",
            f"                i{n} = {gabarit.format(b='b', h='h', s=f'F{n}')}",
            "        else:",
            f"            i{n} = {gabarit.format(b='b', h='h', s=f'S{n}')}",
        ]
    elif feuille.operateur in ("in", "not in"):
        operateur = "in" if feuille.operateur == "in" else "not in"  # a literal of this module
        lignes += [
            "        if type(b) is FRACTION:",
            f"            i{n} = C{n}(b, h, FRACTION(S{n}))",
            "        else:",
            f"            i{n} = b {operateur} S{n}",
        ]
    else:  # equalities, and any threshold that is not a plain number: the general comparison
        lignes.append(f"        i{n} = C{n}(b, h, FRACTION(S{n}) if type(b) is FRACTION else S{n})")
    return lignes


def _aide(a: int, aide: Aide, espace: dict[str, Any], champs: Sequence[str]) -> list[str]:
    """Aid a's verdict into `r{a}`: verdict and codes by the outcomes of its leaves, then its amount;
    the `Verdict` built by `_nouveau` (`champs`: its fields)."""
    espace[f"ID{a}"] = aide.id
    espace[f"J{a}"] = aide.memo
    espace[f"D{a}"] = aide.decider
    cle = "(" + "".join(f"i{p}, " for p in aide.positions) + ")"

    def nouveau(statut: str, montant: str, tranche: str, codes: str, retrait: str) -> list[str]:
        return _nouveau(f"r{a}", "VERDICT", champs, (f"ID{a}", statut, montant, tranche, codes), retrait)

    lignes = [
        f"    k = {cle}",
        f"    e = J{a}.get(k)",
        "    if e is None:",
        f"        e = D{a}(k)",
        "    v, codes = e",
        "    if v is True:",
    ]
    if aide.a_montant:
        lignes += [
            f"        m = MONTANT(reglement, {a}, etat)",
            "        if m.vide:",
            *nouveau("A_VERIFIER", "None", "None", "CODES_MONTANT", " " * 12),
            "        else:",
            *nouveau("ELIGIBLE", "m.montant", "m.tranche", "codes", " " * 12),
        ]
    else:
        lignes += nouveau("ELIGIBLE", "None", "None", "codes", " " * 8)
    return [
        *lignes,
        "    elif v is False:",
        *nouveau("NON_ELIGIBLE", "None", "None", "codes", " " * 8),
        "    else:",
        *nouveau("A_VERIFIER", "None", "None", "codes", " " * 8),
    ]


# -- the full evaluation ------------------------------------------------------------------------------


class FeuilleExpliquee:
    """What the generator needs of one distinct leaf to explain it."""

    __slots__ = ("directe", "expliquer", "feuille", "liasse", "partagee", "presenter", "rang", "une_fois")

    def __init__(
        self, feuille: Any, rang: int, presenter: Any, directe: Any, expliquer: Any, *, partagee: Any = None,
        liasse: Any = None, une_fois: Any = None,
    ) -> None:  # fmt: skip
        self.feuille = feuille
        self.rang = rang  # index of its fact's presentation (shared by the leaves reading it)
        self.presenter = presenter  # (connus, resolveur, feuille) -> the fact's presentation
        self.directe = directe  # connus -> its fields without a presentation, or None; or None
        self.expliquer = expliquer  # presentation -> its fields
        # At most one of `directe`, `partagee`, `une_fois`. `liasse(fields)` -> (fields, then the
        # leaf's conditions in the order the aids take them: `liasses`); `partagee`: connus -> what
        # `liasse` makes, kept by value and source when it can, or None (then from its
        # presentation, `liasse(expliquer(p))`) (`lecteurs.explication_directe`).
        self.partagee = partagee
        self.liasse = liasse
        # presentation -> what `liasse` makes of its fields, kept by value and source when it can
        # (`comparison.expliquer_une_fois`).
        self.une_fois = une_fois


class AideExpliquee:
    """What the generator needs of one chosen aid to build its result."""

    __slots__ = ("a_montant", "aide", "base_legale", "codes", "deliberation", "id", "justifier", "libelle",
                 "memo", "positions")  # fmt: skip

    def __init__(self, aide: Any, positions: Sequence[int], codes: Sequence[str], a_montant: bool) -> None:
        self.aide = aide
        self.id, self.libelle, self.base_legale = aide.id, aide.libelle, aide.base_legale
        self.deliberation = aide.compile.deliberation
        self.positions = tuple(positions)
        self.codes = tuple(codes)
        self.memo = aide.justifications  # outcomes → (verdict, justification, motif, codes)
        self.justifier = aide.justification  # fills `memo`
        self.a_montant = a_montant


Evaluations = Callable[[Any, Mapping[str, Fait], Any, list[Any], list[Any]], tuple[Any, ...]]


def generer_evaluation(
    feuilles: Sequence[FeuilleExpliquee],
    aides: Sequence[AideExpliquee],
    *,
    condition: type,
    resultat: type,
    statuts: tuple[Any, Any, Any],
    montant: Callable[[Any, Any, list[Any], Any], Any],
    a_verifier: Callable[[Any, Any, tuple[Any, ...], Any, Any], Any],
    sans_montant: Any,
) -> tuple[Evaluations, str]:
    """The function `evaluer(reglement, connus, resolveur, presentations, montants) -> results` and
    its source, under the same rule as `generer` (no value of the règlement in the source).

    Each distinct leaf's fields are worked out once into a local (`directe`, else its explanation
    from its fact's presentation, made on first need), then each aid's conditions, verdict (by the
    outcomes of its leaves), motif and amount; an undecided aid by `a_verifier(reglement, aide,
    conditions, justification, montant)`."""
    eligible, non_eligible, _ = statuts
    espace = espace_sans_builtins(
        NOUVEAU=object.__new__,
        CONDITION=condition,
        RESULTAT=resultat,
        ELIGIBLE=eligible,
        NON_ELIGIBLE=non_eligible,
        MONTANT=montant,
        A_VERIFIER=a_verifier,
        SANS_MONTANT=sans_montant,
    )
    lignes = ["def evaluer(reglement, connus, resolveur, presentations, montants):"]
    pretes: set[int] = set()  # presentations surely made above (outside any branch)
    liasses: set[int] = set()  # the leaves whose conditions come made (`o{n}`)
    for n, feuille in enumerate(feuilles):
        espace[f"F{n}"], espace[f"P{n}"] = feuille.feuille, feuille.presenter
        espace[f"E{n}"] = feuille.expliquer
        r = feuille.rang
        presenter = [
            f"p{r} = presentations[{r}]",
            f"if p{r} is None:",
            f"    p{r} = presentations[{r}] = P{n}(connus, resolveur, F{n})",
        ]
        if feuille.partagee is not None:
            # `o{n}`: (its fields, then its conditions in the aids' order), made by `L{n}` or kept.
            espace[f"X{n}"], espace[f"L{n}"] = feuille.partagee, feuille.liasse
            liasses.add(n)
            lignes += [f"    o{n} = X{n}(connus)", f"    if o{n} is None:"]
            if r not in pretes:
                lignes += [f"        {ligne}" for ligne in presenter]
            lignes += [f"        o{n} = L{n}(E{n}(p{r}))", f"    c{n} = o{n}[0]"]
            continue
        if feuille.une_fois is not None:
            espace[f"E{n}"] = feuille.une_fois
            liasses.add(n)
            if r not in pretes:
                lignes += [f"    {ligne}" for ligne in presenter]
                pretes.add(r)
            lignes += [f"    o{n} = E{n}(p{r})", f"    c{n} = o{n}[0]"]
            continue
        if feuille.directe is not None:
            espace[f"X{n}"] = feuille.directe
            lignes += [f"    c{n} = X{n}(connus)", f"    if c{n} is None:"]
            if r not in pretes:
                lignes += [f"        {ligne}" for ligne in presenter]
            lignes.append(f"        c{n} = E{n}(p{r})")
            continue
        if r not in pretes:
            lignes += [f"    {ligne}" for ligne in presenter]
            pretes.add(r)
        lignes.append(f"    c{n} = E{n}(p{r})")
    champs = (champs_resultat(condition), champs_resultat(resultat))
    rangs = [0] * len(feuilles)  # per leaf, its conditions taken so far
    for a, aide in enumerate(aides):
        lignes += _resultat(a, aide, espace, champs, liasses=liasses, rangs=rangs)
    return _fonction(lignes, len(aides), espace, "evaluer", "<évaluation générée>")


def liasses(
    condition: type, feuilles: int, aides: Sequence[tuple[Sequence[int], Sequence[str]]]
) -> list[Callable[[tuple[Any, ...]], tuple[Any, ...]]]:
    """Per leaf (of `feuilles`), the function making its fields into (its fields, then one
    `condition` per use, with its code, in the order `aides` (positions, codes per aid, as
    `generer_evaluation` gets them) take them): `FeuilleExpliquee.liasse`."""
    codes: list[list[str]] = [[] for _ in range(feuilles)]
    for positions, codes_aide in aides:
        for position, code in zip(positions, codes_aide, strict=True):
            codes[position].append(code)
    return [_liasse(condition, c) for c in codes]


def _liasse(condition: type, codes: Sequence[str]) -> Callable[[tuple[Any, ...]], tuple[Any, ...]]:
    """The function making a leaf's fields into (its fields, then one `condition` per code, in
    order), generated (as `_nouveau` builds objects; the codes bound in the namespace)."""
    espace = espace_sans_builtins(NOUVEAU=object.__new__, CONDITION=condition)
    champs = champs_resultat(condition)
    lignes = ["def liasse(c):"]
    for j, code in enumerate(codes):
        espace[f"K{j}"] = code
        lignes += _condition(f"q{j}", champs, "c", f"K{j}")
    lignes.append(f"    return (c, {''.join(f'q{j}, ' for j in range(len(codes)))})")
    return compiler(lignes, espace, "liasse", "<conditions d'une feuille générées>")[0]  # type: ignore[no-any-return]


def _condition(variable: str, champs: Sequence[str], feuille: str, code: str) -> list[str]:
    """Lines building a `CONDITION` into `variable`, as `_nouveau`: the leaf's fields (every field
    but the code, in order) unpacked from its tuple `feuille`, then the code `code` (local names)."""
    return [
        f"    {variable} = NOUVEAU(CONDITION)",
        f"    {', '.join(f'{variable}.{c}' for c in champs[:-1])} = {feuille}",
        f"    {variable}.{champs[-1]} = {code}",
    ]


def _nouveau(
    variable: str, classe: str, champs: Sequence[str], valeurs: Sequence[str], retrait: str
) -> list[str]:
    """Lines building `classe` (a name bound in the namespace) into `variable` without its
    `__init__`: `object.__new__`, then each field assigned from the matching expression (all of
    them: `results.champs_resultat`). The field names are this project's own (results.py), never
    the règlement's; a dataclass `__init__` call costs a Python frame, an evaluation builds 30
    objects or more."""
    if len(champs) != len(valeurs) or not all(c.isidentifier() for c in champs):  # pragma: no cover
        raise ValueError(f"champs {champs!r} pour {len(valeurs)} valeurs")
    return [f"{retrait}{variable} = NOUVEAU({classe})"] + [
        f"{retrait}{variable}.{champ} = {valeur}" for champ, valeur in zip(champs, valeurs, strict=True)
    ]


def _resultat(
    a: int,
    aide: AideExpliquee,
    espace: dict[str, Any],
    champs: tuple[Sequence[str], Sequence[str]],
    *,
    liasses: set[int],
    rangs: list[int],
) -> list[str]:
    """Aid a's result into `r{a}`, as `compiled._Compile` builds it (objects built by `_nouveau`;
    the conditions of a leaf in `liasses` taken from `o{n}`, the next one after `rangs[n]`)."""
    espace[f"A{a}"], espace[f"J{a}"], espace[f"JF{a}"] = aide.aide, aide.memo, aide.justifier
    espace[f"ID{a}"], espace[f"LIB{a}"] = aide.id, aide.libelle
    espace[f"BASE{a}"], espace[f"DELIB{a}"] = aide.base_legale, aide.deliberation
    champs_condition, champs_resultat_ = champs
    lignes = [
        f"    k = ({''.join(f'c{p}[4], ' for p in aide.positions)})",
        f"    e = J{a}.get(k)",
        "    if e is None:",
        f"        e = JF{a}(k)",
        "    v = e[0]",
    ]
    for j, (position, code) in enumerate(zip(aide.positions, aide.codes, strict=True)):
        if position in liasses:
            rangs[position] += 1
            lignes.append(f"    q{j} = o{position}[{rangs[position]}]")
            continue
        espace[f"K{a}_{j}"] = code
        lignes += _condition(f"q{j}", champs_condition, f"c{position}", f"K{a}_{j}")
    lignes.append(f"    conditions = ({''.join(f'q{j}, ' for j in range(len(aide.positions)))})")

    def nouveau(statut: str, motif: str, montant: str, tranche: str, retrait: str) -> list[str]:
        valeurs = (f"ID{a}", f"LIB{a}", statut, motif, "conditions", montant, tranche, "()", f"BASE{a}",
                   f"DELIB{a}", "e[3]")  # fmt: skip
        return _nouveau(f"r{a}", "RESULTAT", champs_resultat_, valeurs, retrait)

    lignes += ["    if v is False:", *nouveau("NON_ELIGIBLE", "e[2]", "None", "None", " " * 8)]
    lignes.append("    elif v is True:")
    if aide.a_montant:
        lignes += [
            f"        m = MONTANT(reglement, A{a}, montants, resolveur)",
            "        if m.vide:",
            f"            r{a} = A_VERIFIER(reglement, A{a}, conditions, e, m)",
            "        else:",
            "            phrase = m.phrase",
            '            motif = f"{e[2]} {phrase}" if phrase else e[2]',
            *nouveau("ELIGIBLE", "motif", "m.montant", "m.tranche", " " * 12),
        ]
    else:
        lignes += nouveau("ELIGIBLE", "e[2]", "None", "None", " " * 8)
    return [
        *lignes,
        "    else:",
        f"        r{a} = A_VERIFIER(reglement, A{a}, conditions, e, SANS_MONTANT)",
    ]
