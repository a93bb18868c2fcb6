"""HTTP model of `GET /v1/reglement`: the caller's règlement as the gateway understands it.

The top level is typed; the règlement's parts (dispositifs, conditions, barèmes…) are objects whose
shape is the published one (`app.rules.publication`), open to additions.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class OrganismeReglement(BaseModel):
    """L'organisme qui a adopté le règlement."""

    nom: str = Field(description="Nom de l'organisme.")
    siret: str | None = Field(description="SIRET de l'organisme (14 chiffres), s'il est indiqué.")


class BesoinsReglement(BaseModel):
    """Ce que l'évaluation de tout le règlement demande."""

    faits: list[str] = Field(description="Faits du catalogue utilisés.")
    donnees: list[str] = Field(description="Jeux de données demandés aux fournisseurs.")
    scopes: list[str] = Field(
        description="Habilitations API Particulier / API Impôt particulier nécessaires."
    )


class ReglementPublie(BaseModel):
    """Le règlement des aides de l'organisme appelant, et les données que son évaluation demande."""

    model_config = ConfigDict(
        extra="allow",
        json_schema_extra={
            "examples": [
                {
                    "id": "ccas-demoville",
                    "version": "2026.1",
                    "libelle": "Règlement des aides facultatives du CCAS de Démoville",
                    "empreinte": "sha256:2dc63f17c7c8…",
                    "organisme": {"nom": "CCAS de Démoville (fictif)", "siret": "26999000800006"},
                    "fraicheur": {"quotient_familial": {"mois": 3}},
                    "deliberations": [],
                    "parametres": [],
                    "baremes": [],
                    "dispositifs": [{"id": "aide-alimentaire", "libelle": "Aide alimentaire (bons d'achat)"}],
                    "besoins": {
                        "faits": ["quotient_familial_caf"],
                        "donnees": ["quotient_familial"],
                        "scopes": ["cnaf_quotient_familial"],
                    },
                    "cas_de_test": 12,
                    "donnees_necessaires": ["quotient_familial"],
                    "faits_necessaires": ["quotient_familial_caf"],
                    "scopes_necessaires": ["cnaf_quotient_familial"],
                }
            ]
        },
    )

    id: str = Field(description="Identifiant du règlement.")
    version: str = Field(description="Version du règlement.")
    libelle: str = Field(description="Intitulé du règlement.")
    empreinte: str = Field(description="Empreinte SHA-256 du texte du règlement (`sha256:…`).")
    organisme: OrganismeReglement = Field(description="Organisme qui l'a adopté.")
    fraicheur: dict[str, dict[str, int]] = Field(
        description="Ancienneté maximale admise des données, par jeu (en mois ou en années)."
    )
    deliberations: list[dict[str, Any]] = Field(
        description="Délibérations citées : id, numéro, date, objet, référence."
    )
    parametres: list[dict[str, Any]] = Field(
        description="Paramètres datés : nom, libellé, type, unité et valeurs successives (montants en euros)."
    )
    baremes: list[dict[str, Any]] = Field(description="Barèmes datés et leurs tranches.")
    dispositifs: list[dict[str, Any]] = Field(
        description="Aides : id, libellé, base légale, délibération, conditions, montant, besoins."
    )
    besoins: BesoinsReglement = Field(description="Ce que demande l'évaluation de tout le règlement.")
    cas_de_test: int = Field(description="Nombre de cas de test du règlement.")
    donnees_necessaires: list[str] = Field(description="Jeux de données demandés aux fournisseurs.")
    faits_necessaires: list[str] = Field(description="Faits du catalogue utilisés.")
    scopes_necessaires: list[str] = Field(description="Habilitations nécessaires chez les fournisseurs.")
