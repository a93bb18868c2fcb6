"""HTTP models of `POST /v1/donnees` (certified data for pre-filling, no rules)."""

from __future__ import annotations

from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from app.rules.facts import CATALOGUE_FAITS
from app.schemas.demandeur import Demandeur
from app.schemas.eligibilite import (
    EXEMPLE_DEMANDE,
    DateIso,
    DonneeIndisponible,
    DonneesCertifiees,
    DossierRef,
)

#: Every data set the catalogue of facts names: what a caller may ask for.
JEUX_DE_DONNEES: tuple[str, ...] = tuple(sorted({f.donnee for f in CATALOGUE_FAITS.values() if f.donnee}))


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
        default=None,
        description="Jeux de données voulus ; tous ceux que la passerelle obtient si absent ou vide. "
        "Un jeu que cette passerelle n'obtient pas (API Impôt particulier non configurée) figure dans "
        "`donnees_indisponibles`.",
        json_schema_extra={"items": {"type": "string", "enum": list(JEUX_DE_DONNEES)}},
    )
    date_reference: DateIso | None = Field(
        default=None,
        description="Date à laquelle les données sont voulues (quotient familial de ce mois, revenus "
        "connus à cette date) ; aujourd'hui si absente.",
    )
    dossier_ref: DossierRef = None


class ReponseDonnees(BaseModel):
    """Les données certifiées obtenues, et celles qui ne l'ont pas été."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": "90aeb1bb-40f1-421e-a6a1-8ee2d06c69a3",
                    "dossier_ref": "D-2026-00042",
                    "donnees": {
                        "quotient_familial": {
                            "fournisseur": "CNAF",
                            "valeur": 150,
                            "annee": 2026,
                            "mois": 11,
                            "annee_calcul": 2026,
                            "mois_calcul": 4,
                        },
                        "enfants": [],
                    },
                    "donnees_indisponibles": [
                        {
                            "donnee": "impot_sur_le_revenu",
                            "code": "numero-fiscal-absent",
                            "raison": "Le numéro fiscal du demandeur n'a pas été fourni.",
                        }
                    ],
                }
            ]
        }
    )

    id: UUID = Field(description="Identifiant de la consultation journalisée.")
    dossier_ref: str | None = Field(description="Référence du dossier chez l'appelant.")
    donnees: DonneesCertifiees = Field(description="Données certifiées, par jeu de données.")
    donnees_indisponibles: list[DonneeIndisponible] = Field(
        description="Jeux de données non obtenus, et pourquoi."
    )
