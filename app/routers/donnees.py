"""`POST /v1/donnees`: certified data for pre-filling a dossier, without evaluating any rule."""

from __future__ import annotations

from fastapi import APIRouter

from app.dependencies import AgentIdDep, DonneesAppelant, ServicesDep
from app.schemas.donnees import DemandeDonnees, ReponseDonnees
from app.schemas.problem import PROBLEM_RESPONSES

router = APIRouter(prefix="/v1", tags=["données"])


@router.post(
    "/donnees",
    response_model=ReponseDonnees,
    summary="Obtenir les données certifiées pour pré-remplir un dossier",
    responses=PROBLEM_RESPONSES,
)
async def post_donnees(
    demande: DemandeDonnees,
    services: ServicesDep,
    appelant: DonneesAppelant,
    agent_id: AgentIdDep,
) -> ReponseDonnees:
    """Les données de la CAF/MSA (quotient familial, allocataires, enfants, adresse), telles que
    le fournisseur les a certifiées. La consultation est journalisée."""
    return await services.pre_remplissage.consulter(demande, appelant, agent_id=agent_id)
