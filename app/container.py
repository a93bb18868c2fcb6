"""The process-wide services the lifespan opens once and hands to requests through typed state.

`open_services` registers every close on the lifespan's exit stack, so nothing outlives the app:
the httpx client, Redis, the database engine and, in sandbox mode, the built-in simulator.
"""

from __future__ import annotations

import asyncio
from contextlib import AsyncExitStack
from dataclasses import dataclass

import httpx
import structlog
from pydantic import SecretStr
from redis.asyncio import Redis

from app.config import DEMO_ORGANISME_SIRET, Settings
from app.db.engine import create_engine_from_url
from app.db.migrate import upgrade_database
from app.rules.loader import charger_reglement
from app.services.api_particulier.client import ApiParticulierClient
from app.services.cache import CacheBackend, MemoryCache, RedisCache, SecureCache
from app.services.coalescing import Coalescer
from app.services.donnees import CollecteDonnees
from app.services.eligibilite import EligibiliteService
from app.services.journal import Journal
from app.services.keys import KeyRing
from app.services.organismes import AnnuaireOrganismes, Client, Organisme, hash_api_key
from app.services.pre_remplissage import PreRemplissageService
from app.simulators.api_particulier.app import create_simulator_app
from app.simulators.server import serve_simulator

logger = structlog.get_logger(__name__)

#: Bearer token the gateway sends to its built-in simulator (which accepts any sandbox token).
SANDBOX_UPSTREAM_TOKEN = "jeton-bac-a-sable"  # noqa: S105 - not a secret: the simulator's own token


@dataclass(frozen=True, slots=True)
class Services:
    settings: Settings
    annuaire: AnnuaireOrganismes
    api_particulier: ApiParticulierClient
    cache: SecureCache
    journal: Journal
    collecte: CollecteDonnees
    eligibilite: EligibiliteService
    pre_remplissage: PreRemplissageService
    redis: Redis | None
    api_particulier_url: str


async def open_services(settings: Settings, stack: AsyncExitStack) -> Services:
    keyring = KeyRing(settings.gateway_secret_key, settings.cache_encryption_keys)

    redis: Redis | None = None
    backend: CacheBackend
    if settings.redis_url:
        redis = Redis.from_url(settings.redis_url, socket_timeout=0.5, socket_connect_timeout=0.5)
        stack.push_async_callback(redis.aclose)
        backend = RedisCache(redis)
    else:
        backend = MemoryCache()
    cache = SecureCache(backend, keyring)

    if settings.database_auto_migrate:
        await asyncio.to_thread(upgrade_database, settings.database_url)
    engine = create_engine_from_url(settings.database_url)
    stack.push_async_callback(engine.dispose)
    journal = Journal(engine)

    if settings.uses_builtin_api_particulier:
        api_particulier_url = await stack.enter_async_context(
            serve_simulator(
                create_simulator_app(), host="127.0.0.1", port=settings.sandbox_simulator_port
            )
        )
        logger.info("sandbox.simulator_started", fournisseur="API Particulier", url=None)
    else:
        assert settings.api_particulier_url is not None  # noqa: S101 - guaranteed by uses_builtin_api_particulier
        api_particulier_url = settings.api_particulier_url

    http = httpx.AsyncClient(
        timeout=httpx.Timeout(settings.api_particulier_timeout_seconds),
        limits=httpx.Limits(max_connections=100, max_keepalive_connections=20),
        follow_redirects=False,
    )
    stack.push_async_callback(http.aclose)
    api_particulier = ApiParticulierClient(
        http,
        base_url=api_particulier_url,
        timeout=httpx.Timeout(settings.api_particulier_timeout_seconds),
    )

    annuaire = _annuaire(settings)
    collecte = CollecteDonnees(
        api_particulier=api_particulier,
        cache=cache,
        coalescer=Coalescer(),
        ttl_quotient_familial=settings.cache_ttl_quotient_familial_seconds,
    )
    eligibilite = EligibiliteService(collecte=collecte, journal=journal, keyring=keyring)
    return Services(
        settings=settings,
        annuaire=annuaire,
        api_particulier=api_particulier,
        cache=cache,
        journal=journal,
        collecte=collecte,
        eligibilite=eligibilite,
        pre_remplissage=PreRemplissageService(collecte=collecte, journal=journal, keyring=keyring),
        redis=redis,
        api_particulier_url=api_particulier_url,
    )


def _annuaire(settings: Settings) -> AnnuaireOrganismes:
    """Sandbox: the demo organisme and its demo key. Production organismes come with issue #7."""
    if not settings.is_sandbox:
        logger.warning("organismes.none_configured", mode=settings.gateway_mode)
        return AnnuaireOrganismes([], {})
    reglement = charger_reglement(settings.reglements_dir / settings.demo_reglement_file)
    token = settings.api_particulier_token
    if token is None:
        token = SecretStr(SANDBOX_UPSTREAM_TOKEN)
    demo = Organisme(
        id="ccas-demoville",
        nom="CCAS de Démoville (fictif)",
        siret=settings.gateway_demo_siret or DEMO_ORGANISME_SIRET,
        reglement=reglement,
        api_particulier_token=token,
    )
    client = Client(id="demo", organisme_id=demo.id)
    key = settings.gateway_demo_api_key.get_secret_value()
    return AnnuaireOrganismes([demo], {hash_api_key(key): client})
