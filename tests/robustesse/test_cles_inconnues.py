"""Issue 13, point 8: unknown API keys are throttled per source address before the database is
asked, and an unknown key is remembered. Before: 3,000 random keys were 3,000 database lookups,
never throttled. Counted here as the statements the gateway sends to PostgreSQL."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager
from sqlalchemy import event
from sqlalchemy.engine import Engine

from app.config import Settings
from app.main import create_app
from tests.conftest import AUTH, gateway_settings
from tests.db.postgres import throwaway_database

pytestmark = pytest.mark.integration


@pytest.fixture
def base() -> Iterator[str]:
    with throwaway_database() as url:
        yield url


class Requetes:
    """Statements sent to the database by any engine of this process while it is counting."""

    def __init__(self) -> None:
        self.n = 0

    def __call__(self, *_args: Any) -> None:
        self.n += 1


@asynccontextmanager
async def passerelle(settings: Settings) -> AsyncIterator[Any]:
    app = create_app(settings)
    async with LifespanManager(app, startup_timeout=30) as manager:
        yield manager.app


def client(app: Any, adresse: str) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, client=(adresse, 40000))
    return httpx.AsyncClient(transport=transport, base_url="http://gateway")


async def test_random_keys_are_throttled_before_the_database(tmp_path: Path, base: str) -> None:
    requetes = Requetes()
    async with passerelle(gateway_settings(tmp_path, database_url=base)) as app:
        event.listen(Engine, "before_cursor_execute", requetes)
        try:
            statuts: dict[int, int] = {}
            async with client(app, "203.0.113.7") as attaquant:
                for _ in range(600):
                    r = await attaquant.get(
                        "/v1/journal", headers={"Authorization": f"Bearer {secrets.token_hex(16)}"}
                    )
                    statuts[r.status_code] = statuts.get(r.status_code, 0) + 1
            par_attaquant = requetes.n
            # Another address is not affected, and its valid key works.
            async with client(app, "198.51.100.2") as guichet:
                assert (await guichet.get("/v1/journal", headers=AUTH)).status_code == 200
            # The same unknown key, over and over from many addresses: asked once.
            requetes.n = 0
            cle = {"Authorization": f"Bearer {secrets.token_hex(16)}"}
            for k in range(100):
                async with client(app, f"192.0.2.{k}") as autre:
                    assert (await autre.get("/v1/journal", headers=cle)).status_code == 401
            meme_cle = requetes.n
        finally:
            event.remove(Engine, "before_cursor_execute", requetes)

    print(f"\ncles inconnues : {statuts}, {par_attaquant} requêtes SQL pour 600 clés ; même clé : {meme_cle}")
    assert statuts == {401: 30, 429: 570}
    assert par_attaquant <= 30  # before: 600
    assert meme_cle <= 1  # before: 100


async def test_a_key_valid_within_the_hour_still_works_from_a_throttled_address(
    tmp_path: Path, base: str
) -> None:
    """A counter clerk behind the same proxy or NAT as the sender of unknown keys keeps working."""
    settings = gateway_settings(tmp_path, database_url=base, api_key_cache_ttl_seconds=0.2)
    async with passerelle(settings) as app, client(app, "203.0.113.7") as meme_adresse:
        assert (await meme_adresse.get("/v1/journal", headers=AUTH)).status_code == 200
        for _ in range(40):
            await meme_adresse.get(
                "/v1/journal", headers={"Authorization": f"Bearer {secrets.token_hex(16)}"}
            )
        inconnue = await meme_adresse.get(
            "/v1/journal", headers={"Authorization": "Bearer autre-cle-inconnue"}
        )
        assert inconnue.status_code == 429
        await asyncio.sleep(0.3)  # past the positive cache: the key is looked up again
        assert (await meme_adresse.get("/v1/journal", headers=AUTH)).status_code == 200


async def test_unknown_keys_are_counted_for_every_worker_sharing_redis(tmp_path: Path, base: str) -> None:
    """Two gateway processes (workers or replicas) on one Redis: an attacker alternating between
    them gets the limit once, not once per worker."""
    adresse = f"2001:db8::{secrets.token_hex(2)}:{secrets.token_hex(2)}"  # fresh: no count left in Redis
    settings = gateway_settings(
        tmp_path,
        database_url=base,
        redis_url="redis://127.0.0.1:6379/15",
        auth_unknown_keys_per_source_per_minute=6,
    )
    async with passerelle(settings) as premier, passerelle(settings) as second:
        statuts: list[int] = []
        for k in range(10):
            async with client(premier if k % 2 == 0 else second, adresse) as attaquant:
                r = await attaquant.get(
                    "/v1/journal", headers={"Authorization": f"Bearer {secrets.token_hex(16)}"}
                )
                statuts.append(r.status_code)
    assert statuts == [401] * 6 + [429] * 4
