"""Liveness, readiness and metrics: `/healthz`, `/readyz`, `/metrics`."""

from __future__ import annotations

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST

from app.dependencies import MetriquesAutorisees, ServicesDep
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
    summary="Ce réplica peut enregistrer des décisions",
    responses={503: {"model": Preparation, "description": "Le journal ne peut pas enregistrer de décision"}},
)
async def readyz(services: ServicesDep) -> JSONResponse:
    """503 only when the journal does not answer (no decision can be recorded). Providers, breakers,
    Redis: `degrade` in the body, per dependency, with since when; answered within a second."""
    assert services.sante is not None  # noqa: S101 - always built by open_services
    rapport = await services.sante.rapport()
    return JSONResponse(
        {
            "statut": rapport.statut,
            "pret": rapport.pret,
            "mode": services.settings.gateway_mode,
            "verifications": {nom: d.statut for nom, d in rapport.dependances.items()},
            "dependances": {
                nom: {
                    "statut": d.statut,
                    "depuis": d.depuis.isoformat() if d.depuis is not None else None,
                    "detail": d.detail,
                }
                for nom, d in rapport.dependances.items()
            },
        },
        status_code=200 if rapport.pret else 503,
    )


@router.get("/metrics", summary="Métriques Prometheus", include_in_schema=False)
async def metrics(_acces: MetriquesAutorisees) -> Response:
    return Response(exposition(), media_type=CONTENT_TYPE_LATEST)
