"""Readiness with clear semantics (`/readyz`): can this replica record decisions?

Only the journal decides: without it no decision can be recorded, so the replica leaves the pool
(503). A provider outage, an open breaker, a lost Redis do not: the replica still serves cached data,
simulations and the journal, and its decisions say `a_verifier` where data are missing. Those are
reported in the body as `degrade`, per dependency, with since when, and as the
`eg_dependance_etat` gauge — never as unreadiness.

Every probe is cached and bounded (`SondeBornee`): `/readyz` answers within a second whatever the
database or the providers do, and a load balancer polling it never piles probes up.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

from app import metrics
from app.services.amont.breaker import CircuitBreaker, Etat

Statut = Literal["ok", "degrade", "indisponible"]
_VALEUR: dict[Statut, int] = {"ok": 0, "degrade": 1, "indisponible": 2}

#: How long a probe's answer is reused, and how long a caller waits for a probe in flight.
FRAICHEUR_SONDE_SECONDES = 1.0
ATTENTE_SONDE_SECONDES = 0.8


class SondeBornee:
    """One probe at a time, its answer reused for `fraicheur` seconds, waited for `attente` at most.

    `lire()` returns True/False, or None when the probe has not answered within `attente` (it goes
    on in the background and its answer serves the next callers)."""

    def __init__(
        self,
        sonde: Callable[[], Awaitable[bool]],
        *,
        fraicheur: float = FRAICHEUR_SONDE_SECONDES,
        attente: float = ATTENTE_SONDE_SECONDES,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._sonde = sonde
        self._fraicheur = fraicheur
        self._attente = attente
        self._clock = clock
        self._resultat: bool | None = None
        self._obtenu_a = -math.inf
        self._tache: asyncio.Task[bool] | None = None

    async def lire(self) -> bool | None:
        if self._clock() - self._obtenu_a < self._fraicheur:
            return self._resultat
        if self._tache is None or self._tache.done():
            self._tache = asyncio.create_task(self._sonder())
        try:
            return await asyncio.wait_for(asyncio.shield(self._tache), self._attente)
        except TimeoutError:
            return None

    async def _sonder(self) -> bool:
        try:
            resultat = bool(await self._sonde())
        except Exception:  # a probe that fails says "no", whatever the reason
            resultat = False
        self._resultat, self._obtenu_a = resultat, self._clock()
        return resultat

    async def fermer(self) -> None:
        if self._tache is not None and not self._tache.done():
            self._tache.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._tache


@dataclass(frozen=True, slots=True)
class EtatDependance:
    statut: Statut
    #: Since when this replica sees it in this state (None: since it started).
    depuis: datetime | None = None
    detail: str | None = None


@dataclass(frozen=True, slots=True)
class RapportSante:
    dependances: dict[str, EtatDependance]

    @property
    def pret(self) -> bool:
        """Ready means: decisions can be recorded (the journal answers)."""
        return self.dependances["journal"].statut == "ok"

    @property
    def statut(self) -> Statut:
        if not self.pret:
            return "indisponible"
        return "ok" if all(d.statut == "ok" for d in self.dependances.values()) else "degrade"


@dataclass(frozen=True, slots=True)
class Dependance:
    """How one dependency is judged: a bounded probe and/or breakers, and what each state means."""

    nom: str
    sonde: SondeBornee | None
    disjoncteurs: Sequence[CircuitBreaker] = ()
    #: Status when the probe says no: `indisponible` only for the journal.
    en_panne: Statut = "degrade"
    detail_panne: str = ""
    detail_ok: str | None = None


class Sante:
    def __init__(
        self, dependances: Sequence[Dependance], *, now: Callable[[], datetime] = lambda: datetime.now(UTC)
    ) -> None:
        self._dependances = dependances
        self._now = now
        #: Per dependency, the state last seen and since when (this process).
        self._vus: dict[str, EtatDependance] = {}

    async def rapport(self) -> RapportSante:
        lectures = await asyncio.gather(
            *(d.sonde.lire() if d.sonde is not None else _vrai() for d in self._dependances)
        )
        etats = {d.nom: self._noter(d, lu) for d, lu in zip(self._dependances, lectures, strict=True)}
        return RapportSante(etats)

    def _noter(self, dependance: Dependance, lu: bool | None) -> EtatDependance:
        statut: Statut = "ok"
        detail = dependance.detail_ok
        ouverts = [b for b in dependance.disjoncteurs if b.etat is not Etat.FERME]
        if lu is None:
            statut = dependance.en_panne
            detail = f"ne répond pas en {ATTENTE_SONDE_SECONDES:.1f} s".replace(".", ",")
        elif not lu:
            statut, detail = dependance.en_panne, dependance.detail_panne
        elif ouverts:
            statut = "degrade"
            etat = "ouvert" if any(b.etat is Etat.OUVERT for b in ouverts) else "demi-ouvert"
            detail = f"disjoncteur {etat} après des échecs répétés : données à vérifier sur pièce"
        precedent = self._vus.get(dependance.nom)
        depuis = precedent.depuis if precedent is not None and precedent.statut == statut else self._now()
        if precedent is None and statut == "ok":
            depuis = None  # fine since this process started
        etat_dependance = EtatDependance(statut, depuis, detail)
        self._vus[dependance.nom] = etat_dependance
        metrics.DEPENDANCE.labels(dependance.nom).set(_VALEUR[statut])
        return etat_dependance

    async def fermer(self) -> None:
        for dependance in self._dependances:
            if dependance.sonde is not None:
                await dependance.sonde.fermer()


async def _vrai() -> bool:
    return True
