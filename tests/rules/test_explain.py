"""French formatting of numbers, dates and periods."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from fractions import Fraction

import pytest

from app.rules.explain import avec, jour, nombre, periode, vers_decimal


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
