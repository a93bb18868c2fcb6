"""French formatting of numbers, dates and periods."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.rules.explain import (
    _nombre_court,
    _nombre_general,
    avec,
    decimal_du_rapport,
    ecart_rapport,
    jour,
    jour_de,
    nombre,
    periode,
    rapport_affiche,
    rapport_au_centime,
    source,
    texte_centimes,
    vers_decimal,
)
from app.rules.facts import Source


@pytest.mark.parametrize(
    ("valeur", "unite", "texte"),
    [
        (Decimal(2550), "€", "2 550 €"),
        (Decimal("1.2"), "€", "1,20 €"),
        (Decimal("1234567.891"), "€", "1 234 567,89 €"),
        (Decimal("2.5"), None, "2,5"),
        (Decimal("-0.5"), "€", "-0,50 €"),
        (6, "ans", "6 ans"),
        (Fraction(1000, 3), "€", "333,33 €"),
    ],
)
def test_numbers(valeur: Decimal | int | Fraction, unite: str | None, texte: str) -> None:
    assert nombre(valeur, unite) == texte


@given(
    st.decimals(allow_nan=False, allow_infinity=False, places=2, min_value=-(10**9), max_value=10**9)
    | st.decimals(allow_nan=False, allow_infinity=False)
    | st.sampled_from([Decimal("-0"), Decimal("-0.00"), Decimal("-0.5"), Decimal("0.50"), Decimal("1E+3")])
    # Where the digits are grouped, and how (by slicing up to six, by `format` beyond).
    | st.sampled_from(
        [
            Decimal(n) * s
            for n in ("999", "1000", "99999.9", "100000", "999999.99", "1000000")
            for s in (1, -1)
        ]
    ),
    st.sampled_from(["€", "ans", None]),
)
def test_the_short_form_of_a_number_is_the_general_one(valeur: Decimal, unite: str | None) -> None:
    court = _nombre_court(valeur, unite)
    brut = str(valeur)
    if "E" not in brut and len(brut) <= 28 and len(brut.partition(".")[2]) <= 2:
        assert court is not None  # the values it is there for
    assert court is None or court == _nombre_general(valeur, unite)


def test_dates_periods_and_contractions() -> None:
    assert jour(date(2026, 1, 1)) == "1er janvier 2026"
    assert jour(date(2025, 3, 12)) == "12 mars 2025"
    assert periode("2026-10") == "octobre 2026"
    assert periode("2025") == "revenus 2025"
    assert avec("à", "le plafond") == "au plafond"
    assert avec("à", "les communes") == "aux communes"
    assert avec("de", "le seuil") == "du seuil"
    assert avec("à", "600 €") == "à 600 €"
    assert vers_decimal(Fraction(1, 3)) == Decimal("0.33")
    assert vers_decimal(Fraction(1, 8)) == Decimal("0.125")


def test_an_instant_is_told_on_the_french_day() -> None:
    # 23:30 UTC on 30 November is already 1 December in a French town hall.
    assert jour_de(datetime(2026, 11, 30, 23, 30, tzinfo=UTC)) == "1er décembre 2026"
    perimee = Source(
        fournisseur="CNAF", certifie=True, obtenu_le=datetime(2026, 11, 30, 23, 30, tzinfo=UTC), perime=True
    )
    assert "obtenu le 1er décembre 2026, source indisponible" in source(perimee)


# -- ratios rounded to the cent with integers ------------------------------------------------------


def _au_centime_par_decimal(numerateur: int, denominateur: int) -> Decimal:
    """What `decimal_du_rapport` gave before integers, for a ratio without finite decimal form."""
    return (Decimal(numerateur) / Decimal(denominateur)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


#: Ratios without finite decimal form a hair either side of a half cent, at zero, negative, large.
_RAPPORTS_LIMITES = [
    Fraction(1, 300),  # 0.0033… → 0.00
    Fraction(-1, 300),  # → -0.00, the sign kept as `quantize` keeps it
    Fraction(-2, 3),
    Fraction(5, 3),
    Fraction(1, 200) + Fraction(1, 3 * 10**6),  # just above a half cent → 0.01
    Fraction(1, 200) - Fraction(1, 3 * 10**6),  # just below → 0.00
    Fraction(-1, 200) - Fraction(1, 3 * 10**6),  # → -0.01
    Fraction(-1, 200) + Fraction(1, 3 * 10**6),  # → -0.00
    Fraction(2 * 10**17, 3),  # beyond 1e17: still integers below 1e18
    Fraction(10**19, 3),  # beyond 1e18: the Decimal division
    Fraction(1, 5 * 10**7 + 1),  # a denominator beyond 5e7: the Decimal division
    Fraction(123456789, 7),
    Fraction(100000, 18),
]


@pytest.mark.parametrize("rapport", _RAPPORTS_LIMITES)
def test_a_ratio_at_the_cent_with_integers_is_that_of_decimal(rapport: Fraction) -> None:
    n, d = rapport.numerator, rapport.denominator
    attendu = _au_centime_par_decimal(n, d)
    assert repr(decimal_du_rapport(n, d)) == repr(attendu)
    for unite in ("€", "ans", None):
        valeur, texte = rapport_affiche(rapport, unite)
        assert repr(valeur) == repr(attendu)
        assert texte == _nombre_court(attendu, unite) == nombre(attendu, unite)


@given(
    st.integers(-(10**20), 10**20),
    st.integers(1, 10**8).filter(lambda d: Fraction(1, d).denominator % 3 == 0 or d % 7 == 0),
)
def test_any_ratio_at_the_cent_is_that_of_decimal(numerateur: int, denominateur: int) -> None:
    rapport = Fraction(numerateur, denominateur)
    n, d = rapport.numerator, rapport.denominator
    valeur, texte = rapport_affiche(rapport, "€")
    attendu = vers_decimal(rapport) if d % 3 and d % 7 else _au_centime_par_decimal(n, d)
    assert repr(valeur) == repr(attendu) == repr(decimal_du_rapport(n, d))
    assert texte == nombre(attendu, "€")
    # A margin, any terms, its absolute value written (nothing when it rounds to zero).
    ecart, ecrit = ecart_rapport(numerateur * 4, denominateur * 4, "€")
    assert repr(ecart) == repr(attendu)
    assert ecrit == (nombre(abs(attendu), "€") if attendu else "")


@pytest.mark.parametrize(
    "rapport",
    [*_RAPPORTS_LIMITES, Fraction(0), Fraction(7), Fraction(-7, 4), Fraction(1, 8), Fraction(10**20, 3),
     Fraction(-(10**20), 7), Fraction(15241, 3), Fraction(-15241, 3)],
)  # fmt: skip
def test_a_ratio_is_written_by_integers_as_number_writes_it(rapport: Fraction) -> None:
    """Zero, whole, finite decimal forms, negative, beyond the integer bounds, at half cents."""
    for unite in ("€", "ans", None):
        nombre.cache_clear()  # its text for this very value, not one an equal value left
        texte = rapport_au_centime(rapport, unite)[1]
        assert texte == nombre(rapport, unite) == nombre(vers_decimal(rapport), unite)


@given(st.integers(-(10**20), 10**20), st.integers(1, 10**9), st.sampled_from(["€", "ans", None]))
def test_any_ratio_is_written_by_integers_as_number_writes_it(
    numerateur: int, denominateur: int, unite: str | None
) -> None:
    rapport = Fraction(numerateur, denominateur)
    assert rapport_au_centime(rapport, unite)[1] == nombre(vers_decimal(rapport), unite)


@pytest.mark.parametrize("unite", ["€", "ans", None])
@pytest.mark.parametrize(
    "centimes", [0, 1, 5, 10, 50, 99, 100, 101, 110, 99_999, 100_000, 123_456_789, -1, -50, -100, -123_456]
)
def test_cents_are_written_as_their_decimal_is(centimes: int, unite: str | None) -> None:
    assert texte_centimes(centimes, unite) == nombre(Decimal(centimes).scaleb(-2), unite)


@given(st.integers(-(10**8), 10**8), st.sampled_from(["€", "ans", None]))
def test_any_cents_are_written_as_their_decimal_is(centimes: int, unite: str | None) -> None:
    """Every whole part and cent, through the looked-up texts (below a thousand) and beyond."""
    nombre.cache_clear()
    assert texte_centimes(centimes, unite) == nombre(Decimal(centimes).scaleb(-2), unite)


@given(
    st.integers(-(10**20), 10**20),
    st.integers(1, 10**6) | st.sampled_from([499_999, 500_000, 500_001, 5 * 10**7]),
)
def test_a_ratio_with_its_cents_is_shown_as_any_ratio(numerateur: int, denominateur: int) -> None:
    """`rapport_au_centime` shows a ratio as `rapport_affiche` does, and its cents, when it gives
    them, are the value it carries (a ratio without finite decimal form, within the bounds)."""
    rapport = Fraction(numerateur, denominateur)
    for unite in ("€", "ans", None):
        valeur, texte, centimes = rapport_au_centime(rapport, unite)
        attendue, attendu = rapport_affiche(rapport, unite)
        assert (repr(valeur), texte) == (repr(attendue), attendu)
        if centimes is not None:
            assert Decimal(centimes).scaleb(-2) == valeur
            assert rapport.denominator < 500_000
            assert abs(rapport) < 10**17
            assert vers_decimal(rapport) == valeur
            assert rapport != Fraction(valeur)


def test_the_last_ratio_written_is_kept_by_identity_and_unit() -> None:
    """The ratio object written last gives its result again (a leaf, then an amount, of one
    household); another unit, an equal ratio of its own or another ratio are written afresh."""
    rapport = Fraction(22714, 3)
    premier = rapport_au_centime(rapport, "€")
    assert premier[1] == "7 571,33 €"
    assert rapport_au_centime(rapport, "€") is premier
    assert rapport_au_centime(rapport, None)[1] == "7 571,33"
    assert rapport_au_centime(rapport, "€") == premier
    assert rapport_au_centime(Fraction(22715, 3), "€")[1] == "7 571,67 €"
    quart = Fraction(1, 4)  # a finite decimal form: `rapport_affiche`'s way, kept as well
    assert rapport_au_centime(quart, "€") == (Decimal("0.25"), "0,25 €", None)
    assert rapport_au_centime(quart, "ans") == (Decimal("0.25"), "0,25 ans", None)
