"""HTTP models of `POST /v1/donnees` (certified data for pre-filling, no rules)."""

from __future__ import annotations

from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from app.schemas.demandeur import Demandeur
from app.schemas.eligibilite import EXEMPLE_DEMANDE, DonneeIndisponible, DonneesCertifiees, DossierRef


class DemandeDonnees(BaseModel):
    """Un demandeur, et les jeux de données voulus."""

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

    demandeur: Demandeur = Field(description="Identité pivot du demandeur (l'allocataire).")
    donnees: list[str] | None = Field(
        default=None, description="Jeux de données voulus (ex. quotient_familial) ; tous si absent."
    )
    dossier_ref: DossierRef = None


class ReponseDonnees(BaseModel):
    """Les données certifiées obtenues, et celles qui ne l'ont pas été."""

    id: UUID = Field(description="Identifiant de la consultation journalisée.")
    dossier_ref: str | None = Field(description="Référence du dossier chez l'appelant.")
    donnees: DonneesCertifiees = Field(description="Données certifiées, par jeu de données.")
    donnees_indisponibles: list[DonneeIndisponible] = Field(
        description="Jeux de données non obtenus, et pourquoi."
    )
