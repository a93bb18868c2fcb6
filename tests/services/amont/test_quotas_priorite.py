"""Campaign calls yield to the counter's in the shared limiter (issue 18), in process and in Redis."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from app.services.amont.deadline import Deadline
from app.services.amont.quotas import (
    GUICHET_ACTIF_SECONDS,
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
        portee = Portee(quota(limite=40, fenetre=60.0), "jeton")
        part = reserve_guichet(40)
        assert part == 2
        assert await _accordes(limiter, portee, 1, campagne=False) == 1  # an agent at the counter

        campagne = await _accordes(limiter, portee, 50, campagne=True)
        guichet = await _accordes(limiter, portee, 5, campagne=False)

        # The agent's call counts against its own share, not the campaign's: nothing is lost.
        assert campagne == 40 - part
        # What is left of the share is free for the agents' next calls, at once.
        assert guichet == part - 1


async def test_an_agent_calling_every_few_seconds_always_finds_its_place() -> None:
    """The share stays reserved between an agent's calls (measured before: reserved for two
    windows only, an agent calling every 2 s on a 1 s window waited behind the campaign)."""
    horloge = FakeClock()
    limiter = MemoryLimiter(horloge)
    portee = Portee(quota(limite=20, fenetre=1.0), "jeton")
    for _ in range(10):
        assert (await limiter.reserver([portee])).attente_seconds == 0  # the agent, at once
        for _ in range(30):  # the campaign takes what it may, for three seconds
            for _ in range(25):
                await limiter.reserver([portee], campagne=True)
            horloge.now += 0.1
    assert (await limiter.reserver([portee])).attente_seconds == 0
    # Long after the last agent's call, campaigns take the whole quota again.
    horloge.now += GUICHET_ACTIF_SECONDS + 1
    assert await _accordes(limiter, portee, 25, campagne=True) == 20


@pytest.mark.integration
async def test_a_nearly_spent_window_that_is_all_ours_does_not_slow_calls_down(redis_client: Redis) -> None:
    for limiter in _limiteurs(redis_client):
        portee = Portee(quota(limite=20, fenetre=60.0), "jeton")
        assert await _accordes(limiter, portee, 18, campagne=True) == 18
        # The provider says 2 calls left in its window: the 18 it counted are all ours.
        await limiter.suspendre(portee, 0.5, ralentissement=True, appels_vus=18)
        assert await _accordes(limiter, portee, 1, campagne=True) == 1
        # Other clients of the token spent more of it: then slow down.
        await limiter.suspendre(portee, 30, ralentissement=True, appels_vus=19 + 5)
        assert await _accordes(limiter, portee, 1, campagne=True) == 0


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
