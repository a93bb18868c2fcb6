"""The circuit breaker: opens after repeated failures, fails fast while open, and closes again
through a half-open probe (the free ping) or, without one, a single trial call."""

from __future__ import annotations

import pytest

from app.errors import UpstreamUnavailable
from app.services.breaker import CircuitBreaker, Etat


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
