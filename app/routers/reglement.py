"""`GET /v1/reglement`: the caller's règlement as the gateway understands it, and the scopes it needs."""

from __future__ import annotations

from fastapi import APIRouter

from app.dependencies import EligibiliteAppelant
from app.rules.needs import besoins, scopes_requis
from app.rules.publication import reglement_vers_dict
from app.schemas.reglement import ReglementPublie

router = APIRouter(prefix="/v1", tags=["reglement"])


@router.get(
    "/reglement",
    operation_id="lire_reglement",
    response_model=ReglementPublie,
    summary="Le règlement de l'organisme appelant",
)
async def get_reglement(appelant: EligibiliteAppelant) -> ReglementPublie:
    """Dispositifs, conditions, paramètres datés et délibérations, et les données (avec les
    habilitations API Particulier / API Impôt particulier) que leur évaluation demande :
    la passerelle ne demande rien d'autre aux fournisseurs (minimisation)."""
    reglement = appelant.organisme.reglement
    besoin = besoins(reglement)
    organisme = appelant.organisme
    return ReglementPublie.model_validate(
        {
            **reglement_vers_dict(reglement),
            # The organisme speaks for itself: its record, not the règlement file's header.
            "organisme": {"nom": organisme.nom, "siret": organisme.siret},
            "donnees_necessaires": sorted(besoin.donnees),
            "faits_necessaires": sorted(besoin.faits),
            "scopes_necessaires": sorted(scopes_requis(reglement)),
        }
    )
