"""Tax data in `POST /v1/eligibilite`: numéro fiscal in, DGFiP facts out, never kept anywhere."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
from redis.asyncio import Redis

from tests.conftest import AUTH, gateway_settings, open_gateway

NUMERO_FISCAL = "3999999130484"  # fictitious household of the DGFiP simulator, same person as below
DUPONT_SOPHIE: dict[str, Any] = {
    "nom_naissance": "DUPONT",
    "prenoms": ["SOPHIE"],
    "sexe": "F",
    "date_naissance": "1982-09-03",
    "code_cog_insee_commune_naissance": "13001",
    "code_cog_insee_pays_naissance": "99100",
}


def demande(**demandeur: Any) -> dict[str, Any]:
    return {"demandeur": {**DUPONT_SOPHIE, **demandeur}, "dossier_ref": "D-2026-00077"}


def resultat(body: dict[str, Any], dispositif: str) -> dict[str, Any]:
    return next(r for r in body["resultats"] if r["dispositif"] == dispositif)


@pytest.fixture
async def gateway(tmp_path: Path) -> Any:
    async with open_gateway(gateway_settings(tmp_path)) as client:
        yield client


async def test_tax_facts_are_evaluated_next_to_caf_facts(gateway: httpx.AsyncClient) -> None:
    response = await gateway.post("/v1/eligibilite", json=demande(numero_fiscal=NUMERO_FISCAL), headers=AUTH)

    assert response.status_code == 200, response.text
    body = response.json()
    supplement = resultat(body, "supplement-energie")
    assert supplement["statut"] == "eligible"
    assert supplement["montant"] == 80
    condition = supplement["conditions"][0]
    assert condition["critere"] == "revenu_par_unite_de_consommation"
    assert condition["valeur"] == 10000  # 24 000 € / 2.4 UC, exactly
    assert condition["source"]["fournisseur"] == "DGFIP"
    assert condition["source"]["request_id"]
    cantine = resultat(body, "tarif-cantine")
    assert cantine["conditions"][0]["source"]["fournisseur"] == "CNAF"
    assert body["donnees"]["impot_sur_le_revenu"]["revenu_fiscal_de_reference"] == 24000
    assert NUMERO_FISCAL not in response.text


async def test_without_numero_fiscal_the_tax_aid_asks_for_the_avis(gateway: httpx.AsyncClient) -> None:
    response = await gateway.post("/v1/eligibilite", json=demande(), headers=AUTH)

    assert response.status_code == 200, response.text
    supplement = resultat(response.json(), "supplement-energie")
    assert supplement["statut"] == "a_verifier"
    assert any("avis d'impôt" in p for p in supplement["pieces_justificatives"])


async def test_invalid_numero_fiscal_is_a_422_before_any_upstream_call(
    gateway: httpx.AsyncClient,
) -> None:
    response = await gateway.post(
        "/v1/eligibilite", json=demande(numero_fiscal="3999999130485"), headers=AUTH
    )

    assert response.status_code == 422
    problem = response.json()
    assert problem["erreurs"][0]["champ"] == "demandeur.numero_fiscal"
    assert "3999999130485" not in response.text
    journal = await gateway.get("/readyz")  # the gateway is still healthy
    assert journal.status_code == 200


async def test_numero_fiscal_is_never_logged_cached_or_journaled(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    settings = gateway_settings(tmp_path, log_level="DEBUG", redis_url="redis://127.0.0.1:6379/15")
    async with open_gateway(settings) as client:
        for _ in range(2):
            response = await client.post(
                "/v1/eligibilite", json=demande(numero_fiscal=NUMERO_FISCAL), headers=AUTH
            )
            assert response.status_code == 200
        decision = await client.get(f"/v1/decisions/{response.json()['id']}", headers=AUTH)
    logs = capfd.readouterr()
    redis = Redis.from_url("redis://127.0.0.1:6379/15")
    try:
        cached = [(key, await redis.get(key)) async for key in redis.scan_iter("eg:*")]
    finally:
        await redis.aclose()
    journal_bytes = b"".join(p.read_bytes() for p in tmp_path.glob("journal.db*"))  # noqa: ASYNC240 - after the app stopped

    assert decision.status_code == 200
    assert NUMERO_FISCAL not in decision.text
    assert NUMERO_FISCAL not in logs.out + logs.err
    assert NUMERO_FISCAL.encode() not in journal_bytes
    assert b"DUPONT" not in journal_bytes
    assert cached, "the CAF answer was cached in Redis"
    for key, value in cached:
        assert NUMERO_FISCAL.encode() not in key
        assert value is None or (NUMERO_FISCAL.encode() not in value and b"DUPONT" not in value)
