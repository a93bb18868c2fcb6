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
# call takes the place that frees; while agents called within `GUICHET_ACTIF_SECONDS`, campaign
# calls never hold more than the quota less the counter's share (`reserve_guichet`: a twentieth,
# at least one call, never all) in any window, so an agent's call finds a free place at once. The share is
# counted against the campaigns' own calls: the counter's calls fill it first, and what the counter
# does not use of it is the only quota lost. With no one at the counter, campaigns use the whole
# quota. A campaign's call waits for its place as long as `attente_max` (its lines have no one
# waiting at a counter), where an agent's call gives up at its request's deadline.
#
# Measured (bench/bench_campagnes.py): with the counter's share reserved only for two windows after
# an agent's call, an agent calling every two seconds found the campaign's calls in every place of
# a one-second window, and waited for the next one to free (p90 254 ms for 23 ms idle).

#: Of each quota, the share campaigns leave to the counter while agents are calling.
PART_RESERVEE_GUICHET = 0.05
#: How long after an agent's call agents count as calling (the pace of a counter, not of a window).
GUICHET_ACTIF_SECONDS = 60.0
#: How long a campaign call backs off while an agent's call is waiting for the same quota.
RECUL_CAMPAGNE_SECONDS = 0.02

_attente_campagne: ContextVar[float | None] = ContextVar("eg_attente_campagne", default=None)
#: The campaign line the calls are made for (its decision id), and whether it was taken before.
_ligne_campagne: ContextVar[tuple[str, bool] | None] = ContextVar("eg_ligne_campagne", default=None)


@contextmanager
def pour_une_campagne(
    attente_max_seconds: float, *, ligne: str | None = None, reprise: bool = False
) -> Iterator[None]:
    """The upstream calls made inside are a campaign's: low priority, patient (see above). `ligne`
    names the line (its decision id); `reprise`: it was taken before (its worker died), so the
    answers stored for it then may be read."""
    jeton = _attente_campagne.set(attente_max_seconds)
    jeton_ligne = _ligne_campagne.set(None if ligne is None else (ligne, reprise))
    try:
        yield
    finally:
        _ligne_campagne.reset(jeton_ligne)
        _attente_campagne.reset(jeton)


def en_campagne() -> bool:
    """Whether the upstream calls made now are a campaign's (inside `pour_une_campagne`)."""
    return _attente_campagne.get() is not None


def ligne_de_campagne() -> tuple[str, bool] | None:
    """(the campaign line's decision id, whether it was taken before), if the calls are for one."""
    return _ligne_campagne.get()


def reserve_guichet(limite: int) -> int:
    """Calls of a quota's window kept for the counter while agents are calling: never the whole
    quota (a campaign always keeps a place, else agents calling all day would stop it)."""
    return max(0, min(limite - 1, max(1, math.floor(limite * PART_RESERVEE_GUICHET))))


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

    async def suspendre(
        self, portee: Portee, seconds: float, *, ralentissement: bool = False, appels_vus: int | None = None
    ) -> None:
        """No call on `portee` for `seconds` (a 429's Retry-After, an exhausted RateLimit-Remaining).

        A `ralentissement` (a window nearly spent) holds the counter's calls only while no campaign
        is calling: during a campaign the spent window is the campaign's own doing (issue 18). With
        `appels_vus` (the calls the provider counted in its current window, given only when its
        quota is not below `portee`'s), no slow-down is set when `portee`'s log holds at least as
        many calls of the last window: the provider saw only ours, which the windows already keep
        under the quota (measured: slowing down for our own calls cost a campaign ≈ 1 call in 20)."""
        ...

    async def ping(self) -> bool: ...


def _attente_fenetre(log: dict[str, float], limite: int, now: float, fenetre: float) -> float:
    """How long until `log` (calls → the time each counts from) holds fewer than `limite` calls."""
    if limite <= 0:
        return fenetre
    if len(log) < limite:
        return 0.0
    pivot = sorted(log.values())[len(log) - limite]
    # A call still in flight frees its place one window after its answer, at the earliest.
    return fenetre if pivot > now else pivot + fenetre - now


class MemoryLimiter:
    """The embedded default: the same sliding windows, in this process only."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        #: Per key: call → the time it counts from (its answer; in flight: its latest possible end);
        #: the campaigns' calls are in `_logs_campagne` too.
        self._logs: dict[str, dict[str, float]] = {}
        self._logs_campagne: dict[str, dict[str, float]] = {}
        self._pauses: dict[str, float] = {}
        #: Per key: until when agents count as calling, and until when one of theirs waits.
        self._guichet: dict[str, float] = {}
        self._guichet_attend: dict[str, float] = {}
        #: Slow-downs (a window nearly spent), and until when a campaign counts as calling.
        self._ralentis: dict[str, float] = {}
        self._campagne: dict[str, float] = {}

    def _log(self, logs: dict[str, dict[str, float]], portee: Portee, now: float) -> dict[str, float]:
        log = logs.setdefault(portee.cle, {})
        for appel in [a for a, t in log.items() if t <= now - portee.quota.fenetre_seconds]:
            del log[appel]
        return log

    async def reserver(
        self, portees: Sequence[Portee], *, en_vol_max_seconds: float = 0.0, campagne: bool = False
    ) -> Reservation:
        now = self._clock()
        attente, bloquant = 0.0, None
        for portee in portees:
            pause, reserve = self._pause_et_reserve(portee, now, campagne=campagne)
            fenetre, limite = portee.quota.fenetre_seconds, portee.quota.limite
            attendre = max(pause, _attente_fenetre(self._log(self._logs, portee, now), limite, now, fenetre))
            if campagne:
                log = self._log(self._logs_campagne, portee, now)
                attendre = max(attendre, _attente_fenetre(log, limite - reserve, now, fenetre))
            if attendre > attente:
                attente, bloquant = attendre, portee.quota.nom
        if not campagne:
            for portee in portees:
                actif = max(GUICHET_ACTIF_SECONDS, 2 * portee.quota.fenetre_seconds)
                self._guichet[portee.cle] = now + actif
                if attente > 0:
                    self._guichet_attend[portee.cle] = now + attente + 0.2
        if attente > 0:
            return Reservation(attente, bloquant)
        appel = uuid.uuid4().hex
        for portee in portees:
            self._logs[portee.cle][appel] = now + en_vol_max_seconds
            if campagne:
                self._logs_campagne[portee.cle][appel] = now + en_vol_max_seconds
                self._campagne[portee.cle] = now + 2 * portee.quota.fenetre_seconds
        return Reservation(0.0, appel=appel)

    def _pause_et_reserve(self, portee: Portee, now: float, *, campagne: bool) -> tuple[float, int]:
        """(how long this caller must hold off `portee`, the calls of its window a campaign leaves
        to the counter)."""
        pause = self._pauses.get(portee.cle, 0.0) - now
        if campagne or self._campagne.get(portee.cle, 0.0) <= now:
            pause = max(pause, self._ralentis.get(portee.cle, 0.0) - now)
        reserve = 0
        if campagne and self._guichet.get(portee.cle, 0.0) > now:
            reserve = reserve_guichet(portee.quota.limite)
            if self._guichet_attend.get(portee.cle, 0.0) > now:
                pause = max(pause, RECUL_CAMPAGNE_SECONDS)
        return pause, reserve

    async def terminer(self, portees: Sequence[Portee], appel: str) -> None:
        now = self._clock()
        for portee in portees:
            for logs in (self._logs, self._logs_campagne):
                log = logs.get(portee.cle)
                if log is not None and appel in log:
                    log[appel] = now

    async def suspendre(
        self, portee: Portee, seconds: float, *, ralentissement: bool = False, appels_vus: int | None = None
    ) -> None:
        now = self._clock()
        vus = appels_vus
        if ralentissement and vus is not None and len(self._log(self._logs, portee, now)) >= vus:
            return
        pauses = self._ralentis if ralentissement else self._pauses
        pauses[portee.cle] = max(pauses.get(portee.cle, 0.0), now + seconds)

    async def ping(self) -> bool:
        return True


# KEYS: log₁, pause₁, log₂, pause₂…, marker, restart; ARGV: n, limite₁, fenêtre₁ (ms), …, member,
# in-flight bound (ms), whether this worker had seen the marker (1/0), whether the call is a
# campaign's (1/0), the counter's share, a campaign's back-off (ms), how long agents count as
# calling (ms). `<pause>:guichet` says agents called lately, `<pause>:attente` that one of their
# calls is waiting, `<log>:campagne` holds the campaigns' calls alone (see « Priorities »).
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
-- How long until `log` holds fewer than `limit` calls of the last `window`.
local function full(log, limit, window)
  redis.call('ZREMRANGEBYSCORE', log, '-inf', now - window)
  if limit <= 0 then return window end
  local count = redis.call('ZCARD', log)
  if count < limit then return 0 end
  local pivot = tonumber(redis.call('ZRANGE', log, count - limit, count - limit, 'WITHSCORES')[2])
  if pivot > now then return window end
  return pivot + window - now
end
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
  local w = full(log, limit, window)
  if w > wait then wait, which = w, i end
  if campaign then
    local share = 0
    if redis.call('PTTL', pause .. ':guichet') > 0 then
      share = math.max(0, math.min(limit - 1, math.max(1, math.floor(limit * tonumber(ARGV[2 * n + 6])))))
      if redis.call('PTTL', pause .. ':attente') > 0 then
        w = tonumber(ARGV[2 * n + 7])
        if w > wait then wait, which = w, i end
      end
    end
    w = full(log .. ':campagne', limit - share, window)
    if w > wait then wait, which = w, i end
  end
end
if not campaign then
  for i = 1, n do
    local window = tonumber(ARGV[2 * i + 1])
    local active = math.max(tonumber(ARGV[2 * n + 8]), 2 * window)
    redis.call('SET', KEYS[2 * i] .. ':guichet', '1', 'PX', active)
    if wait > 0 then redis.call('SET', KEYS[2 * i] .. ':attente', '1', 'PX', wait + 200) end
  end
end
if wait > 0 then return {wait, which} end
for i = 1, n do
  local window = tonumber(ARGV[2 * i + 1])
  local logs = {KEYS[2 * i - 1]}
  if campaign then
    logs[2] = KEYS[2 * i - 1] .. ':campagne'
    redis.call('SET', KEYS[2 * i] .. ':campagne', '1', 'PX', 2 * window)
  end
  for _, log in ipairs(logs) do
    redis.call('ZADD', log, now + inflight, ARGV[2 * n + 2])
    if redis.call('PTTL', log) < inflight + window + 1000 then
      redis.call('PEXPIRE', log, inflight + window + 1000)
    end
  end
end
return {0, 0}
"""

# KEYS: log₁, log₂…; ARGV: member. The call was answered now: it counts for one window from now.
_TERMINER = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
for i = 1, #KEYS do
  redis.call('ZADD', KEYS[i], 'XX', now, ARGV[1])
  redis.call('ZADD', KEYS[i] .. ':campagne', 'XX', now, ARGV[1])
end
return 1
"""

# Only ever lengthens a pause: a short Retry-After must not cut a longer one another worker set.
_SUSPENDRE = """
local ms = tonumber(ARGV[1])
if redis.call('PTTL', KEYS[1]) < ms then redis.call('SET', KEYS[1], '1', 'PX', ms) end
return 1
"""

# KEYS: the slow-down key, the log; ARGV: ms, window (ms), the calls the provider counted. No
# slow-down when the log holds at least as many calls of the last window (see `Limiter.suspendre`).
_RALENTIR = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local seen = tonumber(ARGV[3])
if redis.call('ZCOUNT', KEYS[2], '(' .. (now - tonumber(ARGV[2])), '+inf') >= seen then return 0 end
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
        self._ralentir = redis.register_script(_RALENTIR)

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
        args += [math.ceil(GUICHET_ACTIF_SECONDS * 1000)]
        wait_ms, which = await self._reserver(keys=keys, args=args)
        self._marqueur_vu = True
        if int(wait_ms) <= 0:
            return Reservation(0.0, appel=appel)
        return Reservation(int(wait_ms) / 1000, portees[int(which) - 1].quota.nom)

    async def terminer(self, portees: Sequence[Portee], appel: str) -> None:
        await self._terminer(keys=[self.cle(p) for p in portees], args=[appel])

    async def suspendre(
        self, portee: Portee, seconds: float, *, ralentissement: bool = False, appels_vus: int | None = None
    ) -> None:
        cle, ms = self.cle(portee), max(1, math.ceil(seconds * 1000))
        if not ralentissement:
            await self._suspendre(keys=[cle + ":pause"], args=[ms])
        elif appels_vus is None:
            await self._suspendre(keys=[cle + ":pause:ralenti"], args=[ms])
        else:
            fenetre = math.ceil(portee.quota.fenetre_seconds * 1000)
            await self._ralentir(keys=[cle + ":pause:ralenti", cle], args=[ms, fenetre, appels_vus])

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
        #: A process's campaign calls ask for a place one at a time, in turn: the others wait here
        #: rather than all asking Redis again each time a place frees.
        self._file_campagne = asyncio.Lock()

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
        # A campaign's call waits for its place up to its own bound, not an agent's deadline.
        attente_campagne = _attente_campagne.get()
        if attente_campagne is None:
            return await self._reserver(portees, deadline, fournisseur=fournisseur, en_vol=en_vol)
        async with self._file_campagne:
            return await self._reserver(
                portees, deadline, fournisseur=fournisseur, en_vol=en_vol, attente_campagne=attente_campagne
            )

    async def _reserver(
        self,
        portees: Sequence[Portee],
        deadline: Deadline,
        *,
        fournisseur: str,
        en_vol: bool,
        attente_campagne: float | None = None,
    ) -> tuple[float, str]:
        attendu = 0.0
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

    async def suspendre(
        self, portee: Portee, seconds: float, *, ralentissement: bool = False, appels_vus: int | None = None
    ) -> None:
        """Stop every call on `portee` for `seconds` (see `Limiter.suspendre`); a failure here is
        logged (the limiter still fails closed on the next reservation if Redis is really gone)."""
        try:
            await self._limiter.suspendre(
                portee, seconds, ralentissement=ralentissement, appels_vus=appels_vus
            )
        except _BACKEND_ERRORS as e:
            self._panne.echec("limiter.suspend_failed", quota=portee.quota.nom, error_type=type(e).__name__)
            return
        logger.info("limiter.suspended", quota=portee.quota.nom, seconds=round(seconds, 3))

    async def ping(self) -> bool:
        return await self._limiter.ping()
