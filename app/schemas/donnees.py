"""HTTP models of `POST /v1/donnees` (certified data for pre-filling, no rules)."""

from __future__ import annotations

from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from app.schemas.demandeur import Demandeur
from app.schemas.eligibilite import EXEMPLE_DEMANDE, DonneeIndisponible, DonneesCertifiees, DossierRef


class DemandeDonnees(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "demandeur": EXEMPLE_DEMANDE["demandeur"],
                    "donnees": ["quotient_familial"],
                    "dossier_ref": "D-2026-00042",
                }
            ]
        },
    )

    demandeur: Demandeur
    donnees: list[str] | None = Field(
        default=None, description="Jeux de données voulus (ex. quotient_familial) ; tous si absent."
    )
    dossier_ref: DossierRef = None


class ReponseDonnees(BaseModel):
    id: UUID = Field(description="Identifiant de la consultation journalisée.")
    dossier_ref: str | None
    donnees: DonneesCertifiees
    donnees_indisponibles: list[DonneeIndisponible]
