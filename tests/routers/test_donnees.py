"""`POST /v1/donnees`: certified data only, journaled; upstream failures are problems here."""

from __future__ import annotations

import httpx

from tests.conftest import AUTH, upstream_calls
from tests.routers.test_eligibilite import MARTIN_AXELLE


async def test_returns_the_certified_data_for_pre_filling(gateway: httpx.AsyncClient) -> None:
    response = await gateway.post(
        "/v1/donnees",
        json={"demandeur": MARTIN_AXELLE, "donnees": ["quotient_familial"], "dossier_ref": "D-1"},
        headers=AUTH,
    )

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["id"]
    assert body["donnees"]["quotient_familial"]["valeur"] == 150
    assert body["donnees"]["quotient_familial"]["fournisseur"] == "CNAF"
    assert body["donnees"]["allocataires"][0]["nom_naissance"] == "MARTIN"
    assert body["donnees_indisponibles"] == []


async def test_unknown_data_set_is_a_422_without_upstream_call(
    gateway: httpx.AsyncClient, simulateur: str
) -> None:
    response = await gateway.post(
        "/v1/donnees", json={"demandeur": MARTIN_AXELLE, "donnees": ["casier_judiciaire"]}, headers=AUTH
    )

    assert response.status_code == 422
    assert response.json()["erreurs"][0]["champ"] == "donnees"
    assert await upstream_calls(simulateur) == 0


async def test_unknown_person_is_a_404_problem(gateway: httpx.AsyncClient) -> None:
    response = await gateway.post(
        "/v1/donnees",
        json={"demandeur": {**MARTIN_AXELLE, "nom_naissance": "INCONNU"}, "donnees": ["quotient_familial"]},
        headers=AUTH,
    )

    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == "personne-introuvable"


async def test_provider_down_is_a_503_problem(gateway: httpx.AsyncClient, simulateur: str) -> None:
    async with httpx.AsyncClient(base_url=simulateur) as control:
        await control.put("/__simulateur/pannes", json={"mode": "erreur_serveur", "status": 502})
    response = await gateway.post(
        "/v1/donnees", json={"demandeur": MARTIN_AXELLE, "donnees": ["quotient_familial"]}, headers=AUTH
    )

    assert response.status_code == 503
    assert response.json()["code"] == "fournisseur-indisponible"
