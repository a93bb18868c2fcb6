"""The cache of upstream data: one interface with an in-process and a Redis backend, and `SecureCache`
on top, which keys entries by a keyed hash scoped per organisme and encrypts every value.

The cache is an optimisation, never a dependency: when Redis fails, reads are misses and writes are
dropped, so the gateway keeps answering (one `cache.unavailable` log per outage, not per call).
"""

from __future__ import annotations

import json
import math
import re
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any, Protocol

import structlog
from cryptography.fernet import InvalidToken
from redis.asyncio import BlockingConnectionPool, Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError

from app import metrics
from app.keys import KeyRing
from app.logging import OutageLog

logger = structlog.get_logger(__name__)

#: Version of the key layout and of the value format: bump it to abandon every existing entry.
KEY_PREFIX = "eg:v1"
_ESPACE = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,63}\Z")


class CacheBackend(Protocol):
    """Bytes in, bytes out, with a lifetime. Backends may raise; `SecureCache` absorbs failures."""

    async def get(self, key: str) -> bytes | None: ...

    async def set(self, key: str, value: bytes, ttl_seconds: int) -> None: ...

    async def ping(self) -> bool: ...

    async def close(self) -> None: ...


class MemoryCache:
    """In-process cache for the embedded default: TTL per entry and an LRU bound on the entry count."""

    def __init__(self, max_entries: int = 10_000, clock: Callable[[], float] = time.monotonic) -> None:
        if max_entries < 1:
            raise ValueError("max_entries must be at least 1")
        self._max_entries = max_entries
        self._clock = clock
        self._entries: OrderedDict[str, tuple[float, bytes]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._entries)

    async def get(self, key: str) -> bytes | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        expires_at, value = entry
        if self._clock() >= expires_at:
            del self._entries[key]
            return None
        self._entries.move_to_end(key)
        return value

    async def set(self, key: str, value: bytes, ttl_seconds: int) -> None:
        if ttl_seconds <= 0:
            # Same meaning as in Redis terms: nothing to keep.
            self._entries.pop(key, None)
            return
        self._entries[key] = (self._clock() + ttl_seconds, value)
        self._entries.move_to_end(key)
        self._evict()

    def _evict(self) -> None:
        now = self._clock()
        # Expired entries first (oldest-used end), then plain LRU until under the bound.
        for key in [k for k, (expires_at, _) in self._entries.items() if expires_at <= now]:
            del self._entries[key]
        while len(self._entries) > self._max_entries:
            self._entries.popitem(last=False)

    async def ping(self) -> bool:
        return True

    async def close(self) -> None:
        self._entries.clear()


class RedisCache:
    """Redis backend. Errors propagate (RedisError, OSError, TimeoutError): `SecureCache` handles them."""

    def __init__(self, redis: Redis) -> None:
        self._redis = redis

    @classmethod
    def from_url(
        cls,
        url: str,
        *,
        timeout_seconds: float = 0.5,
        max_connections: int = 64,
        pool_timeout_seconds: float = 2.0,
    ) -> RedisCache:
        """A client tuned for a cache: short timeouts and no retry, since a miss is cheaper than a wait."""
        # A bounded pool that makes a burst WAIT for a free connection: redis-py's default pool
        # raises MaxConnectionsError at once past 100, which the limiter must read as "Redis down"
        # (fail closed) and would turn a simple burst into refused calls.
        pool = BlockingConnectionPool.from_url(
            url,
            max_connections=max_connections,
            timeout=pool_timeout_seconds,
            socket_timeout=timeout_seconds,
            socket_connect_timeout=timeout_seconds,
            health_check_interval=30,
        )
        client = Redis(connection_pool=pool, retry=Retry(NoBackoff(), 0))
        # The client owns its pool: closing the client disconnects every pooled connection.
        client.auto_close_connection_pool = True
        return cls(client)

    @property
    def client(self) -> Redis:
        """The underlying client, shared with the limiter and the cross-worker lock (issue 6)."""
        return self._redis

    async def get(self, key: str) -> bytes | None:
        value = await self._redis.get(key)
        # The client is built without decode_responses, so values come back as bytes.
        return value.encode() if isinstance(value, str) else value

    async def set(self, key: str, value: bytes, ttl_seconds: int) -> None:
        if ttl_seconds <= 0:
            await self._redis.delete(key)
            return
        await self._redis.set(key, value, ex=ttl_seconds)

    async def ping(self) -> bool:
        try:
            return bool(await self._redis.ping())
        except (RedisError, OSError, TimeoutError):
            return False

    async def close(self) -> None:
        await self._redis.aclose()


#: What a failing backend may raise; anything else is a bug and propagates.
_BACKEND_ERRORS = (RedisError, OSError, TimeoutError)


class SecureCache:
    """Encrypted, organisme-scoped JSON cache over a backend.

    Keys are `eg:v1:<espace>:<hmac>`: nothing in them is readable about a person, and two organismes
    never share an entry. Values are Fernet tokens (the key ring's first key encrypts, all decrypt).
    """

    def __init__(self, backend: CacheBackend, keyring: KeyRing) -> None:
        self._backend = backend
        self._keyring = keyring
        self._available = True
        #: Redis failures are logged once per outage, plus a summary a minute.
        self._panne = OutageLog("redis")

    @property
    def backend(self) -> CacheBackend:
        return self._backend

    @property
    def available(self) -> bool:
        """False since the last backend failure, until a call succeeds again (for `/readyz`)."""
        return self._available

    def cle(self, organisme_id: str, espace: str, *materiau: str) -> str:
        """The cache key of `materiau` (identity parts, period…) within one organisme and espace.

        `espace` names the kind of data (`qf`, `impot`…) in clear, so operators can count and purge
        by kind; it must be a short lowercase word, never data.
        """
        if not _ESPACE.match(espace):
            # Not echoed: a misused espace could be personal data.
            raise ValueError("espace de cache invalide : un mot court en minuscules est attendu")
        if not organisme_id:
            raise ValueError("organisme_id est obligatoire pour une clé de cache")
        return f"{KEY_PREFIX}:{espace}:{self._keyring.cache_key_digest(organisme_id, espace, materiau)}"

    async def get_json(self, cle: str) -> Any | None:
        """The cached value, or None on a miss, a backend failure, or a value no key can decrypt."""
        espace = _espace_of(cle)
        try:
            token = await self._backend.get(cle)
        except _BACKEND_ERRORS as e:
            self._mark_unavailable("get", e)
            metrics.CACHE.labels(espace, "erreur").inc()
            return None
        self._mark_available()
        if token is None:
            metrics.CACHE.labels(espace, "absent").inc()
            return None
        try:
            valeur = json.loads(self._keyring.fernet.decrypt(token))
        except InvalidToken:
            # Written with a key since rotated away, or tampered with: a miss, refetched upstream.
            logger.info("cache.undecryptable", espace=espace)
            metrics.CACHE.labels(espace, "indechiffrable").inc()
            return None
        metrics.CACHE.labels(espace, "present").inc()
        return valeur

    async def set_json(self, cle: str, valeur: Any, ttl_seconds: int) -> None:
        """Encrypt and store `valeur`, which must be JSON-ready (dict/list/str/int/bool/None).

        Callers convert Decimal, dates and models first (e.g. `model_dump(mode="json")`): the cache
        never guesses a type, so what is read back is exactly what was written. A backend failure is
        logged and ignored.
        """
        payload = json.dumps(valeur, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
        token = self._keyring.fernet.encrypt(payload.encode("utf-8"))
        try:
            await self._backend.set(cle, token, ttl_seconds)
        except _BACKEND_ERRORS as e:
            self._mark_unavailable("set", e)
            return
        self._mark_available()

    async def set_json_perissable(
        self,
        cle: str,
        valeur: Mapping[str, Any],
        *,
        frais_jusqu_au: datetime,
        maintenant: datetime,
        perime_max_seconds: int,
    ) -> None:
        """Store `valeur` with its fresh-until (read back by `fraicheur`), kept for its remaining
        lifetime plus the stale bound: past its lifetime it is only there for stale-if-error."""
        restant = max(0, math.ceil((frais_jusqu_au - maintenant).total_seconds()))
        if restant + perime_max_seconds > 0:
            entree = {**valeur, FRAIS_JUSQU_AU: frais_jusqu_au.isoformat()}
            await self.set_json(cle, entree, restant + perime_max_seconds)

    async def ping(self) -> bool:
        return await self._backend.ping()

    async def close(self) -> None:
        await self._backend.close()

    def _mark_unavailable(self, operation: str, error: BaseException) -> None:
        # Neither the key nor the value: only what failed and how; once per outage (+ summaries).
        self._panne.echec("cache.unavailable", operation=operation, error_type=type(error).__name__)
        self._available = False

    def _mark_available(self) -> None:
        self._panne.succes()
        self._available = True


def _espace_of(cle: str) -> str:
    # `eg:v1:<espace>:<hmac>`, possibly followed by a suffix of its own (`:echec`).
    parts = cle.split(":")
    return parts[2] if len(parts) >= 4 else "?"


# --- lifetimes with stale-if-error ------------------------------------------------------------------

#: Where an entry says until when it is fresh; past that, it is only kept to be served if the
#: provider fails (stale-if-error), for at most the configured bound.
FRAIS_JUSQU_AU = "frais_jusqu_au"


def fraicheur(stocke: Mapping[str, Any], *, maintenant: datetime, perime_max_seconds: int) -> bool | None:
    """True while fresh, False when stale within the bound, None beyond it (the backend's clock
    may keep an entry a little longer: the bound is ours). KeyError/ValueError/TypeError if the
    entry says nothing readable."""
    frais_jusqu_au = datetime.fromisoformat(stocke[FRAIS_JUSQU_AU])
    if maintenant >= frais_jusqu_au + timedelta(seconds=perime_max_seconds):
        return None
    return maintenant < frais_jusqu_au
