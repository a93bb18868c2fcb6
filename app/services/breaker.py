"""A circuit breaker per provider: after repeated transient failures, stop calling for a while.

Closed: calls go through; `seuil` consecutive transient failures open it. Open: calls fail at once
(the data becomes `a_verifier`, or is served stale) for `ouverture_seconds`. Then half-open: one
probe decides — the provider's free ping route when it has one (API Particulier), else a single
real call — and the circuit closes on success or opens again on failure.

The state is per process: each worker learns of an outage from its own calls, which costs at most
`seuil` failing calls per worker, while keeping the hot path free of any shared-state round trip.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from enum import IntEnum

import structlog

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

    def _ouvrir(self) -> None:
        self._ouvert_depuis = self._clock()
        metrics.DISJONCTEUR.labels(self.fournisseur).set(Etat.OUVERT)
        metrics.DISJONCTEUR_TRANSITIONS.labels(self.fournisseur, "ouvert").inc()
        logger.warning("breaker.opened", fournisseur=self.fournisseur, echecs=self._echecs)

    def _fermer(self) -> None:
        self._ouvert_depuis = None
        self._echecs = 0
        metrics.DISJONCTEUR.labels(self.fournisseur).set(Etat.FERME)
        metrics.DISJONCTEUR_TRANSITIONS.labels(self.fournisseur, "ferme").inc()
        logger.info("breaker.closed", fournisseur=self.fournisseur)
