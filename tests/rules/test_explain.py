"""French formatting of numbers, dates and periods."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.rules.explain import (
    _nombre_court,
    _nombre_general,
    avec,
    jour,
    jour_de,
    nombre,
    periode,
    source,
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
    | st.sampled_from([Decimal("-0"), Decimal("-0.00"), Decimal("-0.5"), Decimal("0.50"), Decimal("1E+3")]),
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
