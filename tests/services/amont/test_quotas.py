"""The shared upstream limiter: sliding windows in process and in Redis, waits bounded by the deadline,
suspensions after a 429, scoping per token, failing closed when Redis is gone, and one quota held
by two processes together."""

from __future__ import annotations

import asyncio
import json
import secrets
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from redis.asyncio import Redis

from app.errors import UpstreamRateLimited
from app.services.amont.deadline import Deadline
from app.services.amont.quotas import (
    LimiteurIndisponible,
    MemoryLimiter,
    Portee,
    Quota,
    Quotas,
    RedisLimiter,
    sujet,
)

REDIS_URL = "redis://127.0.0.1:6379/15"
CLOSED_PORT_URL = "redis://127.0.0.1:1/0"
ROOT = Path(__file__).resolve().parents[3]


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += seconds


def quota(limite: int = 3, fenetre: float = 1.0) -> Quota:
    # A unique name per test: Redis keys never collide between tests or runs.
    return Quota(f"test-{secrets.token_hex(4)}", limite, fenetre)


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


# --- in process ----------------------------------------------------------------------------------


async def test_memory_limiter_allows_the_limit_then_says_how_long_to_wait() -> None:
    clock = FakeClock()
    limiter = MemoryLimiter(clock)
    portee = Portee(quota(limite=3, fenetre=1.0), "a")

    results = [await limiter.reserver([portee]) for _ in range(3)]
    assert all(r.attente_seconds == 0 for r in results)
    clock.now += 0.4
    blocked = await limiter.reserver([portee])
    assert blocked.attente_seconds == pytest.approx(0.6)
    assert blocked.quota == portee.quota.nom
    clock.now += 0.6
    assert (await limiter.reserver([portee])).attente_seconds == 0


async def test_a_call_is_counted_on_every_quota_or_on_none() -> None:
    clock = FakeClock()
    limiter = MemoryLimiter(clock)
    large, etroit = Portee(quota(limite=10), "x"), Portee(quota(limite=1), "x")

    assert (await limiter.reserver([large, etroit])).attente_seconds == 0
    refused = await limiter.reserver([large, etroit])
    assert refused.attente_seconds > 0
    assert refused.quota == etroit.quota.nom
    # The refused call did not spend the large quota: 9 more fit in it.
    for _ in range(9):
        assert (await limiter.reserver([large])).attente_seconds == 0
    assert (await limiter.reserver([large])).attente_seconds > 0


async def test_tokens_have_separate_quotas() -> None:
    limiter = MemoryLimiter(FakeClock())
    q = quota(limite=1)
    assert (await limiter.reserver([Portee(q, sujet("jeton-a"))])).attente_seconds == 0
    assert (await limiter.reserver([Portee(q, sujet("jeton-b"))])).attente_seconds == 0
    assert (await limiter.reserver([Portee(q, sujet("jeton-a"))])).attente_seconds > 0


async def test_suspension_stops_a_subject_until_it_ends() -> None:
    clock = FakeClock()
    limiter = MemoryLimiter(clock)
    portee = Portee(quota(limite=100), "a")
    await limiter.suspendre(portee, 5)
    await limiter.suspendre(portee, 1)  # a shorter pause never shortens a longer one

    assert (await limiter.reserver([portee])).attente_seconds == pytest.approx(5)
    clock.now += 5
    assert (await limiter.reserver([portee])).attente_seconds == 0


async def test_callers_wait_for_the_window_instead_of_exceeding_it() -> None:
    clock = FakeClock()
    quotas = Quotas(MemoryLimiter(clock), sleep=clock.sleep)
    portee = Portee(quota(limite=2, fenetre=1.0), "a")
    deadline = Deadline.after(10, clock)

    waits = [await quotas.acquerir([portee], deadline, fournisseur="API Particulier") for _ in range(5)]

    # Two calls per window: the third and the fifth each wait for a window to free two places.
    assert waits == pytest.approx([0, 0, 1, 0, 1])
    assert clock.now == pytest.approx(1002.0)


async def test_a_wait_beyond_the_deadline_is_refused_without_calling() -> None:
    clock = FakeClock()
    quotas = Quotas(MemoryLimiter(clock), sleep=clock.sleep)
    portee = Portee(quota(limite=1, fenetre=60.0), "a")
    await quotas.acquerir([portee], Deadline.after(5, clock), fournisseur="API Particulier")

    with pytest.raises(UpstreamRateLimited) as raised:
        await quotas.acquerir([portee], Deadline.after(5, clock), fournisseur="API Particulier")

    assert raised.value.retry_after == 60
    assert "aucun appel" in raised.value.detail
    assert clock.now == 1000.0  # refused at once, not after waiting


# --- Redis ---------------------------------------------------------------------------------------


@pytest.mark.integration
async def test_redis_limiter_holds_the_window_and_stores_no_token(redis_client: Redis) -> None:
    limiter = RedisLimiter(redis_client)
    token = "jeton-secret-" + secrets.token_hex(8)
    portee = Portee(quota(limite=3, fenetre=5.0), sujet(token))

    results = [await limiter.reserver([portee]) for _ in range(4)]

    assert [r.attente_seconds == 0 for r in results] == [True, True, True, False]
    assert 4.5 < results[3].attente_seconds <= 5.0
    keys = [k async for k in redis_client.scan_iter(match="eg-quota:v1:test-*")]
    assert keys
    assert all(token.encode() not in k for k in keys)


@pytest.mark.integration
async def test_redis_suspension_is_shared(redis_client: Redis) -> None:
    portee = Portee(quota(limite=100), "a")
    await RedisLimiter(redis_client).suspendre(portee, 3)

    other_worker = RedisLimiter(redis_client)
    waiting = await other_worker.reserver([portee])

    assert 2.5 < waiting.attente_seconds <= 3.0


async def test_redis_down_fails_closed() -> None:
    redis = Redis.from_url(CLOSED_PORT_URL, socket_connect_timeout=0.2)
    try:
        quotas = Quotas(RedisLimiter(redis))
        assert not await quotas.ping()
        with pytest.raises(LimiteurIndisponible) as raised:
            await quotas.acquerir([Portee(quota(), "a")], Deadline.after(5), fournisseur="API Particulier")
    finally:
        await redis.aclose()
    assert raised.value.code == "limiteur-indisponible"
    assert raised.value.degrades_to_a_verifier


@pytest.mark.integration
async def test_two_processes_share_one_quota(redis_client: Redis) -> None:
    """Two processes race for a 30-calls-per-minute quota: together they get exactly 30."""
    nom = f"test-{secrets.token_hex(4)}"
    command = [sys.executable, "-m", "tests.services.processus", "limiteur", REDIS_URL, nom, "30", "50"]
    procs = [
        await asyncio.create_subprocess_exec(*command, cwd=ROOT, stdout=asyncio.subprocess.PIPE)
        for _ in range(2)
    ]
    outputs = [json.loads((await p.communicate())[0]) for p in procs]

    assert [p.returncode for p in procs] == [0, 0]
    assert sum(o["accordes"] for o in outputs) == 30
    assert sum(o["refuses"] for o in outputs) == 2 * 50 - 30
