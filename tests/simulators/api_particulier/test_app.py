"""Simulator behaviour around the data: tokens, quotas, conflicts, maintenance, FranceConnect, headers."""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime

import httpx
import pytest

from app.simulators.api_particulier import SimulatorConfig
from app.simulators.api_particulier.app import maintenance_retry_in
from app.simulators.faults import PARIS

from .conftest import NOMINAL, QF, QF_FC, RECIPIENT, RSA, Factory, FakeClock, codes, query

SIMULATOR_FC_TOKEN = "simulateur-france_connect_200_1_parent_0_enfant_cnaf"


async def test_every_answer_carries_the_v3_headers(client: httpx.AsyncClient, clock: FakeClock) -> None:
    response = await client.get(QF, params=NOMINAL)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    uuid.UUID(response.headers["X-Request-ID"])
    assert response.headers["X-Response-Cached"] == "false"
    assert response.headers["X-Cache-Expires-in"] == ""
    assert response.headers["RateLimit-Limit"] == "20"
    assert response.headers["RateLimit-Remaining"] == "19"
    assert response.headers["RateLimit-Reset"] == str(int(clock.now.timestamp()) + 1)
    second = await client.get(QF, params=query(recipient="1"))
    assert second.headers["X-Request-ID"] != response.headers["X-Request-ID"]
    assert second.headers["RateLimit-Remaining"] == "18"


async def test_media_type_can_be_siade_s(make_client: Factory) -> None:
    response = await make_client(media_type="application/vnd.api+json").get(QF, params=NOMINAL)
    assert response.headers["content-type"] == "application/vnd.api+json"


@pytest.mark.parametrize("authorization", [None, "Bearer ", "Basic abc", "Token abc"])
async def test_missing_or_malformed_token_is_401(make_client: Factory, authorization: str | None) -> None:
    client = make_client(token=None)
    headers = {"Authorization": authorization} if authorization is not None else {}
    response = await client.get(QF, params=NOMINAL, headers=headers)
    assert response.status_code == 401
    assert response.json()["errors"] == [
        {
            "code": "00101",
            "title": "Interdit",
            "detail": "Votre token n'est pas valide ou n'est pas renseigné",
            "source": {"parameter": "token"},
            "meta": {},
        }
    ]


async def test_accepted_tokens_restrict_access(make_client: Factory, clock: FakeClock) -> None:
    config = SimulatorConfig(clock=clock, accepted_tokens=frozenset({"bon-jeton"}))
    assert (await make_client(config, token="autre").get(QF, params=NOMINAL)).status_code == 401
    assert (await make_client(config, token="bon-jeton").get(QF, params=NOMINAL)).status_code == 200


async def test_token_is_checked_before_parameters(make_client: Factory) -> None:
    response = await make_client(token=None).get(QF, params=query(recipient=None))
    assert codes(response) == ["00101"]


async def test_rate_limit_per_token_and_per_second(make_client: Factory, clock: FakeClock) -> None:
    client = make_client()
    statuses = [(await client.get(QF, params=NOMINAL)).status_code for _ in range(20)]
    assert statuses == [200] * 20
    refused = await client.get(QF, params=NOMINAL)
    assert refused.status_code == 429
    assert codes(refused) == ["00429"]
    assert refused.headers["Retry-After"] == "1"
    assert refused.headers["RateLimit-Remaining"] == "0"
    # Another token has its own bucket; the next second opens a new window.
    other = await client.get(QF, params=NOMINAL, headers={"Authorization": "Bearer autre"})
    assert other.status_code == 200
    clock.advance(1)
    assert (await client.get(QF, params=NOMINAL)).status_code == 200


async def test_rate_limit_is_shared_by_all_v3_routes_but_not_pings(make_client: Factory) -> None:
    client = make_client(rate_limit_per_second=2)
    for _ in range(5):
        assert (await client.get("/api/cnaf_msa_quotient_familial/ping")).status_code == 200
    assert (await client.get(QF, params=NOMINAL)).status_code == 200
    assert (await client.get(RSA, params=NOMINAL)).status_code == 404
    assert (await client.get(RSA, params=NOMINAL)).status_code == 429


async def test_retry_after_counts_the_seconds_left_in_the_window(
    make_client: Factory, clock: FakeClock
) -> None:
    clock.now = clock.now.replace(microsecond=250_000)
    client = make_client(rate_limit_per_second=1)
    await client.get(QF, params=NOMINAL)
    refused = await client.get(QF, params=NOMINAL)
    assert refused.headers["Retry-After"] == "1"
    assert refused.headers["RateLimit-Reset"] == str(int(clock.now.timestamp()) + 1)


async def test_identical_concurrent_request_gets_409(make_client: Factory) -> None:
    client = make_client(latency_seconds=0.2)
    first, second = await asyncio.gather(client.get(QF, params=NOMINAL), client.get(QF, params=NOMINAL))
    assert sorted([first.status_code, second.status_code]) == [200, 409]
    conflict = first if first.status_code == 409 else second
    assert codes(conflict) == ["00015"]
    # Once the first one is done, the same request goes through again.
    assert (await client.get(QF, params=NOMINAL)).status_code == 200


async def test_different_concurrent_requests_do_not_conflict(make_client: Factory) -> None:
    client = make_client(latency_seconds=0.2)
    responses = await asyncio.gather(
        client.get(QF, params=NOMINAL),
        client.get(QF, params=query(annee="2025")),
        client.get(QF, params=NOMINAL, headers={"Authorization": "Bearer autre"}),
    )
    assert [r.status_code for r in responses] == [200, 200, 200]


@pytest.mark.parametrize(
    ("moment", "retry_in"),
    [
        (datetime(2026, 6, 14, 23, 10, tzinfo=PARIS), 2100),
        (datetime(2026, 6, 14, 23, 0, tzinfo=PARIS), 2700),
        (datetime(2026, 6, 14, 23, 44, 59, tzinfo=PARIS), 1),
        (datetime(2026, 6, 14, 22, 59, tzinfo=PARIS), None),
        (datetime(2026, 6, 14, 23, 45, tzinfo=PARIS), None),
        (datetime(2026, 6, 15, 23, 10, tzinfo=PARIS), None),  # a Monday
    ],
)
def test_maintenance_window(moment: datetime, retry_in: int | None) -> None:
    assert maintenance_retry_in(moment) == retry_in


async def test_maintenance_answers_503_on_the_quotient_familial_only(
    make_client: Factory, clock: FakeClock
) -> None:
    clock.now = datetime(2026, 6, 14, 23, 10, tzinfo=PARIS)
    client = make_client()
    response = await client.get(QF, params=NOMINAL)
    assert response.status_code == 503
    assert response.json()["errors"] == [
        {
            "code": "35020",
            "title": "Maintenance du fournisseur de données",
            "detail": "Le fournisseur de données est en maintenance de 23:00 à 23:45",
            "meta": {"provider": "CNAF & MSA", "retry_in": 2100},
        }
    ]
    assert (
        await client.get(
            QF_FC, params={"recipient": RECIPIENT}, headers={"Authorization": f"Bearer {SIMULATOR_FC_TOKEN}"}
        )
    ).status_code == 503
    assert (await client.get(RSA, params=NOMINAL)).status_code == 404  # Sécurité sociale: no window
    assert (await client.get(QF, params=query(recipient="1"))).status_code == 422  # validation first
    clock.now = datetime(2026, 6, 14, 23, 45, tzinfo=PARIS)
    assert (await client.get(QF, params=NOMINAL)).status_code == 200


async def test_france_connect_token_maps_to_an_identity(make_client: Factory) -> None:
    response = await make_client(token=SIMULATOR_FC_TOKEN).get(QF_FC, params={"recipient": RECIPIENT})
    assert response.status_code == 200
    assert response.json()["data"]["allocataires"][0]["nom_naissance"] == "DUBOIS"


async def test_france_connect_route_validates_recipient_and_period(make_client: Factory) -> None:
    client = make_client(token=SIMULATOR_FC_TOKEN)
    response = await client.get(QF_FC, params={"recipient": "123", "annee": "2020"})
    assert codes(response) == ["00210", "00356"]


async def test_unknown_france_connect_token_is_401(make_client: Factory) -> None:
    response = await make_client(token="jeton-inconnu").get(QF_FC, params={"recipient": RECIPIENT})
    assert response.status_code == 401
    assert codes(response) == ["50002"]


async def test_france_connect_token_without_the_scopes_is_403(make_client: Factory) -> None:
    response = await make_client(token="cnous").get(QF_FC, params={"recipient": RECIPIENT})
    assert response.status_code == 403
    assert codes(response) == ["00100"]


@pytest.mark.parametrize(
    ("path", "fragment"),
    [
        ("/api/v2/avis-imposition", "8 janvier 2024"),
        ("/api/impots/svair", "8 janvier 2024"),
        ("/api/v2/composition-familiale", "31/10/2025"),
        ("/api/caf/famille", "31/10/2025"),
    ],
)
async def test_removed_endpoints_answer_410_in_plain_text(
    client: httpx.AsyncClient, path: str, fragment: str
) -> None:
    response = await client.get(path, params={"numeroFiscal": "1"})
    assert response.status_code == 410
    assert response.headers["content-type"].startswith("text/plain")
    assert fragment in response.text


async def test_other_api_version_is_00402(client: httpx.AsyncClient) -> None:
    response = await client.get("/v4/dss/quotient_familial/identite", params=NOMINAL)
    assert response.status_code == 404
    assert codes(response) == ["00402"]
    assert (await client.get("/v4/dss/inconnu/identite")).status_code == 404


async def test_ping(client: httpx.AsyncClient, clock: FakeClock) -> None:
    response = await client.get("/api/cnaf_msa_quotient_familial/ping")
    assert response.json() == {"status": "ok", "last_update": clock.now.isoformat()}


async def test_instances_do_not_share_state(make_client: Factory) -> None:
    first, second = make_client(rate_limit_per_second=1), make_client(rate_limit_per_second=1)
    assert (await first.get(QF, params=NOMINAL)).status_code == 200
    assert (await second.get(QF, params=NOMINAL)).status_code == 200
    assert (await first.get(QF, params=NOMINAL)).status_code == 429
