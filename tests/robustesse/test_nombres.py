"""Issue 13, point 1: one number stalled a worker 26 s then answered 500 (`int()` of a huge Decimal
in app/rules/explain.py); NaN, Infinity and 1e400 gave 500s. Numbers are now exact decimals within
documented bounds (app/rules/nombres.py), refused with a 422 naming the field beyond them."""

from __future__ import annotations

from decimal import Decimal

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from app.rules.explain import nombre
from app.rules.loader import ReglementInvalide, lire_reglement
from app.rules.nombres import DECIMALES_MAX, NOMBRE_MAX, NombreHorsBornes, borner, lire_nombre
from app.services.amont.api_particulier.models import ValeurQuotientFamilial
from app.services.amont.impot_particulier.models import SituationIR
from tests.robustesse.conftest import AUTH

HOSTILES = [
    '"1e999999"',
    '"-1e999999"',
    '"1e-999999"',
    "NaN",
    "Infinity",
    "-Infinity",
    "1e400",
    '"NaN"',
    '"sNaN"',
]


@pytest.mark.parametrize("texte", HOSTILES)
async def test_a_hostile_number_in_a_simulation_is_a_422_naming_the_field(
    passerelle: httpx.AsyncClient, texte: str
) -> None:
    corps = b'{"faits": {"quotient_familial_caf": ' + texte.encode() + b"}}"
    response = await passerelle.post(
        "/v1/simulations", content=corps, headers={**AUTH, "Content-Type": "application/json"}
    )
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    erreurs = response.json()["erreurs"]
    assert erreurs[0]["champ"] == "faits.quotient_familial_caf"
    assert "10^12" in erreurs[0]["message"] or "nombre" in erreurs[0]["message"]


async def test_a_number_with_more_digits_than_python_parses_is_a_french_4xx(
    passerelle: httpx.AsyncClient,
) -> None:
    # 5 000 digits: Python's JSON parser refuses integers above 4 300 digits (CVE-2020-10735).
    corps = b'{"faits": {"quotient_familial_caf": 1' + b"0" * 5000 + b"}}"
    response = await passerelle.post(
        "/v1/simulations", content=corps, headers={**AUTH, "Content-Type": "application/json"}
    )
    assert response.status_code in (400, 422)
    assert response.headers["content-type"] == "application/problem+json"
    assert "There was" not in response.text


async def test_numbers_within_bounds_are_evaluated_exactly(passerelle: httpx.AsyncClient) -> None:
    response = await passerelle.post(
        "/v1/simulations",
        json={"faits": {"quotient_familial_caf": "999999999999.999999"}, "date_reference": "2026-11-26"},
        headers=AUTH,
    )
    assert response.status_code == 200, response.text


@pytest.mark.parametrize(
    "texte", ["1e12", "-1e12", "0.0000001", "1e-7", "NaN", "Infinity", "1e999999", "1e-999999", "x" * 65]
)
def test_out_of_bounds_texts_are_refused(texte: str) -> None:
    with pytest.raises(NombreHorsBornes):
        lire_nombre(texte)


@pytest.mark.parametrize(
    "texte", ["0", "-0", "550", "2.2", "999999999999.999999", "1e3", "0.000001", "1.5000000"]
)
def test_numbers_within_bounds_keep_their_exact_value(texte: str) -> None:
    assert lire_nombre(texte) == Decimal(texte)


@given(st.decimals(allow_nan=True, allow_infinity=True))
def test_borner_accepts_exactly_the_documented_bounds(valeur: Decimal) -> None:
    dans_les_bornes = (
        valeur.is_finite() and abs(valeur) < NOMBRE_MAX and valeur == round(valeur, DECIMALES_MAX)
    )
    if dans_les_bornes:
        assert borner(valeur) == valeur
    else:
        with pytest.raises(NombreHorsBornes):
            borner(valeur)


@pytest.mark.parametrize(
    "texte", ["1e999999", "-1e999999", "1e-999999", "NaN", "Infinity", "-Infinity", "1e31"]
)
def test_formatting_is_total_on_any_decimal(texte: str) -> None:
    # Was: `int(Decimal("1e999999"))`, a million-digit integer built to print a number.
    assert nombre(Decimal(texte), "€").endswith("€")
    assert len(nombre(Decimal(texte))) < 40


@given(
    st.decimals(
        allow_nan=False, allow_infinity=False, min_value=-(10**12) + 1, max_value=10**12 - 1, places=6
    )
)
def test_formatting_within_bounds_is_french_and_exact(valeur: Decimal) -> None:
    texte = nombre(valeur)
    assert "E" not in texte
    assert Decimal(texte.replace(" ", "").replace(",", ".")) == valeur


@pytest.mark.parametrize("valeur", ["1e999999", "1.0e+999999", "1e-999999", ".nan", ".inf"])
def test_a_reglement_number_outside_the_bounds_is_refused_at_its_line(valeur: str) -> None:
    texte = (
        "reglement: {id: r, version: '1', libelle: R, organisme: {nom: X}}\n"
        "dispositifs:\n"
        "- id: d\n"
        "  libelle: D\n"
        f"  conditions: [{{fait: quotient_familial_caf, operateur: '<=', valeur: {valeur}}}]\n"
    )
    with pytest.raises(ReglementInvalide) as refus:
        lire_reglement(texte, "r.yaml")
    assert refus.value.ligne == 5


def test_a_huge_number_in_a_libelle_does_not_blow_up_the_fingerprint() -> None:
    # The canonical form spelt every number out: `format(1e999999, "f")` is a million characters.
    texte = (
        "reglement: {id: r, version: '1', libelle: 1.0e+999999, organisme: {nom: X}}\n"
        "dispositifs:\n"
        "- id: d\n"
        "  libelle: D\n"
        "  conditions: [{fait: quotient_familial_caf, operateur: '<=', valeur: 1}]\n"
    )
    assert lire_reglement(texte, "r.yaml").empreinte.startswith("sha256:")


@pytest.mark.parametrize("valeur", ["1e999999", "-1e999999", 1e400, "NaN", "1e12"])
def test_an_upstream_amount_outside_the_bounds_is_an_unreadable_answer(valeur: object) -> None:
    # A provider's answer goes through the same bounds: refused as unreadable (an upstream
    # error, the aid `a_verifier`), never a number that stalls the engine.
    with pytest.raises(ValidationError):
        SituationIR.model_validate({"rfr": valeur})
    with pytest.raises(ValidationError):
        ValeurQuotientFamilial.model_validate(
            {"fournisseur": "CNAF", "valeur": valeur, "annee": 2026, "mois": 1}
        )
    assert SituationIR.model_validate({"rfr": "999999999999.99"}).revenu_fiscal_de_reference == Decimal(
        "999999999999.99"
    )
