"""Liveness, readiness and metrics: `/healthz`, `/readyz`, `/metrics`."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST

from app.dependencies import ServicesDep
from app.metrics import exposition
from app.schemas.exploitation import Preparation, Vivacite

router = APIRouter(tags=["exploitation"])


@router.get(
    "/healthz", operation_id="verifier_vivacite", response_model=Vivacite, summary="Le processus est vivant"
)
async def healthz() -> dict[str, str]:
    return {"statut": "ok"}


@router.get(
    "/readyz",
    operation_id="verifier_preparation",
    response_model=Preparation,
    summary="Les dépendances répondent",
    responses={503: {"model": Preparation, "description": "Journal ou fournisseur indisponible"}},
)
async def readyz(services: ServicesDep) -> JSONResponse:
    """Database and upstream are required; the cache and the shared limiter are not: without
    them the gateway still answers (no cache; upstream data `a_verifier`), degraded."""
    journal_ok, cache_ok, upstream_ok, limiteur_ok = await asyncio.gather(
        services.journal.ping(),
        services.cache.ping(),
        services.api_particulier.ping(),
        services.quotas.ping() if services.quotas is not None else _vrai(),
    )
    checks: dict[str, Any] = {
        "journal": "ok" if journal_ok else "indisponible",
        "cache": ("ok" if cache_ok else "indisponible")
        + (" (redis)" if services.redis is not None else " (mémoire)"),
        "api_particulier": "ok" if upstream_ok else "indisponible",
        "limiteur": "ok" if limiteur_ok else "indisponible (aucun appel aux fournisseurs)",
    }
    ready = journal_ok and upstream_ok
    statut = "ok" if ready and cache_ok and limiteur_ok else ("degrade" if ready else "indisponible")
    return JSONResponse(
        {"statut": statut, "verifications": checks, "mode": services.settings.gateway_mode},
        status_code=200 if ready else 503,
    )


@router.get("/metrics", summary="Métriques Prometheus", include_in_schema=False)
async def metrics() -> Response:
    return Response(exposition(), media_type=CONTENT_TYPE_LATEST)


async def _vrai() -> bool:
    return True
