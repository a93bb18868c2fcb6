"""Fault injection, from the configuration and through the `/__simulateur/` control API; call counters."""

from __future__ import annotations

import json

import httpx
import pytest

from app.simulators.api_particulier import FaultInjection, SimulatorConfig

from .conftest import NOMINAL, QF, RSA, Factory, FakeClock, codes


@pytest.mark.parametrize(("status", "code"), [(500, "00500"), (502, "35001"), (503, "35001"), (504, "35002")])
async def test_forced_server_error(make_client: Factory, status: int, code: str) -> None:
    client = make_client(faults=FaultInjection(mode="erreur_serveur", status=status))
    response = await client.get(QF, params=NOMINAL)
    assert response.status_code == status
    assert codes(response) == [code]
    assert response.headers["X-Request-ID"]


async def test_forced_error_uses_the_provider_of_the_route(make_client: Factory) -> None:
    client = make_client(faults=FaultInjection(mode="erreur_serveur", status=504))
    response = await client.get(RSA, params=NOMINAL)
    assert response.json()["errors"][0]["code"] == "36002"
    assert response.json()["errors"][0]["meta"] == {"provider": "Sécurité sociale"}


async def test_malformed_json(make_client: Factory) -> None:
    response = await make_client(faults=FaultInjection(mode="json_malforme")).get(QF, params=NOMINAL)
    assert response.status_code == 200
    with pytest.raises(json.JSONDecodeError):
        response.json()


async def test_connection_drop_under_asgi_transport_is_a_transport_error(make_client: Factory) -> None:
    client = make_client(faults=FaultInjection(mode="connexion_coupee"))
    with pytest.raises(httpx.TransportError):
        await client.get(QF, params=NOMINAL)


async def test_faults_come_after_validation(make_client: Factory) -> None:
    client = make_client(faults=FaultInjection(mode="erreur_serveur"))
    assert (await client.get(QF, params=[("recipient", "1")])).status_code == 422


async def test_every_nth_and_endpoint_filter(make_client: Factory) -> None:
    faults = FaultInjection(
        mode="erreur_serveur", every_nth=2, endpoints=frozenset({"quotient_familial/identite"})
    )
    client = make_client(faults=faults)
    statuses = [(await client.get(QF, params=NOMINAL)).status_code for _ in range(4)]
    assert statuses == [200, 502, 200, 502]
    assert (await client.get(RSA, params=NOMINAL)).status_code == 404


async def test_control_api_sets_and_clears_faults(client: httpx.AsyncClient) -> None:
    response = await client.put("/__simulateur/pannes", json={"mode": "erreur_serveur", "status": 504})
    assert response.status_code == 200
    assert response.json()["mode"] == "erreur_serveur"
    assert (await client.get("/__simulateur/pannes")).json()["status"] == 504
    assert (await client.get(QF, params=NOMINAL)).status_code == 504
    assert (await client.delete("/__simulateur/pannes")).json()["mode"] == "aucune"
    assert (await client.get(QF, params=NOMINAL)).status_code == 200


@pytest.mark.parametrize(
    "body",
    [
        {"mode": "inconnu"},
        {"mode": "erreur_serveur", "status": 418},
        {"every_nth": 0},
        {"statut": 502},
        ["pas", "un", "objet"],
    ],
)
async def test_control_api_refuses_bad_faults(client: httpx.AsyncClient, body: object) -> None:
    response = await client.put("/__simulateur/pannes", json=body)
    assert response.status_code == 422
    assert response.json()["erreur"]
    assert (await client.get("/__simulateur/pannes")).json()["mode"] == "aucune"


async def test_control_api_refuses_invalid_json(client: httpx.AsyncClient) -> None:
    response = await client.put("/__simulateur/pannes", content=b"{")
    assert response.status_code == 422


async def test_counters_per_endpoint_second_and_status(make_client: Factory, clock: FakeClock) -> None:
    client = make_client(rate_limit_per_second=2)
    for _ in range(3):
        await client.get(QF, params=NOMINAL)
    clock.advance(1)
    await client.get(RSA, params=NOMINAL)
    await client.get("/api/cnaf_msa_quotient_familial/ping")
    second = int(clock.now.timestamp())
    compteurs = (await client.get("/__simulateur/compteurs")).json()
    # Per token (one here, named by a digest): its busiest second and its 429s.
    assert list(compteurs.pop("par_jeton").values()) == [{"max_par_seconde": 3, "reponses_429": 1}]
    assert compteurs == {
        "total": 4,
        "par_endpoint": {"quotient_familial/identite": 3, "revenu_solidarite_active/identite": 1},
        "par_seconde": {str(second - 1): 3, str(second): 1},
        "max_par_seconde": 3,
        "par_statut": {
            "quotient_familial/identite": {"200": 2, "429": 1},
            "revenu_solidarite_active/identite": {"404": 1},
        },
    }


async def test_reset_restores_the_configured_state(make_client: Factory, clock: FakeClock) -> None:
    config = SimulatorConfig(
        clock=clock, rate_limit_per_second=1, faults=FaultInjection(mode="erreur_serveur")
    )
    client = make_client(config)
    assert (await client.get(QF, params=NOMINAL)).status_code == 502
    await client.put("/__simulateur/pannes", json={"mode": "aucune"})
    assert (await client.get(QF, params=NOMINAL)).status_code == 429
    assert (await client.post("/__simulateur/reinitialiser")).status_code == 204
    assert (await client.get("/__simulateur/compteurs")).json()["total"] == 0
    assert (await client.get(QF, params=NOMINAL)).status_code == 502  # configured faults are back


async def test_france_connect_tokens_are_listed(client: httpx.AsyncClient) -> None:
    tokens = (await client.get("/__simulateur/jetons_france_connect")).json()
    origins = {t["token"]: t["origine"] for t in tokens}
    assert origins["cnaf_qfv2"] == "bac_a_sable"
    assert origins["simulateur-fake_france_connect_cnaf"] == "simulateur"
