"""Assembles the gateway: `create_app()` plus the lifespan that opens and closes every connection.

Importing this module reads no environment and opens no socket; `create_app(settings)` does
nothing until the ASGI server (or a test's LifespanManager) runs the lifespan.
"""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator, Iterator
from contextlib import AsyncExitStack, asynccontextmanager, contextmanager

from fastapi import FastAPI

from app.config import Settings, get_settings
from app.container import Services, open_services
from app.errors import register_problem_handlers
from app.logging import RequestContextMiddleware, configure_logging
from app.openapi import installer_contrat
from app.routers import (
    campagnes,
    decisions,
    documents,
    donnees,
    eligibilite,
    health,
    impact,
    journal,
    reglement,
    simulations,
)
from app.serving import BodyLimitMiddleware, NoStoreMiddleware

DESCRIPTION = """
Passerelle d'éligibilité des CCAS : à partir de l'identité d'un demandeur, elle obtient les
données certifiées (API Particulier v3 : quotient familial CAF/MSA, composition du foyer…),
évalue le règlement des aides du CCAS et rend, pour chaque aide, une **proposition** de décision
justifiée, journalisée.

En mode bac à sable (par défaut), un simulateur d'API Particulier chargé des identités du bac à
sable officiel répond ; la clé de démonstration est `demo-ccas-cle-publique`
(bouton *Authorize*).

Les erreurs sont au format `application/problem+json` (RFC 9457), avec un `detail` en français
et un `code` stable (liste fermée dans le schéma `Probleme`).

`POST /v1/eligibilite` et `POST /v1/donnees` acceptent un en-tête `Idempotency-Key` : la même clé
avec le même corps, dans les 24 heures, rend la même réponse sans nouvel appel aux fournisseurs ni
nouvelle entrée au journal.
"""

#: Tags in ASCII (generated clients name their packages after them), described in French.
TAGS: list[dict[str, str]] = [
    {"name": "eligibilite", "description": "Proposer une décision pour chaque aide du règlement."},
    {"name": "decisions", "description": "Relire une décision journalisée."},
    {"name": "donnees", "description": "Données certifiées pour pré-remplir un dossier."},
    {"name": "reglement", "description": "Le règlement de l'organisme appelant."},
    {"name": "simulations", "description": "Simuler un règlement sur des faits supposés."},
    {"name": "journal", "description": "Le journal d'audit de l'organisme (JSON ou CSV)."},
    {"name": "campagnes", "description": "Décider tout un fichier de demandeurs au rythme des quotas."},
    {"name": "exploitation", "description": "Vivacité et disponibilité du service."},
]


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the ASGI app. `settings` defaults to the environment, read when this is called."""
    resolved = settings or get_settings()

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[dict[str, Services]]:
        configure_logging(level=resolved.log_level, json=resolved.log_json)
        async with AsyncExitStack() as stack:
            services = await open_services(resolved, stack)
            if resolved.gc_tuning:
                stack.enter_context(_garbage_collector_tuned_for_serving())
            yield {"services": services}

    app = FastAPI(
        title="eligibility-gateway",
        version="0.1.0",
        summary="Éligibilité aux aides des CCAS sur données certifiées de l'État",
        description=DESCRIPTION,
        lifespan=lifespan,
        openapi_tags=TAGS,
        # Served by `installer_contrat` from packaged files, not from a CDN; in production, not on
        # the public port unless DOCS_ENABLED=true (README, « Robustesse »).
        docs_url=None,
        redoc_url=None,
        openapi_url="/openapi.json" if resolved.serves_docs else None,
    )
    register_problem_handlers(app)
    installer_contrat(app, servir_docs=resolved.serves_docs)
    app.add_middleware(NoStoreMiddleware)
    # A body is bounded before anything reads it (authentication, JSON); only the request id and
    # its log line come first, so that a refused body is traced like any answer.
    app.add_middleware(
        BodyLimitMiddleware,
        max_bytes=resolved.request_body_max_bytes,
        max_bytes_by_path={
            "/v1/simulations": resolved.simulations_body_max_bytes,
            "/v1/simulations/impact": resolved.simulations_body_max_bytes,
            "/v1/campagnes": resolved.campagne_fichier_max_bytes,
        },
        idle_timeout_seconds=resolved.http_body_idle_timeout_seconds,
    )
    app.add_middleware(RequestContextMiddleware)
    app.include_router(health.router)
    app.include_router(eligibilite.router)
    app.include_router(decisions.router)
    app.include_router(documents.router)
    app.include_router(donnees.router)
    app.include_router(reglement.router)
    app.include_router(simulations.router)
    app.include_router(impact.router)
    app.include_router(journal.router)
    app.include_router(campagnes.router)
    return app


#: Allocations between two young-generation collections while serving (CPython's default: 700).
GC_SEUIL_JEUNES = 10_000


@contextmanager
def _garbage_collector_tuned_for_serving() -> Iterator[None]:
    """Freeze what start-up built, collect young objects less often; undone at shutdown.

    A request allocates a few thousand short-lived objects; with CPython's defaults, a worker ran
    a full collection every ~400 requests, each scanning every long-lived object (FastAPI, pydantic,
    SQLAlchemy, the compiled règlements): 55 ms each, ~17% of its CPU under load. Frozen objects
    are never scanned again (nor freed: they live as long as the app anyway).
    """
    seuils = gc.get_threshold()
    gc.collect()
    gc.freeze()
    gc.set_threshold(GC_SEUIL_JEUNES, seuils[1], seuils[2])
    try:
        yield
    finally:
        gc.set_threshold(*seuils)
        gc.unfreeze()
