"""Issue 13, point 4 and 8: the DGFiP per-minute window survives a Redis that lost its data, and
Redis never holds a token's plain digest. On the machine's Redis (db 15), under a key prefix of
this test's own (the "restart" deletes only those keys)."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from app.errors import UpstreamRateLimited
from app.services.amont.deadline import Deadline
from app.services.amont.quotas import Portee, Quota, Quotas, RedisLimiter, sujet

REDIS_URL = "redis://127.0.0.1:6379/15"
QUOTA_IMPOT = Quota("impot_particulier.client", 50, 60.05)

pytestmark = pytest.mark.integration


@pytest.fixture
async def redis() -> AsyncIterator[Redis]:
    client = Redis.from_url(REDIS_URL)
    yield client
    await client.aclose()


@pytest.fixture
async def prefixe(redis: Redis) -> AsyncIterator[str]:
    prefixe = f"eg-quota-test-{secrets.token_hex(4)}"
    yield prefixe
    cles = [k async for k in redis.scan_iter(match=f"{prefixe}:*")]
    if cles:
        await redis.delete(*cles)


async def _redemarrer(redis: Redis, prefixe: str) -> None:
    """What a Redis restart without persistence does to the limiter: every key gone."""
    cles = [k async for k in redis.scan_iter(match=f"{prefixe}:*")]
    assert cles
    await redis.delete(*cles)


async def test_the_dgfip_minute_is_assumed_full_after_redis_lost_its_data(redis: Redis, prefixe: str) -> None:
    limiter = RedisLimiter(redis, prefixe=prefixe)
    portee = Portee(QUOTA_IMPOT, sujet("client-dgfip-" + secrets.token_hex(4)))
    accordes = [await limiter.reserver([portee]) for _ in range(50)]
    assert all(r.attente_seconds == 0 for r in accordes)

    await _redemarrer(redis, prefixe)

    # Before: the window was forgotten and the 51st call of the minute went (1 × 429 at DGFiP).
    apres = await limiter.reserver([portee])
    assert 59.0 < apres.attente_seconds <= 60.05
    # Every worker sharing the Redis holds too, even one that never saw the marker.
    autre = await RedisLimiter(redis, prefixe=prefixe).reserver([portee])
    assert 59.0 < autre.attente_seconds <= 60.05
    # Within a request's deadline, the call is refused at once, without calling.
    with pytest.raises(UpstreamRateLimited) as refus:
        await Quotas(limiter).acquerir([portee], Deadline.after(8), fournisseur="API Impôt particulier")
    assert refus.value.retry_after in (60, 61)


async def test_a_fresh_redis_is_not_a_lost_one(redis: Redis, prefixe: str) -> None:
    """First start on an empty Redis: no worker had seen the marker, the calls go."""
    limiter = RedisLimiter(redis, prefixe=prefixe)
    assert (await limiter.reserver([Portee(QUOTA_IMPOT, "a")])).attente_seconds == 0


async def test_quota_keys_hold_a_keyed_hash_not_the_tokens_digest(redis: Redis, prefixe: str) -> None:
    jeton = "jeton-api-particulier-" + secrets.token_hex(8)
    cle = secrets.token_bytes(32)
    portee = Portee(Quota("api_particulier.jeton", 20, 1.05), sujet(jeton))
    await RedisLimiter(redis, cle_sujets=cle, prefixe=prefixe).reserver([portee])

    cles = [k.decode() async for k in redis.scan_iter(match=f"{prefixe}:api_particulier.jeton:*")]
    assert cles
    digeste = hashlib.sha256(jeton.encode()).hexdigest()
    for k in cles:
        assert jeton not in k
        assert digeste[:16] not in k
    # Another key names the same token differently: a dump cannot be matched against guesses.
    autre = RedisLimiter(redis, cle_sujets=secrets.token_bytes(32), prefixe=prefixe)
    assert autre.cle(portee) != RedisLimiter(redis, cle_sujets=cle, prefixe=prefixe).cle(portee)
