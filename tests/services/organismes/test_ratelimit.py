"""The per-client limit and the unknown-key throttle: windows in process and shared through the real
Redis, a clear 429 with Retry-After, and no outage when Redis is down."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from app.errors import TooManyRequests
from app.services.organismes.ratelimit import LimiteurClients, LimiteurEchecsAuthentification


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


# --- unknown API keys per source address (issue 13, shared through Redis since wave 2) -------------

CLE_ADRESSES = b"k" * 32


async def _refusee(limiteur: LimiteurEchecsAuthentification, source: str) -> int | None:
    """The Retry-After of the refusal, or None when `source` may still try a key."""
    try:
        await limiteur.verifier(source)
    except TooManyRequests as refus:
        return refus.retry_after if refus.retry_after is not None else -1
    return None


async def test_unknown_keys_in_process_window_starts_at_the_first_one() -> None:
    horloge = Horloge(100.0)
    limiteur = LimiteurEchecsAuthentification(limite=2, fenetre_secondes=60, clock=horloge)
    await limiteur.echec("203.0.113.7")
    assert await _refusee(limiteur, "203.0.113.7") is None
    horloge.instant += 20
    await limiteur.echec("203.0.113.7")
    assert await _refusee(limiteur, "203.0.113.7") == 40
    assert await _refusee(limiteur, "198.51.100.2") is None  # another address is not affected
    horloge.instant += 40
    assert await _refusee(limiteur, "203.0.113.7") is None


async def test_unknown_keys_are_counted_once_for_every_worker_through_redis(redis: Redis) -> None:
    prefixe = f"eg:test-cles-inconnues:{secrets.token_hex(4)}:"
    ouvriers = [
        LimiteurEchecsAuthentification(
            limite=4, fenetre_secondes=60, redis=redis, cle_adresses=CLE_ADRESSES, prefixe=prefixe
        )
        for _ in range(2)
    ]
    try:
        # An attacker spreading its keys over two workers: 4 in all, not 4 per worker.
        for k in range(4):
            assert await _refusee(ouvriers[k % 2], "203.0.113.7") is None
            await ouvriers[k % 2].echec("203.0.113.7")
        for ouvrier in ouvriers:
            retry_after = await _refusee(ouvrier, "203.0.113.7")
            assert retry_after is not None
            assert 58 <= retry_after <= 60
        assert await _refusee(ouvriers[0], "198.51.100.2") is None
        # The address is in Redis only as a keyed hash, and the window expires by itself.
        cles = [cle.decode() async for cle in redis.scan_iter(match=f"{prefixe}*")]
        assert len(cles) == 1
        assert "203.0.113.7" not in cles[0]
        assert 0 < await redis.pttl(cles[0]) <= 60_000
    finally:
        async for cle in redis.scan_iter(match=f"{prefixe}*"):
            await redis.delete(cle)


async def test_unknown_keys_redis_window_is_not_extended_by_later_keys(redis: Redis) -> None:
    prefixe = f"eg:test-cles-inconnues:{secrets.token_hex(4)}:"
    limiteur = LimiteurEchecsAuthentification(
        limite=2, fenetre_secondes=0.3, redis=redis, cle_adresses=CLE_ADRESSES, prefixe=prefixe
    )
    await limiteur.echec("203.0.113.7")
    await limiteur.echec("203.0.113.7")
    assert await _refusee(limiteur, "203.0.113.7") == 1
    for _ in range(10):  # keys keep coming while refused: the window still ends on time
        await limiteur.echec("203.0.113.7")
    await asyncio.sleep(0.4)
    assert await _refusee(limiteur, "203.0.113.7") is None


async def test_unknown_keys_redis_down_falls_back_to_the_process_count() -> None:
    unreachable = Redis.from_url("redis://127.0.0.1:1/15", socket_connect_timeout=0.5)
    try:
        limiteur = LimiteurEchecsAuthentification(
            limite=2, fenetre_secondes=60, redis=unreachable, cle_adresses=CLE_ADRESSES, clock=Horloge()
        )
        await limiteur.echec("203.0.113.7")
        assert await _refusee(limiteur, "203.0.113.7") is None
        await limiteur.echec("203.0.113.7")
        assert await _refusee(limiteur, "203.0.113.7") == 60
    finally:
        await unreachable.aclose()


def test_a_shared_count_needs_a_key_to_hash_the_addresses(redis: Redis) -> None:
    with pytest.raises(ValueError, match="clé de hachage"):
        LimiteurEchecsAuthentification(limite=2, fenetre_secondes=60, redis=redis)
