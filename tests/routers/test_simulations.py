"""`POST /v1/simulations`: what-if on supplied facts, with the organisme's or a proposed règlement."""

from __future__ import annotations

from pathlib import Path

import httpx

from tests.conftest import AUTH, upstream_calls

DEMO = Path(__file__).resolve().parents[2] / "reglements" / "demo.yaml"


async def test_evaluates_supplied_facts_without_any_upstream_call(
    gateway: httpx.AsyncClient, simulateur: str
) -> None:
    response = await gateway.post(
        "/v1/simulations",
        json={
            "faits": {
                "quotient_familial_caf": 600,
                "allocataires": [{"date_naissance": "1980-01-01"}],
                "enfants": [],
            },
            "date_reference": "2026-11-26",
            "dispositifs": ["aide-alimentaire"],
        },
        headers=AUTH,
    )

    assert response.status_code == 200, response.text
    resultat = response.json()["resultats"][0]
    assert resultat["statut"] == "eligible"  # exactly on the 600 € threshold, operator <=
    assert resultat["conditions"][0]["ecart"] == 0
    assert await upstream_calls(simulateur) == 0


async def test_a_proposed_reglement_changes_the_outcome(gateway: httpx.AsyncClient) -> None:
    propose = DEMO.read_text(encoding="utf-8").replace(
        "valeur: 600, deliberation", "valeur: 550, deliberation"
    )
    response = await gateway.post(
        "/v1/simulations",
        json={
            "faits": {"quotient_familial_caf": 600},
            "date_reference": "2026-11-26",
            "dispositifs": ["aide-alimentaire"],
            "reglement": propose,
        },
        headers=AUTH,
    )

    assert response.status_code == 200, response.text
    assert response.json()["resultats"][0]["statut"] == "non_eligible"


async def test_an_invalid_proposed_reglement_names_the_line(gateway: httpx.AsyncClient) -> None:
    response = await gateway.post(
        "/v1/simulations",
        json={"faits": {}, "reglement": "reglement:\n  id: x\ndispositifs: [\n"},
        headers=AUTH,
    )

    assert response.status_code == 422
    assert "reglement-propose.yaml:" in response.json()["detail"]


async def test_unknown_fact_is_a_422_naming_it(gateway: httpx.AsyncClient) -> None:
    response = await gateway.post("/v1/simulations", json={"faits": {"salaire_du_voisin": 3}}, headers=AUTH)

    assert response.status_code == 422
    assert response.json()["erreurs"][0]["champ"] == "faits.salaire_du_voisin"


async def test_reference_date_before_the_reglement_is_a_422(gateway: httpx.AsyncClient) -> None:
    response = await gateway.post(
        "/v1/simulations", json={"faits": {}, "date_reference": "2020-01-01"}, headers=AUTH
    )

    assert response.status_code == 422
    assert response.json()["erreurs"][0]["champ"] == "date_reference"


async def test_a_proposed_reglement_reads_the_facts_it_declares(gateway: httpx.AsyncClient) -> None:
    propose = (DEMO.parent / "exemples" / "ccas-intercommunal.yaml").read_text(encoding="utf-8")
    response = await gateway.post(
        "/v1/simulations",
        json={
            "faits": {
                "situation_emploi": "formation",
                "beneficiaire_prime_activite": True,
                "ressources_mensuelles": 1234,
            },
            "date_reference": "2026-05-15",
            "dispositifs": ["retour-emploi"],
            "reglement": propose,
        },
        headers=AUTH,
    )

    assert response.status_code == 200, response.text
    resultat = response.json()["resultats"][0]
    assert (resultat["statut"], resultat["montant"]) == ("eligible", 75)
    assert resultat["decisives"] == ["situation", "ressources-modestes"]
