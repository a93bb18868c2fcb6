"""`GET /v1/decisions/{id}`: a decision record as journaled, for its own organisme only."""

from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter

from app.dependencies import EligibiliteAppelant, ServicesDep
from app.errors import NotFound
from app.schemas.eligibilite import DecisionJournalisee
from app.schemas.problem import erreurs

router = APIRouter(prefix="/v1", tags=["decisions"])


@router.get(
    "/decisions/{decision_id}",
    operation_id="relire_decision",
    response_model=DecisionJournalisee,
    summary="Relire une décision journalisée",
    responses=erreurs(404),
)
async def get_decision(
    decision_id: UUID, services: ServicesDep, appelant: EligibiliteAppelant
) -> DecisionJournalisee:
    """La décision telle qu'elle a été rendue : version et empreinte du règlement, paramètres en
    vigueur à la date de référence, faits utilisés et leurs sources. Une décision d'un autre
    organisme est introuvable (404), comme une décision qui n'existe pas."""
    record = await services.journal.lire_decision(appelant.organisme.id, decision_id)
    if record is None:
        raise NotFound("Aucune décision de cet organisme ne porte cet identifiant.")
    return DecisionJournalisee.model_validate(record.contenu)
