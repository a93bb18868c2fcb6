"""How one upstream call is made politely: breaker → quotas → call (timed, measured) → bounded retries.

`Protection.call` is the only way the data sources reach a provider. Retries (stamina) are for
transient failures only — connection errors, 502/503/504 — never for a 4xx, and all of them fit
in the request's deadline; a 429 suspends the token for every worker until `Retry-After`, and the
`RateLimit-*` headers of every other answer (a 404 spends the allowance too) slow it down before.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from typing import TypeVar

import httpx
import stamina

from app import metrics
from app.errors import UpstreamError, UpstreamRateLimited, UpstreamTimeout, UpstreamUnavailable
from app.services.amont.breaker import CircuitBreaker
from app.services.amont.deadline import Deadline, courante
from app.services.amont.quotas import EtatFenetre, LimiteurIndisponible, Portee, Quotas, pause_before_quota

T = TypeVar("T")

#: API Particulier's "identical request in progress" (409): a conflict, not an outage.
_SUFFIXE_CONFLIT = "015"


def _est_conflit(e: UpstreamError) -> bool:
    return bool(e.upstream_code) and str(e.upstream_code).endswith(_SUFFIXE_CONFLIT)


#: `upstream_code` of a call not started, or cut, because the request's own deadline ran out: it says
#: nothing of the provider's health (issue 13: such timeouts opened the breaker on a healthy provider).
ECHEANCE_DE_LA_REQUETE = "echeance-de-la-requete"

#: How many recent successful calls give a provider's usual latency (their median).
_ECHANTILLON_LATENCE = 32


def panne(e: BaseException) -> bool:
    """Whether `e` says the provider itself is failing (what the breaker counts, what stale-if-error
    covers): unavailable or too slow — not a quota, not our own limiter or deadline, not a 4xx."""
    if not isinstance(e, UpstreamUnavailable | UpstreamTimeout):
        return False
    if isinstance(e, UpstreamRateLimited | LimiteurIndisponible):
        return False
    return e.upstream_code not in {"disjoncteur-ouvert", ECHEANCE_DE_LA_REQUETE} and not _est_conflit(e)


def transitoire(e: BaseException) -> bool:
    """Whether a new attempt may succeed: a connection that could not be made, or a 502/503/504.

    A timeout while reading, or a connection dropped mid-answer, is not retried: the provider may
    have served (and counted) the call already.
    """
    if not panne(e):
        return False
    cause = e.__cause__
    if cause is not None:
        return isinstance(cause, httpx.ConnectError | httpx.ConnectTimeout)
    return True


class Protection:
    """Breaker, quotas and retries around the calls to one provider."""

    def __init__(
        self,
        *,
        fournisseur: str,
        breaker: CircuitBreaker,
        quotas: Quotas,
        tentatives: int = 3,
        budget_seconds: float = 8.0,
        horloge: Callable[[], float] = time.time,
    ) -> None:
        self.fournisseur = fournisseur
        self.breaker = breaker
        self.quotas = quotas
        self._tentatives = tentatives
        self._budget = budget_seconds
        #: Unix time, what `RateLimit-Reset` is counted in.
        self._horloge = horloge
        #: Durations of the last successful calls: the provider's usual latency is their median.
        self._latences: deque[float] = deque(maxlen=_ECHANTILLON_LATENCE)

    @property
    def latence_habituelle(self) -> float:
        """The median of the recent successful calls' durations (0 before any)."""
        return statistics.median(self._latences) if self._latences else 0.0

    def _verifier_echeance(self, deadline: Deadline) -> None:
        """No call is started that the request's deadline cannot see through: it would spend the
        quota, be cut, and answer nothing."""
        habituelle = self.latence_habituelle
        if habituelle > 0 and deadline.remaining() < habituelle:
            raise UpstreamTimeout(
                f"Le temps restant à la requête ne couvre pas la latence habituelle de {self.fournisseur} : "
                "aucun appel n'a été fait ; réessayer.",
                fournisseur=self.fournisseur,
                upstream_code=ECHEANCE_DE_LA_REQUETE,
            )

    async def call(
        self,
        endpoint: str,
        portees: Sequence[Portee],
        appel: Callable[[], Awaitable[T]],
        *,
        portee_jeton: Portee | None = None,
        fenetre: Callable[[T], EtatFenetre] | None = None,
    ) -> T:
        """The result of `appel()`, within the quotas of `portees` and the request's deadline.

        `portee_jeton` is suspended until `Retry-After` when the provider answers 429, and slowed
        down as `pause_before_quota` says after any other answer: `fenetre` reads the RateLimit
        headers of a success, an `UpstreamError` carries those of a failure.
        """
        deadline = courante(self._budget)

        def reessayer(e: Exception) -> bool | float:
            if not transitoire(e):
                return False
            attente = e.retry_after if isinstance(e, UpstreamError) else None
            if attente is not None:
                # Retry-After is the provider's own hint; past the deadline there is no point.
                return float(attente) if attente < deadline.remaining() else False
            return True

        async for attempt in stamina.retry_context(
            on=reessayer,
            attempts=self._tentatives,
            timeout=max(deadline.remaining(), 0.001),
            wait_initial=0.1,
            wait_max=1.0,
            wait_jitter=0.1,
        ):
            with attempt:
                if attempt.num > 1:
                    metrics.REESSAIS.labels(self.fournisseur).inc()
                self._verifier_echeance(deadline)
                await self.breaker.avant_appel()
                _, reserve = await self.quotas.reserver(portees, deadline, fournisseur=self.fournisseur)
                try:
                    # The wait for the quota may have eaten the time the call needs.
                    self._verifier_echeance(deadline)
                except UpstreamTimeout:
                    await self.quotas.terminer(portees, reserve)
                    raise
                return await self._tentative(
                    endpoint, appel, deadline, portee_jeton, fenetre, reservation=(portees, reserve)
                )
        raise AssertionError("stamina always returns or raises")  # pragma: no cover

    async def _tentative(
        self,
        endpoint: str,
        appel: Callable[[], Awaitable[T]],
        deadline: Deadline,
        portee_jeton: Portee | None,
        fenetre: Callable[[T], EtatFenetre] | None,
        *,
        reservation: tuple[Sequence[Portee], str],
    ) -> T:
        started = time.perf_counter()
        try:
            try:
                async with asyncio.timeout(deadline.remaining()):
                    resultat = await appel()
            finally:
                # The provider counted the call at the latest now: it holds its place one window more.
                self.quotas.terminer_plus_tard(*reservation)
        except TimeoutError:
            # Cut by our own deadline, not by the provider's timeout: no verdict on its health.
            self._mesurer(endpoint, "echeance-depassee", started)
            self.breaker.neutre()
            raise UpstreamTimeout(
                f"{self.fournisseur} n'a pas répondu avant l'échéance de la requête.",
                fournisseur=self.fournisseur,
                upstream_code=ECHEANCE_DE_LA_REQUETE,
            ) from None
        except UpstreamError as e:
            self._mesurer(endpoint, e.code, started)
            if portee_jeton is not None:
                if isinstance(e, UpstreamRateLimited):
                    await self.quotas.suspendre(portee_jeton, float(e.retry_after or 1))
                else:
                    await self._ralentir(portee_jeton, e.ratelimit)
            if panne(e):
                self.breaker.echec()
            else:
                self.breaker.neutre()
            raise
        self._mesurer(endpoint, "succes", started)
        self._latences.append(time.perf_counter() - started)
        self.breaker.succes()
        if portee_jeton is not None and fenetre is not None:
            await self._ralentir(portee_jeton, fenetre(resultat))
        return resultat

    async def _ralentir(self, portee: Portee, etat: EtatFenetre) -> None:
        pause = pause_before_quota(*etat, maintenant=self._horloge())
        if pause > 0:
            limite, restant, _ = etat
            epuisee = restant is not None and restant <= 0
            # The calls the provider counted in its window: when they are all ours and its quota is
            # not below ours, the shared windows already keep them under it, and slowing down would
            # only lose pace.
            vus = None
            if limite is not None and restant is not None and limite >= portee.quota.limite:
                vus = limite - restant
            await self.quotas.suspendre(portee, pause, ralentissement=not epuisee, appels_vus=vus)

    def _mesurer(self, endpoint: str, issue: str, started: float) -> None:
        metrics.APPELS_FOURNISSEUR.labels(self.fournisseur, endpoint, issue).inc()
        metrics.LATENCE_FOURNISSEUR.labels(self.fournisseur, endpoint).observe(time.perf_counter() - started)
