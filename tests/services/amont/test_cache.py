"""The cache: both backends, encryption and rotation, organisme-scoped keys, and a Redis outage that
turns into misses rather than errors. Redis tests use the machine's real Redis, database 15."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
import structlog
from cryptography.fernet import Fernet
from pydantic import SecretStr
from redis.asyncio import Redis

from app.keys import KeyRing
from app.services.amont.cache import CacheBackend, MemoryCache, RedisCache, SecureCache, fraicheur

REDIS_URL = "redis://127.0.0.1:6379/15"
CLOSED_PORT_URL = "redis://127.0.0.1:1/0"
SECRET = SecretStr("un-secret-de-test-suffisamment-long-0123456789")
ORGANISME_A = "26999000800006"
ORGANISME_B = "21750001600019"
IDENTITE = ("LEFEBVRE", "ALEXIS GÉRÔME JEAN-PHILIPPE", "F", "1982-12-27", "08480", "99100")
VALEUR = {"allocataires": [{"nom_naissance": "LEFEBVRE", "prenoms": "ALEXIS"}], "quotient_familial": 550}


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
async def redis_client() -> AsyncIterator[Redis]:
    client = Redis.from_url(REDIS_URL)
    try:
        yield client
    finally:
        await client.aclose()


@pytest.fixture
def run_prefix() -> str:
    """A key prefix unique to this test, so concurrent runs never see each other's entries."""
    return f"eg-test:{secrets.token_hex(6)}:"


@pytest.fixture
async def redis_backend(redis_client: Redis, run_prefix: str) -> AsyncIterator[RedisCache]:
    backend = RedisCache.from_url(REDIS_URL)
    try:
        yield backend
    finally:
        await backend.close()
        keys = [key async for key in redis_client.scan_iter(match=f"{run_prefix}*")]
        keys += [key async for key in redis_client.scan_iter(match="eg:v1:test-*")]
        if keys:
            await redis_client.delete(*keys)


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.integration)])
def backend(request: pytest.FixtureRequest) -> CacheBackend:
    if request.param == "memory":
        return MemoryCache()
    backend: CacheBackend = request.getfixturevalue("redis_backend")
    return backend


# --- backends -----------------------------------------------------------------------------------


async def test_backend_round_trip_and_miss(backend: CacheBackend, run_prefix: str) -> None:
    assert await backend.get(run_prefix + "absent") is None
    await backend.set(run_prefix + "k", b"\x00valeur", ttl_seconds=60)
    assert await backend.get(run_prefix + "k") == b"\x00valeur"
    await backend.set(run_prefix + "k", b"autre", ttl_seconds=60)
    assert await backend.get(run_prefix + "k") == b"autre"
    assert await backend.ping() is True


async def test_backend_zero_ttl_stores_nothing(backend: CacheBackend, run_prefix: str) -> None:
    await backend.set(run_prefix + "k", b"v", ttl_seconds=60)
    await backend.set(run_prefix + "k", b"v", ttl_seconds=0)
    assert await backend.get(run_prefix + "k") is None


@pytest.mark.integration
async def test_redis_entries_carry_their_ttl(
    redis_backend: RedisCache, redis_client: Redis, run_prefix: str
) -> None:
    await redis_backend.set(run_prefix + "k", b"v", ttl_seconds=3600)
    assert 3590 <= await redis_client.ttl(run_prefix + "k") <= 3600


async def test_memory_entries_expire_with_the_clock() -> None:
    clock = FakeClock()
    cache = MemoryCache(clock=clock)
    await cache.set("k", b"v", ttl_seconds=60)
    clock.now += 59.9
    assert await cache.get("k") == b"v"
    clock.now += 0.1
    assert await cache.get("k") is None
    assert len(cache) == 0


async def test_memory_cache_is_bounded_and_evicts_the_least_recently_used() -> None:
    cache = MemoryCache(max_entries=3)
    for key in ("a", "b", "c"):
        await cache.set(key, key.encode(), ttl_seconds=60)
    assert await cache.get("a") == b"a"  # "a" is now the most recently used
    await cache.set("d", b"d", ttl_seconds=60)
    assert len(cache) == 3
    assert await cache.get("b") is None
    assert [await cache.get(k) for k in ("a", "c", "d")] == [b"a", b"c", b"d"]


async def test_memory_cache_drops_expired_entries_before_live_ones() -> None:
    clock = FakeClock()
    cache = MemoryCache(max_entries=2, clock=clock)
    await cache.set("court", b"1", ttl_seconds=1)
    await cache.set("long", b"2", ttl_seconds=600)
    assert await cache.get("court") is not None  # most recently used, but about to expire
    clock.now += 2
    await cache.set("nouveau", b"3", ttl_seconds=600)
    assert await cache.get("long") == b"2"
    assert await cache.get("nouveau") == b"3"


def test_memory_cache_refuses_a_zero_bound() -> None:
    with pytest.raises(ValueError, match="max_entries"):
        MemoryCache(max_entries=0)


# --- SecureCache --------------------------------------------------------------------------------


def _secure(backend: CacheBackend, keys: str | None = None) -> SecureCache:
    return SecureCache(backend, KeyRing(SECRET, SecretStr(keys) if keys else None))


def test_keys_are_keyed_hashes_scoped_by_organisme_and_espace() -> None:
    cache = _secure(MemoryCache())
    cle_a = cache.cle(ORGANISME_A, "qf", *IDENTITE, "2026-10")
    assert cle_a.startswith("eg:v1:qf:")
    assert len(cle_a.rsplit(":", 1)[1]) == 64
    for part in (*IDENTITE[:2], *IDENTITE[3:], "2026-10", ORGANISME_A, "lefebvre"):
        assert part.casefold() not in cle_a.casefold()
    assert cle_a == cache.cle(ORGANISME_A, "qf", *IDENTITE, "2026-10")
    assert cle_a == cache.cle(ORGANISME_A, "qf", "lefebvre", *IDENTITE[1:], "2026-10")
    assert cle_a != cache.cle(ORGANISME_B, "qf", *IDENTITE, "2026-10")
    assert cle_a != cache.cle(ORGANISME_A, "qf", *IDENTITE, "2026-09")
    assert cle_a.split(":")[3] != cache.cle(ORGANISME_A, "impot", *IDENTITE, "2026-10").split(":")[3]
    other_secret = SecureCache(MemoryCache(), KeyRing(SecretStr("un-autre-secret-tout-aussi-long-987654")))
    assert cle_a != other_secret.cle(ORGANISME_A, "qf", *IDENTITE, "2026-10")


def test_key_espace_must_be_a_short_word_and_organisme_is_required() -> None:
    cache = _secure(MemoryCache())
    with pytest.raises(ValueError, match="espace") as raised:
        cache.cle(ORGANISME_A, "LEFEBVRE ALEXIS", "x")
    assert "LEFEBVRE" not in str(raised.value)
    with pytest.raises(ValueError, match="organisme"):
        cache.cle("", "qf", "x")


async def test_organismes_never_read_each_other_s_entries(backend: CacheBackend) -> None:
    cache = _secure(backend)
    await cache.set_json(cache.cle(ORGANISME_A, "test-qf", *IDENTITE), VALEUR, ttl_seconds=60)
    assert await cache.get_json(cache.cle(ORGANISME_A, "test-qf", *IDENTITE)) == VALEUR
    assert await cache.get_json(cache.cle(ORGANISME_B, "test-qf", *IDENTITE)) is None


@pytest.mark.integration
async def test_nothing_readable_about_the_person_is_stored_in_redis(
    redis_backend: RedisCache, redis_client: Redis
) -> None:
    cache = _secure(redis_backend, Fernet.generate_key().decode())
    cle = cache.cle(ORGANISME_A, "test-qf", *IDENTITE)
    await cache.set_json(cle, VALEUR, ttl_seconds=60)

    raw = await redis_client.get(cle)
    assert isinstance(raw, bytes)
    assert raw.startswith(b"gAAAAA")  # a Fernet token, version byte 0x80
    stored = (cle.encode() + raw).lower()
    for text in ("lefebvre", "alexis", "1982", "nom_naissance", "quotient_familial", "550"):
        assert text.encode() not in stored
    assert await cache.get_json(cle) == VALEUR


async def test_value_written_with_an_old_key_is_read_after_rotation(backend: CacheBackend) -> None:
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    before = _secure(backend, old)
    cle = before.cle(ORGANISME_A, "test-qf", *IDENTITE)
    await before.set_json(cle, VALEUR, ttl_seconds=60)

    during = _secure(backend, f"{new},{old}")
    assert await during.get_json(cle) == VALEUR

    # Once the old key is dropped, its entries are misses (refetched), never errors.
    after = _secure(backend, new)
    with structlog.testing.capture_logs() as logs:
        assert await after.get_json(cle) is None
    assert [entry["event"] for entry in logs] == ["cache.undecryptable"]


async def test_json_values_round_trip_exactly(backend: CacheBackend) -> None:
    cache = _secure(backend)
    cle = cache.cle(ORGANISME_A, "test-qf", *IDENTITE)
    valeur = {"texte": "Gérôme", "liste": [1, "2", None, True], "montant": "550.10"}
    await cache.set_json(cle, valeur, ttl_seconds=60)
    assert await cache.get_json(cle) == valeur


async def test_values_that_are_not_json_ready_are_refused() -> None:
    cache = _secure(MemoryCache())
    with pytest.raises(TypeError):
        await cache.set_json(cache.cle(ORGANISME_A, "qf", "x"), {"s": {1, 2}}, ttl_seconds=60)


async def test_cache_entries_expire() -> None:
    clock = FakeClock()
    cache = _secure(MemoryCache(clock=clock))
    cle = cache.cle(ORGANISME_A, "qf", *IDENTITE)
    await cache.set_json(cle, VALEUR, ttl_seconds=30)
    clock.now += 31
    assert await cache.get_json(cle) is None


async def test_redis_down_is_a_miss_logged_once_and_never_an_error() -> None:
    backend = RedisCache.from_url(CLOSED_PORT_URL)
    cache = _secure(backend)
    cle = cache.cle(ORGANISME_A, "qf", *IDENTITE)
    try:
        with structlog.testing.capture_logs() as logs:
            for _ in range(3):
                assert await cache.get_json(cle) is None
                await cache.set_json(cle, VALEUR, ttl_seconds=60)
        assert await cache.ping() is False
        assert cache.available is False
    finally:
        await cache.close()

    assert [entry["event"] for entry in logs] == ["cache.unavailable"]
    assert logs[0]["operation"] == "get"
    logged = repr(logs)
    for text in (cle, "LEFEBVRE", "550"):
        assert text not in logged


async def test_cache_recovers_when_the_backend_answers_again() -> None:
    class Flaky(MemoryCache):
        down = True

        async def get(self, key: str) -> bytes | None:
            if self.down:
                raise ConnectionError("refused")
            return await super().get(key)

    backend = Flaky()
    cache = _secure(backend)
    cle = cache.cle(ORGANISME_A, "qf", *IDENTITE)
    with structlog.testing.capture_logs() as logs:
        assert await cache.get_json(cle) is None
        backend.down = False
        await cache.set_json(cle, VALEUR, ttl_seconds=60)
        assert await cache.get_json(cle) == VALEUR
    assert [entry["event"] for entry in logs] == ["cache.unavailable", "dependency.recovered"]
    assert cache.available is True


async def test_unexpected_backend_errors_are_not_swallowed() -> None:
    class Broken(MemoryCache):
        async def get(self, key: str) -> bytes | None:
            raise KeyError("a bug, not an outage")

    cache = _secure(Broken())
    with pytest.raises(KeyError):
        await cache.get_json(cache.cle(ORGANISME_A, "qf", "x"))


async def test_hung_redis_times_out_into_a_miss() -> None:
    # A server that accepts connections and never answers: the worst kind of outage for a cache.
    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read()  # until the client gives up and closes
        writer.close()

    server = await asyncio.start_server(silent, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    cache = _secure(RedisCache.from_url(f"redis://127.0.0.1:{port}/0", timeout_seconds=0.1))
    cle = cache.cle(ORGANISME_A, "qf", *IDENTITE)
    try:
        assert await cache.get_json(cle) is None
        await cache.set_json(cle, VALEUR, ttl_seconds=60)
        assert cache.available is False
    finally:
        await cache.close()
        server.close()
        await server.wait_closed()


async def test_a_burst_larger_than_the_pool_waits_for_connections_instead_of_failing(
    run_prefix: str,
) -> None:
    # redis-py's default pool raises MaxConnectionsError past its size; the limiter would read
    # that as "Redis down" and refuse calls that only had to wait. The bounded pool makes them wait.
    backend = RedisCache.from_url(REDIS_URL, max_connections=4)
    try:
        await backend.set(f"{run_prefix}:burst", b"x", 60)
        values = await asyncio.gather(*(backend.get(f"{run_prefix}:burst") for _ in range(200)))
    finally:
        await backend.client.delete(f"{run_prefix}:burst")
        await backend.close()

    assert values == [b"x"] * 200


# --- lifetimes with stale-if-error ------------------------------------------------------------------

MIDI = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


async def test_a_perishable_entry_is_fresh_then_stale_then_gone() -> None:
    horloge = [1000.0]
    cache = SecureCache(MemoryCache(clock=lambda: horloge[0]), KeyRing(SECRET))
    cle = cache.cle("ccas-a", "qf", "MARTIN")
    await cache.set_json_perissable(
        cle, {"qf": 150}, frais_jusqu_au=MIDI + timedelta(hours=1), maintenant=MIDI, perime_max_seconds=600
    )
    stocke = await cache.get_json(cle)

    assert stocke is not None
    assert stocke["qf"] == 150
    assert fraicheur(stocke, maintenant=MIDI, perime_max_seconds=600) is True
    assert fraicheur(stocke, maintenant=MIDI + timedelta(hours=1), perime_max_seconds=600) is False
    assert fraicheur(stocke, maintenant=MIDI + timedelta(minutes=70), perime_max_seconds=600) is None
    # Kept by the backend for the lifetime plus the stale bound, not a second more.
    horloge[0] += 3600 + 599
    assert await cache.get_json(cle) is not None
    horloge[0] += 1
    assert await cache.get_json(cle) is None


async def test_an_entry_already_past_its_lifetime_and_bound_is_not_stored() -> None:
    cache = SecureCache(MemoryCache(), KeyRing(SECRET))
    cle = cache.cle("ccas-a", "qf", "MARTIN")
    await cache.set_json_perissable(
        cle, {"qf": 150}, frais_jusqu_au=MIDI - timedelta(hours=1), maintenant=MIDI, perime_max_seconds=0
    )
    assert await cache.get_json(cle) is None
