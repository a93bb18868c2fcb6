"""Tolerant reading of the answers: partial dates, missing scopes, null address lines, extra keys."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from app.rules.dates import DatePartielle
from app.services.amont.api_particulier import Personne, PrestationRsa, QuotientFamilial

from .conftest import fixture


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1982-12-27", DatePartielle(1982, 12, 27)),
        ("2012-04-00", DatePartielle(2012, 4)),
        ("2020-00-00", DatePartielle(2020)),
        ("0000-00-00", None),
        ("", None),
        (None, None),
        ("1982-02-30", None),  # impossible: unknown rather than invented or fatal
        ("27/12/1982", None),
        (19821227, None),
    ],
)
def test_birth_dates(text: object, expected: DatePartielle | None) -> None:
    assert Personne.model_validate({"date_naissance": text}).date_naissance == expected


@given(st.integers(0, 9999), st.integers(0, 12), st.integers(0, 31))
def test_upstream_dates_are_never_invented(year: int, month: int, day: int) -> None:
    parsed = Personne.model_validate({"date_naissance": f"{year:04d}-{month:02d}-{day:02d}"}).date_naissance
    if parsed is None:
        return
    assert parsed.annee == year
    assert parsed.mois == (month or None)
    assert parsed.jour == (day or None)


@given(st.text(max_size=16))
def test_any_text_as_a_date_never_crashes(text: str) -> None:
    Personne.model_validate({"date_naissance": text})


def test_keys_of_missing_scopes_are_none() -> None:
    donnees = QuotientFamilial.model_validate(
        fixture("v3_qf_identite_200_scope_quotient_familial_only.json")["data"]
    )
    assert donnees.quotient_familial is not None
    assert donnees.quotient_familial.valeur == Decimal(900)
    assert (donnees.allocataires, donnees.enfants, donnees.adresse) == (None, None, None)


def test_extra_keys_and_null_lines_are_tolerated() -> None:
    data = fixture("v3_qf_identite_200_cnaf_famille_4_enfants.json")["data"]
    data["allocataires"][0]["annee_date_de_naissance"] = "1982"
    data["nouvelle_cle"] = {"x": 1}
    data["adresse"]["numero_libelle_voie"] = None
    data["adresse"]["lieu_dit"] = ""
    donnees = QuotientFamilial.model_validate(data)
    assert donnees.adresse is not None
    assert donnees.adresse.numero_libelle_voie is None
    assert donnees.adresse.lieu_dit is None
    assert donnees.adresse.code_postal_ville == "13006 MARSEILLE"


def test_msa_is_kept() -> None:
    donnees = QuotientFamilial.model_validate(fixture("v3_qf_identite_200_msa_couple_2_enfants.json")["data"])
    assert donnees.quotient_familial is not None
    assert donnees.quotient_familial.fournisseur == "MSA"


def test_a_qf_without_value_is_not_a_qf() -> None:
    with pytest.raises(ValidationError):
        QuotientFamilial.model_validate(
            {"quotient_familial": {"fournisseur": "CNAF", "annee": 2026, "mois": 1}}
        )


def test_null_majoration_is_kept_apart_from_an_absent_key() -> None:
    null = PrestationRsa.model_validate({"est_beneficiaire": False, "avec_majoration": None})
    absent = PrestationRsa.model_validate({"est_beneficiaire": False})
    assert "avec_majoration" in null.model_fields_set
    assert "avec_majoration" not in absent.model_fields_set
