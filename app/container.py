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
from app.services.donnees_caf import SourceCaf
from app.services.donnees_fiscales import AccesImpotParticulier, SourceImpot
from app.services.eligibilite import EligibiliteService
from app.services.impot_particulier import TokenProvider, TokenProviders, create_http_client
from app.services.journal import Journal
from app.services.keys import KeyRing
from app.services.organismes import AnnuaireOrganismes, Client, Organisme, hash_api_key
from app.services.pre_remplissage import PreRemplissageService
from app.simulators.api_particulier.app import create_simulator_app
from app.simulators.impot_particulier import (
    BASE_PATH,
    SIMULATEUR_CLIENT_ID,
    SIMULATEUR_CLIENT_SECRET,
    SIMULATEUR_ID_TELESERVICE,
    create_impot_simulator_app,
)
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
        backend = RedisCache.from_url(settings.redis_url)
        redis = backend.client
        stack.push_async_callback(redis.aclose)
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
            serve_simulator(create_simulator_app(), host="127.0.0.1", port=settings.sandbox_simulator_port)
        )
        logger.info("sandbox.simulator_started", fournisseur="API Particulier")
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

    coalescer = Coalescer()
    annuaire = _annuaire(settings)
    collecte = CollecteDonnees(
        caf=SourceCaf(
            api_particulier=api_particulier,
            cache=cache,
            coalescer=coalescer,
            ttl_quotient_familial=settings.cache_ttl_quotient_familial_seconds,
        ),
        impot=await _source_impot(settings, stack, cache, coalescer),
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


async def _source_impot(
    settings: Settings, stack: AsyncExitStack, cache: SecureCache, coalescer: Coalescer
) -> SourceImpot | None:
    """API Impôt particulier: the built-in simulator in sandbox mode, else the configured one."""
    if settings.uses_builtin_api_impot_particulier:
        simulator = await stack.enter_async_context(
            serve_simulator(
                create_impot_simulator_app(), host="127.0.0.1", port=settings.sandbox_impot_simulator_port
            )
        )
        base_url, token_url = simulator + BASE_PATH, simulator + "/token"
        id_teleservice: str | None = SIMULATEUR_ID_TELESERVICE
    elif settings.api_impot_particulier_url and settings.api_impot_particulier_token_url:
        base_url, token_url = settings.api_impot_particulier_url, settings.api_impot_particulier_token_url
        id_teleservice = settings.api_impot_particulier_id_teleservice
    else:
        return None
    timeout = httpx.Timeout(settings.api_impot_particulier_timeout_seconds)
    http = create_http_client(
        certificat=settings.api_impot_particulier_cert_file,
        cle_privee=settings.api_impot_particulier_key_file,
        mot_de_passe_cle=settings.api_impot_particulier_key_password,
        autorites=settings.api_impot_particulier_ca_file,
        timeout=timeout,
    )
    stack.push_async_callback(http.aclose)

    def token_provider(client_id: str, secret: SecretStr, scopes: tuple[str, ...]) -> TokenProvider:
        return TokenProvider(
            http, token_url=token_url, client_id=client_id, client_secret=secret, scopes=scopes
        )

    return SourceImpot(
        http=http,
        acces=AccesImpotParticulier(
            base_url=base_url, id_teleservice=id_teleservice, sandbox=settings.is_sandbox
        ),
        tokens=TokenProviders(token_provider),
        cache=cache,
        coalescer=coalescer,
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
        impot_client_id=settings.api_impot_particulier_client_id
        or (SIMULATEUR_CLIENT_ID if settings.uses_builtin_api_impot_particulier else None),
        impot_client_secret=settings.api_impot_particulier_client_secret
        or (SecretStr(SIMULATEUR_CLIENT_SECRET) if settings.uses_builtin_api_impot_particulier else None),
    )
    client = Client(id="demo", organisme_id=demo.id)
    key = settings.gateway_demo_api_key.get_secret_value()
    return AnnuaireOrganismes([demo], {hash_api_key(key): client})
