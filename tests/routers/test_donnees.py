"""`POST /v1/donnees`: certified data only, journaled; upstream failures are problems here."""

from __future__ import annotations

from pathlib import Path

import httpx

from tests.conftest import AUTH, gateway_settings, open_gateway, upstream_calls
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


MARTIN_SAMUEL = {
    "nom_naissance": "MARTIN",
    "prenoms": ["SAMUEL"],
    "sexe": "M",
    "date_naissance": "1980-09-20",
    "code_cog_insee_commune_naissance": "08480",
    "code_cog_insee_pays_naissance": "99100",
}


async def test_benefit_data_is_fetched_when_the_caller_asks_for_it(gateway: httpx.AsyncClient) -> None:
    response = await gateway.post(
        "/v1/donnees",
        json={"demandeur": MARTIN_SAMUEL, "donnees": ["revenu_solidarite_active"]},
        headers=AUTH,
    )

    assert response.status_code == 200, response.text
    rsa = response.json()["donnees"]["revenu_solidarite_active"]
    assert rsa["est_beneficiaire"] is True
    assert rsa["avec_majoration"] is True


async def test_benefit_data_is_fetched_only_when_the_reglement_needs_it(
    tmp_path: Path, simulateur: str
) -> None:
    settings = gateway_settings(
        tmp_path,
        api_particulier_url=simulateur,
        api_particulier_token="jeton-de-test",
        demo_reglement_file="exemples/syndicat-intercommunal.yaml",
    )
    async with open_gateway(settings) as client:
        response = await client.post(
            "/v1/eligibilite",
            json={"demandeur": MARTIN_SAMUEL, "dispositifs": ["aide-solidarite"]},
            headers=AUTH,
        )
    async with httpx.AsyncClient(base_url=simulateur) as control:
        appels = (await control.get("/__simulateur/compteurs")).json()

    assert response.status_code == 200, response.text
    conditions = response.json()["resultats"][0]["conditions"]
    rsa = next(c for c in conditions if c["critere"] == "beneficiaire_rsa")
    assert rsa["valeur"] is True
    assert rsa["satisfaite"] is True
    assert rsa["source"]["certifie"] is True
    assert rsa["source"]["request_id"]
    called = {endpoint for endpoint, n in appels["par_endpoint"].items() if n}
    assert any("revenu_solidarite_active" in e for e in called)
    assert not any("prime_activite" in e or "complementaire_sante" in e for e in called)
