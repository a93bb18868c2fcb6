"""Issue 13, point 5: the breaker counts only the provider's failures. Before: calls started near the
end of the request's deadline were cut by it, counted as provider failures, the circuit opened and
the next requests got `fournisseur-indisponible` with the provider healthy."""

from __future__ import annotations

import asyncio

import pytest

from app.errors import UpstreamTimeout, UpstreamUnavailable
from app.services.amont.breaker import CircuitBreaker, Etat
from app.services.amont.deadline import echeance
from app.services.amont.protection import ECHEANCE_DE_LA_REQUETE, Protection
from app.services.amont.quotas import MemoryLimiter, Portee, Quota, Quotas

PORTEE = Portee(Quota("essai", 1000, 1.0), "jeton")


class Fournisseur:
    """A healthy provider that always answers in `latence` seconds."""

    def __init__(self, latence: float) -> None:
        self.latence = latence
        self.appels = 0

    async def __call__(self) -> str:
        self.appels += 1
        await asyncio.sleep(self.latence)
        return "ok"


def protection() -> Protection:
    return Protection(
        fournisseur="API Particulier",
        breaker=CircuitBreaker("API Particulier", seuil=3, ouverture_seconds=30),
        quotas=Quotas(MemoryLimiter()),
        tentatives=1,
    )


async def test_calls_cut_by_our_deadline_do_not_open_the_breaker() -> None:
    p, fournisseur = protection(), Fournisseur(0.1)
    # No usual latency known yet: the calls start, and our deadline cuts them.
    for _ in range(6):
        with echeance(0.02), pytest.raises(UpstreamTimeout) as coupe:
            await p.call("qf", [PORTEE], fournisseur)
        assert coupe.value.upstream_code == ECHEANCE_DE_LA_REQUETE
    assert fournisseur.appels == 6
    assert p.breaker.etat is Etat.FERME  # before: open after 3, and the next requests refused
    with echeance(5):
        assert await p.call("qf", [PORTEE], fournisseur) == "ok"


async def test_no_call_is_started_that_the_deadline_cannot_see_through() -> None:
    p, fournisseur = protection(), Fournisseur(0.05)
    with echeance(5):
        for _ in range(3):
            await p.call("qf", [PORTEE], fournisseur)
    assert p.latence_habituelle == pytest.approx(0.05, abs=0.03)

    with echeance(0.01), pytest.raises(UpstreamTimeout) as refuse:
        await p.call("qf", [PORTEE], fournisseur)
    assert refuse.value.upstream_code == ECHEANCE_DE_LA_REQUETE
    assert "aucun appel" in refuse.value.detail
    assert fournisseur.appels == 3  # not started: no quota spent for an answer that cannot come
    assert p.breaker.etat is Etat.FERME


async def test_the_providers_own_failures_still_open_it() -> None:
    p = protection()

    async def en_panne() -> str:
        raise UpstreamTimeout("le fournisseur ne répond pas", fournisseur="API Particulier")

    for _ in range(3):
        # (the tests' stamina mode retries each call: the circuit may open on the first)
        with echeance(5), pytest.raises((UpstreamTimeout, UpstreamUnavailable)):
            await p.call("qf", [PORTEE], en_panne)
    assert p.breaker.etat is Etat.OUVERT
