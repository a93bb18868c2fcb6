"""HTTP models of `POST /v1/donnees` (certified data for pre-filling, no rules)."""

from __future__ import annotations

from datetime import date
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
    date_reference: date | None = Field(
        default=None,
        description="Date à laquelle les données sont voulues (quotient familial de ce mois, revenus "
        "connus à cette date) ; aujourd'hui si absente.",
    )
    dossier_ref: DossierRef = None


class ReponseDonnees(BaseModel):
    id: UUID = Field(description="Identifiant de la consultation journalisée.")
    dossier_ref: str | None
    donnees: DonneesCertifiees
    donnees_indisponibles: list[DonneeIndisponible]
