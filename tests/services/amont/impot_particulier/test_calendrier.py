"""The DGFiP calendar: a year of revenus becomes available on 22 July of the next year."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.services.amont.impot_particulier import annee_des_revenus_disponible
from app.services.amont.impot_particulier.calendrier import annee_des_revenus_plausible


@pytest.mark.parametrize(
    ("jour", "annee"),
    [
        (date(2025, 7, 21), 2023),
        (date(2025, 7, 22), 2024),
        (date(2025, 3, 1), 2023),
        (date(2025, 9, 1), 2024),
        (date(2025, 12, 31), 2024),
        (date(2026, 1, 1), 2024),
        (date(2024, 7, 22), 2023),
    ],
)
def test_examples_of_the_dgfip_documentation(jour: date, annee: int) -> None:
    assert annee_des_revenus_disponible(jour) == annee


@given(st.dates(min_value=date(2001, 1, 1), max_value=date(2099, 12, 31)))
def test_newest_year_is_n_minus_1_from_22_july_else_n_minus_2(jour: date) -> None:
    annee = annee_des_revenus_disponible(jour)
    assert annee == (jour.year - 1 if jour >= date(jour.year, 7, 22) else jour.year - 2)


@given(st.dates(min_value=date(2001, 1, 1), max_value=date(2099, 12, 30)))
def test_never_goes_back_in_time_and_moves_once_a_year(jour: date) -> None:
    lendemain = jour + timedelta(days=1)
    ecart = annee_des_revenus_disponible(lendemain) - annee_des_revenus_disponible(jour)
    assert ecart == (1 if (lendemain.month, lendemain.day) == (7, 22) else 0)


def test_custom_switch_date() -> None:
    assert annee_des_revenus_disponible(date(2025, 2, 1), bascule=(1, 1)) == 2024


@given(st.dates(min_value=date(2002, 7, 22), max_value=date(2099, 12, 31)))
def test_the_served_year_is_always_plausible(jour: date) -> None:
    assert annee_des_revenus_plausible(annee_des_revenus_disponible(jour), jour)
    assert not annee_des_revenus_plausible(jour.year, jour)
