"""`/readyz`'s judgement: only the journal decides readiness; the rest is `degrade` with since when;
every probe cached and bounded, so a hung database never makes the answer wait."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from app.services.amont.breaker import CircuitBreaker
from app.services.sante import ATTENTE_SONDE_SECONDES, Dependance, Sante, SondeBornee

T0 = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)


class Horloge:
    def __init__(self) -> None:
        self.secondes = 0.0

    def __call__(self) -> float:
        return self.secondes


class Sonde:
    """A probe that counts its calls and answers `reponse`, or never (`bloquee`)."""

    def __init__(self, reponse: bool = True) -> None:
        self.reponse = reponse
        self.appels = 0
        self.bloquee = asyncio.Event()
        self.bloquee.set()

    async def __call__(self) -> bool:
        self.appels += 1
        await self.bloquee.wait()
        return self.reponse


async def test_a_hung_journal_makes_the_replica_unready_within_the_bound() -> None:
    journal = Sonde()
    journal.bloquee.clear()  # the database never answers
    sante = Sante([Dependance("journal", SondeBornee(journal), en_panne="indisponible")])
    async with asyncio.timeout(5 * ATTENTE_SONDE_SECONDES):  # bounded: never waits on the database
        rapport = await sante.rapport()
        encore = await sante.rapport()
    assert not rapport.pret
    assert rapport.statut == "indisponible"
    assert rapport.dependances["journal"].detail == "ne répond pas en 0,8 s"
    assert not encore.pret
    assert journal.appels == 1  # the probe in flight is shared, never piled up
    journal.bloquee.set()
    await asyncio.sleep(0)
    await sante.fermer()


async def test_a_probe_answer_is_reused_while_fresh() -> None:
    horloge = Horloge()
    sonde = Sonde()
    bornee = SondeBornee(sonde, fraicheur=1.0, clock=horloge)
    assert await bornee.lire() is True
    horloge.secondes = 0.9
    assert await bornee.lire() is True
    assert sonde.appels == 1
    horloge.secondes = 1.1
    sonde.reponse = False
    assert await bornee.lire() is False
    assert sonde.appels == 2


async def test_providers_redis_and_breakers_are_degrade_with_since_when() -> None:
    instant = [T0]
    horloge = Horloge()
    disjoncteur = CircuitBreaker("API Particulier", seuil=1, ouverture_seconds=30, clock=horloge)
    api = Sonde()
    redis = Sonde(reponse=False)
    sante = Sante(
        [
            Dependance("journal", SondeBornee(Sonde(), fraicheur=0), en_panne="indisponible"),
            Dependance("cache", SondeBornee(redis, fraicheur=0), detail_panne="Redis injoignable"),
            Dependance("api_particulier", SondeBornee(api, fraicheur=0), disjoncteurs=[disjoncteur]),
        ],
        now=lambda: instant[0],
    )
    premier = await sante.rapport()
    assert premier.pret
    assert premier.statut == "degrade"
    assert premier.dependances["cache"].statut == "degrade"
    assert premier.dependances["cache"].depuis == T0
    assert premier.dependances["cache"].detail == "Redis injoignable"
    assert premier.dependances["api_particulier"].statut == "ok"
    assert premier.dependances["api_particulier"].depuis is None  # fine since the start

    instant[0] = T0 + timedelta(minutes=5)
    disjoncteur.echec()  # seuil 1: open
    second = await sante.rapport()
    api_etat = second.dependances["api_particulier"]
    assert api_etat.statut == "degrade"
    assert api_etat.depuis == T0 + timedelta(minutes=5)
    assert api_etat.detail is not None
    assert api_etat.detail.startswith("disjoncteur ouvert")
    assert second.dependances["cache"].depuis == T0  # still the same outage
    assert second.pret

    redis.reponse = True
    instant[0] = T0 + timedelta(minutes=7)
    troisieme = await sante.rapport()
    assert troisieme.dependances["cache"].statut == "ok"
    assert troisieme.dependances["cache"].depuis == T0 + timedelta(minutes=7)  # back since then
