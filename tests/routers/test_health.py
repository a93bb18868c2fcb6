"""Liveness, readiness, metrics and the OpenAPI document."""

from __future__ import annotations

import socket
from pathlib import Path

import httpx

from tests.conftest import gateway_settings, open_gateway


async def test_healthz_and_readyz(gateway: httpx.AsyncClient) -> None:
    assert (await gateway.get("/healthz")).json() == {"statut": "ok"}
    ready = await gateway.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["verifications"]["journal"] == "ok"


async def test_readyz_is_503_when_the_upstream_is_unreachable(tmp_path: Path) -> None:
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]  # bound, never listening: connections are refused
        settings = gateway_settings(
            tmp_path, api_particulier_url=f"http://127.0.0.1:{port}", api_particulier_token="t"
        )
        async with open_gateway(settings) as client:
            response = await client.get("/readyz")

    assert response.status_code == 503
    assert response.json()["verifications"]["api_particulier"] == "indisponible"
    assert response.json()["verifications"]["journal"] == "ok"


async def test_metrics_are_exposed(gateway: httpx.AsyncClient) -> None:
    response = await gateway.get("/metrics")

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")


async def test_openapi_documents_the_interface_with_examples(gateway: httpx.AsyncClient) -> None:
    schema = (await gateway.get("/openapi.json")).json()

    assert "/v1/eligibilite" in schema["paths"]
    demande = schema["components"]["schemas"]["DemandeEligibilite"]
    assert demande["examples"][0]["demandeur"]["nom_naissance"] == "MARTIN"
    assert "application/problem+json" in str(schema["paths"]["/v1/eligibilite"]["post"]["responses"]["422"])


async def test_unknown_route_is_a_problem(gateway: httpx.AsyncClient) -> None:
    response = await gateway.get("/v1/inexistant")

    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
