"""French formatting of numbers, dates and periods."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from fractions import Fraction

import pytest

from app.rules.explain import avec, jour, jour_de, nombre, periode, source, vers_decimal
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
