"""One protected upstream call: retries only for transient failures (stamina, no sleep in tests),
never for a 4xx; a 429 suspends the token; the breaker counts outages, not refusals."""

from __future__ import annotations

import httpx
import pytest

from app.errors import (
    UpstreamError,
    UpstreamPersonNotFound,
    UpstreamRateLimited,
    UpstreamTimeout,
    UpstreamUnavailable,
)
from app.services.amont.breaker import CircuitBreaker, Etat
from app.services.amont.deadline import echeance
from app.services.amont.protection import Protection, transitoire
from app.services.amont.quotas import MemoryLimiter, Portee, Quota, Quotas

F = "API Particulier"
PORTEE = Portee(Quota("api_particulier.jeton", 100, 1.0), "jeton")


def protection(seuil: int = 5) -> Protection:
    return Protection(
        fournisseur=F,
        breaker=CircuitBreaker(F, seuil=seuil, ouverture_seconds=30),
        quotas=Quotas(MemoryLimiter()),
        tentatives=3,
    )


def depuis(exception: UpstreamError, cause: BaseException | None) -> UpstreamError:
    exception.__cause__ = cause
    return exception


class Appel:
    """An upstream call that fails with the given errors, then answers "ok"."""

    def __init__(self, *erreurs: UpstreamError) -> None:
        self.erreurs = list(erreurs)
        self.appels = 0

    async def __call__(self) -> str:
        self.appels += 1
        if self.erreurs:
            raise self.erreurs.pop(0)
        return "ok"


def indisponible() -> UpstreamUnavailable:
    return UpstreamUnavailable("panne", fournisseur=F, upstream_code="35502")


@pytest.mark.parametrize(
    ("erreur", "attendu"),
    [
        (depuis(UpstreamUnavailable("x", fournisseur=F), httpx.ConnectError("refusé")), True),
        (depuis(UpstreamTimeout("x", fournisseur=F), httpx.ConnectTimeout("connexion")), True),
        (depuis(UpstreamTimeout("x", fournisseur=F), httpx.ReadTimeout("lecture")), False),
        (depuis(UpstreamUnavailable("x", fournisseur=F), httpx.RemoteProtocolError("coupée")), False),
        (UpstreamUnavailable("502", fournisseur=F, upstream_code="35502"), True),
        (UpstreamTimeout("504", fournisseur=F), True),
        (UpstreamUnavailable("409", fournisseur=F, upstream_code="00015"), False),
        (UpstreamRateLimited("429", fournisseur=F, retry_after=1), False),
        (UpstreamPersonNotFound("404", fournisseur=F), False),
        (UpstreamError("illisible", fournisseur=F), False),
    ],
)
def test_only_connection_errors_and_5xx_are_transient(erreur: UpstreamError, attendu: bool) -> None:
    assert transitoire(erreur) is attendu


async def test_transient_failures_are_retried() -> None:
    appel = Appel(indisponible(), indisponible())

    assert await protection().call("qf", [PORTEE], appel) == "ok"
    assert appel.appels == 3


async def test_retries_stop_at_the_attempt_limit() -> None:
    appel = Appel(indisponible(), indisponible(), indisponible(), indisponible())

    with pytest.raises(UpstreamUnavailable):
        await protection().call("qf", [PORTEE], appel)
    assert appel.appels == 3


async def test_a_4xx_is_never_retried() -> None:
    appel = Appel(UpstreamPersonNotFound("absent", fournisseur=F))

    with pytest.raises(UpstreamPersonNotFound):
        await protection().call("qf", [PORTEE], appel)
    assert appel.appels == 1


async def test_a_retry_after_beyond_the_deadline_is_not_waited_for() -> None:
    maintenance = UpstreamUnavailable("maintenance", fournisseur=F, upstream_code="35020", retry_after=900)
    appel = Appel(maintenance)

    with echeance(5), pytest.raises(UpstreamUnavailable):
        await protection().call("qf", [PORTEE], appel)
    assert appel.appels == 1


async def test_a_429_suspends_the_token_for_retry_after() -> None:
    p = protection()
    appel = Appel(UpstreamRateLimited("429", fournisseur=F, retry_after=30))

    with pytest.raises(UpstreamRateLimited):
        await p.call("qf", [PORTEE], appel, portee_jeton=PORTEE)

    reservation = await p.quotas.limiter.reserver([PORTEE])
    assert 29 < reservation.attente_seconds <= 30
    # and within a 5 s deadline, the next call is refused without reaching the provider
    suivant = Appel()
    with echeance(5), pytest.raises(UpstreamRateLimited):
        await p.call("qf", [PORTEE], suivant, portee_jeton=PORTEE)
    assert suivant.appels == 0


async def test_the_breaker_counts_outages_and_then_spares_the_provider() -> None:
    p = protection(seuil=3)
    with pytest.raises(UpstreamUnavailable):
        await p.call("qf", [PORTEE], Appel(*(indisponible() for _ in range(3))))
    assert p.breaker.etat == Etat.OUVERT

    epargne = Appel()
    with pytest.raises(UpstreamUnavailable) as raised:
        await p.call("qf", [PORTEE], epargne)
    assert raised.value.upstream_code == "disjoncteur-ouvert"
    assert epargne.appels == 0


async def test_refusals_do_not_open_the_breaker() -> None:
    p = protection(seuil=1)
    with pytest.raises(UpstreamPersonNotFound):
        await p.call("qf", [PORTEE], Appel(UpstreamPersonNotFound("absent", fournisseur=F)))
    assert p.breaker.etat == Etat.FERME
