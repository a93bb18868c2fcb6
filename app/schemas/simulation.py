"""HTTP models of `POST /v1/simulations`: evaluate a règlement on supplied facts, no upstream call."""

from __future__ import annotations

from datetime import date
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from app.rules.facts import CATALOGUE_FAITS, DefinitionFait, TypeFait
from app.rules.nombres import DECIMALES_MAX, NOMBRE_MAX
from app.schemas.eligibilite import (
    EXEMPLE_DECISION,
    EXEMPLE_RESULTAT,
    DateIso,
    ParametreOut,
    ReglementRef,
    ResultatOut,
)
from app.schemas.formats import DATE_PARTIELLE_AMONT_PATTERN, DATE_PARTIELLE_PATTERN

_PERIODE = r"^[0-9]{4}(-(0[1-9]|1[0-2]))?$"


#: The engine's bounds (app/rules/nombres.py). The "6 decimals at most" has no exact JSON Schema form
#: (`multipleOf` on binary floats misjudges 0.3): the descriptions say it, `make fuzz`'s hooks respect it.
_BORNE = int(NOMBRE_MAX)
_SCHEMAS_SIMPLES: dict[TypeFait, dict[str, Any]] = {
    TypeFait.NOMBRE: {"type": "number", "exclusiveMinimum": -_BORNE, "exclusiveMaximum": _BORNE},
    TypeFait.ENTIER: {"type": "integer", "minimum": 0, "exclusiveMaximum": _BORNE},
    TypeFait.BOOLEEN: {"type": "boolean"},
    TypeFait.DATE: {"type": "string", "pattern": DATE_PARTIELLE_PATTERN},
}


def _schema_valeur(definition: DefinitionFait) -> dict[str, Any]:
    if definition.type in _SCHEMAS_SIMPLES:
        return dict(_SCHEMAS_SIMPLES[definition.type])
    match definition.type:
        case TypeFait.TEXTE:
            if definition.valeurs_admises:
                return {"type": "string", "enum": list(definition.valeurs_admises)}
            return {"type": "string", "minLength": 1}
        case TypeFait.MEMBRES:
            personne = {
                "type": "object",
                "additionalProperties": False,
                "properties": {
                    "date_naissance": {
                        "anyOf": [
                            {"type": "string", "pattern": DATE_PARTIELLE_AMONT_PATTERN},
                            {"type": "null"},
                        ]
                    },
                    "sexe": {"anyOf": [{"type": "string", "enum": ["F", "M"]}, {"type": "null"}]},
                },
            }
            return {
                "type": "array",
                "items": {"anyOf": [{"type": "string", "pattern": DATE_PARTIELLE_AMONT_PATTERN}, personne]},
            }
    raise ValueError(definition.type)  # pragma: no cover - TypeFait is exhaustive


def _schema_fait(definition: DefinitionFait) -> dict[str, Any]:
    valeur = _schema_valeur(definition)
    bornes = (
        f" ; nombre fini de valeur absolue inférieure à 10^12, au plus {DECIMALES_MAX} décimales"
        if definition.type in (TypeFait.NOMBRE, TypeFait.ENTIER)
        else ""
    )
    description = f"{definition.libelle.capitalize()} ({definition.type}{bornes})."
    schema: dict[str, Any] = {"description": description}
    if definition.type is TypeFait.MEMBRES:
        return {**schema, **valeur}
    detaillee = {
        "type": "object",
        "required": ["valeur"],
        "additionalProperties": False,
        "properties": {
            "valeur": valeur,
            "periode": {"anyOf": [{"type": "string", "pattern": _PERIODE}, {"type": "null"}]},
            "fournisseur": {"anyOf": [{"type": "string"}, {"type": "null"}]},
        },
    }
    return {**schema, "anyOf": [valeur, detaillee]}


#: The `faits` object: each fact of the catalogue, as a value or {valeur, periode, fournisseur}.
SCHEMA_FAITS: dict[str, Any] = {
    "additionalProperties": False,
    "properties": {nom: _schema_fait(d) for nom, d in sorted(CATALOGUE_FAITS.items())},
}


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

    faits: dict[str, Any] = Field(
        description="Faits supposés, par nom du catalogue des faits : une valeur, ou "
        "{valeur, periode, fournisseur}.",
        json_schema_extra=SCHEMA_FAITS,
    )
    date_reference: DateIso | None = Field(
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

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "date_reference": "2026-11-26",
                    "reglement": EXEMPLE_DECISION["reglement"],
                    "resultats": [EXEMPLE_RESULTAT],
                    "parametres_appliques": EXEMPLE_DECISION["parametres_appliques"],
                }
            ]
        }
    )

    date_reference: date = Field(description="Date d'appréciation.")
    reglement: ReglementRef = Field(description="Règlement évalué.")
    resultats: list[ResultatOut] = Field(description="Une proposition par aide évaluée.")
    parametres_appliques: list[ParametreOut] = Field(
        default=[], description="Paramètres en vigueur à la date d'appréciation."
    )
