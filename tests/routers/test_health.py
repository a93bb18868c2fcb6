"""Liveness, readiness, metrics and the OpenAPI document."""

from __future__ import annotations

import socket
from pathlib import Path

import httpx
import pytest

from tests.conftest import gateway_settings, open_gateway


async def test_healthz_and_readyz(gateway: httpx.AsyncClient) -> None:
    assert (await gateway.get("/healthz")).json() == {"statut": "ok"}
    ready = await gateway.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["verifications"]["journal"] == "ok"


async def test_an_unreachable_provider_is_degrade_never_unready(tmp_path: Path) -> None:
    """API Particulier down: the replica still serves cached data, simulations, the journal — it
    stays in the pool (200) and says what is degraded, since when, and in the metrics."""
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]  # bound, never listening: connections are refused
        settings = gateway_settings(
            tmp_path, api_particulier_url=f"http://127.0.0.1:{port}", api_particulier_token="t"
        )
        async with open_gateway(settings) as client:
            response = await client.get("/readyz")
            metriques = (await client.get("/metrics")).text

    assert response.status_code == 200
    body = response.json()
    assert body["statut"] == "degrade"
    assert body["pret"] is True
    assert body["verifications"]["api_particulier"] == "degrade"
    assert body["verifications"]["journal"] == "ok"
    api = body["dependances"]["api_particulier"]
    assert api["depuis"] is not None
    assert "API Particulier injoignable" in api["detail"]
    assert 'eg_dependance_etat{dependance="api_particulier"} 1.0' in metriques
    assert 'eg_dependance_etat{dependance="journal"} 0.0' in metriques


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


async def test_a_wrong_redis_url_is_said_at_start_and_degrade_in_readyz(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
        settings = gateway_settings(tmp_path, redis_url=f"redis://127.0.0.1:{port}/15")
        async with open_gateway(settings) as client:
            response = await client.get("/readyz")

    assert "redis.unreachable_at_start" in capsys.readouterr().err
    assert response.status_code == 200
    assert response.json()["verifications"]["cache"] == "degrade"
    assert response.json()["verifications"]["limiteur"] == "degrade"
