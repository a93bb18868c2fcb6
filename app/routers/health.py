"""Liveness, readiness and metrics: `/healthz`, `/readyz`, `/metrics`."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from app.dependencies import ServicesDep

router = APIRouter(tags=["exploitation"])


@router.get("/healthz", summary="Le processus est vivant")
async def healthz() -> dict[str, str]:
    return {"statut": "ok"}


@router.get("/readyz", summary="Les dépendances répondent")
async def readyz(services: ServicesDep) -> JSONResponse:
    """Database and upstream are required; the cache is optional (degraded without it)."""
    journal_ok, cache_ok, upstream_ok = await asyncio.gather(
        services.journal.ping(),
        services.cache.ping(),
        services.api_particulier.ping(),
    )
    checks: dict[str, Any] = {
        "journal": "ok" if journal_ok else "indisponible",
        "cache": ("ok" if cache_ok else "indisponible")
        + (" (redis)" if services.redis is not None else " (mémoire)"),
        "api_particulier": "ok" if upstream_ok else "indisponible",
    }
    ready = journal_ok and upstream_ok
    statut = "ok" if ready and cache_ok else ("degrade" if ready else "indisponible")
    return JSONResponse(
        {"statut": statut, "verifications": checks, "mode": services.settings.gateway_mode},
        status_code=200 if ready else 503,
    )


@router.get("/metrics", summary="Métriques Prometheus", include_in_schema=False)
async def metrics() -> Response:
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
