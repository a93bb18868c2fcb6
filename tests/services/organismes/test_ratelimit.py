"""The per-client limit: fixed windows in process and shared through the real Redis, a clear 429
with Retry-After, and no outage when Redis is down."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from app.errors import TooManyRequests
from app.services.organismes.ratelimit import LimiteurClients


class Horloge:
    def __init__(self, instant: float = 1_000_040.0) -> None:
        self.instant = instant

    def __call__(self) -> float:
        return self.instant


@pytest.fixture
async def redis() -> AsyncIterator[Redis]:
    client = Redis.from_url("redis://127.0.0.1:6379/15")
    try:
        yield client
    finally:
        await client.aclose()


async def _admis(limiteur: LimiteurClients, client_id: str, n: int) -> list[bool]:
    resultats = []
    for _ in range(n):
        try:
            await limiteur.verifier(client_id)
            resultats.append(True)
        except TooManyRequests:
            resultats.append(False)
    return resultats


async def test_in_process_window_refuses_past_the_limit_then_reopens() -> None:
    horloge = Horloge()  # 20 s into a 60 s window
    limiteur = LimiteurClients(limite=3, fenetre_secondes=60, clock=horloge)
    assert await _admis(limiteur, "a", 4) == [True, True, True, False]
    assert await _admis(limiteur, "b", 1) == [True]  # another client has its own allowance

    with pytest.raises(TooManyRequests) as refused:
        await limiteur.verifier("a")
    assert refused.value.retry_after == 40
    assert "3 requêtes par 60 secondes" in refused.value.detail

    horloge.instant += 40  # the next window
    assert await _admis(limiteur, "a", 3) == [True, True, True]


async def test_zero_disables_the_limit() -> None:
    limiteur = LimiteurClients(limite=0, fenetre_secondes=60)
    assert await _admis(limiteur, "a", 100) == [True] * 100


@pytest.mark.integration
async def test_redis_window_is_shared_by_every_worker(redis: Redis) -> None:
    horloge = Horloge()
    prefixe = f"eg-test:{secrets.token_hex(4)}:"
    workers = [
        LimiteurClients(limite=4, fenetre_secondes=60, redis=redis, prefixe=prefixe, clock=horloge)
        for _ in range(2)
    ]
    try:
        resultats = [ok for _ in range(3) for w in workers for ok in await _admis(w, "a", 1)]
        assert resultats == [True, True, True, True, False, False]
        ttl = await redis.ttl(f"{prefixe}a:{int(horloge.instant // 60)}")
        assert 0 < ttl <= 61  # the counter cleans itself up
    finally:
        keys = [k async for k in redis.scan_iter(f"{prefixe}*")]
        if keys:
            await redis.delete(*keys)


async def test_redis_down_falls_back_to_the_process_count() -> None:
    unreachable = Redis.from_url("redis://127.0.0.1:1/15", socket_connect_timeout=0.5)
    try:
        limiteur = LimiteurClients(limite=2, fenetre_secondes=60, redis=unreachable, clock=Horloge())
        assert await _admis(limiteur, "a", 3) == [True, True, False]
    finally:
        await unreachable.aclose()
