"""Campaign calls yield to the counter's in the shared limiter (issue 18), in process and in Redis."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from app.services.amont.deadline import Deadline
from app.services.amont.quotas import (
    Limiter,
    MemoryLimiter,
    Portee,
    Quotas,
    RedisLimiter,
    pour_une_campagne,
    reserve_guichet,
)
from tests.services.amont.test_quotas import REDIS_URL, FakeClock, quota


@pytest.fixture
async def redis_client() -> AsyncIterator[Redis]:
    client = Redis.from_url(REDIS_URL)
    try:
        yield client
    finally:
        keys = [k async for k in client.scan_iter(match="eg-quota:v1:test-*")]
        if keys:
            await client.delete(*keys)
        await client.aclose()


async def _accordes(limiter: Limiter, portee: Portee, essais: int, *, campagne: bool) -> int:
    accordes = 0
    for _ in range(essais):
        accordes += (await limiter.reserver([portee], campagne=campagne)).attente_seconds == 0
    return accordes


def _limiteurs(redis_client: Redis) -> list[Limiter]:
    return [MemoryLimiter(FakeClock()), RedisLimiter(redis_client)]


@pytest.mark.integration
async def test_with_no_one_at_the_counter_a_campaign_uses_the_whole_quota(redis_client: Redis) -> None:
    for limiter in _limiteurs(redis_client):
        portee = Portee(quota(limite=20, fenetre=60.0), "jeton")
        assert await _accordes(limiter, portee, 25, campagne=True) == 20


@pytest.mark.integration
async def test_while_agents_call_a_campaign_leaves_them_their_share(redis_client: Redis) -> None:
    for limiter in _limiteurs(redis_client):
        portee = Portee(quota(limite=20, fenetre=60.0), "jeton")
        assert await _accordes(limiter, portee, 1, campagne=False) == 1  # an agent at the counter

        campagne = await _accordes(limiter, portee, 25, campagne=True)
        guichet = await _accordes(limiter, portee, 5, campagne=False)

        assert campagne == 20 - 1 - reserve_guichet(20)
        # The agents' next calls find their places free, at once.
        assert guichet == reserve_guichet(20)


@pytest.mark.integration
async def test_while_an_agents_call_waits_no_campaign_call_takes_the_freed_place(redis_client: Redis) -> None:
    for limiter in _limiteurs(redis_client):
        portee = Portee(quota(limite=2, fenetre=60.0), "jeton")
        assert await _accordes(limiter, portee, 2, campagne=True) == 2
        attente = await limiter.reserver([portee])  # an agent, the window full: it waits

        assert attente.attente_seconds > 0
        assert (await limiter.reserver([portee], campagne=True)).attente_seconds > 0


async def test_a_campaign_call_waits_past_an_agents_deadline_for_its_place() -> None:
    horloge = FakeClock()
    quotas = Quotas(MemoryLimiter(horloge), sleep=horloge.sleep)
    portee = Portee(quota(limite=1, fenetre=5.0), "jeton")
    await quotas.acquerir([portee], Deadline.after(1.0, horloge), fournisseur="essai")

    with pour_une_campagne(attente_max_seconds=30):
        attendu = await quotas.acquerir([portee], Deadline.after(1.0, horloge), fournisseur="essai")

    assert attendu >= 5.0  # an agent's call would have been refused at its 1 s deadline
