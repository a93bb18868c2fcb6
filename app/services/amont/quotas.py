"""The shared upstream limiter: every worker asks it before calling a provider, so quotas hold overall.

API Particulier allows 20 calls/s per token and 1000/min per IP and bans the IP for 12 hours when
429s are ignored; API Impôt particulier allows 50 calls/min per client. Each quota is a sliding
window log (exact: never more than `limite` calls in any window of `fenetre`, whatever the
upstream's own window alignment), checked and reserved atomically for all the quotas of one call.
A 429 or an exhausted `RateLimit-Remaining` suspends a subject until the provider's reset.

A call is counted from its reservation until it has been answered, then for one window after its
*answer* (issue 13): the provider counts a call when it arrives, which is anywhere between our
reservation and the answer; counting it at the reservation alone let calls queued in a worker (a
busy event loop, a full connection pool) land in the provider's next second together with that
second's own calls — 26 calls in one second on a 20/s token, 14 × 429, in bench/bench_quotas.py.
Counted until the answer plus one window, the calls the provider sees in any of its windows were all
in our log when the last of them was reserved, so they are never more than the quota, whatever the
delay between reservation and arrival.

After Redis lost its data (a restart without persistence), the windows of the last minute are gone
while the providers still count them: a worker that had seen Redis' marker and finds it missing
assumes every window full (no call for one window of each quota) rather than a fresh start.

Redis holds the windows when configured (one Lua script: correct across processes and replicas);
the embedded default keeps them in process. Redis failing is *not* a free pass: the limiter fails
closed (`LimiteurIndisponible`) — an unmetered call is exactly what gets an IP banned.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import math
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Protocol

import structlog
from redis.asyncio import Redis
from redis.exceptions import RedisError

from app import metrics
from app.errors import UpstreamRateLimited, UpstreamUnavailable
from app.logging import OutageLog
from app.services.amont.deadline import Deadline

logger = structlog.get_logger(__name__)

#: Outside the cache's `eg:v1:` space: these are counters (sorted sets), not encrypted entries.
KEY_PREFIX = "eg-quota:v1"

# --- Priorities (issue 18) -----------------------------------------------------------------------
# A campaign's calls yield to the counter's: while an agent's call waits for a quota, no campaign
# call takes the place that frees; while agents called within the last two windows, campaigns leave
# a tenth of each quota (at least one call) free for them. With no one at the counter, campaigns use
# the whole quota. A campaign's call waits for its place as long as `attente_max` (its lines have
# no one waiting at a counter), where an agent's call gives up at its request's deadline.

#: Of each quota, the share campaigns leave free while agents are calling.
PART_RESERVEE_GUICHET = 0.1
#: How long a campaign call backs off while an agent's call is waiting for the same quota.
RECUL_CAMPAGNE_SECONDS = 0.02

_attente_campagne: ContextVar[float | None] = ContextVar("eg_attente_campagne", default=None)


@contextmanager
def pour_une_campagne(attente_max_seconds: float) -> Iterator[None]:
    """The upstream calls made inside are a campaign's: low priority, patient (see above)."""
    jeton = _attente_campagne.set(attente_max_seconds)
    try:
        yield
    finally:
        _attente_campagne.reset(jeton)


def reserve_guichet(limite: int) -> int:
    """Calls of a quota's window kept for the counter while agents are calling."""
    return min(limite, max(1, math.floor(limite * PART_RESERVEE_GUICHET)))


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
    """A stable name for a token or client id inside this process (never stored in Redis as is:
    `RedisLimiter` names its keys with a keyed hash of it)."""
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
    """0 when the call may go now (and was counted); else how long to wait and which quota blocks.

    `appel` names the counted call, for `Limiter.terminer`.
    """

    attente_seconds: float
    quota: str | None = None
    appel: str = ""


class Limiter(Protocol):
    async def reserver(
        self, portees: Sequence[Portee], *, en_vol_max_seconds: float = 0.0, campagne: bool = False
    ) -> Reservation:
        """Count one call against every `portee` if all allow it now; else count nothing.

        With `en_vol_max_seconds` > 0 the call is counted as in flight (holding its place in every
        window) until `terminer` or, at the latest, that long after now. A `campagne` call yields to
        the counter's (see « Priorities » above).
        """
        ...

    async def terminer(self, portees: Sequence[Portee], appel: str) -> None:
        """The call `appel` was answered (or abandoned) now: it counts for one window from now."""
        ...

    async def suspendre(self, portee: Portee, seconds: float, *, ralentissement: bool = False) -> None:
        """No call on `portee` for `seconds` (a 429's Retry-After, an exhausted RateLimit-Remaining).

        A `ralentissement` (a window nearly spent) holds the counter's calls only while no campaign
        is calling: during a campaign the spent window is the campaign's own doing (issue 18)."""
        ...

    async def ping(self) -> bool: ...


class MemoryLimiter:
    """The embedded default: the same sliding windows, in this process only."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        #: Per key: call → the time it counts from (its answer; in flight: its latest possible end).
        self._logs: dict[str, dict[str, float]] = {}
        self._pauses: dict[str, float] = {}
        #: Per key: until when agents count as calling, and until when one of theirs waits.
        self._guichet: dict[str, float] = {}
        self._guichet_attend: dict[str, float] = {}
        #: Slow-downs (a window nearly spent), and until when a campaign counts as calling.
        self._ralentis: dict[str, float] = {}
        self._campagne: dict[str, float] = {}

    async def reserver(
        self, portees: Sequence[Portee], *, en_vol_max_seconds: float = 0.0, campagne: bool = False
    ) -> Reservation:
        now = self._clock()
        attente, bloquant = 0.0, None
        for portee in portees:
            pause, limite = self._pause_et_limite(portee, now, campagne=campagne)
            if pause > attente:
                attente, bloquant = pause, portee.quota.nom
            log = self._logs.setdefault(portee.cle, {})
            fenetre = portee.quota.fenetre_seconds
            for appel in [a for a, t in log.items() if t <= now - fenetre]:
                del log[appel]
            if len(log) >= max(limite, 1) or limite <= 0:
                rang = max(0, len(log) - max(limite, 1))
                pivot = sorted(log.values())[rang] if log else now
                # A call still in flight frees its place one window after its answer, at the earliest.
                attendre = fenetre if pivot > now else pivot + fenetre - now
                if attendre > attente:
                    attente, bloquant = attendre, portee.quota.nom
        if not campagne:
            for portee in portees:
                self._guichet[portee.cle] = now + 2 * portee.quota.fenetre_seconds
                if attente > 0:
                    self._guichet_attend[portee.cle] = now + attente + 0.2
        if attente > 0:
            return Reservation(attente, bloquant)
        appel = uuid.uuid4().hex
        for portee in portees:
            self._logs[portee.cle][appel] = now + en_vol_max_seconds
            if campagne:
                self._campagne[portee.cle] = now + 2 * portee.quota.fenetre_seconds
        return Reservation(0.0, appel=appel)

    def _pause_et_limite(self, portee: Portee, now: float, *, campagne: bool) -> tuple[float, int]:
        """(how long this caller must hold off `portee`, how many calls of its window it may use)."""
        pause = self._pauses.get(portee.cle, 0.0) - now
        if campagne or self._campagne.get(portee.cle, 0.0) <= now:
            pause = max(pause, self._ralentis.get(portee.cle, 0.0) - now)
        limite = portee.quota.limite
        if campagne and self._guichet.get(portee.cle, 0.0) > now:
            limite -= reserve_guichet(limite)
            if self._guichet_attend.get(portee.cle, 0.0) > now:
                pause = max(pause, RECUL_CAMPAGNE_SECONDS)
        return pause, limite

    async def terminer(self, portees: Sequence[Portee], appel: str) -> None:
        now = self._clock()
        for portee in portees:
            log = self._logs.get(portee.cle)
            if log is not None and appel in log:
                log[appel] = now

    async def suspendre(self, portee: Portee, seconds: float, *, ralentissement: bool = False) -> None:
        until = self._clock() + seconds
        pauses = self._ralentis if ralentissement else self._pauses
        pauses[portee.cle] = max(pauses.get(portee.cle, 0.0), until)

    async def ping(self) -> bool:
        return True


# KEYS: log₁, pause₁, log₂, pause₂…, marker, restart; ARGV: n, limite₁, fenêtre₁ (ms), …, member,
# in-flight bound (ms), whether this worker had seen the marker (1/0), whether the call is a
# campaign's (1/0), the counter's share, a campaign's back-off (ms). `<pause>:guichet` says agents
# called within two windows, `<pause>:attente` that one of their calls is waiting (see « Priorities »).
# Redis' own clock (TIME) is the one clock every worker shares; the member is unique per call so
# that two calls in the same millisecond are two entries. A member's score is the time its call
# counts from: its answer (see `_TERMINER`), or while in flight the latest its answer can come.
# The marker tells a Redis that lost its data (restarted without persistence) from one that never
# had any: when a worker that had seen it finds it gone, the `restart` key holds the time of that
# discovery for the longest window, and every window counts as full until one window after it.
_RESERVER = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local n = tonumber(ARGV[1])
local marker, restart = KEYS[2 * n + 1], KEYS[2 * n + 2]
local inflight, known = tonumber(ARGV[2 * n + 3]), ARGV[2 * n + 4]
if redis.call('EXISTS', marker) == 0 then
  redis.call('SET', marker, now)
  if known == '1' then
    local longest = 0
    for i = 1, n do longest = math.max(longest, tonumber(ARGV[2 * i + 1])) end
    redis.call('SET', restart, now, 'PX', math.max(longest, 3600000))
  end
end
local since = tonumber(redis.call('GET', restart) or '-1')
local campaign = ARGV[2 * n + 5] == '1'
local wait, which = 0, 0
for i = 1, n do
  local log, pause = KEYS[2 * i - 1], KEYS[2 * i]
  local limit, window = tonumber(ARGV[2 * i]), tonumber(ARGV[2 * i + 1])
  local p = redis.call('PTTL', pause)
  if campaign or redis.call('PTTL', pause .. ':campagne') <= 0 then
    p = math.max(p, redis.call('PTTL', pause .. ':ralenti'))
  end
  if p > wait then wait, which = p, i end
  if since >= 0 and since + window > now then
    local w = since + window - now
    if w > wait then wait, which = w, i end
  end
  redis.call('ZREMRANGEBYSCORE', log, '-inf', now - window)
  local count = redis.call('ZCARD', log)
  if campaign and redis.call('PTTL', pause .. ':guichet') > 0 then
    limit = limit - math.min(limit, math.max(1, math.floor(limit * tonumber(ARGV[2 * n + 6]))))
    if redis.call('PTTL', pause .. ':attente') > 0 then
      local w = tonumber(ARGV[2 * n + 7])
      if w > wait then wait, which = w, i end
    end
  end
  if limit <= 0 then
    if window > wait then wait, which = window, i end
  elseif count >= limit then
    local pivot = tonumber(redis.call('ZRANGE', log, count - limit, count - limit, 'WITHSCORES')[2])
    local w = window
    if pivot <= now then w = pivot + window - now end
    if w > wait then wait, which = w, i end
  end
end
if not campaign then
  for i = 1, n do
    local window = tonumber(ARGV[2 * i + 1])
    redis.call('SET', KEYS[2 * i] .. ':guichet', '1', 'PX', 2 * window)
    if wait > 0 then redis.call('SET', KEYS[2 * i] .. ':attente', '1', 'PX', wait + 200) end
  end
end
if wait > 0 then return {wait, which} end
for i = 1, n do
  local window = tonumber(ARGV[2 * i + 1])
  redis.call('ZADD', KEYS[2 * i - 1], now + inflight, ARGV[2 * n + 2])
  if campaign then redis.call('SET', KEYS[2 * i] .. ':campagne', '1', 'PX', 2 * window) end
  if redis.call('PTTL', KEYS[2 * i - 1]) < inflight + window + 1000 then
    redis.call('PEXPIRE', KEYS[2 * i - 1], inflight + window + 1000)
  end
end
return {0, 0}
"""

# KEYS: log₁, log₂…; ARGV: member. The call was answered now: it counts for one window from now.
_TERMINER = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
for i = 1, #KEYS do redis.call('ZADD', KEYS[i], 'XX', now, ARGV[1]) end
return 1
"""

# Only ever lengthens a pause: a short Retry-After must not cut a longer one another worker set.
_SUSPENDRE = """
local ms = tonumber(ARGV[1])
if redis.call('PTTL', KEYS[1]) < ms then redis.call('SET', KEYS[1], '1', 'PX', ms) end
return 1
"""


#: The key used to name subjects when none is given (tests); the gateway derives its own from
#: GATEWAY_SECRET_KEY, so a Redis dump never gives a token's plain digest to check guesses against.
_CLE_SUJETS_PAR_DEFAUT = b"eligibility-gateway/quotas/sans-cle"


class RedisLimiter:
    """Sliding windows in Redis, shared by every worker and replica using the same Redis.

    Keys are `<prefixe>:<quota>:<HMAC(cle_sujets, subject)>`: a keyed hash, never the token's
    plain digest. `prefixe` also names the marker that detects a Redis which lost its data.
    """

    def __init__(self, redis: Redis, *, cle_sujets: bytes | None = None, prefixe: str = KEY_PREFIX) -> None:
        self._redis = redis
        self._cle_sujets = cle_sujets or _CLE_SUJETS_PAR_DEFAUT
        self._prefixe = prefixe
        self._marqueur_vu = False
        self._reserver = redis.register_script(_RESERVER)
        self._terminer = redis.register_script(_TERMINER)
        self._suspendre = redis.register_script(_SUSPENDRE)

    def cle(self, portee: Portee) -> str:
        nom = hmac.new(self._cle_sujets, portee.sujet.encode("utf-8"), hashlib.sha256).hexdigest()[:32]
        return f"{self._prefixe}:{portee.quota.nom}:{nom}"

    async def reserver(
        self, portees: Sequence[Portee], *, en_vol_max_seconds: float = 0.0, campagne: bool = False
    ) -> Reservation:
        keys: list[str] = []
        args: list[str | int] = [len(portees)]
        for portee in portees:
            cle = self.cle(portee)
            keys += [cle, cle + ":pause"]
            args += [portee.quota.limite, math.ceil(portee.quota.fenetre_seconds * 1000)]
        keys += [f"{self._prefixe}:marqueur", f"{self._prefixe}:redemarrage"]
        appel = uuid.uuid4().hex
        args += [appel, math.ceil(max(0.0, en_vol_max_seconds) * 1000), int(self._marqueur_vu)]
        args += [int(campagne), str(PART_RESERVEE_GUICHET), math.ceil(RECUL_CAMPAGNE_SECONDS * 1000)]
        wait_ms, which = await self._reserver(keys=keys, args=args)
        self._marqueur_vu = True
        if int(wait_ms) <= 0:
            return Reservation(0.0, appel=appel)
        return Reservation(int(wait_ms) / 1000, portees[int(which) - 1].quota.nom)

    async def terminer(self, portees: Sequence[Portee], appel: str) -> None:
        await self._terminer(keys=[self.cle(p) for p in portees], args=[appel])

    async def suspendre(self, portee: Portee, seconds: float, *, ralentissement: bool = False) -> None:
        cle = self.cle(portee) + (":pause:ralenti" if ralentissement else ":pause")
        await self._suspendre(keys=[cle], args=[max(1, math.ceil(seconds * 1000))])

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
        #: Redis failures are logged once per outage, plus a summary a minute.
        self._panne = OutageLog("redis")
        #: `terminer` calls under way (referenced until done).
        self._fins: set[asyncio.Task[None]] = set()

    @property
    def limiter(self) -> Limiter:
        return self._limiter

    async def acquerir(self, portees: Sequence[Portee], deadline: Deadline, *, fournisseur: str) -> float:
        """Wait until every quota allows one more call, and count it. Returns the time waited.

        Raises `UpstreamRateLimited` when the wait would outlast the deadline (the caller's data
        becomes `a_verifier`), `LimiteurIndisponible` when the limiter cannot be asked.
        """
        return (await self.reserver(portees, deadline, fournisseur=fournisseur, en_vol=False))[0]

    async def reserver(
        self, portees: Sequence[Portee], deadline: Deadline, *, fournisseur: str, en_vol: bool = True
    ) -> tuple[float, str]:
        """`acquerir`, counting the call as in flight until `terminer` (at most until the deadline):
        (time waited, the call's name for `terminer`)."""
        attendu = 0.0
        # A campaign's call waits for its place up to its own bound, not an agent's deadline.
        attente_campagne = _attente_campagne.get()
        while True:
            try:
                reservation = await self._limiter.reserver(
                    portees,
                    en_vol_max_seconds=deadline.remaining() + 1.0 if en_vol else 0.0,
                    campagne=attente_campagne is not None,
                )
            except _BACKEND_ERRORS as e:
                for portee in portees:
                    metrics.LIMITEUR_REFUS.labels(portee.quota.nom, "indisponible").inc()
                self._panne.echec("limiter.unavailable", fournisseur=fournisseur, error_type=type(e).__name__)
                raise LimiteurIndisponible(
                    "Le limiteur de quotas partagé (Redis) est indisponible : par précaution, aucun appel "
                    f"non compté n'est fait à {fournisseur}. La donnée doit être justifiée sur pièce "
                    "ou redemandée plus tard.",
                    fournisseur=fournisseur,
                ) from e
            self._panne.succes()
            quota = reservation.quota or "?"
            if reservation.attente_seconds <= 0:
                if attendu > 0:
                    metrics.LIMITEUR_ATTENTES.labels(portees[0].quota.nom).observe(attendu)
                return attendu, reservation.appel
            patience = deadline.remaining() if attente_campagne is None else attente_campagne - attendu
            if reservation.attente_seconds > patience:
                metrics.LIMITEUR_REFUS.labels(quota, "echeance").inc()
                raise UpstreamRateLimited(
                    f"Le quota d'appels à {fournisseur} est atteint et ne se libère pas avant l'échéance "
                    "de la requête : aucun appel n'a été fait ; réessayer dans quelques secondes.",
                    fournisseur=fournisseur,
                    retry_after=max(1, math.ceil(reservation.attente_seconds)),
                )
            await self._sleep(reservation.attente_seconds)
            attendu += reservation.attente_seconds

    def terminer_plus_tard(self, portees: Sequence[Portee], appel: str) -> None:
        """`terminer`, off the caller's path (one Redis round trip less per request). Until it is
        done the call still counts as in flight: later is only more prudent."""
        tache = asyncio.get_running_loop().create_task(self.terminer(portees, appel))
        self._fins.add(tache)
        tache.add_done_callback(self._fins.discard)

    async def terminer(self, portees: Sequence[Portee], appel: str) -> None:
        """The call was answered: it counts for one window from now. A failure here leaves it
        counted until its in-flight bound (the deadline): more prudent, never less."""
        try:
            await self._limiter.terminer(portees, appel)
        except _BACKEND_ERRORS as e:
            self._panne.echec("limiter.finish_failed", error_type=type(e).__name__)

    async def suspendre(self, portee: Portee, seconds: float, *, ralentissement: bool = False) -> None:
        """Stop every call on `portee` for `seconds` (see `Limiter.suspendre`); a failure here is
        logged (the limiter still fails closed on the next reservation if Redis is really gone)."""
        try:
            await self._limiter.suspendre(portee, seconds, ralentissement=ralentissement)
        except _BACKEND_ERRORS as e:
            self._panne.echec("limiter.suspend_failed", quota=portee.quota.nom, error_type=type(e).__name__)
            return
        logger.info("limiter.suspended", quota=portee.quota.nom, seconds=round(seconds, 3))

    async def ping(self) -> bool:
        return await self._limiter.ping()
