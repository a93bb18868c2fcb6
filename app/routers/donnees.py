"""`POST /v1/donnees`: certified data for pre-filling a dossier, without evaluating any rule."""

from __future__ import annotations

from fastapi import APIRouter, Response

from app.dependencies import AgentIdDep, DonneesAppelant, IdempotencyKeyDep, ServicesDep
from app.routers.eligibilite import EN_TETE_REJOUEE, reponse_json
from app.schemas.donnees import DemandeDonnees, ReponseDonnees
from app.schemas.problem import ERREURS_FOURNISSEUR, erreurs

router = APIRouter(prefix="/v1", tags=["donnees"])


@router.post(
    "/donnees",
    operation_id="obtenir_donnees",
    response_model=ReponseDonnees,
    summary="Obtenir les données certifiées pour pré-remplir un dossier",
    responses={**ERREURS_FOURNISSEUR, **erreurs(409), 200: {"headers": EN_TETE_REJOUEE}},
)
async def post_donnees(
    demande: DemandeDonnees,
    services: ServicesDep,
    appelant: DonneesAppelant,
    agent_id: AgentIdDep,
    idempotency_key: IdempotencyKeyDep,
) -> Response:
    """Les données de la CAF/MSA (quotient familial, allocataires, enfants, adresse), telles que
    le fournisseur les a certifiées. La consultation est journalisée."""

    async def produire() -> bytes:
        reponse = await services.pre_remplissage.consulter(demande, appelant, agent_id=agent_id)
        return reponse.model_dump_json().encode("utf-8")

    reponse = await services.idempotence.executer(
        client_id=appelant.client.id,
        operation="donnees",
        cle=idempotency_key,
        corps=demande.model_dump_json(),
        produire=produire,
    )
    return reponse_json(reponse)
