"""No decision without its trace, across a database restart: N eligibility decisions are requested
concurrently while every connection of the (throwaway) PostgreSQL database is killed in the middle,
as a restart or fail-over does. Each answer is either a 503 problem or a decision that is in the journal."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from app.db.engine import create_engine_from_url
from app.db.tables import DecisionRow
from tests.conftest import AUTH, gateway_settings, open_gateway
from tests.db.postgres import PG_HOST, PG_PORT, PG_USER, throwaway_database
from tests.routers.test_eligibilite import LEFEBVRE, MARTIN_AXELLE

pytestmark = pytest.mark.integration

N = 120
CONCURRENCY = 12


@pytest.fixture
def database_url() -> Iterator[str]:
    with throwaway_database() as url:
        yield url


async def _kill_connections(database: str) -> int:
    admin = create_async_engine(
        f"postgresql+asyncpg://{PG_USER}@{PG_HOST}:{PG_PORT}/postgres",
        isolation_level="AUTOCOMMIT",
        poolclass=NullPool,
    )
    try:
        async with admin.connect() as connection:
            result = await connection.execute(
                text(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                    "WHERE datname = :name AND pid <> pg_backend_pid()"
                ),
                {"name": database},
            )
            return int(result.scalar_one())
    finally:
        await admin.dispose()


async def _journaled(database_url: str) -> set[str]:
    """The ids of every decision in the journal."""
    engine = create_engine_from_url(database_url)
    try:
        async with engine.connect() as connection:
            return {str(i) for i in (await connection.execute(select(DecisionRow.id))).scalars()}
    finally:
        await engine.dispose()


async def test_every_decision_received_is_journaled_across_a_database_restart(
    tmp_path: Path, database_url: str
) -> None:
    settings = gateway_settings(tmp_path, database_url=database_url)
    database = database_url.rsplit("/", 1)[1]
    received: list[str] = []
    statuses: Counter[int] = Counter()
    killed: list[int] = []
    half_done = asyncio.Event()
    semaphore = asyncio.Semaphore(CONCURRENCY)

    async def one(client: httpx.AsyncClient, n: int) -> None:
        async with semaphore:
            identite = MARTIN_AXELLE if n % 2 else LEFEBVRE
            response = await client.post(
                "/v1/eligibilite", json={"demandeur": identite, "dossier_ref": f"R-{n}"}, headers=AUTH
            )
            statuses[response.status_code] += 1
            body: dict[str, Any] = response.json()
            if response.status_code == 200:
                received.append(body["id"])
            else:
                assert response.status_code == 503, response.text
                assert body["code"] == "journal-indisponible"
                assert "resultats" not in body
            if sum(statuses.values()) == N // 2:
                half_done.set()

    async def restart() -> None:
        await half_done.wait()
        killed.append(await _kill_connections(database))

    async with open_gateway(settings) as client:
        await asyncio.gather(restart(), *(one(client, n) for n in range(N)))
        after = await client.post("/v1/eligibilite", json={"demandeur": MARTIN_AXELLE}, headers=AUTH)

    journaled = await _journaled(database_url)

    print(  # the figures for the delivery note (pytest -s)
        f"\nrestart: {N} requests, {statuses[200]} decisions received, {statuses[503]} refused (503), "
        f"{killed[0]} connections killed, {len(set(received) & journaled)} received decisions journaled"
    )
    assert killed[0] >= 1  # the kill did hit the gateway's pooled connections
    assert sum(statuses.values()) == N
    assert set(received) <= journaled  # every decision a caller got has its journal record
    # More traces than answers is allowed (a commit whose acknowledgement died with the connection);
    # the reverse never is.
    assert len(journaled) >= len(received) + 1
    assert after.status_code == 200  # the pool recovered (pre-ping) after the restart


async def test_a_connection_killed_while_it_sat_in_the_pool_fails_no_caller(
    tmp_path: Path, database_url: str
) -> None:
    """The server ends the pooled connections between two requests, so soon after the first that
    the pool hands the dead one out again without a ping: the next decision is journaled on a
    fresh connection (nothing was sent on the dead one), not refused with a 503."""
    settings = gateway_settings(tmp_path, database_url=database_url)
    database = database_url.rsplit("/", 1)[1]
    async with open_gateway(settings) as client:
        premiere = await client.post("/v1/eligibilite", json={"demandeur": MARTIN_AXELLE}, headers=AUTH)
        assert premiere.status_code == 200, premiere.text
        assert await _kill_connections(database) >= 1
        await asyncio.sleep(0.2)  # the kill's notice reaches the driver
        seconde = await client.post("/v1/eligibilite", json={"demandeur": LEFEBVRE}, headers=AUTH)
        assert seconde.status_code == 200, seconde.text

    journaled = await _journaled(database_url)
    assert {premiere.json()["id"], seconde.json()["id"]} <= journaled
