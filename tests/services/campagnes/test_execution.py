"""When campaign lines wait (maintenance, breaker open) and how they resume by themselves."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any, cast

from app.services.amont.breaker import CircuitBreaker
from app.services.campagnes import ExecutionCampagnes, Pause, id_decision

DIMANCHE_23H10_PARIS = datetime(2026, 12, 6, 22, 10, tzinfo=UTC)
LUNDI = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)


def test_the_sunday_maintenance_pauses_campaigns_until_it_ends() -> None:
    motif = Pause({}, now=lambda: DIMANCHE_23H10_PARIS).motif()

    assert motif is not None
    assert "maintenance" in motif[0]
    assert 0 < motif[1] <= 30
    assert Pause({}, now=lambda: LUNDI).motif() is None


def test_an_open_breaker_pauses_campaigns_until_it_closes() -> None:
    breaker = CircuitBreaker("api_particulier", seuil=1, ouverture_seconds=30)
    pause = Pause({"api_particulier": [breaker]}, now=lambda: LUNDI)
    assert pause.motif() is None

    breaker.echec()

    motif = pause.motif()
    assert motif is not None
    assert "disjoncteur ouvert" in motif[0]
    breaker.succes()
    assert pause.motif() is None


class _Stockage:
    def __init__(self) -> None:
        self.pauses: list[str | None] = []

    async def signaler_pause(self, campagne_id: uuid.UUID, motif: str | None) -> None:
        self.pauses.append(motif)


async def test_a_paused_campaign_says_why_and_resumes_by_itself() -> None:
    moments = iter([DIMANCHE_23H10_PARIS, DIMANCHE_23H10_PARIS, LUNDI])
    attentes: list[float] = []

    async def dormir(secondes: float) -> None:
        attentes.append(secondes)

    stockage = _Stockage()
    execution = ExecutionCampagnes(
        stockage=cast(Any, stockage),
        eligibilite=cast(Any, None),
        annuaire=cast(Any, None),
        journal=cast(Any, None),
        keyring=cast(Any, None),
        pause=Pause({}, now=lambda: next(moments)),
        concurrence=1,
        bail_seconds=60,
        sleep=dormir,
    )

    await execution._attendre_reprise(uuid.uuid4())

    assert len(attentes) == 2
    assert "maintenance" in str(stockage.pauses[0])
    assert stockage.pauses[-1] is None  # resumed: the campaign no longer says it waits


def test_a_lines_decision_id_is_the_same_on_every_attempt_and_unique_per_line() -> None:
    campagne = uuid.uuid4()

    assert id_decision(campagne, 7) == id_decision(campagne, 7)
    assert len({id_decision(campagne, n) for n in range(1000)}) == 1000
    assert id_decision(uuid.uuid4(), 7) != id_decision(campagne, 7)
