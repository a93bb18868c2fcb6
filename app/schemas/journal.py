"""HTTP models of `GET /v1/journal`: the organisme's own consultations and decisions."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from pydantic import BaseModel, Field


class AppelFournisseurJournal(BaseModel):
    fournisseur: str
    endpoint: str = Field(description="Chemin appelé, jamais l'URL avec ses paramètres d'identité.")
    issue: str
    request_id: str | None
    statut_http: int | None
    depuis_cache: bool


class ResultatJournal(BaseModel):
    dispositif: str
    statut: str


class EntreeJournal(BaseModel):
    consultation_id: UUID
    cree_le: datetime
    type: str = Field(description="eligibilite, donnees ou simulation")
    statut: str = Field(description="succes ou echec")
    client_id: str | None
    agent_id: str | None
    dossier_ref: str | None
    demandeur_pseudonyme: str | None = Field(
        description="Pseudonyme HMAC du demandeur, propre à l'organisme (jamais l'état civil)."
    )
    appels_fournisseurs: list[AppelFournisseurJournal]
    decision_id: UUID | None
    reglement_id: str | None
    reglement_version: str | None
    reglement_empreinte: str | None
    resultats: list[ResultatJournal]


class PageJournal(BaseModel):
    entrees: list[EntreeJournal]
    curseur_suivant: str | None = Field(
        description="À passer en `curseur` pour la page suivante ; absent à la dernière page."
    )
