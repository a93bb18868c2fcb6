"""The process-wide services the lifespan opens once and hands to requests through typed state.

`open_services` registers every close on the lifespan's exit stack, so nothing outlives the app:
the httpx client, Redis, the database engine and, in sandbox mode, the built-in simulator.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass

import httpx
import structlog
from pydantic import SecretStr
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine
from taskiq import InMemoryBroker

from app.config import DEFAULT_DEMO_API_KEY, DEMO_ORGANISME_SIRET, Settings
from app.db.engine import create_engine_from_url
from app.db.migrate import upgrade_database
from app.errors import ConfigurationError
from app.keys import PURPOSE_ADRESSE_SOURCE, PURPOSE_QUOTA_SUJET, KeyRing, derive_key
from app.services.amont.api_particulier.client import ApiParticulierClient
from app.services.amont.breaker import CircuitBreaker, DiffusionDisjoncteurs
from app.services.amont.cache import CacheBackend, MemoryCache, RedisCache, SecureCache
from app.services.amont.coalescing import Coalescer
from app.services.amont.donnees import CollecteDonnees
from app.services.amont.impot_particulier import FOURNISSEUR as FOURNISSEUR_IMPOT
from app.services.amont.impot_particulier import TokenProvider, TokenProviders, create_http_client
from app.services.amont.protection import Protection
from app.services.amont.quotas import Limiter, MemoryLimiter, Quota, Quotas, RedisLimiter
from app.services.amont.source_caf import QuotasApiParticulier, SourceCaf
from app.services.amont.source_impot import AccesImpotParticulier, CacheImpot, SourceImpot
from app.services.campagnes import (
    CampagnesService,
    ExecutionCampagnes,
    FileCampagnes,
    Limites,
    Pause,
    StockageCampagnes,
    broker_redis,
)
from app.services.documents import DocumentsService
from app.services.eligibilite import EligibiliteService
from app.services.idempotence import Idempotence
from app.services.impact import ServiceImpact
from app.services.journal import Journal
from app.services.journal.chiffrement import TrousseauInvalide, TrousseauJournal
from app.services.organismes import AnnuaireOrganismes, ChiffrementSecrets
from app.services.organismes.administration import (
    DEMO_CLIENT_ID,
    DEMO_ORGANISME_ID,
    AdministrationOrganismes,
    NouvelOrganisme,
)
from app.services.organismes.ratelimit import LimiteurClients, LimiteurEchecsAuthentification
from app.services.pre_remplissage import PreRemplissageService
from app.services.sante import Dependance, Sante, SondeBornee
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
    #: Per-client request limit (issue #7).
    limiteur: LimiteurClients
    #: Idempotency-Key answers and locks (issue 15): shared through Redis when configured.
    idempotence: Idempotence
    #: Fiche, letter, published rules and verification (issue 16), rendered from the journal.
    documents: DocumentsService
    #: Past decisions replayed under a proposed règlement (issue 17).
    impact: ServiceImpact
    #: The shared upstream limiter (issue 6), for `/readyz`.
    quotas: Quotas | None = None
    #: What `/readyz` reports: the journal decides readiness, the rest is `degrade` (issue 12).
    sante: Sante | None = None
    #: Campaigns (issue 18): the flow, and what a worker runs (the gateway's own with no Redis).
    campagnes: CampagnesService | None = None
    execution_campagnes: ExecutionCampagnes | None = None


async def open_services(settings: Settings, stack: AsyncExitStack) -> Services:
    keyring = KeyRing(settings.gateway_secret_key, settings.cache_encryption_keys)

    redis: Redis | None = None
    backend: CacheBackend
    if settings.redis_url:
        backend = RedisCache.from_url(settings.redis_url)
        redis = backend.client
        stack.push_async_callback(redis.aclose)
        if not await SondeBornee(backend.ping, attente=2.0).lire():
            # Said once at start: the gateway runs on (no cache, no upstream calls until it answers).
            logger.warning(
                "redis.unreachable_at_start",
                detail="REDIS_URL ne répond pas : sans cache ni limiteur partagé, les données des "
                "fournisseurs seront à vérifier jusqu'à son retour (/readyz : degrade)",
            )
    else:
        backend = MemoryCache()
    cache = SecureCache(backend, keyring)

    if settings.database_auto_migrate:
        await asyncio.to_thread(upgrade_database, settings.database_url)
    engine = create_engine_from_url(settings.database_url)
    stack.push_async_callback(engine.dispose)
    trousseau = trousseau_journal(settings)
    journal = Journal(engine, trousseau=trousseau)

    if settings.uses_builtin_api_particulier:
        api_particulier_url = await stack.enter_async_context(
            serve_simulator(create_simulator_app(), host="127.0.0.1", port=settings.sandbox_simulator_port)
        )
        logger.info("sandbox.simulator_started", fournisseur=ApiParticulierClient.FOURNISSEUR)
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

    # --- upstream protection (issue 6): one limiter and one coalescer for every provider ---------
    # With Redis, both are shared by every worker and replica; without, they hold for this process.
    limiter: Limiter = (
        RedisLimiter(
            redis,
            cle_sujets=derive_key(
                settings.gateway_secret_key.get_secret_value().encode(), PURPOSE_QUOTA_SUJET
            ),
        )
        if redis is not None
        else MemoryLimiter()
    )
    if redis is None and settings.gateway_workers > 1:
        logger.warning(
            "quotas.split_between_workers",
            workers=settings.gateway_workers,
            detail=f"sans Redis, chaque processus prend 1/{settings.gateway_workers} de chaque quota amont",
        )
    quotas = Quotas(limiter)
    coalescer = Coalescer(
        redis,
        attente_max_seconds=settings.coalescing_attente_max_seconds,
        # The lock outlives the leader's longest call (its deadline) but not much more.
        verrou_ttl_seconds=settings.request_deadline_seconds + 2,
    )
    # Pending lock releases finish before Redis is closed (exit callbacks run last-in, first-out).
    stack.push_async_callback(coalescer.fermer)
    # Breaker transitions reach every worker and replica (pub/sub); stopped before Redis is closed.
    diffusion = DiffusionDisjoncteurs(redis) if redis is not None else None
    annuaire = await _annuaire(settings, engine, trousseau, redis)
    disjoncteurs: dict[str, list[CircuitBreaker]] = {}
    collecte = CollecteDonnees(
        caf=_source_caf(
            settings, api_particulier, cache, coalescer, quotas, diffusion=diffusion, inscrits=disjoncteurs
        ),
        impot=await _source_impot(
            settings, stack, cache, coalescer, quotas, diffusion=diffusion, inscrits=disjoncteurs
        ),
        budget_seconds=settings.request_deadline_seconds,
    )
    if diffusion is not None:
        diffusion.demarrer()
        stack.push_async_callback(diffusion.arreter)
    eligibilite = EligibiliteService(collecte=collecte, journal=journal, keyring=keyring)
    documents = DocumentsService(journal)
    stack.callback(documents.fermer)
    campagnes, execution = await _campagnes(
        settings, stack, engine, eligibilite, annuaire, journal, keyring, disjoncteurs
    )
    sante = _sante(
        journal,
        cache,
        api_particulier,
        quotas if redis is not None else None,
        disjoncteurs,
        campagnes.file if redis is not None else None,
    )
    stack.push_async_callback(sante.fermer)
    return Services(
        documents=documents,
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
        quotas=quotas,
        sante=sante,
        limiteur=LimiteurClients(
            limite=settings.client_rate_limit_requests,
            fenetre_secondes=settings.client_rate_limit_window_seconds,
            redis=redis,
        ),
        # Duplicates wait for the first as long as it may run (its deadline), plus the journal write.
        idempotence=Idempotence(keyring, redis, attente_max_seconds=settings.request_deadline_seconds + 5),
        impact=service_impact(settings, engine, trousseau),
        campagnes=campagnes,
        execution_campagnes=execution,
    )


def service_impact(settings: Settings, engine: AsyncEngine, trousseau: TrousseauJournal) -> ServiceImpact:
    """The impact flow over the journal's database and key ring (the app's, and the CLI's)."""
    return ServiceImpact(
        engine,
        trousseau,
        decisions_max=settings.impact_decisions_max,
        periode_jours_max=settings.impact_periode_jours_max,
    )


async def _campagnes(  # noqa: PLR0917 - the container's parts, each named once
    settings: Settings,
    stack: AsyncExitStack,
    engine: AsyncEngine,
    eligibilite: EligibiliteService,
    annuaire: AnnuaireOrganismes,
    journal: Journal,
    keyring: KeyRing,
    disjoncteurs: dict[str, list[CircuitBreaker]],
) -> tuple[CampagnesService, ExecutionCampagnes]:
    """The campaigns' queue: a Redis stream when REDIS_URL is set (decided by `eg worker`
    processes), else in this process (the embedded default decides them itself). A Redis down at
    start is no failure: the queue connects when it answers, `/readyz` says `degrade` meanwhile."""
    stockage = StockageCampagnes(engine)
    execution = ExecutionCampagnes(
        stockage=stockage,
        eligibilite=eligibilite,
        annuaire=annuaire,
        journal=journal,
        keyring=keyring,
        pause=Pause(disjoncteurs),
        concurrence=settings.campagne_concurrence,
        bail_seconds=settings.campagne_bail_seconds,
    )
    broker = (
        broker_redis(
            settings.redis_url,
            reprise_seconds=settings.campagne_reprise_seconds,
            prefetch=1,
            flux=settings.campagne_flux_redis,
        )
        if settings.redis_url
        else InMemoryBroker()
    )
    file = FileCampagnes(broker, redis_url=settings.redis_url)
    file.inscrire(execution.traiter_lot)
    await file.demarrer()
    stack.push_async_callback(file.arreter)
    service = CampagnesService(
        stockage=stockage,
        file=file,
        eligibilite=eligibilite,
        keyring=keyring,
        limites=Limites(
            fichier_max_bytes=settings.campagne_fichier_max_bytes,
            max_lignes=settings.campagne_max_lignes,
            ligne_max_bytes=settings.campagne_ligne_max_bytes,
            lot_lignes=settings.campagne_lot_lignes,
        ),
    )
    if file.embarquee:
        # The embedded queue lived in memory: lines a previous run left are queued again.
        relances = await service.relancer_inachevees()
        if relances:
            logger.info("campagnes.requeued", lots=relances)
    return service, execution


def trousseau_journal(settings: Settings) -> TrousseauJournal:
    """The journal's key ring (JOURNAL_ENCRYPTION_KEYS, or derived from GATEWAY_SECRET_KEY)."""
    try:
        return TrousseauJournal.depuis_reglages(settings.journal_encryption_keys, settings.gateway_secret_key)
    except TrousseauInvalide as e:
        raise ConfigurationError(str(e)) from None


def _part(settings: Settings, limite: int) -> int:
    """A worker's share of an upstream quota: all of it with Redis (shared), 1/N without (issue 13)."""
    if settings.redis_url or settings.gateway_workers <= 1:
        return limite
    return max(1, limite // settings.gateway_workers)


def _sante(  # noqa: PLR0917 - each dependency /readyz reports
    journal: Journal,
    cache: SecureCache,
    api_particulier: ApiParticulierClient,
    limiteur: Quotas | None,
    disjoncteurs: dict[str, list[CircuitBreaker]],
    file_campagnes: FileCampagnes | None = None,
) -> Sante:
    """The dependencies `/readyz` reports, each behind a cached, bounded probe."""
    dependances = [
        Dependance(
            "journal",
            SondeBornee(journal.ping),
            en_panne="indisponible",
            detail_panne="la base du journal ne répond pas : aucune décision ne peut être enregistrée",
        ),
        Dependance(
            "cache",
            SondeBornee(cache.ping),
            detail_panne="Redis injoignable : sans cache, chaque demande interroge les fournisseurs",
        ),
        Dependance(
            "api_particulier",
            SondeBornee(api_particulier.ping),
            disjoncteurs=disjoncteurs.get(ApiParticulierClient.FOURNISSEUR, []),
            detail_panne="API Particulier injoignable : données CAF/MSA en cache ou à vérifier sur pièce",
        ),
    ]
    if FOURNISSEUR_IMPOT in disjoncteurs:
        # No free ping at DGFiP: its breaker says what its calls met.
        dependances.append(
            Dependance("api_impot_particulier", None, disjoncteurs=disjoncteurs[FOURNISSEUR_IMPOT])
        )
    if limiteur is not None:
        dependances.append(
            Dependance(
                "limiteur",
                SondeBornee(limiteur.ping),
                detail_panne="limiteur partagé (Redis) injoignable : aucun appel aux fournisseurs, "
                "données à vérifier sur pièce",
            )
        )
    if file_campagnes is not None:
        dependances.append(
            Dependance(
                "file_campagnes",
                SondeBornee(file_campagnes.ping),
                detail_panne="file des campagnes (Redis) injoignable : nouvelles campagnes refusées, "
                "les campagnes en cours reprendront à son retour",
            )
        )
    return Sante(dependances)


def _disjoncteur(
    settings: Settings,
    fournisseur: str,
    diffusion: DiffusionDisjoncteurs | None,
    sonde: Callable[[], Awaitable[bool]] | None = None,
    *,
    inscrits: dict[str, list[CircuitBreaker]],
) -> CircuitBreaker:
    breaker = CircuitBreaker(
        fournisseur,
        seuil=settings.breaker_seuil_echecs,
        ouverture_seconds=settings.breaker_ouverture_seconds,
        sonde=sonde,
    )
    if diffusion is not None:
        diffusion.inscrire(breaker)
    inscrits.setdefault(fournisseur, []).append(breaker)
    return breaker


def _source_caf(
    settings: Settings,
    api_particulier: ApiParticulierClient,
    cache: SecureCache,
    coalescer: Coalescer,
    quotas: Quotas,
    *,
    diffusion: DiffusionDisjoncteurs | None,
    inscrits: dict[str, list[CircuitBreaker]],
) -> SourceCaf:
    """API Particulier's data sets behind the breaker, the shared quotas and the retries (issue 6)."""
    marge = settings.quota_marge_seconds
    protection = Protection(
        fournisseur=ApiParticulierClient.FOURNISSEUR,
        # The half-open probe is API Particulier's ping: free and not rate-limited.
        breaker=_disjoncteur(
            settings, ApiParticulierClient.FOURNISSEUR, diffusion, api_particulier.ping, inscrits=inscrits
        ),
        quotas=quotas,
        tentatives=settings.upstream_tentatives,
        budget_seconds=settings.request_deadline_seconds,
    )
    return SourceCaf(
        api_particulier=api_particulier,
        cache=cache,
        coalescer=coalescer,
        protection=protection,
        quotas=QuotasApiParticulier(
            Quota(
                "api_particulier.jeton",
                _part(settings, settings.quota_api_particulier_par_jeton_par_seconde),
                1 + marge,
            ),
            Quota(
                "api_particulier.ip",
                _part(settings, settings.quota_api_particulier_par_ip_par_minute),
                60 + marge,
            ),
        ),
        ttl_quotient_familial=settings.cache_ttl_quotient_familial_seconds,
        ttl_prestations=settings.cache_ttl_prestations_seconds,
        stale_max_seconds=settings.cache_stale_max_seconds,
    )


async def _source_impot(
    settings: Settings,
    stack: AsyncExitStack,
    cache: SecureCache,
    coalescer: Coalescer,
    quotas: Quotas,
    *,
    diffusion: DiffusionDisjoncteurs | None,
    inscrits: dict[str, list[CircuitBreaker]],
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
        protection=Protection(
            fournisseur=FOURNISSEUR_IMPOT,
            # No free ping at DGFiP: the half-open trial is one real call.
            breaker=_disjoncteur(settings, FOURNISSEUR_IMPOT, diffusion, inscrits=inscrits),
            quotas=quotas,
            tentatives=settings.upstream_tentatives,
            budget_seconds=settings.request_deadline_seconds,
        ),
        quota=Quota(
            "impot_particulier.client",
            _part(settings, settings.quota_impot_par_client_par_minute),
            60 + settings.quota_marge_seconds,
        ),
        cache_impot=CacheImpot(
            actif=settings.cache_impot_actif, ttl_seconds=settings.cache_ttl_impot_seconds
        ),
        stale_max_seconds=settings.cache_stale_max_seconds,
    )


async def _annuaire(
    settings: Settings, engine: AsyncEngine, trousseau: TrousseauJournal, redis: Redis | None
) -> AnnuaireOrganismes:
    """The organismes of the database; in sandbox mode the demo organisme and its demo key are
    (re)installed first, so `make run` needs no set-up."""
    chiffrement = ChiffrementSecrets(settings.gateway_secret_key)
    if settings.is_sandbox:
        await _installer_demo(settings, engine, chiffrement)
    else:
        await _refuser_demo(settings, engine, chiffrement)
    annuaire = AnnuaireOrganismes(
        engine,
        chiffrement,
        reglements_dir=settings.reglements_dir,
        ttl_seconds=settings.api_key_cache_ttl_seconds,
        echecs=LimiteurEchecsAuthentification(
            limite=settings.auth_unknown_keys_per_source_per_minute,
            fenetre_secondes=60,
            # Shared by every worker and replica through Redis (per process without it).
            redis=redis,
            cle_adresses=derive_key(
                settings.gateway_secret_key.get_secret_value().encode(), PURPOSE_ADRESSE_SOURCE
            ),
        ),
        archives=trousseau,
    )
    await annuaire.charger()
    return annuaire


async def _refuser_demo(settings: Settings, engine: AsyncEngine, chiffrement: ChiffrementSecrets) -> None:
    """Production never starts while the sandbox's demo can still open it (issue 13: a database
    first used in sandbox mode kept the demo client, all its scopes and the public demo key)."""
    admin = AdministrationOrganismes(engine, chiffrement, reglements_dir=settings.reglements_dir)
    traces = await admin.traces_de_demo(_cles_demo(settings))
    if traces:
        raise ConfigurationError(
            "Mode production refusé : la base contient encore la démonstration du bac à sable ("
            + " ; ".join(traces)
            + "). La retirer avec `python -m app organisme retirer-demo` (les clients et clés de "
            "démonstration sont révoqués, le journal est gardé), puis redémarrer."
        )


def _cles_demo(settings: Settings) -> list[SecretStr]:
    """The public demo key and the one configured (GATEWAY_DEMO_API_KEY), if different."""
    return [SecretStr(DEFAULT_DEMO_API_KEY), settings.gateway_demo_api_key]


async def _installer_demo(settings: Settings, engine: AsyncEngine, chiffrement: ChiffrementSecrets) -> None:
    token = settings.api_particulier_token
    if token is None:
        token = SecretStr(SANDBOX_UPSTREAM_TOKEN)
    demo = NouvelOrganisme(
        id=DEMO_ORGANISME_ID,
        nom="CCAS de Démoville (fictif)",
        siret=settings.gateway_demo_siret or DEMO_ORGANISME_SIRET,
        reglement=settings.demo_reglement_file,
        api_particulier_token=token,
        impot_client_id=settings.api_impot_particulier_client_id
        or (SIMULATEUR_CLIENT_ID if settings.uses_builtin_api_impot_particulier else None),
        impot_client_secret=settings.api_impot_particulier_client_secret
        or (SecretStr(SIMULATEUR_CLIENT_SECRET) if settings.uses_builtin_api_impot_particulier else None),
    )
    admin = AdministrationOrganismes(engine, chiffrement, reglements_dir=settings.reglements_dir)
    await admin.installer_demo(demo, DEMO_CLIENT_ID, settings.gateway_demo_api_key)
