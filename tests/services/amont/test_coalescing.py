"""Single-flight: concurrent identical calls share one factory call, in a process and across
worker processes (Redis lock, the leader's answer read from the shared cache)."""

from __future__ import annotations

import asyncio
import gc
import json
import secrets
import sys
import time
from pathlib import Path

import pytest
from pydantic import SecretStr
from redis.asyncio import Redis

from app.errors import UpstreamError, UpstreamPersonNotFound, UpstreamRateLimited, UpstreamUnavailable
from app.keys import KeyRing
from app.services.amont.cache import RedisCache, SecureCache
from app.services.amont.coalescing import Coalescer, EchecPartage, echec_partage_par_cache

SECRET = SecretStr("un-secret-de-test-suffisamment-long-0123456789")


async def test_hundred_concurrent_identical_calls_make_one_factory_call() -> None:
    coalescer = Coalescer()
    calls = 0
    release = asyncio.Event()

    async def fetch() -> dict[str, int]:
        nonlocal calls
        calls += 1
        await release.wait()
        return {"quotient_familial": 550}

    waiters = [asyncio.create_task(coalescer.run("k", fetch)) for _ in range(100)]
    await asyncio.sleep(0)  # let every waiter join before the factory completes
    assert coalescer.inflight == 1
    release.set()
    results = await asyncio.gather(*waiters)

    assert calls == 1
    assert results == [{"quotient_familial": 550}] * 100
    assert coalescer.inflight == 0


async def test_different_keys_do_not_share() -> None:
    coalescer = Coalescer()
    calls: list[str] = []

    async def fetch(key: str) -> str:
        calls.append(key)
        await asyncio.sleep(0)
        return key

    results = await asyncio.gather(*(coalescer.run(k, lambda k=k: fetch(k)) for k in ("a", "b", "a")))  # type: ignore[misc]
    assert results == ["a", "b", "a"]
    assert sorted(calls) == ["a", "b"]


async def test_exception_propagates_to_every_waiter_and_the_entry_is_removed() -> None:
    coalescer = Coalescer()
    calls = 0
    release = asyncio.Event()

    async def failing() -> int:
        nonlocal calls
        calls += 1
        await release.wait()
        raise RuntimeError("upstream down")

    waiters = [asyncio.create_task(coalescer.run("k", failing)) for _ in range(10)]
    await asyncio.sleep(0)
    release.set()
    outcomes = await asyncio.gather(*waiters, return_exceptions=True)

    assert calls == 1
    assert all(isinstance(o, RuntimeError) and str(o) == "upstream down" for o in outcomes)
    assert coalescer.inflight == 0

    # Done means forgotten: the next call runs the factory again.
    async def working() -> int:
        return 7

    assert await coalescer.run("k", working) == 7


async def test_sequential_calls_are_not_cached() -> None:
    coalescer = Coalescer()
    calls = 0

    async def fetch() -> int:
        nonlocal calls
        calls += 1
        return calls

    assert await coalescer.run("k", fetch) == 1
    assert await coalescer.run("k", fetch) == 2


async def test_a_cancelled_waiter_cancels_neither_the_others_nor_the_call() -> None:
    coalescer = Coalescer()
    release = asyncio.Event()

    async def fetch() -> str:
        await release.wait()
        return "ok"

    first = asyncio.create_task(coalescer.run("k", fetch))
    second = asyncio.create_task(coalescer.run("k", fetch))
    await asyncio.sleep(0)
    first.cancel()
    with pytest.raises(asyncio.CancelledError):
        await first
    release.set()
    assert await second == "ok"


async def test_failure_with_every_waiter_gone_is_not_reported_as_unretrieved() -> None:
    coalescer = Coalescer()
    release = asyncio.Event()
    reports: list[dict[str, object]] = []
    loop = asyncio.get_running_loop()
    loop.set_exception_handler(lambda _loop, context: reports.append(context))

    async def failing() -> int:
        await release.wait()
        raise RuntimeError("boom")

    try:
        waiter = asyncio.create_task(coalescer.run("k", failing))
        await asyncio.sleep(0)
        waiter.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiter
        release.set()
        for _ in range(3):  # the shared task resumes, fails, then its done-callbacks run
            await asyncio.sleep(0)
        assert coalescer.inflight == 0
        del waiter
        gc.collect()  # a task whose exception nobody retrieved reports it when collected
    finally:
        loop.set_exception_handler(None)
    assert reports == []


# --- across workers (Redis lock) -------------------------------------------------------------------

REDIS_URL = "redis://127.0.0.1:6379/15"
ROOT = Path(__file__).resolve().parents[3]


@pytest.mark.integration
async def test_two_worker_processes_make_one_upstream_call() -> None:
    """Two processes ask for the same key at the same instant: one calls, the other reads its answer."""
    run = secrets.token_hex(6)
    cle, compteur = f"eg:v1:test-coalescence:{run}", f"eg-test:{run}:appels"
    debut = f"{time.time() + 1.0:.3f}"  # both processes are up by then
    command = [
        sys.executable,
        "-m",
        "tests.services.processus",
        "coalescence",
        REDIS_URL,
        cle,
        debut,
        compteur,
    ]
    redis = Redis.from_url(REDIS_URL)
    try:
        procs = [
            await asyncio.create_subprocess_exec(*command, cwd=ROOT, stdout=asyncio.subprocess.PIPE)
            for _ in range(2)
        ]
        outputs = [json.loads((await p.communicate())[0]) for p in procs]
        appels = int(await redis.get(compteur) or 0)
    finally:
        await redis.delete(cle, compteur, f"{cle}:verrou")
        await redis.aclose()

    assert [p.returncode for p in procs] == [0, 0]
    assert appels == 1
    assert [o["valeur"] for o in outputs] == [{"quotient_familial": 550}] * 2


@pytest.mark.integration
async def test_a_follower_reads_the_leaders_answer_instead_of_calling() -> None:
    redis = Redis.from_url(REDIS_URL)
    cle = f"eg:v1:test-coalescence:{secrets.token_hex(6)}"
    stockage: dict[str, str] = {}
    appels: list[str] = []

    async def appel(nom: str) -> str:
        appels.append(nom)
        await asyncio.sleep(0.2)
        stockage[cle] = nom
        return nom

    async def relire() -> str | None:
        return stockage.get(cle)

    # Two coalescers are two workers: in-process futures cannot join them, only the Redis lock.
    worker_a, worker_b = Coalescer(redis), Coalescer(redis)
    try:
        results = await asyncio.gather(
            worker_a.run(cle, lambda: appel("a"), relire=relire),
            worker_b.run(cle, lambda: appel("b"), relire=relire),
        )
    finally:
        await redis.delete(f"{cle}:verrou")
        await redis.aclose()

    assert len(appels) == 1
    assert list(results) == [appels[0], appels[0]]


async def test_without_redis_the_lock_is_skipped_and_the_call_made() -> None:
    redis = Redis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=0.2)
    try:
        coalescer = Coalescer(redis)

        async def relire() -> str | None:
            return None

        async def appel() -> str:
            return "valeur"

        assert await coalescer.run("eg:v1:test:k", appel, relire=relire) == "valeur"
    finally:
        await redis.aclose()


# --- a leader's failure is a result too ------------------------------------------------------------


def _cache_partage(redis: Redis) -> SecureCache:
    return SecureCache(RedisCache(redis), KeyRing(SECRET))


async def _deux_workers_qui_echouent(
    redis: Redis, cle: str, erreur: Exception, echec: EchecPartage
) -> tuple[list[str], list[BaseException]]:
    appels: list[str] = []

    async def relire() -> str | None:
        return None  # a failure stores no answer

    async def appel(nom: str) -> str:
        appels.append(nom)
        await asyncio.sleep(0.2)  # the other worker arrives while this one calls
        raise erreur

    worker_a, worker_b = Coalescer(redis), Coalescer(redis)
    try:
        issues = await asyncio.gather(
            worker_a.run(cle, lambda: appel("a"), relire=relire, echec=echec),
            worker_b.run(cle, lambda: appel("b"), relire=relire, echec=echec),
            return_exceptions=True,
        )
        # The leader stores its failure then releases its lock in the background, after answering.
        await worker_a.fermer()
        await worker_b.fermer()
    finally:
        await redis.delete(f"{cle}:verrou", f"{cle}:echec")
    return appels, [i for i in issues if isinstance(i, BaseException)]


@pytest.mark.integration
async def test_the_waiting_worker_gets_the_leaders_upstream_failure_instead_of_calling() -> None:
    redis = Redis.from_url(REDIS_URL)
    cle = f"eg:v1:test-coalescence:{secrets.token_hex(6)}"
    introuvable = UpstreamPersonNotFound(
        "Aucun allocataire ne correspond.", fournisseur="API Particulier", request_id="req-1"
    )
    try:
        appels, erreurs = await _deux_workers_qui_echouent(
            redis, cle, introuvable, echec_partage_par_cache(_cache_partage(redis), cle)
        )
    finally:
        await redis.aclose()

    assert len(appels) == 1
    assert len(erreurs) == 2
    assert all(isinstance(e, UpstreamPersonNotFound) for e in erreurs)
    # The leader's own exception, and a copy marked as handed over for the worker that waited.
    assert sorted(e.partagee for e in erreurs) == [False, True]  # type: ignore[attr-defined]
    copie = next(e for e in erreurs if e.partagee)  # type: ignore[attr-defined]
    assert (copie.detail, copie.request_id, copie.fournisseur) == (  # type: ignore[attr-defined]
        "Aucun allocataire ne correspond.",
        "req-1",
        "API Particulier",
    )


@pytest.mark.integration
async def test_a_bug_in_the_leader_is_not_shared_and_the_other_worker_calls_itself() -> None:
    redis = Redis.from_url(REDIS_URL)
    cle = f"eg:v1:test-coalescence:{secrets.token_hex(6)}"
    try:
        appels, erreurs = await _deux_workers_qui_echouent(
            redis, cle, RuntimeError("bogue"), echec_partage_par_cache(_cache_partage(redis), cle)
        )
    finally:
        await redis.aclose()

    assert len(appels) == 2
    assert [type(e) for e in erreurs] == [RuntimeError, RuntimeError]


@pytest.mark.integration
async def test_a_failure_left_under_another_locks_token_is_not_taken_for_this_one() -> None:
    redis = Redis.from_url(REDIS_URL)
    cle = f"eg:v1:test-coalescence:{secrets.token_hex(6)}"
    cache = _cache_partage(redis)
    echec = echec_partage_par_cache(cache, cle)
    try:
        # A failure from an earlier burst is still there (10 s); then a leader vanishes: its lock
        # ends without any failure of its own.
        await echec.ecrire(UpstreamUnavailable("Panne ancienne.", fournisseur="API Particulier"), "ancien")
        await redis.set(f"{cle}:verrou", "disparu", px=300)
        appels: list[str] = []

        async def relire() -> str | None:
            return None

        async def appel() -> str:
            appels.append("b")
            return "valeur"

        resultat = await Coalescer(redis, sondage_seconds=0.05).run(cle, appel, relire=relire, echec=echec)
    finally:
        await redis.delete(f"{cle}:verrou", f"{cle}:echec")
        await redis.aclose()

    assert resultat == "valeur"
    assert appels == ["b"]


def test_an_upstream_failure_survives_its_json_form() -> None:
    quota = UpstreamRateLimited(
        "Quota atteint.", fournisseur="API Particulier", upstream_code="429", retry_after=7
    )
    copie = UpstreamError.depuis_json(json.loads(json.dumps(quota.vers_json())))
    assert type(copie) is UpstreamRateLimited
    assert (copie.detail, copie.upstream_code, copie.retry_after, copie.partagee) == (
        "Quota atteint.",
        "429",
        7,
        True,
    )
    assert type(UpstreamError.depuis_json({**quota.vers_json(), "type": "Inconnue"})) is UpstreamError
