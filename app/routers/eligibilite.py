"""`POST /v1/eligibilite`: one applicant, every aid (or the chosen ones) of the caller's règlement."""

from __future__ import annotations

from fastapi import APIRouter, Response

from app.dependencies import AgentIdDep, EligibiliteAppelant, ServicesDep
from app.schemas.eligibilite import Decision, DemandeEligibilite
from app.schemas.problem import PROBLEM_RESPONSES

router = APIRouter(prefix="/v1", tags=["éligibilité"])


@router.post(
    "/eligibilite",
    # Documents the answer; the service already encoded it in this shape (and journaled that very
    # content), so the route sends those bytes instead of validating and encoding them again.
    response_model=Decision,
    response_model_exclude_none=False,
    summary="Proposer une décision pour chaque aide du règlement",
    responses=PROBLEM_RESPONSES,
)
async def post_eligibilite(
    demande: DemandeEligibilite,
    services: ServicesDep,
    appelant: EligibiliteAppelant,
    agent_id: AgentIdDep,
) -> Response:
    """Obtient les données certifiées du demandeur, évalue le règlement de l'organisme et rend,
    pour chaque aide, une proposition de décision justifiée. La décision est journalisée avant
    d'être rendue ; son identifiant permet de la relire (`GET /v1/decisions/{id}`)."""
    decision = await services.eligibilite.evaluer(demande, appelant, agent_id=agent_id)
    return Response(content=decision.json, media_type="application/json")
