"""`Idempotency-Key` on `POST /v1/eligibilite` and `POST /v1/donnees`, end to end: a caller that
retries after a timeout gets the same decision, no new upstream call, no second journal entry."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from tests.conftest import AUTH, upstream_calls
from tests.routers.test_eligibilite import MARTIN_AXELLE, demande


async def _journal(gateway: httpx.AsyncClient) -> list[dict[str, Any]]:
    response = await gateway.get("/v1/journal", headers=AUTH)
    assert response.status_code == 200, response.text
    entrees: list[dict[str, Any]] = response.json()["entrees"]
    return entrees


@pytest.mark.parametrize("chemin", ["/v1/eligibilite", "/v1/donnees"])
async def test_a_retried_post_replays_the_first_answer(
    gateway: httpx.AsyncClient, simulateur: str, chemin: str
) -> None:
    headers = {**AUTH, "Idempotency-Key": "abc-123"}
    premiere = await gateway.post(chemin, json=demande(MARTIN_AXELLE), headers=headers)
    appels = await upstream_calls(simulateur)
    seconde = await gateway.post(chemin, json=demande(MARTIN_AXELLE), headers=headers)

    assert premiere.status_code == seconde.status_code == 200, premiere.text
    assert seconde.content == premiere.content  # the same decision id, the same data
    assert seconde.headers["idempotency-replayed"] == "true"
    assert "idempotency-replayed" not in premiere.headers
    assert await upstream_calls(simulateur) == appels  # no new upstream call
    assert len(await _journal(gateway)) == 1  # no second decision in the journal


async def test_without_a_key_two_posts_are_two_decisions(gateway: httpx.AsyncClient) -> None:
    a = await gateway.post("/v1/eligibilite", json=demande(MARTIN_AXELLE), headers=AUTH)
    b = await gateway.post("/v1/eligibilite", json=demande(MARTIN_AXELLE), headers=AUTH)

    assert a.json()["id"] != b.json()["id"]
    assert len(await _journal(gateway)) == 2


async def test_the_same_key_with_another_body_is_a_clear_422(gateway: httpx.AsyncClient) -> None:
    headers = {**AUTH, "Idempotency-Key": "abc-123"}
    await gateway.post("/v1/eligibilite", json=demande(MARTIN_AXELLE), headers=headers)
    autre = await gateway.post(
        "/v1/eligibilite", json=demande(MARTIN_AXELLE, dossier_ref="D-2026-00043"), headers=headers
    )

    assert autre.status_code == 422
    assert autre.headers["content-type"] == "application/problem+json"
    assert autre.json()["code"] == "cle-idempotence-reutilisee"
    assert autre.json()["erreurs"] == [
        {"champ": "Idempotency-Key", "message": "clé déjà utilisée pour un autre corps de requête"}
    ]
    assert len(await _journal(gateway)) == 1


async def test_concurrent_duplicates_make_one_decision(gateway: httpx.AsyncClient, simulateur: str) -> None:
    avant = await upstream_calls(simulateur)
    headers = {**AUTH, "Idempotency-Key": "8e03978e-40d5-43e8-bc93-6894a57f9324"}
    reponses = await asyncio.gather(
        *(gateway.post("/v1/eligibilite", json=demande(MARTIN_AXELLE), headers=headers) for _ in range(4))
    )

    assert {r.status_code for r in reponses} == {200}
    assert len({r.json()["id"] for r in reponses}) == 1
    assert len(await _journal(gateway)) == 1
    assert await upstream_calls(simulateur) - avant <= 1


async def test_a_malformed_key_is_refused_before_any_work(gateway: httpx.AsyncClient) -> None:
    response = await gateway.post(
        "/v1/eligibilite", json=demande(MARTIN_AXELLE), headers={**AUTH, "Idempotency-Key": "a b"}
    )

    assert response.status_code == 422
    assert response.json()["erreurs"][0]["champ"] == "Idempotency-Key"
    assert await _journal(gateway) == []
