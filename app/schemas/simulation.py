"""HTTP models of `POST /v1/simulations`: evaluate a règlement on supplied facts, no upstream call."""

from __future__ import annotations

from datetime import date
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from app.schemas.eligibilite import ParametreOut, ReglementRef, ResultatOut


class DemandeSimulation(BaseModel):
    """Des faits supposés, et le règlement sur lequel les évaluer."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "faits": {
                        "quotient_familial_caf": 550,
                        "enfants": [{"date_naissance": "2016-05"}],
                        "allocataires": [{"date_naissance": "1988-02-11"}],
                    },
                    "date_reference": "2026-11-26",
                }
            ]
        },
    )

    faits: dict[str, Any] = Field(description="Faits supposés, par nom du catalogue des faits.")
    date_reference: date | None = Field(
        default=None, description="Date d'appréciation (AAAA-MM-JJ) ; aujourd'hui si absente."
    )
    dispositifs: list[str] | None = Field(
        default=None, description="Identifiants des dispositifs à évaluer ; tous si absent."
    )
    reglement: str | None = Field(
        default=None,
        description="Texte YAML d'un règlement proposé ; à défaut, celui de l'organisme.",
        max_length=500_000,
    )


class ResultatSimulation(BaseModel):
    """Les propositions qu'aurait rendues le règlement sur ces faits (rien n'est journalisé)."""

    date_reference: date = Field(description="Date d'appréciation.")
    reglement: ReglementRef = Field(description="Règlement évalué.")
    resultats: list[ResultatOut] = Field(description="Une proposition par aide évaluée.")
    parametres_appliques: list[ParametreOut] = Field(
        default=[], description="Paramètres en vigueur à la date d'appréciation."
    )
