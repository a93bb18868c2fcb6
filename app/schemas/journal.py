"""HTTP models of `GET /v1/journal`: the organisme's own consultations and decisions."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field


class AppelFournisseurJournal(BaseModel):
    """Un appel à un fournisseur de données, tel que journalisé."""

    fournisseur: str = Field(description="Fournisseur appelé (API Particulier, API Impôt particulier).")
    endpoint: str = Field(description="Chemin appelé, jamais l'URL avec ses paramètres d'identité.")
    issue: str = Field(description="Issue de l'appel : succès, ou le code stable de l'erreur.")
    request_id: str | None = Field(description="Identifiant de la requête chez le fournisseur.")
    statut_http: int | None = Field(description="Statut HTTP de la réponse du fournisseur.")
    depuis_cache: bool = Field(description="Vrai quand la donnée vient du cache (aucun appel fait).")


class ResultatJournal(BaseModel):
    """Le statut proposé pour une aide."""

    dispositif: str = Field(description="Identifiant du dispositif.")
    statut: str = Field(description="eligible, non_eligible ou a_verifier.")


class EntreeJournal(BaseModel):
    """Une consultation journalisée (et sa décision, le cas échéant)."""

    consultation_id: UUID = Field(description="Identifiant de la consultation.")
    cree_le: datetime = Field(description="Instant de la consultation.")
    type: str = Field(description="eligibilite, donnees ou simulation")
    statut: str = Field(description="succes ou echec")
    client_id: str | None = Field(description="Client (logiciel métier) qui a appelé.")
    agent_id: str | None = Field(description="Agent au guichet (en-tête X-Agent-Id).")
    dossier_ref: str | None = Field(description="Référence du dossier chez l'appelant.")
    demandeur_pseudonyme: str | None = Field(
        description="Pseudonyme HMAC du demandeur, propre à l'organisme (jamais l'état civil)."
    )
    appels_fournisseurs: list[AppelFournisseurJournal] = Field(description="Appels faits aux fournisseurs.")
    decision_id: UUID | None = Field(description="Décision rendue (GET /v1/decisions/{id}).")
    reglement_id: str | None = Field(description="Règlement appliqué.")
    reglement_version: str | None = Field(description="Version du règlement appliqué.")
    reglement_empreinte: str | None = Field(description="Empreinte du règlement appliqué.")
    resultats: list[ResultatJournal] = Field(description="Statut proposé pour chaque aide.")


class PageJournal(BaseModel):
    """Une page du journal, les entrées les plus récentes d'abord."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "entrees": [
                        {
                            "consultation_id": "b325fb29-1e56-4af4-b8b1-09b50490a64d",
                            "cree_le": "2026-11-26T15:04:32.844533Z",
                            "type": "eligibilite",
                            "statut": "succes",
                            "client_id": "demo",
                            "agent_id": "agent-1",
                            "dossier_ref": "D-2026-00042",
                            "demandeur_pseudonyme": "f7f6eca10c…",
                            "appels_fournisseurs": [
                                {
                                    "fournisseur": "API Particulier",
                                    "endpoint": "/v3/dss/quotient_familial/identite",
                                    "issue": "succes",
                                    "request_id": "79ba39bd-a8e3-440c-a856-cd90d7be81d8",
                                    "statut_http": 200,
                                    "depuis_cache": False,
                                }
                            ],
                            "decision_id": "8da5a3dc-0723-44b7-8b4e-e59e952a188a",
                            "reglement_id": "ccas-demoville",
                            "reglement_version": "2026.1",
                            "reglement_empreinte": "sha256:2dc63f17c7c8…",
                            "resultats": [{"dispositif": "aide-alimentaire", "statut": "eligible"}],
                        }
                    ],
                    "curseur_suivant": "20261126T150432.844533Z-b325fb291e564af4b8b109b50490a64d",
                }
            ]
        }
    )

    entrees: list[EntreeJournal] = Field(description="Les entrées de la page.")
    curseur_suivant: str | None = Field(
        description="À passer en `curseur` pour la page suivante ; absent à la dernière page."
    )
