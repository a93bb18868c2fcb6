"""CAF/MSA data through the cache and the upstream protection, against the loopback simulator:
lifetimes by meaning, stale-if-error and how it is shown, the known maintenance window, 429s."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from app.keys import KeyRing
from app.rules import explain
from app.rules.facts import Source
from app.rules.loader import charger_reglement
from app.schemas.demandeur import Demandeur
from app.services.amont.api_particulier.calendrier import fin_du_mois, maintenance_restante
from app.services.amont.api_particulier.client import ApiParticulierClient
from app.services.amont.breaker import CircuitBreaker
from app.services.amont.cache import MemoryCache, RedisCache, SecureCache
from app.services.amont.coalescing import Coalescer
from app.services.amont.collecte import Collecte
from app.services.amont.deadline import echeance
from app.services.amont.protection import Protection
from app.services.amont.quotas import MemoryLimiter, Quotas, pause_before_quota, pour_une_campagne
from app.services.amont.source_caf import SourceCaf
from app.services.organismes import Organisme
from app.simulators.api_particulier.app import create_simulator_app
from app.simulators.api_particulier.state import SimulatorConfig
from app.simulators.server import serve_simulator

ROOT = Path(__file__).resolve().parents[3]
SECRET = SecretStr("un-secret-de-test-suffisamment-long-0123456789")
MARTIN_AXELLE: dict[str, Any] = {
    "nom_naissance": "MARTIN",
    "prenoms": ["AXELLE"],
    "sexe": "F",
    "date_naissance": "1989-12-03",
    "code_cog_insee_commune_naissance": "35238",
    "code_cog_insee_pays_naissance": "99100",
}
MERCREDI = datetime(2026, 11, 4, 9, 0, tzinfo=UTC)
DIMANCHE_SOIR = datetime(2026, 11, 29, 22, 10, tzinfo=UTC)  # 23:10 in Paris (UTC+1)


class Horloge:
    def __init__(self, moment: datetime) -> None:
        self.moment = moment

    def __call__(self) -> datetime:
        return self.moment


@pytest.fixture
def organisme() -> Organisme:
    return Organisme(
        id="ccas-test",
        nom="CCAS de test",
        siret="26999000800006",
        reglement=charger_reglement(ROOT / "reglements" / "demo.yaml"),
        api_particulier_token=SecretStr("jeton-de-test"),
    )


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as client:
        yield client


def source_caf(url: str, http: httpx.AsyncClient, horloge: Horloge, **options: Any) -> SourceCaf:
    client = ApiParticulierClient(http, base_url=url, clock=horloge)
    return SourceCaf(
        api_particulier=client,
        cache=options.pop("cache", None) or SecureCache(MemoryCache(), KeyRing(SECRET)),
        coalescer=options.pop("coalescer", None) or Coalescer(),
        protection=Protection(
            fournisseur="API Particulier",
            breaker=CircuitBreaker("API Particulier", seuil=50),
            quotas=Quotas(MemoryLimiter()),
            horloge=lambda: horloge().timestamp(),  # RateLimit-Reset is read on the same clock
        ),
        ttl_quotient_familial=31 * 24 * 3600,
        stale_max_seconds=options.pop("stale_max_seconds", 45 * 24 * 3600),
        now=horloge,
    )


async def collecter(
    source: SourceCaf, organisme: Organisme, demandeur: dict[str, Any], *, deadline: float = 5
) -> Collecte:
    collecte = Collecte()
    with echeance(deadline):
        await source.collecter(collecte, "quotient_familial", Demandeur.model_validate(demandeur), organisme)
    return collecte


async def compteurs(url: str) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=url) as control:
        data: dict[str, Any] = (await control.get("/__simulateur/compteurs")).json()
    return data


async def pannes(url: str, **panne: Any) -> None:
    async with httpx.AsyncClient(base_url=url) as control:
        await control.put("/__simulateur/pannes", json=panne)


# --- lifetimes -------------------------------------------------------------------------------------


def test_a_qf_lives_until_the_end_of_the_month_in_french_time() -> None:
    assert fin_du_mois(MERCREDI) == datetime(2026, 11, 30, 23, 0, tzinfo=UTC)  # 1 December, Paris
    assert fin_du_mois(datetime(2026, 12, 31, 22, 59, tzinfo=UTC)) == datetime(
        2026, 12, 31, 23, 0, tzinfo=UTC
    )


async def test_a_cached_qf_is_fresh_for_its_month_then_refetched(
    simulateur: str, http: httpx.AsyncClient, organisme: Organisme
) -> None:
    horloge = Horloge(MERCREDI)
    source = source_caf(simulateur, http, horloge)
    await collecter(source, organisme, MARTIN_AXELLE)

    horloge.moment = datetime(2026, 11, 30, 22, 59, tzinfo=UTC)  # 23:59 on 30 November in Paris
    fresh = await collecter(source, organisme, MARTIN_AXELLE)
    assert (await compteurs(simulateur))["total"] == 1
    assert fresh.faits["quotient_familial_caf"].source.depuis_cache

    horloge.moment = datetime(2026, 11, 30, 23, 0, tzinfo=UTC)  # 1 December in Paris
    refetched = await collecter(source, organisme, MARTIN_AXELLE)
    assert (await compteurs(simulateur))["total"] == 2
    assert not refetched.faits["quotient_familial_caf"].source.depuis_cache


# --- stale-if-error --------------------------------------------------------------------------------


async def test_stale_if_error_serves_the_last_qf_and_says_so(
    simulateur: str, http: httpx.AsyncClient, organisme: Organisme
) -> None:
    horloge = Horloge(MERCREDI)
    source = source_caf(simulateur, http, horloge)
    await collecter(source, organisme, MARTIN_AXELLE)
    horloge.moment = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)
    await pannes(simulateur, mode="erreur_serveur", status=502)

    collecte = await collecter(source, organisme, MARTIN_AXELLE)

    fait = collecte.faits["quotient_familial_caf"]
    assert fait.valeur == 150
    assert fait.source.perime
    assert fait.source.depuis_cache
    assert "quotient_familial_caf" not in collecte.indisponibles  # used, not missing
    [note] = collecte.donnees_indisponibles
    assert note.code == "donnee-en-cache-source-indisponible"
    assert note.raison.startswith("QF de ")
    assert "obtenu le 4 novembre 2026" in note.raison
    assert "source indisponible" in note.raison
    assert "source indisponible" in explain.source(fait.source)


async def test_beyond_the_stale_bound_the_data_is_unavailable(
    simulateur: str, http: httpx.AsyncClient, organisme: Organisme
) -> None:
    horloge = Horloge(MERCREDI)
    source = source_caf(simulateur, http, horloge, stale_max_seconds=0)
    await collecter(source, organisme, MARTIN_AXELLE)
    horloge.moment = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)
    await pannes(simulateur, mode="erreur_serveur", status=502)

    collecte = await collecter(source, organisme, MARTIN_AXELLE)

    assert "quotient_familial_caf" in collecte.indisponibles
    assert collecte.indisponibles["quotient_familial_caf"].code == "fournisseur-indisponible"


def test_a_stale_source_reads_as_such() -> None:
    fraiche = Source("CNAF", certifie=True, periode="2026-11", obtenu_le=MERCREDI, depuis_cache=True)
    perimee = Source(
        "CNAF", certifie=True, periode="2026-11", obtenu_le=MERCREDI, depuis_cache=True, perime=True
    )

    assert explain.source(fraiche) == "novembre 2026, CNAF"
    assert explain.source(perimee) == "novembre 2026, CNAF, obtenu le 4 novembre 2026, source indisponible"


# --- across workers --------------------------------------------------------------------------------


@pytest.mark.integration
async def test_a_person_unknown_upstream_is_asked_once_for_two_workers(
    http: httpx.AsyncClient, organisme: Organisme
) -> None:
    """Two workers (two sources on one Redis) ask at once for a person the CAF does not know: the
    leader's 404 is the waiting worker's answer too, traced as handed over rather than called."""
    backend = RedisCache.from_url("redis://127.0.0.1:6379/15")
    cache = SecureCache(backend, KeyRing(SECRET))
    # An organisme of its own: its keys are nobody else's (a 404 stores no answer, and the shared
    # failure expires within seconds).
    organisme = replace(organisme, id=f"ccas-test-{secrets.token_hex(4)}")
    demandeur = inconnu(5)
    try:
        async with serve_simulator(create_simulator_app(SimulatorConfig(latency_seconds=0.3))) as url:
            workers = [
                source_caf(url, http, Horloge(MERCREDI), cache=cache, coalescer=Coalescer(backend.client))
                for _ in range(2)
            ]
            collectes = await asyncio.gather(*(collecter(w, organisme, demandeur) for w in workers))
            for worker in workers:
                await worker._coalescer.fermer()
            appels = (await compteurs(url))["total"]
    finally:
        await backend.close()

    assert appels == 1
    assert [c.donnees_indisponibles[0].code for c in collectes] == ["personne-introuvable"] * 2
    assert sorted(c.appels[0].depuis_cache for c in collectes) == [False, True]
    assert all(c.appels[0].statut_http == 404 for c in collectes)


async def test_a_campaign_line_taken_again_is_answered_from_what_the_provider_said(
    simulateur: str, http: httpx.AsyncClient, organisme: Organisme
) -> None:
    """Exactly once (issue 18): the provider's answer to a campaign line is stored the moment it
    arrives, so the line taken again after its worker died calls no one — a person found (in the
    cache, as for everyone) or not found (kept for campaign lines taken again only)."""
    source = source_caf(simulateur, http, Horloge(MERCREDI))
    for ligne, demandeur in enumerate((MARTIN_AXELLE, inconnu(7))):
        with pour_une_campagne(60, ligne=f"ligne-{ligne}"):
            premiere = await collecter(source, organisme, demandeur)
        with pour_une_campagne(60, ligne=f"ligne-{ligne}", reprise=True):
            reprise = await collecter(source, organisme, demandeur)
        assert [a.depuis_cache for a in premiere.appels] == [False]
        assert [a.depuis_cache for a in reprise.appels] == [True]
        assert premiere.faits.keys() == reprise.faits.keys()
        assert [d.code for d in reprise.donnees_indisponibles] == [
            d.code for d in premiere.donnees_indisponibles
        ]
    assert (await compteurs(simulateur))["total"] == 2
    assert [d.code for d in reprise.donnees_indisponibles] == ["personne-introuvable"]

    # Neither the counter nor another line is served a refusal kept for a line: they ask.
    guichet = await collecter(source, organisme, inconnu(7))
    with pour_une_campagne(60, ligne="une-autre-ligne", reprise=True):
        autre = await collecter(source, organisme, inconnu(7))
    assert [a.depuis_cache for a in [*guichet.appels, *autre.appels]] == [False, False]
    assert (await compteurs(simulateur))["total"] == 4


# --- maintenance and quotas ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("moment", "reste"),
    [
        (DIMANCHE_SOIR, 35 * 60),
        (datetime(2026, 11, 29, 21, 59, tzinfo=UTC), None),  # 22:59 in Paris
        (datetime(2026, 11, 29, 22, 45, tzinfo=UTC), None),  # 23:45 in Paris: over
        (datetime(2026, 11, 28, 22, 10, tzinfo=UTC), None),  # a Saturday
        (datetime(2026, 7, 5, 21, 30, tzinfo=UTC), 15 * 60),  # summer time: 23:30 in Paris
    ],
)
def test_the_maintenance_window_is_sunday_evening_in_paris(moment: datetime, reste: int | None) -> None:
    assert maintenance_restante(moment) == reste


async def test_the_maintenance_window_answers_at_once_without_calling(
    simulateur: str, http: httpx.AsyncClient, organisme: Organisme
) -> None:
    source = source_caf(simulateur, http, Horloge(DIMANCHE_SOIR))

    collecte = await collecter(source, organisme, MARTIN_AXELLE)

    assert (await compteurs(simulateur))["total"] == 0
    [indisponible] = collecte.donnees_indisponibles
    assert indisponible.code == "fournisseur-indisponible"
    assert "maintenance programmée" in indisponible.raison
    assert indisponible.erreur is not None
    assert indisponible.erreur.retry_after == 35 * 60


def inconnu(n: int) -> dict[str, Any]:
    """A valid identity the sandbox does not know (a 404, but a call all the same)."""
    return {**MARTIN_AXELLE, "nom_naissance": "INCONNU" + "X" * n}


async def test_a_429_stops_the_token_until_retry_after(http: httpx.AsyncClient, organisme: Organisme) -> None:
    # The simulator allows 1 call/s while the gateway believes in 20/s, and its clock only moves
    # when told: the second call is a 429 (Retry-After: 1) whatever the machine's speed.
    horloge_simulateur = Horloge(datetime(2026, 11, 4, 9, 0, 0, 500_000, tzinfo=UTC))
    config = SimulatorConfig(rate_limit_per_second=1, clock=horloge_simulateur)
    async with serve_simulator(create_simulator_app(config)) as url:
        source = source_caf(url, http, Horloge(MERCREDI))
        premier = await collecter(source, organisme, inconnu(1))
        refuse = await collecter(source, organisme, inconnu(2))
        # Within Retry-After, a request whose deadline cannot wait that long is refused unsent.
        presse = await collecter(source, organisme, inconnu(3), deadline=0.5)
        appels_pendant_la_pause = (await compteurs(url))["total"]
        horloge_simulateur.moment = horloge_simulateur.moment.replace(second=1)
        patient = await collecter(source, organisme, inconnu(4))
        statuts = (await compteurs(url))["par_statut"]["quotient_familial/identite"]

    assert premier.donnees_indisponibles[0].code == "personne-introuvable"
    assert refuse.donnees_indisponibles[0].code == "quota-fournisseur-atteint"  # not retried
    assert presse.donnees_indisponibles[0].code == "quota-fournisseur-atteint"
    assert appels_pendant_la_pause == 2
    assert patient.donnees_indisponibles[0].code == "personne-introuvable"  # waited, then called
    assert statuts == {"404": 2, "429": 1}


@pytest.mark.parametrize(
    ("limite", "restant", "reinitialisation", "pause"),
    [
        (20, 19, 1001, 0.0),  # plenty left
        (20, 6, 1001, 0.0),  # above a quarter
        (20, 5, 1001, 1 / 6),  # a quarter left: what remains of the window, shared out
        (20, 1, 1001, 0.5),
        (20, 0, 1001, 1.0),  # exhausted: until the reset
        (20, 0, 999, 0.0),  # the window is already over
        (None, 0, 1001, 1.0),
        (20, None, 1001, 0.0),  # headers absent: nothing to go by
        (20, 0, 5000, 60.0),  # never longer than a minute
    ],
)
def test_the_pause_before_the_quota_follows_the_ratelimit_headers(
    limite: int | None, restant: int | None, reinitialisation: int, pause: float
) -> None:
    assert pause_before_quota(limite, restant, reinitialisation, maintenant=1000.0) == pytest.approx(pause)


async def test_a_nearly_spent_window_slows_the_token_down_before_any_429(
    http: httpx.AsyncClient, organisme: Organisme
) -> None:
    # The simulator allows 4 calls/s and its clock stands still half-way through a second: its
    # window resets in 0.5 s. The gateway believes in 20/s, so only the headers can slow it down.
    horloge_simulateur = Horloge(datetime(2026, 11, 4, 9, 0, 0, 500_000, tzinfo=UTC))
    config = SimulatorConfig(rate_limit_per_second=4, clock=horloge_simulateur)
    async with serve_simulator(create_simulator_app(config)) as url:
        source = source_caf(url, http, Horloge(MERCREDI))
        libres = [await collecter(source, organisme, inconnu(n)) for n in (1, 2)]  # 3, then 2 left
        dernier_avant = await collecter(source, organisme, inconnu(3))  # 1 left: calls spaced out
        presse = await collecter(source, organisme, inconnu(4), deadline=0.2)
        statuts = (await compteurs(url))["par_statut"]["quotient_familial/identite"]

    assert [c.donnees_indisponibles[0].code for c in [*libres, dernier_avant]] == ["personne-introuvable"] * 3
    # Held back for (1 s left) / 2 = 0.5 s: a request that cannot wait that long is not sent at all.
    assert presse.donnees_indisponibles[0].code == "quota-fournisseur-atteint"
    assert statuts == {"404": 3}
