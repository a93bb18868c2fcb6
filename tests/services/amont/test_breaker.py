"""The circuit breaker: opens after repeated failures, fails fast while open, and closes again
through a half-open probe (the free ping) or, without one, a single trial call."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable

import pytest
import structlog
from redis.asyncio import Redis

from app.errors import UpstreamUnavailable
from app.services.amont.breaker import CircuitBreaker, DiffusionDisjoncteurs, Etat


def etat(breaker: CircuitBreaker) -> Etat:
    """Read through a call: the state changes with time, which attribute narrowing cannot know."""
    return breaker.etat


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class Sonde:
    def __init__(self, reponse: bool) -> None:
        self.reponse = reponse
        self.appels = 0

    async def __call__(self) -> bool:
        self.appels += 1
        return self.reponse


async def test_opens_after_the_threshold_and_fails_fast() -> None:
    clock = FakeClock()
    breaker = CircuitBreaker("API Particulier", seuil=3, ouverture_seconds=30, clock=clock)
    for _ in range(2):
        await breaker.avant_appel()
        breaker.echec()
    assert etat(breaker) is Etat.FERME
    breaker.echec()

    assert etat(breaker) is Etat.OUVERT
    with pytest.raises(UpstreamUnavailable) as raised:
        await breaker.avant_appel()
    assert raised.value.upstream_code == "disjoncteur-ouvert"
    assert "disjoncteur ouvert" in raised.value.detail


async def test_a_success_resets_the_failure_count() -> None:
    breaker = CircuitBreaker("API Particulier", seuil=2, clock=FakeClock())
    breaker.echec()
    breaker.succes()
    breaker.echec()
    assert etat(breaker) is Etat.FERME


async def test_half_open_probe_closes_the_circuit() -> None:
    clock = FakeClock()
    sonde = Sonde(True)
    breaker = CircuitBreaker("API Particulier", seuil=1, ouverture_seconds=30, sonde=sonde, clock=clock)
    breaker.echec()
    clock.now = 29.0
    with pytest.raises(UpstreamUnavailable):
        await breaker.avant_appel()
    assert sonde.appels == 0  # no probe while open

    clock.now = 30.0
    assert etat(breaker) is Etat.DEMI_OUVERT
    await breaker.avant_appel()

    assert sonde.appels == 1
    assert etat(breaker) is Etat.FERME


async def test_failed_probe_opens_it_again() -> None:
    clock = FakeClock()
    sonde = Sonde(False)
    breaker = CircuitBreaker("API Particulier", seuil=1, ouverture_seconds=30, sonde=sonde, clock=clock)
    breaker.echec()
    clock.now = 31.0

    with pytest.raises(UpstreamUnavailable):
        await breaker.avant_appel()

    assert sonde.appels == 1
    assert etat(breaker) is Etat.OUVERT
    clock.now = 60.0
    assert etat(breaker) is Etat.OUVERT  # a new full opening period from the failed probe


async def test_without_a_probe_one_trial_call_decides() -> None:
    clock = FakeClock()
    breaker = CircuitBreaker("DGFIP", seuil=1, ouverture_seconds=10, clock=clock)
    breaker.echec()
    clock.now = 10.0

    await breaker.avant_appel()  # the trial
    with pytest.raises(UpstreamUnavailable):
        await breaker.avant_appel()  # others keep failing fast meanwhile
    breaker.echec()
    assert etat(breaker) is Etat.OUVERT

    clock.now = 20.0
    await breaker.avant_appel()
    breaker.succes()
    assert etat(breaker) is Etat.FERME
    await breaker.avant_appel()


# --- across workers: transitions broadcast through Redis ------------------------------------------

REDIS_URL = "redis://127.0.0.1:6379/15"


async def _attendre(condition: Callable[[], bool], secondes: float = 3.0) -> bool:
    fin = asyncio.get_running_loop().time() + secondes
    while asyncio.get_running_loop().time() < fin:
        if condition():
            return True
        await asyncio.sleep(0.01)
    return condition()


@pytest.fixture
async def deux_workers() -> AsyncIterator[tuple[CircuitBreaker, CircuitBreaker]]:
    """Two workers: each its own breaker for the same provider and its own broadcaster."""
    clients = [Redis.from_url(REDIS_URL) for _ in range(2)]
    diffusions = [DiffusionDisjoncteurs(client) for client in clients]
    breakers = [CircuitBreaker("API Particulier", seuil=2, ouverture_seconds=30) for _ in range(2)]
    for diffusion, breaker in zip(diffusions, breakers, strict=True):
        diffusion.inscrire(breaker)
        diffusion.demarrer()
    try:
        for diffusion in diffusions:
            await asyncio.wait_for(diffusion.abonne.wait(), timeout=5)
        yield breakers[0], breakers[1]
    finally:
        for diffusion, client in zip(diffusions, clients, strict=True):
            await diffusion.arreter()
            await client.aclose()


@pytest.mark.integration
async def test_a_breaker_opened_by_one_worker_opens_in_the_others(
    deux_workers: tuple[CircuitBreaker, CircuitBreaker],
) -> None:
    ici, ailleurs = deux_workers
    ici.echec()
    ici.echec()  # the threshold: open here

    assert etat(ici) is Etat.OUVERT
    assert await _attendre(lambda: etat(ailleurs) is Etat.OUVERT)
    with pytest.raises(UpstreamUnavailable):
        await ailleurs.avant_appel()  # fails fast without having failed itself


@pytest.mark.integration
async def test_a_probe_that_succeeds_in_one_worker_closes_every_circuit(
    deux_workers: tuple[CircuitBreaker, CircuitBreaker],
) -> None:
    ici, ailleurs = deux_workers
    ici.echec()
    ici.echec()
    assert await _attendre(lambda: etat(ailleurs) is Etat.OUVERT)

    ailleurs.succes()  # e.g. its half-open probe or trial call went through

    assert etat(ailleurs) is Etat.FERME
    assert await _attendre(lambda: etat(ici) is Etat.FERME)


@pytest.mark.integration
async def test_unreadable_messages_and_unknown_providers_change_nothing(
    deux_workers: tuple[CircuitBreaker, CircuitBreaker],
) -> None:
    ici, ailleurs = deux_workers
    redis = Redis.from_url(REDIS_URL)
    try:
        await redis.publish(DiffusionDisjoncteurs.CANAL, "pas du json")
        await redis.publish(DiffusionDisjoncteurs.CANAL, json.dumps({"fournisseur": "API Particulier"}))
        await redis.publish(
            DiffusionDisjoncteurs.CANAL,
            json.dumps({"fournisseur": "Inconnu", "etat": "ouvert", "emetteur": "x"}),
        )
        await asyncio.sleep(0.2)
    finally:
        await redis.aclose()
    assert (etat(ici), etat(ailleurs)) == (Etat.FERME, Etat.FERME)


async def test_without_redis_a_worker_still_learns_from_its_own_calls() -> None:
    # A broadcaster whose Redis is unreachable: publishing fails quietly, the breaker works alone.
    client = Redis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=0.2)
    diffusion = DiffusionDisjoncteurs(client, reconnexion_seconds=0.05)
    breaker = CircuitBreaker("API Particulier", seuil=1, ouverture_seconds=30)
    diffusion.inscrire(breaker)
    with structlog.testing.capture_logs() as logs:
        diffusion.demarrer()
        try:
            breaker.echec()
            assert etat(breaker) is Etat.OUVERT
            await asyncio.sleep(0.3)  # several reconnection attempts
        finally:
            await diffusion.arreter()
            await client.aclose()
    assert etat(breaker) is Etat.OUVERT
    assert [e["event"] for e in logs].count("breaker.listen_interrupted") == 1  # once per outage
