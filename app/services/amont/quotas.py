"""The shared upstream limiter: every worker asks it before calling a provider, so quotas hold overall.

API Particulier allows 20 calls/s per token and 1000/min per IP and bans the IP for 12 hours when
429s are ignored; API Impôt particulier allows 50 calls/min per client. Each quota is a sliding
window log (exact: never more than `limite` calls in any window of `fenetre`, whatever the
upstream's own window alignment), checked and reserved atomically for all the quotas of one call.
A 429 or an exhausted `RateLimit-Remaining` suspends a subject until the provider's reset.

Redis holds the windows when configured (one Lua script: correct across processes and replicas);
the embedded default keeps them in process. Redis failing is *not* a free pass: the limiter fails
closed (`LimiteurIndisponible`) — an unmetered call is exactly what gets an IP banned.
"""

from __future__ import annotations

import asyncio
import hashlib
import math
import time
import uuid
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

import structlog
from redis.asyncio import Redis
from redis.exceptions import RedisError

from app import metrics
from app.errors import UpstreamRateLimited, UpstreamUnavailable
from app.services.amont.deadline import Deadline

logger = structlog.get_logger(__name__)

#: Outside the cache's `eg:v1:` space: these are counters (sorted sets), not encrypted entries.
KEY_PREFIX = "eg-quota:v1"


@dataclass(frozen=True, slots=True)
class Quota:
    """At most `limite` calls in any `fenetre_seconds`; `nom` is a metric label and a key part."""

    nom: str
    limite: int
    fenetre_seconds: float


@dataclass(frozen=True, slots=True)
class Portee:
    """One quota applied to one subject (a token, the egress IP, a client id), named by a digest."""

    quota: Quota
    sujet: str

    @property
    def cle(self) -> str:
        return f"{KEY_PREFIX}:{self.quota.nom}:{self.sujet}"


def sujet(secret: str) -> str:
    """A stable, non-reversible name for a token or client id (never stored in clear in Redis).

    A plain hash is enough: upstream tokens are high-entropy secrets, and the digest only has to
    tell two subjects apart.
    """
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()[:32]


#: What an answer's `RateLimit-Limit`, `RateLimit-Remaining` and `RateLimit-Reset` (Unix time) say.
EtatFenetre = tuple[int | None, int | None, int | None]

#: Below this share of the window's allowance left, calls on the token are spaced out.
PART_RESTANTE_RALENTIE = 0.25


def pause_before_quota(
    limite: int | None, restant: int | None, reinitialisation: int | None, *, maintenant: float
) -> float:
    """How long every worker should hold calls on a token after an answer carrying these
    `RateLimit-*` headers (0: no pause).

    An exhausted window stops the token until it resets. A window nearly spent (a quarter of its
    allowance or less left) spreads what is left over what remains of it, so the gateway slows down
    before a 429 rather than after, even when other clients share the token.
    """
    if restant is None or reinitialisation is None:
        return 0.0
    reste = reinitialisation - maintenant
    if reste <= 0:
        return 0.0
    if restant <= 0:
        return min(reste, 60.0)
    if limite and restant <= max(1, int(limite * PART_RESTANTE_RALENTIE)):
        return min(reste / (restant + 1), 60.0)
    return 0.0


class LimiteurIndisponible(UpstreamUnavailable):
    """The shared limiter cannot be asked (Redis down): no call is made rather than an unmetered one."""

    code = "limiteur-indisponible"
    title = "Limiteur de quotas indisponible"


@dataclass(frozen=True, slots=True)
class Reservation:
    """0 when the call may go now (and was counted); else how long to wait and which quota blocks."""

    attente_seconds: float
    quota: str | None = None


class Limiter(Protocol):
    async def reserver(self, portees: Sequence[Portee]) -> Reservation:
        """Count one call against every `portee` if all allow it now; else count nothing."""
        ...

    async def suspendre(self, portee: Portee, seconds: float) -> None:
        """No call on `portee` for `seconds` (a 429's Retry-After, an exhausted RateLimit-Remaining)."""
        ...

    async def ping(self) -> bool: ...


class MemoryLimiter:
    """The embedded default: the same sliding windows, in this process only."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._logs: dict[str, deque[float]] = {}
        self._pauses: dict[str, float] = {}

    async def reserver(self, portees: Sequence[Portee]) -> Reservation:
        now = self._clock()
        attente, bloquant = 0.0, None
        for portee in portees:
            pause = self._pauses.get(portee.cle, 0.0) - now
            if pause > attente:
                attente, bloquant = pause, portee.quota.nom
            log = self._logs.setdefault(portee.cle, deque())
            fenetre = portee.quota.fenetre_seconds
            while log and log[0] <= now - fenetre:
                log.popleft()
            if len(log) >= portee.quota.limite:
                attendre = log[len(log) - portee.quota.limite] + fenetre - now
                if attendre > attente:
                    attente, bloquant = attendre, portee.quota.nom
        if attente > 0:
            return Reservation(attente, bloquant)
        for portee in portees:
            self._logs[portee.cle].append(now)
        return Reservation(0.0)

    async def suspendre(self, portee: Portee, seconds: float) -> None:
        until = self._clock() + seconds
        self._pauses[portee.cle] = max(self._pauses.get(portee.cle, 0.0), until)

    async def ping(self) -> bool:
        return True


# KEYS: log₁, pause₁, log₂, pause₂…; ARGV: n, limite₁, fenêtre₁ (ms), …, member.
# Redis' own clock (TIME) is the one clock every worker shares; the member is unique per call so
# that two calls in the same millisecond are two entries.
_RESERVER = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local n = tonumber(ARGV[1])
local wait, which = 0, 0
for i = 1, n do
  local log, pause = KEYS[2 * i - 1], KEYS[2 * i]
  local limit, window = tonumber(ARGV[2 * i]), tonumber(ARGV[2 * i + 1])
  local p = redis.call('PTTL', pause)
  if p > wait then wait, which = p, i end
  redis.call('ZREMRANGEBYSCORE', log, '-inf', now - window)
  local count = redis.call('ZCARD', log)
  if count >= limit then
    local oldest = redis.call('ZRANGE', log, count - limit, count - limit, 'WITHSCORES')
    local w = tonumber(oldest[2]) + window - now
    if w > wait then wait, which = w, i end
  end
end
if wait > 0 then return {wait, which} end
for i = 1, n do
  local window = tonumber(ARGV[2 * i + 1])
  redis.call('ZADD', KEYS[2 * i - 1], now, ARGV[2 * n + 2])
  redis.call('PEXPIRE', KEYS[2 * i - 1], window + 1000)
end
return {0, 0}
"""

# Only ever lengthens a pause: a short Retry-After must not cut a longer one another worker set.
_SUSPENDRE = """
local ms = tonumber(ARGV[1])
if redis.call('PTTL', KEYS[1]) < ms then redis.call('SET', KEYS[1], '1', 'PX', ms) end
return 1
"""


class RedisLimiter:
    """Sliding windows in Redis, shared by every worker and replica using the same Redis."""

    def __init__(self, redis: Redis) -> None:
        self._redis = redis
        self._reserver = redis.register_script(_RESERVER)
        self._suspendre = redis.register_script(_SUSPENDRE)

    async def reserver(self, portees: Sequence[Portee]) -> Reservation:
        keys: list[str] = []
        args: list[str | int] = [len(portees)]
        for portee in portees:
            keys += [portee.cle, portee.cle + ":pause"]
            args += [portee.quota.limite, math.ceil(portee.quota.fenetre_seconds * 1000)]
        args.append(uuid.uuid4().hex)
        wait_ms, which = await self._reserver(keys=keys, args=args)
        if int(wait_ms) <= 0:
            return Reservation(0.0)
        return Reservation(int(wait_ms) / 1000, portees[int(which) - 1].quota.nom)

    async def suspendre(self, portee: Portee, seconds: float) -> None:
        await self._suspendre(keys=[portee.cle + ":pause"], args=[max(1, math.ceil(seconds * 1000))])

    async def ping(self) -> bool:
        try:
            return bool(await self._redis.ping())
        except (RedisError, OSError, TimeoutError):
            return False


#: What a failing limiter backend may raise: each one closes the gate.
_BACKEND_ERRORS = (RedisError, OSError, TimeoutError)


class Quotas:
    """Waits for the quotas of one call (bounded by the request's deadline), and records 429s."""

    def __init__(
        self, limiter: Limiter, *, sleep: Callable[[float], Awaitable[None]] = asyncio.sleep
    ) -> None:
        self._limiter = limiter
        self._sleep = sleep

    @property
    def limiter(self) -> Limiter:
        return self._limiter

    async def acquerir(self, portees: Sequence[Portee], deadline: Deadline, *, fournisseur: str) -> float:
        """Wait until every quota allows one more call, and count it. Returns the time waited.

        Raises `UpstreamRateLimited` when the wait would outlast the deadline (the caller's data
        becomes `a_verifier`), `LimiteurIndisponible` when the limiter cannot be asked.
        """
        attendu = 0.0
        while True:
            try:
                reservation = await self._limiter.reserver(portees)
            except _BACKEND_ERRORS as e:
                for portee in portees:
                    metrics.LIMITEUR_REFUS.labels(portee.quota.nom, "indisponible").inc()
                logger.warning("limiter.unavailable", fournisseur=fournisseur, error_type=type(e).__name__)
                raise LimiteurIndisponible(
                    "Le limiteur de quotas partagé (Redis) est indisponible : par précaution, aucun appel "
                    f"non compté n'est fait à {fournisseur}. La donnée doit être justifiée sur pièce "
                    "ou redemandée plus tard.",
                    fournisseur=fournisseur,
                ) from e
            quota = reservation.quota or "?"
            if reservation.attente_seconds <= 0:
                if attendu > 0:
                    metrics.LIMITEUR_ATTENTES.labels(portees[0].quota.nom).observe(attendu)
                return attendu
            if reservation.attente_seconds > deadline.remaining():
                metrics.LIMITEUR_REFUS.labels(quota, "echeance").inc()
                raise UpstreamRateLimited(
                    f"Le quota d'appels à {fournisseur} est atteint et ne se libère pas avant l'échéance "
                    "de la requête : aucun appel n'a été fait ; réessayer dans quelques secondes.",
                    fournisseur=fournisseur,
                    retry_after=max(1, math.ceil(reservation.attente_seconds)),
                )
            await self._sleep(reservation.attente_seconds)
            attendu += reservation.attente_seconds

    async def suspendre(self, portee: Portee, seconds: float) -> None:
        """Stop every call on `portee` for `seconds`; a failure here is logged (the limiter still
        fails closed on the next reservation if Redis is really gone)."""
        try:
            await self._limiter.suspendre(portee, seconds)
        except _BACKEND_ERRORS as e:
            logger.warning("limiter.suspend_failed", quota=portee.quota.nom, error_type=type(e).__name__)
            return
        logger.info("limiter.suspended", quota=portee.quota.nom, seconds=round(seconds, 3))

    async def ping(self) -> bool:
        return await self._limiter.ping()
