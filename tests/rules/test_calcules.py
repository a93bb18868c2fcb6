"""Facts a règlement computes: the generated function (calcules.generer) gives exactly what the
closures over the formula give — value, detail, failure — whatever the facts read: exact or not
(partial birth dates), missing, not numbers, a parameter without value, a division by zero."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from decimal import Decimal
from fractions import Fraction
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from app.rules import formules
from app.rules.calcules import Calcul, generer
from app.rules.dates import DatePartielle
from app.rules.derived import Foyer, Incalculable, exact
from app.rules.facts import Fait, MembreFoyer, RefFait, Source
from app.rules.loader import lire_reglement

JOUR = date(2026, 5, 15)
SOURCE = Source("declaratif", certifie=False)
_FORMULES = (
    "(a - b) / taille_foyer / 30",
    "min(40 + 2.5 * a + 0.5 * b, plafond) + max(b, 30 * nombre_enfants[3-17]) / 3",
    "a * (b - c) / (c + 1)",
    "200 - a / 10 + nombre_enfants[0-17] * nombre_enfants[6-10]",
    "futur + a",
    "max(a, b, c) - min(a / 3, 7) + age_demandeur",
    # Divisions in a row, fused into one ratio: zero divisors, ratios divided again, the order of errors.
    "a / (b - c) / c / 3",
    "a / 7 / b + c / nombre_enfants[3-17] / 3",
    # A constant last divisor: its ratio worked out once (not zero), or zero (undecided).
    "(a - b) / c / 2.5",
    "(a - b) / c / 0",
)
_REGLEMENT = """\
reglement: {{id: c, version: "1", libelle: C, organisme: {{nom: CCAS}}}}
parametres:
  plafond: {{libelle: le plafond, unite: "€", valeurs: [{{depuis: 2020-01-01, valeur: 150}}]}}
  futur: {{libelle: un plafond à venir, unite: "€", valeurs: [{{depuis: 2030-01-01, valeur: 9}}]}}
faits_declares:
  a: {{libelle: a, type: nombre, unite: "€", piece: p}}
  b: {{libelle: b, type: nombre, piece: p}}
  c: {{libelle: c, type: nombre, piece: p}}
faits_calcules:
  r: {{libelle: r, unite: "€", formule: "{formule}"}}
dispositifs:
  - {{id: aide, libelle: Aide, conditions: [{{fait: r, operateur: "<=", valeur: 10}}]}}
"""
_CALCULS = {
    formule: lire_reglement(_REGLEMENT.format(formule=formule), "c.yaml").catalogue.derives["r"]
    for formule in _FORMULES
}


def _calcul(formule: str) -> Calcul:
    calcul = _CALCULS[formule].calcul
    assert isinstance(calcul.__self__, Calcul)  # type: ignore[attr-defined]
    return calcul.__self__  # type: ignore[attr-defined]


_DATES = st.one_of(
    st.none(),
    st.builds(DatePartielle, st.integers(2005, 2026)),
    st.builds(DatePartielle, st.integers(2005, 2026), st.integers(1, 12)),
    st.builds(DatePartielle, st.integers(2005, 2025), st.integers(1, 12), st.integers(1, 28)),
)
_NOMBRES = st.one_of(
    st.integers(-50, 50),
    st.decimals(-1000, 1000, places=2, allow_nan=False, allow_infinity=False),
    st.sampled_from([Decimal(0), 0, True, False, "oui"]),
)


def _issue(fonction: Any) -> Any:
    try:
        return fonction()
    except (Incalculable, KeyError) as exc:
        return type(exc), str(exc)


@given(
    formule=st.sampled_from(_FORMULES),
    nombres=st.lists(st.one_of(st.none(), _NOMBRES), min_size=3, max_size=3),
    enfants=st.lists(st.builds(MembreFoyer, _DATES), max_size=4),
    allocataires=st.lists(st.builds(MembreFoyer, _DATES), max_size=2),
    naissance=st.one_of(_DATES, st.just("illisible")),
)
def test_the_generated_computation_is_the_formula_on_intervals(
    formule: str, nombres: list[Any], enfants: list[MembreFoyer], allocataires: list[MembreFoyer],
    naissance: Any,
) -> None:  # fmt: skip
    calcul = _calcul(formule)
    faits = {nom: Fait(v, SOURCE) for nom, v in zip("abc", nombres, strict=True) if v is not None}
    faits["enfants"] = Fait(tuple(enfants), SOURCE)
    faits["allocataires"] = Fait(tuple(allocataires), SOURCE)
    if naissance is not None:
        faits["date_naissance_demandeur"] = Fait(naissance, SOURCE)
    ref = RefFait("r")

    def par_intervalles() -> Any:
        return calcul._intervalle(lambda nom: calcul.valeur(nom, faits, JOUR))

    attendu = _issue(par_intervalles)
    assert _issue(lambda: calcul.calcul(faits, JOUR, ref)) == attendu
    detaille = _issue(lambda: calcul.calcul_detaille(faits, JOUR, ref))
    assert detaille == _issue(lambda: calcul._calcul_detaille(faits, JOUR))
    if isinstance(detaille, tuple) and len(detaille) == 3:
        assert detaille[:2] == attendu
        assert [type(v) for v in detaille[:2]] == [type(v) for v in attendu]
    # In a household's `Foyer`, worked out once and shared: the same answers, first or kept.
    foyer = Foyer(faits, JOUR)
    assert _issue(lambda: calcul.calcul_detaille(foyer, JOUR, ref)) == detaille
    assert _issue(lambda: calcul.calcul(foyer, JOUR, ref)) == attendu
    assert _issue(lambda: calcul.calcul_detaille(foyer, JOUR, ref)) == detaille
    autre = Foyer(faits, JOUR)
    assert _issue(lambda: calcul.calcul(autre, JOUR, ref)) == attendu
    assert _issue(lambda: calcul.calcul_detaille(autre, JOUR, ref)) == detaille


def test_a_parameter_without_value_at_the_date_leaves_the_fact_undecided() -> None:
    calcul = _calcul("futur + a")
    faits = {"a": Fait(Decimal(1), SOURCE)}
    assert _issue(lambda: calcul.calcul(faits, JOUR, RefFait("r"))) == (
        Incalculable,
        "le paramètre « futur » n'a pas de valeur à cette date",
    )
    assert calcul.calcul(faits, date(2030, 1, 1), RefFait("r")) == (Decimal(10), Decimal(10))


def test_the_generated_source_holds_no_value_of_the_reglement() -> None:
    """Names, constants and parameters are bound in the function's namespace, never written."""
    texte = _REGLEMENT.format(formule="piege_x + 12345.67 * plafond - nombre_enfants[3-17]")
    texte = texte.replace("  a: {libelle: a,", "  piege_x: {libelle: x,")
    calcul = lire_reglement(texte, "c.yaml").catalogue.derives["r"].calcul.__self__  # type: ignore[attr-defined]
    faits = {
        "piege_x": Fait(Decimal(1), SOURCE),
        "enfants": Fait((MembreFoyer(DatePartielle(2015, 3, 2)),), SOURCE),
    }
    assert calcul.calcul(faits, JOUR, RefFait("r")) == (Decimal("1851850.50"), Decimal("1851850.50"))
    for valeur in ("piege_x", "12345", "plafond", "nombre_enfants", "150", "17"):
        assert valeur not in calcul.source


_EXACTS = st.one_of(
    st.integers(-(10**6), 10**6),
    st.decimals(-(10**4), 10**4, places=3, allow_nan=False, allow_infinity=False),
    st.fractions(-1000, 1000, max_denominator=60),
)


@given(a=_EXACTS, b=_EXACTS)
def test_arithmetic_on_integer_ratios_is_that_of_fractions(a: Any, b: Any) -> None:
    """With a Fraction, each operation gives `exact` of the Fractions' result: same value, same
    type (a Decimal when it has a finite form), same text; a Fraction in lowest terms."""
    operations: tuple[tuple[Any, Callable[[Fraction, Fraction], Fraction]], ...] = (
        (formules.ajouter, lambda x, y: x + y),
        (formules.soustraire, lambda x, y: x - y),
        (formules.multiplier, lambda x, y: x * y),
        (formules.diviser, lambda x, y: x / y),
    )
    for operation, attendu in operations:
        assert formules.inferieur(a, b) is (Fraction(a) < Fraction(b))
        if operation is formules.diviser and not b:
            continue
        if type(a) is not Fraction and type(b) is not Fraction and operation is not formules.diviser:
            continue  # ints and Decimals: their own arithmetic, unchanged
        obtenu, voulu = operation(a, b), exact(attendu(Fraction(a), Fraction(b)))
        assert (obtenu, type(obtenu), str(obtenu)) == (voulu, type(voulu), str(voulu))
        if isinstance(obtenu, Fraction) and isinstance(voulu, Fraction):
            assert (obtenu.numerator, obtenu.denominator) == (voulu.numerator, voulu.denominator)
            assert hash(obtenu) == hash(voulu)
            assert obtenu == Fraction(obtenu.numerator, obtenu.denominator)


@given(_EXACTS, _EXACTS.filter(bool), _EXACTS.filter(bool))
def test_divisions_in_a_row_are_one_ratio(a: Any, b: Any, c: Any) -> None:
    """`diviser_produit(a, b, c)` is `diviser(diviser(a, b), c)`: same value, type and text."""
    obtenu, voulu = formules.diviser_produit(a, b, c), formules.diviser(formules.diviser(a, b), c)
    assert (obtenu, type(obtenu), repr(obtenu)) == (voulu, type(voulu), repr(voulu))
    # With c's ratio given beforehand (a constant of the formula), the same.
    obtenu = formules.diviser_produit(a, b, c, c.as_integer_ratio())
    assert (obtenu, type(obtenu), repr(obtenu)) == (voulu, type(voulu), repr(voulu))


def test_the_generated_detail_writes_no_text_of_the_reglement_into_its_source() -> None:
    """Fixed texts and units are bound, never written: quotes and braces come out as they are."""
    piege = '"} {__import__("os")} {'
    nom = formules.Nom("a")
    detail = ((piege, (nom, piege, 0), "{v0}"), lambda valeur, unite: f"<{valeur}|{unite}>")
    genere, source = generer(nom, lambda n: ("constante", None, Decimal(7)), detail)
    assert genere({}, JOUR) == (Decimal(7), f"calculé : {piege}<7|{piege}>{{v0}}")
    assert piege not in source
