"""Single-flight request coalescing: concurrent identical calls share one execution, across workers.

API Particulier answers 409 to identical concurrent calls and every call spends quota, so N callers
asking for the same data at once must cause one upstream call. Within a process, callers of the
same key await one task. Across workers (with Redis), that task first takes a lock (`SET NX PX`);
a worker that finds the lock taken waits for the leader's answer to appear in the shared cache,
for a bounded time, and only then — leader gone or too slow — calls itself.

The leader's path costs one Redis round trip before its call (the lock, pipelined with a check of
the shared cache) and none after it: the answer is stored (`ecrire`) and then the lock released in
the background, in that order, while the callers already have it.

A failure is a result too: with `echec`, the leader stores it under its lock's token before
releasing the lock, and the workers that waited on that lock raise it instead of calling in turn
(a person unknown upstream, or a provider down, is not asked once per worker).
"""

from __future__ import annotations

import asyncio
import functools
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar, cast

import structlog
from redis.asyncio import Redis
from redis.exceptions import RedisError

from app import metrics
from app.errors import UpstreamError
from app.logging import OutageLog
from app.services.amont.cache import SecureCache
from app.services.amont.deadline import courante

logger = structlog.get_logger(__name__)

T = TypeVar("T")

_BACKEND_ERRORS = (RedisError, OSError, TimeoutError)

# Deletes the lock only if it is still ours: a leader that outlived its lock must not free another's.
_LIBERER = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


@dataclass(frozen=True, slots=True)
class EchecPartage:
    """How a leader's failure reaches the workers that waited on its lock instead of calling.

    `ecrire(erreur, jeton)` stores the failure (if it is one worth sharing) under the lock's token;
    `relire(jeton)` gives back the failure stored under that token, if any.
    """

    ecrire: Callable[[Exception, str], Awaitable[None]]
    relire: Callable[[str], Awaitable[Exception | None]]


#: How long a leader's failure stays readable: the workers waiting on its lock read it at once.
ECHEC_PARTAGE_SECONDS = 10


def echec_partage_par_cache(cache: SecureCache, cle: str) -> EchecPartage:
    """Upstream failures shared through the encrypted cache, next to the answer's key `cle`.

    Only `UpstreamError`s are shared (a bug stays the leader's own); what is stored is the failure's
    code and French detail under the lock's token, encrypted like every cached value.
    """
    cle_echec = f"{cle}:echec"

    async def ecrire(erreur: Exception, jeton: str) -> None:
        if isinstance(erreur, UpstreamError):
            await cache.set_json(cle_echec, {"jeton": jeton, **erreur.vers_json()}, ECHEC_PARTAGE_SECONDS)

    async def relire(jeton: str) -> Exception | None:
        stocke = await cache.get_json(cle_echec)
        if not isinstance(stocke, dict) or stocke.get("jeton") != jeton:
            return None  # none, or another lock's (an earlier failure)
        try:
            return UpstreamError.depuis_json(stocke)
        except (KeyError, TypeError):
            return None

    return EchecPartage(ecrire, relire)


class Coalescer:
    """Runs at most one `factory` per key at a time; concurrent callers of the same key await it.

    With `redis`, "at a time" holds across every worker sharing it, for callers that pass `relire`
    (how to read the leader's result from the shared cache).
    """

    def __init__(
        self,
        redis: Redis | None = None,
        *,
        attente_max_seconds: float = 6.0,
        verrou_ttl_seconds: float = 15.0,
        sondage_seconds: float = 0.01,
    ) -> None:
        self._inflight: dict[str, asyncio.Task[Any]] = {}
        self._redis = redis
        self._attente_max = attente_max_seconds
        self._verrou_ttl_ms = int(verrou_ttl_seconds * 1000)
        self._sondage = sondage_seconds
        self._liberer = redis.register_script(_LIBERER) if redis is not None else None
        #: Lock releases under way (kept referenced until done; awaited by `fermer`).
        self._liberations: set[asyncio.Task[None]] = set()
        #: Redis failures are logged once per outage, plus a summary a minute.
        self._panne = OutageLog("redis")

    @property
    def inflight(self) -> int:
        """Number of keys being computed right now (for tests and metrics)."""
        return len(self._inflight)

    async def run(
        self,
        key: str,
        factory: Callable[[], Awaitable[T]],
        *,
        relire: Callable[[], Awaitable[T | None]] | None = None,
        ecrire: Callable[[T], Awaitable[None]] | None = None,
        echec: EchecPartage | None = None,
    ) -> T:
        """The result of `factory()`, computed once for all concurrent callers of `key`.

        `key` must already be free of personal data (use `SecureCache.cle`); with `relire`, it is
        also the shared cache key where `factory` stores its result. The factory runs in its
        own task, so one caller being cancelled (a client that hangs up) neither cancels the others
        nor the upstream call; its exception, if any, is raised to every waiter. `ecrire` stores
        `factory`'s result where `relire` finds it: before the lock is released, so other workers
        waiting on it find the answer, but after the callers got it (in the background) when this
        worker holds the lock. Without `ecrire`, `factory` must store its result itself. With
        `echec`, a failure of `factory` is shared the same way with the workers waiting on the lock.
        """
        task = self._inflight.get(key)
        if task is None:
            task = asyncio.create_task(self._lead(key, factory, relire, ecrire, echec))
            self._inflight[key] = task
            task.add_done_callback(lambda done: self._forget(key, done))
        else:
            metrics.COALESCENCE.labels("processus").inc()
        # shield: a cancelled waiter must not cancel the shared task.
        return cast(T, await asyncio.shield(task))

    async def _lead(
        self,
        key: str,
        factory: Callable[[], Awaitable[T]],
        relire: Callable[[], Awaitable[T | None]] | None,
        ecrire: Callable[[T], Awaitable[None]] | None,
        echec: EchecPartage | None,
    ) -> T:
        if self._redis is None or relire is None:
            return await _calculer(factory, ecrire)
        verrou = f"{key}:verrou"
        jeton = uuid.uuid4().hex
        fin = time.monotonic() + min(self._attente_max, courante().remaining())
        suivi = False
        while True:
            try:
                # One round trip: the lock, then (after it, in order) who holds it and whether an
                # answer is stored.
                async with self._redis.pipeline(transaction=False) as pipe:
                    pipe.set(verrou, jeton, nx=True, px=self._verrou_ttl_ms)
                    pipe.get(verrou)
                    pipe.exists(key)
                    acquis, detenteur, present = await pipe.execute()
                self._panne.succes()
            except _BACKEND_ERRORS as e:
                # No lock service: in-process coalescing still holds, and the limiter (same Redis)
                # fails closed, so going on cannot make an unmetered call.
                self._panne.echec("coalescing.lock_unavailable", error_type=type(e).__name__)
                return await _calculer(factory, ecrire)
            if acquis:
                return await self._diriger(
                    verrou, jeton, factory, relire=relire if present else None, ecrire=ecrire, echec=echec
                )
            if not suivi:
                metrics.COALESCENCE.labels("workers").inc()
                suivi = True
            resultat = await self._suivre(verrou, _texte(detenteur), relire, echec, fin)
            if resultat is not None:
                return resultat
            if time.monotonic() >= fin:
                # The leader is gone or too slow: better one more (metered) call than no answer.
                logger.info("coalescing.wait_exhausted")
                return await _calculer(factory, ecrire)

    async def _diriger(
        self,
        verrou: str,
        jeton: str,
        factory: Callable[[], Awaitable[T]],
        *,
        relire: Callable[[], Awaitable[T | None]] | None,
        ecrire: Callable[[T], Awaitable[None]] | None,
        echec: EchecPartage | None,
    ) -> T:
        """Call as the lock holder; `relire` is given when an entry was found under the key."""
        a_ecrire: Callable[[], Awaitable[None]] | None = None
        try:
            # Another worker may have stored the answer between our cache miss and the lock (the
            # entry may also be a stale one, kept for stale-if-error: `relire` tells).
            if relire is not None and (deja := await relire()) is not None:
                return deja
            try:
                resultat = await factory()
            except Exception as e:
                if echec is not None:
                    a_ecrire = functools.partial(echec.ecrire, e, jeton)
                raise
            if ecrire is not None:
                a_ecrire = functools.partial(ecrire, resultat)
            return resultat
        finally:
            # The callers need not wait for the answer to be stored nor for the lock's release;
            # other workers wait for the release, which comes after the store.
            liberation = asyncio.create_task(self._liberer_verrou(verrou, jeton, a_ecrire))
            self._liberations.add(liberation)
            liberation.add_done_callback(self._liberations.discard)

    async def _liberer_verrou(
        self, verrou: str, jeton: str, a_ecrire: Callable[[], Awaitable[None]] | None = None
    ) -> None:
        if a_ecrire is not None:
            try:
                await a_ecrire()
            except Exception:  # a bug: logged; the lock is released all the same
                logger.exception("coalescing.store_failed")
        try:
            assert self._liberer is not None  # noqa: S101 - set with self._redis
            await self._liberer(keys=[verrou], args=[jeton])
        except _BACKEND_ERRORS:
            pass  # the lock expires on its own (PX)

    async def fermer(self) -> None:
        """Wait for the lock releases under way (at shutdown, before Redis is closed)."""
        if self._liberations:
            await asyncio.gather(*self._liberations, return_exceptions=True)

    async def _suivre(
        self,
        verrou: str,
        detenteur: str | None,
        relire: Callable[[], Awaitable[T | None]],
        echec: EchecPartage | None,
        fin: float,
    ) -> T | None:
        """Poll the shared cache while another worker holds the lock; None once it is released
        without an answer, or the leader's failure raised if it left one for its lock's token."""
        attente = self._sondage
        while time.monotonic() < fin:
            await asyncio.sleep(attente)
            attente = min(attente * 1.5, 0.1)
            resultat = await relire()
            if resultat is not None:
                return resultat
            try:
                tenu_par = _texte(await self._redis.get(verrou))  # type: ignore[union-attr]
            except _BACKEND_ERRORS:
                return None
            if tenu_par is not None:
                detenteur = tenu_par
                continue
            # Released without an answer: the leader failed (or vanished). Its failure, stored
            # before the release under its token, is this caller's too; otherwise, try to lead.
            if echec is not None and detenteur is not None:
                erreur = await echec.relire(detenteur)
                if erreur is not None:
                    metrics.COALESCENCE.labels("echec_partage").inc()
                    raise erreur
            return None
        return None

    def _forget(self, key: str, done: asyncio.Task[Any]) -> None:
        if self._inflight.get(key) is done:
            del self._inflight[key]
        # Mark the exception as retrieved even when every waiter was cancelled, so asyncio does not
        # report "exception was never retrieved" for an outcome that was in fact handled.
        if not done.cancelled():
            done.exception()


def _texte(valeur: bytes | str | None) -> str | None:
    return valeur.decode() if isinstance(valeur, bytes) else valeur


async def _calculer(factory: Callable[[], Awaitable[T]], ecrire: Callable[[T], Awaitable[None]] | None) -> T:
    resultat = await factory()
    if ecrire is not None:
        await ecrire(resultat)
    return resultat
