"""Issue 13, point 4: no upstream quota is spent while the journal cannot record the decision.

The gateway runs on a throwaway PostgreSQL database; the database then refuses every connection
(its connections killed, new ones refused), as during an outage. Before: each request still made its
upstream call, then answered 503 (≈ 80 calls per outage). Now the first failed write marks the
journal down; later requests answer 503 at once, without calling, until a probe finds it back.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from tests.conftest import AUTH, gateway_settings, open_gateway, upstream_calls
from tests.db.postgres import PG_HOST, PG_PORT, PG_USER, throwaway_database
from tests.routers.test_eligibilite import MARTIN_AXELLE

pytestmark = pytest.mark.integration


@pytest.fixture
def database_url() -> Iterator[str]:
    with throwaway_database() as url:
        yield url


async def _connexions(database: str, *, permises: bool) -> None:
    admin = create_async_engine(
        f"postgresql+asyncpg://{PG_USER}@{PG_HOST}:{PG_PORT}/postgres",
        isolation_level="AUTOCOMMIT",
        poolclass=NullPool,
    )
    try:
        async with admin.connect() as connection:
            await connection.execute(
                text(f'ALTER DATABASE "{database}" ALLOW_CONNECTIONS {"true" if permises else "false"}')
            )
            if not permises:
                await connection.execute(
                    text(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                        "WHERE datname = :name AND pid <> pg_backend_pid()"
                    ),
                    {"name": database},
                )
    finally:
        await admin.dispose()


def _inconnu(n: int) -> dict[str, Any]:
    """A valid identity unknown upstream: a cache miss and one upstream call each."""
    lettres = "".join(chr(ord("A") + int(c)) for c in f"{n:05d}")
    return {**MARTIN_AXELLE, "nom_naissance": f"INCONNU{lettres}"}


async def test_no_upstream_call_while_the_journal_is_known_down(
    tmp_path: Path, database_url: str, simulateur: str
) -> None:
    nom_base = database_url.rsplit("/", 1)[1]
    settings = gateway_settings(
        tmp_path, database_url=database_url, api_particulier_url=simulateur, api_particulier_token="jeton"
    )
    async with open_gateway(settings) as gw:
        assert (
            await gw.post("/v1/eligibilite", json={"demandeur": _inconnu(0)}, headers=AUTH)
        ).status_code == 200
        avant = await upstream_calls(simulateur)

        await _connexions(nom_base, permises=False)
        try:
            statuts = [
                (await gw.post("/v1/eligibilite", json={"demandeur": _inconnu(i)}, headers=AUTH)).status_code
                for i in range(1, 41)
            ]
            # The pre-filling flow too: its consultation could not be journaled either.
            prefill = [
                (await gw.post("/v1/donnees", json={"demandeur": _inconnu(i)}, headers=AUTH)).status_code
                for i in range(100, 110)
            ]
            pendant = await upstream_calls(simulateur) - avant
        finally:
            await _connexions(nom_base, permises=True)
        assert statuts == [503] * 40
        assert prefill == [503] * 10
        # The failed write that revealed the outage, plus at most one per probe interval (1 s).
        assert pendant <= 3, pendant

        # Back: within a probe interval, decisions are journaled and answered again.
        await asyncio.sleep(1.1)
        reponse = await gw.post("/v1/eligibilite", json={"demandeur": _inconnu(99)}, headers=AUTH)
        assert reponse.status_code == 200, reponse.text
        probleme = await gw.post("/v1/eligibilite", json={"demandeur": _inconnu(98)}, headers=AUTH)
        assert probleme.status_code == 200
