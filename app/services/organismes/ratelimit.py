"""Per-client request rate limit: one noisy business software must not eat the organismes' shared
upstream quota. Fixed windows (INCR + EXPIRE): shared by all workers through Redis when configured,
per process otherwise.

This limits *requests to the gateway* per client; the upstream limiter (quotas) separately keeps
the gateway under each provider's own limits.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import time
from collections.abc import Callable

import structlog
from redis.asyncio import Redis
from redis.exceptions import RedisError

from app.errors import TooManyRequests
from app.logging import OutageLog

logger = structlog.get_logger(__name__)


def _refus(limite: int, fenetre: int, retry_after: int) -> TooManyRequests:
    return TooManyRequests(
        f"Ce client a dépassé {limite} requêtes par {fenetre} secondes : "
        f"réessayez dans {retry_after} seconde{'s' if retry_after > 1 else ''}.",
        retry_after=retry_after,
    )


class LimiteurClients:
    """At most `limite` requests per client per window of `fenetre_secondes` (0 disables it)."""

    def __init__(
        self,
        *,
        limite: int,
        fenetre_secondes: int,
        redis: Redis | None = None,
        prefixe: str = "eg:limite-client:",
        clock: Callable[[], float] = time.time,
    ) -> None:
        if fenetre_secondes <= 0:
            raise ValueError("la fenêtre du limiteur doit être positive")
        self._limite = limite
        self._fenetre = fenetre_secondes
        self._redis = redis
        self._prefixe = prefixe
        self._clock = clock
        # In-process windows: client id -> (window number, count). One entry per client, replaced
        # when its window ends, so memory stays bounded by the number of clients.
        self._compteurs: dict[str, tuple[int, int]] = {}
        self._panne = OutageLog("redis")

    @property
    def actif(self) -> bool:
        return self._limite > 0

    async def verifier(self, client_id: str) -> None:
        """Count one request of `client_id`; raise `TooManyRequests` (429, Retry-After) past the limit."""
        if not self.actif:
            return
        now = self._clock()
        fenetre = int(now // self._fenetre)
        retry_after = max(1, math.ceil((fenetre + 1) * self._fenetre - now))
        compte = await self._incrementer(client_id, fenetre)
        if compte > self._limite:
            logger.info("ratelimit.refused", client_id=client_id, limite=self._limite)
            raise _refus(self._limite, self._fenetre, retry_after)

    async def _incrementer(self, client_id: str, fenetre: int) -> int:
        if self._redis is not None:
            key = f"{self._prefixe}{client_id}:{fenetre}"
            try:
                async with self._redis.pipeline(transaction=True) as pipe:
                    pipe.incr(key)
                    # Set on every hit (cheap) rather than on the first: a lost EXPIRE can never
                    # leave a counter that blocks the client forever.
                    pipe.expire(key, self._fenetre + 1)
                    compte, _ = await pipe.execute()
                self._panne.succes()
                return int(compte)
            except (RedisError, OSError) as e:
                # The limit protects a quota, it does not guard data: fall back to this process's count
                # rather than refuse every request while Redis is down.
                self._panne.echec("ratelimit.redis_unavailable", error_type=type(e).__name__)
        courant, compte = self._compteurs.get(client_id, (fenetre, 0))
        compte = compte + 1 if courant == fenetre else 1
        self._compteurs[client_id] = (fenetre, compte)
        return compte


class LimiteurEchecsAuthentification:
    """Unknown API keys per source address, counted before the database is asked (issue 13: 3,000
    random keys were 3,000 database transactions, never throttled).

    Past `limite` unknown keys within `fenetre_secondes` of the first one, an address gets 429s
    without any lookup until its window ends. With Redis the count is shared by every worker and
    replica (an attacker spreading keys over the workers of a deployment gets `limite` in all, not
    `limite` per worker); the address enters Redis only as a keyed hash (`cle_adresses`, HMAC), never
    in clear. Without Redis, or while it is down, each process counts for itself in bounded memory:
    the table is emptied when it holds `max_sources` addresses (an attacker rotating addresses then
    costs at most `limite` lookups per address).
    """

    def __init__(
        self,
        *,
        limite: int,
        fenetre_secondes: float,
        max_sources: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
        redis: Redis | None = None,
        cle_adresses: bytes = b"",
        prefixe: str = "eg:cles-inconnues:",
    ) -> None:
        if redis is not None and not cle_adresses:
            raise ValueError("le compte partagé des clés inconnues demande une clé de hachage des adresses")
        self._limite = limite
        self._fenetre = fenetre_secondes
        self._max_sources = max_sources
        self._clock = clock
        self._redis = redis
        self._cle_adresses = cle_adresses
        self._prefixe = prefixe
        self._fenetre_ms = max(1, round(fenetre_secondes * 1000))
        #: source address → (start of its window, unknown keys in it)
        self._echecs: dict[str, tuple[float, int]] = {}
        self._panne = OutageLog("redis")

    async def verifier(self, source: str) -> None:
        """Raise `TooManyRequests` when `source` has spent its unknown keys for the window."""
        if self._limite <= 0:
            return
        if self._redis is not None:
            cle = self._cle(source)
            try:
                async with self._redis.pipeline(transaction=False) as pipe:
                    pipe.get(cle)
                    pipe.pttl(cle)
                    compte, reste_ms = await pipe.execute()
                self._panne.succes()
            except (RedisError, OSError) as e:
                self._panne.echec("ratelimit.redis_unavailable", error_type=type(e).__name__)
            else:
                if compte is not None and int(compte) >= self._limite:
                    raise self._refus(max(1, math.ceil(max(int(reste_ms), 0) / 1000)))
                return
        debut, compte_local = self._echecs.get(source, (0.0, 0))
        now = self._clock()
        if compte_local >= self._limite and now - debut < self._fenetre:
            raise self._refus(max(1, math.ceil(debut + self._fenetre - now)))

    async def echec(self, source: str) -> None:
        """Count one unknown key sent from `source`."""
        if self._limite <= 0:
            return
        if self._redis is not None:
            cle = self._cle(source)
            try:
                async with self._redis.pipeline(transaction=True) as pipe:
                    pipe.incr(cle)
                    # The window starts at the first unknown key (NX: later ones do not extend it).
                    pipe.pexpire(cle, self._fenetre_ms, nx=True)
                    await pipe.execute()
                self._panne.succes()
                return
            except (RedisError, OSError) as e:
                self._panne.echec("ratelimit.redis_unavailable", error_type=type(e).__name__)
        now = self._clock()
        debut, compte = self._echecs.get(source, (now, 0))
        if now - debut >= self._fenetre:
            debut, compte = now, 0
        if source not in self._echecs and len(self._echecs) >= self._max_sources:
            self._echecs.clear()
        self._echecs[source] = (debut, compte + 1)

    def _cle(self, source: str) -> str:
        return self._prefixe + hmac.new(self._cle_adresses, source.encode(), hashlib.sha256).hexdigest()[:32]

    def _refus(self, retry_after: int) -> TooManyRequests:
        return TooManyRequests(
            f"Trop de clés d'API inconnues depuis cette adresse ({self._limite} par "
            f"{round(self._fenetre)} secondes) : réessayez dans {retry_after} seconde"
            f"{'s' if retry_after > 1 else ''}.",
            retry_after=retry_after,
        )
