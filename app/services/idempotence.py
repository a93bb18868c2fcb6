"""`Idempotency-Key` on the consultations (IETF httpapi draft "The Idempotency-Key HTTP Header Field").

A caller that retries after a timeout must not count an applicant twice. For one client, the same
key with the same body within `ttl_seconds` (24 h) gives back the answer stored the first time:
no upstream call, no second decision in the journal; the replay is logged, counted and flagged
(`Idempotency-Replayed: true`). The same key with another body is a 422
(`cle-idempotence-reutilisee`). While the first request runs, duplicates wait for it (up to
`attente_max_seconds`, then 409 `requete-idempotente-en-cours`). Only successful answers are
stored: after an error, the same key runs the request again.

Keys are scoped per client and never stored in clear: the store key is an HMAC of (client,
operation, key), the body a keyed fingerprint; the stored answer (which holds certified data) is
encrypted with the cache's Fernet keys. With Redis, every worker and replica shares the answers
and the "first one runs" lock (`SET NX PX`); without, they hold for this process.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import structlog
from cryptography.fernet import InvalidToken
from redis.asyncio import Redis
from redis.exceptions import RedisError

from app import metrics
from app.errors import IdempotencyKeyReused, IdempotentRequestInProgress
from app.keys import KeyRing

logger = structlog.get_logger(__name__)

#: How long an answer is replayed (the draft's suggestion: 24 hours).
TTL_SECONDS = 24 * 3600
_PREFIXE = "eg:v1:idem"
# Deletes the lock only if it is still ours (another worker may hold it after our TTL ran out).
_LIBERER = """
if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end
return 0
"""


@dataclass(frozen=True, slots=True)
class ReponseIdempotente:
    """The answer to send: its JSON bytes, and whether it is a replay of a stored one."""

    contenu: bytes
    rejouee: bool


class Idempotence:
    def __init__(
        self,
        keyring: KeyRing,
        redis: Redis | None = None,
        *,
        ttl_seconds: int = TTL_SECONDS,
        attente_max_seconds: float = 30.0,
        sondage_seconds: float = 0.05,
        max_entrees_memoire: int = 10_000,
        horloge: Callable[[], float] = time.monotonic,
        prefixe: str = _PREFIXE,
    ) -> None:
        self._prefixe = prefixe
        self._keyring = keyring
        self._redis = redis
        self._ttl = ttl_seconds
        self._attente_max = attente_max_seconds
        self._sondage = sondage_seconds
        self._horloge = horloge
        self._max_memoire = max_entrees_memoire
        #: Without Redis: stored answers (expiry, encrypted value), oldest first.
        self._memoire: OrderedDict[str, tuple[float, bytes]] = OrderedDict()
        #: Duplicates within this process queue here before (with Redis) the shared lock; with
        #: how many requests use each lock, so that it is dropped only when none does.
        self._verrous: dict[str, tuple[asyncio.Lock, int]] = {}
        self._liberer = redis.register_script(_LIBERER) if redis is not None else None

    async def executer(
        self,
        *,
        client_id: str,
        operation: str,
        cle: str | None,
        corps: str,
        produire: Callable[[], Awaitable[bytes]],
    ) -> ReponseIdempotente:
        """The stored answer of (`client_id`, `operation`, `cle`) if `corps` is the same, else
        `produire()`'s, stored. `corps` is the request's canonical JSON (never stored in clear).
        Without a key, `produire()`'s answer, not stored."""
        if cle is None:
            return ReponseIdempotente(await produire(), rejouee=False)
        stockage = f"{self._prefixe}:{self._keyring.idempotence_digest(client_id, operation, cle)}"
        empreinte = self._keyring.idempotence_digest(operation, corps)
        verrou, nombre = self._verrous.get(stockage, (asyncio.Lock(), 0))
        self._verrous[stockage] = (verrou, nombre + 1)
        try:
            async with verrou:
                deja = await self._relire(stockage, empreinte, operation)
                if deja is not None:
                    return deja
                return await self._executer_seul(stockage, empreinte, operation, produire)
        finally:
            verrou, nombre = self._verrous[stockage]
            if nombre <= 1:
                del self._verrous[stockage]
            else:
                self._verrous[stockage] = (verrou, nombre - 1)

    async def _executer_seul(
        self, stockage: str, empreinte: str, operation: str, produire: Callable[[], Awaitable[bytes]]
    ) -> ReponseIdempotente:
        """Run `produire` holding the shared lock; another worker holding it is waited for."""
        jeton = await self._prendre_verrou_partage(stockage, empreinte, operation)
        if isinstance(jeton, ReponseIdempotente):
            return jeton
        try:
            contenu = await produire()
            await self._stocker(stockage, empreinte, contenu)
        finally:
            await self._rendre_verrou_partage(stockage, jeton)
        metrics.IDEMPOTENCE.labels(operation, "execute").inc()
        return ReponseIdempotente(contenu, rejouee=False)

    async def _prendre_verrou_partage(
        self, stockage: str, empreinte: str, operation: str
    ) -> str | ReponseIdempotente | None:
        """Our lock token (None without Redis), or the answer another worker stored meanwhile."""
        if self._redis is None:
            return None
        jeton = secrets.token_hex(16)
        echeance = self._horloge() + self._attente_max
        while True:
            try:
                # The lock outlives the longest request; a crashed holder's lock expires.
                pris = await self._redis.set(
                    stockage + ":verrou", jeton, nx=True, px=int(self._attente_max * 1000)
                )
            except (RedisError, OSError) as e:
                # Without the shared store, this request runs as if it had no key (logged).
                logger.warning("idempotence.redis_unavailable", error_type=type(e).__name__)
                return None
            if pris:
                deja = await self._relire(stockage, empreinte, operation)
                if deja is not None:
                    await self._rendre_verrou_partage(stockage, jeton)
                    return deja
                return jeton
            deja = await self._relire(stockage, empreinte, operation)
            if deja is not None:
                return deja
            if self._horloge() >= echeance:
                metrics.IDEMPOTENCE.labels(operation, "attente_expiree").inc()
                raise IdempotentRequestInProgress(
                    "Une requête portant ce Idempotency-Key est encore en cours ; réessayez dans "
                    "quelques secondes.",
                    retry_after=1,
                )
            await asyncio.sleep(self._sondage)

    async def _rendre_verrou_partage(self, stockage: str, jeton: str | None) -> None:
        if self._liberer is None or jeton is None:
            return
        try:
            await self._liberer(keys=[stockage + ":verrou"], args=[jeton])
        except (RedisError, OSError) as e:  # the lock expires by itself
            logger.warning("idempotence.redis_unavailable", error_type=type(e).__name__)

    async def _relire(self, stockage: str, empreinte: str, operation: str) -> ReponseIdempotente | None:
        brut = await self._lire(stockage)
        if brut is None:
            return None
        try:
            entree = json.loads(self._keyring.fernet.decrypt(brut))
        except (InvalidToken, ValueError):
            # Written with a key since rotated away: as if absent, the request runs again.
            return None
        if entree["empreinte"] != empreinte:
            metrics.IDEMPOTENCE.labels(operation, "cle_reutilisee").inc()
            raise IdempotencyKeyReused()
        metrics.IDEMPOTENCE.labels(operation, "rejoue").inc()
        logger.info("idempotence.replayed", operation=operation)
        return ReponseIdempotente(str(entree["contenu"]).encode("utf-8"), rejouee=True)

    async def _lire(self, stockage: str) -> bytes | None:
        if self._redis is None:
            entree = self._memoire.get(stockage)
            if entree is None:
                return None
            if entree[0] <= self._horloge():
                del self._memoire[stockage]
                return None
            return entree[1]
        try:
            valeur = await self._redis.get(stockage)
        except (RedisError, OSError) as e:
            logger.warning("idempotence.redis_unavailable", error_type=type(e).__name__)
            return None
        return valeur.encode() if isinstance(valeur, str) else valeur

    async def _stocker(self, stockage: str, empreinte: str, contenu: bytes) -> None:
        entree = json.dumps({"empreinte": empreinte, "contenu": contenu.decode("utf-8")}, ensure_ascii=False)
        chiffre = self._keyring.fernet.encrypt(entree.encode("utf-8"))
        if self._redis is None:
            self._memoire[stockage] = (self._horloge() + self._ttl, chiffre)
            self._memoire.move_to_end(stockage)
            while len(self._memoire) > self._max_memoire:
                self._memoire.popitem(last=False)
            return
        try:
            await self._redis.set(stockage, chiffre, ex=self._ttl)
        except (RedisError, OSError) as e:
            logger.warning("idempotence.redis_unavailable", error_type=type(e).__name__)
