"""`GET /v1/reglement`: the caller's règlement and the upstream scopes it needs."""

from __future__ import annotations

import httpx

from tests.conftest import AUTH


async def test_lists_the_aids_their_dated_parameters_and_the_needed_scopes(
    gateway: httpx.AsyncClient,
) -> None:
    response = await gateway.get("/v1/reglement", headers=AUTH)

    assert response.status_code == 200
    body = response.json()
    assert body["id"] == "ccas-demoville"
    assert {d["id"] for d in body["dispositifs"]} >= {"aide-alimentaire", "aide-energie", "tarif-cantine"}
    assert "cnaf_quotient_familial" in body["scopes_necessaires"]
    assert "quotient_familial" in body["donnees_necessaires"]
    assert "adresse" not in " ".join(body["scopes_necessaires"])  # data minimisation: no address scope


async def test_requires_a_key(gateway: httpx.AsyncClient) -> None:
    response = await gateway.get("/v1/reglement")

    assert response.status_code == 401
