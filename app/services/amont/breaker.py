"""A circuit breaker per provider: after repeated transient failures, stop calling for a while.

Closed: calls go through; `seuil` consecutive transient failures open it. Open: calls fail at once
(the data becomes `a_verifier`, or is served stale) for `ouverture_seconds`. Then half-open: one
probe decides — the provider's free ping route when it has one (API Particulier), else a single
real call — and the circuit closes on success or opens again on failure.

The state lives in each process, so the hot path has no shared-state round trip; with Redis, a
`DiffusionDisjoncteurs` tells the other workers and replicas when a breaker opens or closes (pub/sub,
off the request path), so an outage costs `seuil` failing calls in all rather than per worker, and a
successful probe anywhere closes every circuit. Without Redis, or while it is down, each worker
learns from its own calls.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
import uuid
from collections.abc import Awaitable, Callable
from enum import IntEnum

import structlog
from redis.asyncio import Redis
from redis.exceptions import RedisError

from app import metrics
from app.errors import UpstreamUnavailable

logger = structlog.get_logger(__name__)


class Etat(IntEnum):
    """The gauge's values: 0 closed, 1 half-open, 2 open."""

    FERME = 0
    DEMI_OUVERT = 1
    OUVERT = 2


class CircuitBreaker:
    def __init__(
        self,
        fournisseur: str,
        *,
        seuil: int = 5,
        ouverture_seconds: float = 30.0,
        sonde: Callable[[], Awaitable[bool]] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.fournisseur = fournisseur
        self._seuil = seuil
        self._ouverture = ouverture_seconds
        self._sonde = sonde
        self._clock = clock
        self._echecs = 0
        self._ouvert_depuis: float | None = None
        self._essai_en_cours = False
        self._sonde_lock = asyncio.Lock()
        #: Told of this breaker's own transitions (see `DiffusionDisjoncteurs.inscrire`).
        self.diffuser: Callable[[Etat], None] | None = None
        metrics.DISJONCTEUR.labels(fournisseur).set(Etat.FERME)

    @property
    def etat(self) -> Etat:
        if self._ouvert_depuis is None:
            return Etat.FERME
        if self._clock() - self._ouvert_depuis < self._ouverture:
            return Etat.OUVERT
        return Etat.DEMI_OUVERT

    async def avant_appel(self) -> None:
        """Let the call through, or raise `UpstreamUnavailable` without calling."""
        etat = self.etat
        if etat is Etat.FERME:
            return
        if etat is Etat.DEMI_OUVERT:
            metrics.DISJONCTEUR.labels(self.fournisseur).set(Etat.DEMI_OUVERT)
            if self._sonde is not None:
                async with self._sonde_lock:
                    if self.etat is not Etat.DEMI_OUVERT:  # another caller's probe decided
                        return await self.avant_appel()
                    if await self._sonde():
                        self._fermer()
                        return
                    self._ouvrir()
            elif not self._essai_en_cours:
                # No free probe: this one call is the trial; the others keep failing fast meanwhile.
                self._essai_en_cours = True
                return
        raise UpstreamUnavailable(
            f"{self.fournisseur} a échoué plusieurs fois de suite : les appels sont suspendus "
            f"quelques secondes (disjoncteur ouvert) ; la donnée doit être redemandée plus tard.",
            fournisseur=self.fournisseur,
            upstream_code="disjoncteur-ouvert",
            retry_after=max(1, round(self._ouverture)),
        )

    def succes(self) -> None:
        self._essai_en_cours = False
        self._echecs = 0
        if self._ouvert_depuis is not None:
            self._fermer()

    def echec(self) -> None:
        """A transient failure (connection, 5xx, timeout). Not for 4xx: the provider is fine."""
        self._echecs += 1
        if self._essai_en_cours or self._echecs >= self._seuil:
            self._essai_en_cours = False
            self._ouvrir()

    def neutre(self) -> None:
        """A call that says nothing about the provider's health (a 4xx) ends a trial without verdict."""
        self._essai_en_cours = False

    def appliquer(self, etat: Etat) -> None:
        """Another worker's transition: open here too (fail fast for `ouverture_seconds` from now,
        then probe) or close (its probe or call succeeded). Not broadcast again."""
        if etat is Etat.OUVERT and self.etat is not Etat.OUVERT:
            self._ouvrir(diffuser=False)
        elif etat is Etat.FERME and self._ouvert_depuis is not None:
            self._essai_en_cours = False
            self._fermer(diffuser=False)

    def _ouvrir(self, *, diffuser: bool = True) -> None:
        self._ouvert_depuis = self._clock()
        metrics.DISJONCTEUR.labels(self.fournisseur).set(Etat.OUVERT)
        metrics.DISJONCTEUR_TRANSITIONS.labels(self.fournisseur, "ouvert").inc()
        logger.warning(
            "breaker.opened", fournisseur=self.fournisseur, echecs=self._echecs, distant=not diffuser
        )
        if diffuser and self.diffuser is not None:
            self.diffuser(Etat.OUVERT)

    def _fermer(self, *, diffuser: bool = True) -> None:
        self._ouvert_depuis = None
        self._echecs = 0
        metrics.DISJONCTEUR.labels(self.fournisseur).set(Etat.FERME)
        metrics.DISJONCTEUR_TRANSITIONS.labels(self.fournisseur, "ferme").inc()
        logger.info("breaker.closed", fournisseur=self.fournisseur, distant=not diffuser)
        if diffuser and self.diffuser is not None:
            self.diffuser(Etat.FERME)


_ETATS_DIFFUSES = {"ouvert": Etat.OUVERT, "ferme": Etat.FERME}


class DiffusionDisjoncteurs:
    """Breaker transitions shared by every worker and replica through one Redis pub/sub channel.

    A message says only which provider's breaker opened or closed, and which process said so (to
    ignore its own): no personal data, nothing on the request path — publishing is fire-and-forget
    and listening runs in its own task, which reconnects by itself when Redis comes back.
    """

    CANAL = "eg:disjoncteurs"

    def __init__(self, redis: Redis, *, reconnexion_seconds: float = 1.0) -> None:
        self._redis = redis
        self._reconnexion = reconnexion_seconds
        self._emetteur = uuid.uuid4().hex
        self._disjoncteurs: dict[str, CircuitBreaker] = {}
        self._publications: set[asyncio.Task[None]] = set()
        self._ecoute: asyncio.Task[None] | None = None
        #: Set once subscribed (tests wait on it before causing a transition).
        self.abonne = asyncio.Event()

    def inscrire(self, breaker: CircuitBreaker) -> None:
        self._disjoncteurs[breaker.fournisseur] = breaker
        breaker.diffuser = lambda etat: self._publier(breaker.fournisseur, etat)

    def demarrer(self) -> None:
        self._ecoute = asyncio.create_task(self._ecouter(), name="disjoncteurs.ecoute")

    async def arreter(self) -> None:
        if self._ecoute is not None:
            self._ecoute.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._ecoute
        if self._publications:
            await asyncio.gather(*self._publications, return_exceptions=True)

    def _publier(self, fournisseur: str, etat: Etat) -> None:
        message = {"fournisseur": fournisseur, "etat": etat.name.lower(), "emetteur": self._emetteur}
        tache = asyncio.get_running_loop().create_task(self._envoyer(json.dumps(message)))
        self._publications.add(tache)
        tache.add_done_callback(self._publications.discard)

    async def _envoyer(self, message: str) -> None:
        try:
            await self._redis.publish(self.CANAL, message)
        except (RedisError, OSError, TimeoutError) as e:
            # The others will learn from their own calls, as without Redis.
            logger.info("breaker.broadcast_failed", error_type=type(e).__name__)

    async def _ecouter(self) -> None:
        interrompue = False
        while True:
            try:
                async with self._redis.pubsub(ignore_subscribe_messages=True) as abonnement:
                    await abonnement.subscribe(self.CANAL)
                    self.abonne.set()
                    if interrompue:
                        logger.info("breaker.listen_resumed")
                        interrompue = False
                    while True:
                        # A bounded wait: the pool's socket timeout must not read as an error.
                        message = await abonnement.get_message(timeout=1.0)
                        if message is not None:
                            self._recevoir(message.get("data"))
            except (RedisError, OSError, TimeoutError) as e:
                self.abonne.clear()
                if not interrompue:  # once per outage, not once per retry
                    logger.info("breaker.listen_interrupted", error_type=type(e).__name__)
                    interrompue = True
                await asyncio.sleep(self._reconnexion)

    def _recevoir(self, donnees: object) -> None:
        try:
            message = json.loads(donnees)  # type: ignore[arg-type]
            if message["emetteur"] == self._emetteur:
                return
            breaker = self._disjoncteurs.get(message["fournisseur"])
            etat = _ETATS_DIFFUSES[message["etat"]]
        except (TypeError, ValueError, KeyError):
            logger.warning("breaker.broadcast_unreadable")
            return
        if breaker is not None:
            breaker.appliquer(etat)
