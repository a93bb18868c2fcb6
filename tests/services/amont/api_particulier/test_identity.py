"""The identity guard: a dossier is used only if it is the requested person's."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.rules.dates import DatePartielle
from app.services.amont.api_particulier import Personne, identite_correspond
from app.services.amont.api_particulier.identity import dates_compatibles, normaliser_nom

from .conftest import make_demandeur


def personne(nom: str | None, naissance: str | None) -> Personne:
    return Personne.model_validate({"nom_naissance": nom, "date_naissance": naissance})


@pytest.mark.parametrize(
    ("raw", "normalised"),
    [
        ("Lefèbvre", "LEFEBVRE"),
        ("ANO'NYMOS-LONS", "ANO NYMOS LONS"),
        ("ano’nymos  lons", "ANO NYMOS LONS"),
        ("Œuvray", "OEUVRAY"),
        ("Çelik", "CELIK"),
        (" de  la Tour ", "DE LA TOUR"),
    ],
)
def test_normalisation(raw: str, normalised: str) -> None:
    assert normaliser_nom(raw) == normalised


@pytest.mark.parametrize(
    ("allocataires", "expected"),
    [
        ([personne("LEFEBVRE", "1982-12-27")], True),
        ([personne("lefèbvre", "1982-12-27")], True),
        ([personne("MARTIN", "1978-06-27"), personne("LEFEBVRE", "1982-12-27")], True),  # conjoint first
        ([personne("LEFEBVRE", "1982-00-00")], True),  # partial upstream date
        ([personne("LEFEBVRE", "0000-00-00")], True),  # unknown upstream date
        ([personne("LEFEBVRE", "1982-12-28")], False),
        ([personne("BROWN", "1982-12-27")], False),
        ([personne(None, "1982-12-27")], False),
        ([], False),
    ],
)
def test_guard(allocataires: list[Personne], expected: bool) -> None:
    assert identite_correspond(make_demandeur(), allocataires) is expected


def test_partial_requested_date_matches_any_day_it_covers() -> None:
    demandeur = make_demandeur(date_naissance="1987-06")
    assert identite_correspond(demandeur, [personne("LEFEBVRE", "1987-06-27")])
    assert not identite_correspond(demandeur, [personne("LEFEBVRE", "1987-07-01")])


def partielles() -> st.SearchStrategy[DatePartielle]:
    return st.dates(date(1900, 1, 1), date(2030, 12, 31)).flatmap(
        lambda d: st.sampled_from(
            [DatePartielle(d.year), DatePartielle(d.year, d.month), DatePartielle(d.year, d.month, d.day)]
        )
    )


@given(st.dates(date(1900, 1, 1), date(2030, 12, 31)), partielles())
def test_a_partial_date_is_compatible_with_every_day_it_can_be(day: date, partial: DatePartielle) -> None:
    full = DatePartielle(day.year, day.month, day.day)
    assert dates_compatibles(partial, full) == (partial.earliest() <= day <= partial.latest())


@given(partielles(), partielles())
def test_compatibility_is_symmetric(a: DatePartielle, b: DatePartielle) -> None:
    assert dates_compatibles(a, b) == dates_compatibles(b, a)


@given(st.text(max_size=30))
def test_normalisation_is_idempotent(nom: str) -> None:
    assert normaliser_nom(normaliser_nom(nom)) == normaliser_nom(nom)
