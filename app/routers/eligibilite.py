"""`POST /v1/eligibilite`: one applicant, every aid (or the chosen ones) of the caller's règlement."""

from __future__ import annotations

from fastapi import APIRouter, Response

from app.dependencies import AgentIdDep, EligibiliteAppelant, IdempotencyKeyDep, ServicesDep
from app.schemas.eligibilite import Decision, DemandeEligibilite
from app.schemas.problem import ERREURS_FOURNISSEUR, erreurs
from app.services.idempotence import ReponseIdempotente

router = APIRouter(prefix="/v1", tags=["eligibilite"])

#: Declared on the idempotent operations' 200.
EN_TETE_REJOUEE = {
    "Idempotency-Replayed": {
        "description": "`true` quand la réponse est celle, conservée, d'une requête antérieure de "
        "même Idempotency-Key et même corps (aucun nouvel appel, aucune nouvelle entrée au journal).",
        "schema": {"type": "string", "enum": ["true"]},
    }
}


@router.post(
    "/eligibilite",
    operation_id="evaluer_eligibilite",
    # Documents the answer; the service already encoded it in this shape (and journaled that very
    # content), so the route sends those bytes instead of validating and encoding them again.
    response_model=Decision,
    response_model_exclude_none=False,
    summary="Proposer une décision pour chaque aide du règlement",
    responses={**ERREURS_FOURNISSEUR, **erreurs(409), 200: {"headers": EN_TETE_REJOUEE}},
)
async def post_eligibilite(
    demande: DemandeEligibilite,
    services: ServicesDep,
    appelant: EligibiliteAppelant,
    agent_id: AgentIdDep,
    idempotency_key: IdempotencyKeyDep,
) -> Response:
    """Obtient les données certifiées du demandeur, évalue le règlement de l'organisme et rend,
    pour chaque aide, une proposition de décision justifiée. La décision est journalisée avant
    d'être rendue ; son identifiant permet de la relire (`GET /v1/decisions/{id}`)."""

    async def produire() -> bytes:
        return (await services.eligibilite.evaluer(demande, appelant, agent_id=agent_id)).json

    reponse = await services.idempotence.executer(
        client_id=appelant.client.id,
        operation="eligibilite",
        cle=idempotency_key,
        corps=demande.model_dump_json(),
        produire=produire,
    )
    return reponse_json(reponse)


def reponse_json(reponse: ReponseIdempotente) -> Response:
    headers = {"Idempotency-Replayed": "true"} if reponse.rejouee else None
    return Response(content=reponse.contenu, media_type="application/json", headers=headers)
