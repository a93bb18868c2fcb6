"""DGFiP answers through the gateway's cache, when the operator enables it: lifetime, stale-if-error
(served only when DGFiP is down or silent, and said to be), nothing cached when it is not enabled."""

from __future__ import annotations

import asyncio
import functools
import json
import secrets
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client import REGISTRY
from pydantic import SecretStr

from app.keys import KeyRing
from app.rules import explain
from app.rules.loader import charger_reglement
from app.schemas.demandeur import Demandeur
from app.services.amont.breaker import CircuitBreaker
from app.services.amont.cache import MemoryCache, RedisCache, SecureCache
from app.services.amont.coalescing import Coalescer
from app.services.amont.collecte import Collecte
from app.services.amont.deadline import echeance
from app.services.amont.impot_particulier import (
    FOURNISSEUR,
    ImpotParticulierClient,
    TokenProvider,
    TokenProviders,
)
from app.services.amont.protection import Protection
from app.services.amont.quotas import MemoryLimiter, Quotas
from app.services.amont.source_impot import (
    DONNEE_IMPOT,
    ENDPOINT_IMPOT,
    AccesImpotParticulier,
    CacheImpot,
    SourceImpot,
)
from app.services.organismes import Organisme
from app.simulators.impot_particulier import (
    BASE_PATH,
    SIMULATEUR_CLIENT_ID,
    SIMULATEUR_CLIENT_SECRET,
    ImpotSimulatorConfig,
    create_impot_simulator_app,
)
from app.simulators.impot_particulier.foyers import Foyer, foyers_par_defaut
from tests.services.amont.impot_particulier.conftest import MOMENT, SIM_URL

ROOT = Path(__file__).resolve().parents[4]
SECRET = SecretStr("un-secret-de-test-suffisamment-long-0123456789")
SPI = "3999999898230"  # CIS QUATORZE and CIS TRENTEHUIT, revenus 2024 on MOMENT
SPI_404 = "3999999119473"  # the simulator's "404" foyer
CIS_QUATORZE: dict[str, Any] = {
    "nom_naissance": "CIS QUATORZE",
    "prenoms": ["VINCENT"],
    "sexe": "M",
    "date_naissance": "1973-08-02",
    "code_cog_insee_commune_naissance": "94080",
    "code_cog_insee_pays_naissance": "99100",
    "numero_fiscal": SPI,
}
JOUR = 24 * 3600
FAITS_IMPOT = ("revenu_fiscal_de_reference", "nombre_de_parts", "situation_familiale", "impot_sur_le_revenu")


class Horloge:
    """The gateway's clock (the simulator keeps its own, fixed on MOMENT: same taxed year)."""

    def __init__(self, moment: datetime) -> None:
        self.moment = moment

    def __call__(self) -> datetime:
        return self.moment

    def avancer(self, secondes: float) -> None:
        self.moment += timedelta(seconds=secondes)


@pytest.fixture
def foyers() -> dict[str, Foyer]:
    """The simulator's foyers, a copy a test can change (the shipped mapping is shared)."""
    return dict(foyers_par_defaut())


@pytest.fixture
async def dgfip(foyers: dict[str, Foyer]) -> AsyncIterator[httpx.AsyncClient]:
    app = create_impot_simulator_app(ImpotSimulatorConfig(clock=lambda: MOMENT, foyers=foyers))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=SIM_URL) as http:
        yield http


@pytest.fixture
def organisme() -> Organisme:
    return Organisme(
        id="ccas-test",
        nom="CCAS de test",
        siret="26999000800006",
        reglement=charger_reglement(ROOT / "reglements" / "demo.yaml"),
        api_particulier_token=None,
        impot_client_id=SIMULATEUR_CLIENT_ID,
        impot_client_secret=SecretStr(SIMULATEUR_CLIENT_SECRET),
    )


@pytest.fixture
def horloge() -> Horloge:
    return Horloge(MOMENT)


@pytest.fixture
def cache() -> SecureCache:
    return SecureCache(MemoryCache(), KeyRing(SECRET))


def source_impot(
    dgfip: httpx.AsyncClient,
    horloge: Horloge,
    cache: SecureCache,
    *,
    actif: bool = True,
    ttl_seconds: int = JOUR,
    stale_max_seconds: int = 7 * JOUR,
    coalescer: Coalescer | None = None,
) -> SourceImpot:
    def tokens(client_id: str, secret: SecretStr, scopes: tuple[str, ...]) -> TokenProvider:
        return TokenProvider(
            dgfip, token_url=f"{SIM_URL}/token", client_id=client_id, client_secret=secret, scopes=scopes
        )

    return SourceImpot(
        http=dgfip,
        acces=AccesImpotParticulier(base_url=SIM_URL + BASE_PATH, id_teleservice=None, sandbox=True),
        tokens=TokenProviders(tokens),
        cache=cache,
        coalescer=coalescer or Coalescer(),
        protection=Protection(
            fournisseur=FOURNISSEUR,
            breaker=CircuitBreaker(FOURNISSEUR, seuil=50),
            quotas=Quotas(MemoryLimiter()),
        ),
        cache_impot=CacheImpot(actif=actif, ttl_seconds=ttl_seconds),
        stale_max_seconds=stale_max_seconds,
        # The answer's `obtenu_le` comes from the client: the same clock as the cache's.
        client_factory=functools.partial(ImpotParticulierClient, now=horloge),
        now=horloge,
    )


async def collecter(
    source: SourceImpot, organisme: Organisme, demandeur: dict[str, Any] = CIS_QUATORZE
) -> Collecte:
    collecte = Collecte()
    valide = Demandeur.model_validate(demandeur)
    with echeance(0.5):
        await source.collecter(collecte, valide, organisme, source.valider(valide))
    return collecte


async def appels_dgfip(dgfip: httpx.AsyncClient) -> int:
    total: int = (await dgfip.get("/__simulateur/compteurs")).json()["total"]
    return total


async def pannes(dgfip: httpx.AsyncClient, **panne: Any) -> None:
    (await dgfip.put("/__simulateur/pannes", json=panne)).raise_for_status()


def perimes_servis() -> float:
    valeur = REGISTRY.get_sample_value("eg_cache_perime_servi_total", {"donnee": DONNEE_IMPOT})
    return valeur or 0.0


# --- lifetime --------------------------------------------------------------------------------------


async def test_a_fresh_entry_answers_without_a_call(
    dgfip: httpx.AsyncClient, horloge: Horloge, cache: SecureCache, organisme: Organisme
) -> None:
    source = source_impot(dgfip, horloge, cache)
    premiere = await collecter(source, organisme)
    horloge.avancer(JOUR - 1)

    seconde = await collecter(source, organisme)

    assert await appels_dgfip(dgfip) == 1
    assert not premiere.faits["revenu_fiscal_de_reference"].source.depuis_cache
    fait = seconde.faits["revenu_fiscal_de_reference"]
    assert fait.valeur == premiere.faits["revenu_fiscal_de_reference"].valeur
    assert fait.source.depuis_cache
    assert not fait.source.perime
    assert seconde.donnees_indisponibles == []
    [appel] = seconde.appels
    assert (appel.issue, appel.depuis_cache) == ("succes", True)


async def test_the_numero_fiscal_is_neither_in_the_key_nor_in_the_value(
    dgfip: httpx.AsyncClient, horloge: Horloge, cache: SecureCache, organisme: Organisme
) -> None:
    source = source_impot(dgfip, horloge, cache)
    await collecter(source, organisme)

    cle = cache.cle(organisme.id, "impot_particulier.ir", SPI, "")
    stored = await cache.get_json(cle)

    assert stored is not None
    assert SPI not in cle
    assert SPI not in json.dumps(stored)
    assert stored["frais_jusqu_au"] == (MOMENT + timedelta(seconds=JOUR)).isoformat()


async def test_an_entry_without_a_lifetime_is_read_as_fresh(
    dgfip: httpx.AsyncClient, horloge: Horloge, cache: SecureCache, organisme: Organisme
) -> None:
    """Entries written before stale-if-error: fresh until their backend TTL, as they were."""
    source = source_impot(dgfip, horloge, cache)
    await collecter(source, organisme)
    cle = cache.cle(organisme.id, "impot_particulier.ir", SPI, "")
    stored = await cache.get_json(cle)
    assert stored is not None
    del stored["frais_jusqu_au"]
    await cache.set_json(cle, stored, JOUR)
    horloge.avancer(3 * JOUR)  # past the lifetime a new entry would have

    collecte = await collecter(source, organisme)

    assert await appels_dgfip(dgfip) == 1
    assert collecte.faits["revenu_fiscal_de_reference"].source.depuis_cache
    assert not collecte.faits["revenu_fiscal_de_reference"].source.perime


# --- stale-if-error --------------------------------------------------------------------------------


#: The fault injected, and the outcome the journal's trace must show for the failed call.
PANNES: dict[str, tuple[dict[str, Any], str]] = {
    "503": ({"mode": "erreur_serveur", "status": 503}, "fournisseur-indisponible"),
    "delai": ({"mode": "delai_depasse", "timeout_sleep_seconds": 5.0}, "fournisseur-hors-delai"),
}


@pytest.mark.parametrize("cas", sorted(PANNES))
async def test_a_stale_entry_is_served_when_dgfip_fails_and_says_so(
    dgfip: httpx.AsyncClient, horloge: Horloge, cache: SecureCache, organisme: Organisme, cas: str
) -> None:
    panne, issue = PANNES[cas]
    source = source_impot(dgfip, horloge, cache)
    fraiche = await collecter(source, organisme)
    horloge.avancer(2 * JOUR)  # past its day of lifetime, within the week of stale-if-error
    await pannes(dgfip, **panne)
    avant = perimes_servis()

    collecte = await collecter(source, organisme)

    for nom in FAITS_IMPOT:
        fait = collecte.faits[nom]
        assert fait.valeur == fraiche.faits[nom].valeur
        assert fait.source.perime
        assert fait.source.depuis_cache
    assert not collecte.indisponibles  # used, not missing
    assert collecte.donnees[DONNEE_IMPOT] == fraiche.donnees[DONNEE_IMPOT]
    [note] = collecte.donnees_indisponibles
    assert (note.donnee, note.code) == (DONNEE_IMPOT, "donnee-en-cache-source-indisponible")
    assert note.raison.startswith(
        "Revenus 2024 (avis d'impôt) obtenus le 1er mars 2026 (cache de la passerelle), "
        "source indisponible : "
    )
    assert SPI not in note.raison
    [appel] = collecte.appels  # DGFiP was asked first: the failed call, not a success from the cache
    assert (appel.endpoint, appel.fournisseur) == (ENDPOINT_IMPOT, FOURNISSEUR)
    assert not appel.depuis_cache
    assert appel.issue == issue
    assert perimes_servis() == avant + 1
    source_affichee = explain.source(collecte.faits["revenu_fiscal_de_reference"].source)
    assert "obtenu le 1er mars 2026, source indisponible" in source_affichee


async def test_a_stale_entry_is_replaced_when_dgfip_answers(
    dgfip: httpx.AsyncClient, horloge: Horloge, cache: SecureCache, organisme: Organisme
) -> None:
    source = source_impot(dgfip, horloge, cache)
    await collecter(source, organisme)
    horloge.avancer(2 * JOUR)

    rafraichie = await collecter(source, organisme)
    horloge.avancer(JOUR - 1)  # within the new answer's lifetime
    relue = await collecter(source, organisme)

    assert await appels_dgfip(dgfip) == 2
    fait = rafraichie.faits["revenu_fiscal_de_reference"]
    assert not fait.source.depuis_cache
    assert not fait.source.perime
    assert fait.source.obtenu_le == MOMENT + timedelta(days=2)
    assert rafraichie.donnees_indisponibles == []
    assert relue.faits["revenu_fiscal_de_reference"].source.depuis_cache
    assert relue.faits["revenu_fiscal_de_reference"].source.obtenu_le == MOMENT + timedelta(days=2)


async def test_beyond_the_stale_bound_nothing_is_served(
    dgfip: httpx.AsyncClient, horloge: Horloge, cache: SecureCache, organisme: Organisme
) -> None:
    source = source_impot(dgfip, horloge, cache, stale_max_seconds=JOUR)
    await collecter(source, organisme)
    horloge.avancer(2 * JOUR)  # lifetime (1 day) + stale bound (1 day): over
    await pannes(dgfip, mode="erreur_serveur", status=503)

    collecte = await collecter(source, organisme)

    assert "revenu_fiscal_de_reference" not in collecte.faits
    assert collecte.indisponibles["revenu_fiscal_de_reference"].code == "fournisseur-indisponible"
    assert [n.code for n in collecte.donnees_indisponibles] == ["fournisseur-indisponible"]


async def test_without_the_cache_nothing_is_kept_nor_served_stale(
    dgfip: httpx.AsyncClient, horloge: Horloge, cache: SecureCache, organisme: Organisme
) -> None:
    source = source_impot(dgfip, horloge, cache, actif=False)
    await collecter(source, organisme)
    again = await collecter(source, organisme)
    assert await appels_dgfip(dgfip) == 2
    assert not again.faits["revenu_fiscal_de_reference"].source.depuis_cache
    assert await cache.get_json(cache.cle(organisme.id, "impot_particulier.ir", SPI, "")) is None
    await pannes(dgfip, mode="erreur_serveur", status=503)

    collecte = await collecter(source, organisme)

    assert "revenu_fiscal_de_reference" not in collecte.faits
    assert collecte.indisponibles["revenu_fiscal_de_reference"].code == "fournisseur-indisponible"


async def test_a_person_not_found_is_not_hidden_by_a_stale_entry(
    dgfip: httpx.AsyncClient,
    horloge: Horloge,
    cache: SecureCache,
    organisme: Organisme,
    foyers: dict[str, Foyer],
) -> None:
    source = source_impot(dgfip, horloge, cache)
    await collecter(source, organisme)
    horloge.avancer(2 * JOUR)
    foyers[SPI] = replace(foyers[SPI], erreur=foyers[SPI_404].erreur)  # DGFiP now answers 404
    avant = perimes_servis()

    collecte = await collecter(source, organisme)

    assert "revenu_fiscal_de_reference" not in collecte.faits
    [note] = collecte.donnees_indisponibles
    assert note.code != "donnee-en-cache-source-indisponible"
    assert collecte.indisponibles["revenu_fiscal_de_reference"].code == note.code
    [appel] = collecte.appels
    assert appel.statut_http == 404
    assert perimes_servis() == avant


# --- across workers --------------------------------------------------------------------------------


@pytest.mark.integration
async def test_with_the_cache_on_two_workers_ask_dgfip_once_about_an_unknown_number(
    horloge: Horloge, organisme: Organisme, foyers: dict[str, Foyer]
) -> None:
    """Two workers (two sources on one Redis) ask at once; DGFiP answers 404 after 0.3 s: the
    waiting worker takes the leader's failure instead of calling, and says it did not call."""
    app = create_impot_simulator_app(
        ImpotSimulatorConfig(clock=lambda: MOMENT, foyers=foyers, latency_seconds=0.3)
    )
    backend = RedisCache.from_url("redis://127.0.0.1:6379/15")
    cache = SecureCache(backend, KeyRing(SECRET))
    organisme = replace(organisme, id=f"ccas-test-{secrets.token_hex(4)}")  # keys of its own
    inconnu = {**CIS_QUATORZE, "numero_fiscal": SPI_404}
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=SIM_URL) as dgfip:
            workers = [
                source_impot(dgfip, horloge, cache, coalescer=Coalescer(backend.client)) for _ in range(2)
            ]
            collectes = await asyncio.gather(*(collecter_sans_hate(w, organisme, inconnu) for w in workers))
            for worker in workers:
                await worker._coalescer.fermer()
            appels = await appels_dgfip(dgfip)
    finally:
        await backend.close()

    # The token request is not a data call: one call for the two workers.
    assert appels == 1
    assert [c.donnees_indisponibles[0].code for c in collectes] == ["personne-introuvable"] * 2
    assert sorted(c.appels[0].depuis_cache for c in collectes) == [False, True]


async def collecter_sans_hate(
    source: SourceImpot, organisme: Organisme, demandeur: dict[str, Any]
) -> Collecte:
    collecte = Collecte()
    valide = Demandeur.model_validate(demandeur)
    with echeance(5):
        await source.collecter(collecte, valide, organisme, source.valider(valide))
    return collecte
