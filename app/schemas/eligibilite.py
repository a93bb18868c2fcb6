"""HTTP models of `POST /v1/eligibilite` and `GET /v1/decisions/{id}` (French snake_case field names).

Numbers stay exact inside the gateway (`Decimal`) and are written as JSON numbers.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, PlainSerializer, field_validator

from app.rules.facts import FAITS_DECLARATIFS
from app.schemas.demandeur import Demandeur, code_commune_cog


def decimal_as_json_number(value: Decimal) -> int | float:
    """Integral values as integers; others as the shortest float that prints the same digits."""
    return int(value) if value == value.to_integral_value() else float(value)


Nombre = Annotated[Decimal, PlainSerializer(decimal_as_json_number, when_used="json")]


def json_numbers(value: Any) -> Any:
    """Certified data as JSON: exact decimals become numbers, not strings."""
    if isinstance(value, Decimal):
        return decimal_as_json_number(value)
    if isinstance(value, dict):
        return {k: json_numbers(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_numbers(v) for v in value]
    return value


#: The certified data returned for pre-filling, keyed by data set.
DonneesCertifiees = Annotated[dict[str, Any], PlainSerializer(json_numbers, when_used="json")]
Valeur = Nombre | int | bool | str | list[str] | None

_DOSSIER_REF = re.compile(r"^[A-Za-z0-9._:/\-]{1,64}$", re.ASCII)


def _dossier_ref(value: str | None) -> str | None:
    if value is not None and not _DOSSIER_REF.match(value):
        raise ValueError(
            "la référence de dossier compte 1 à 64 caractères parmi lettres, chiffres et . _ : / -"
        )
    return value


DossierRef = Annotated[
    str | None,
    AfterValidator(_dossier_ref),
    Field(description="Référence du dossier chez l'appelant (journalisée)."),
]

EXEMPLE_DEMANDE: dict[str, Any] = {
    "demandeur": {
        "nom_naissance": "MARTIN",
        "prenoms": ["AXELLE"],
        "sexe": "F",
        "date_naissance": "1989-12-03",
        "code_cog_insee_commune_naissance": "35238",
        "code_cog_insee_pays_naissance": "99100",
    },
    "dispositifs": None,
    "date_reference": None,
    "dossier_ref": "D-2026-00042",
    "declaratif": {"commune_residence": "08480"},
}


class Declaratif(BaseModel):
    """Facts declared by the agent. They are marked non-certified wherever they are used.

    Besides the two the gateway knows, any fact the caller's règlement declares (`faits_declares`)
    may be given; the service checks them against that règlement (422 naming the fact)."""

    model_config = ConfigDict(
        extra="allow",
        str_strip_whitespace=True,
        json_schema_extra={"additionalProperties": True},
    )

    commune_residence: str | None = Field(default=None, description="Code COG de la commune de résidence.")
    statut_occupation_logement: (
        Literal["proprietaire", "locataire", "heberge", "sans_domicile", "autre"] | None
    ) = None

    @field_validator("commune_residence")
    @classmethod
    def _commune(cls, value: str | None) -> str | None:
        return code_commune_cog(value, "la commune de résidence")

    def faits(self) -> dict[str, str]:
        """The gateway's declared facts that were given, by their catalogue name."""
        return {k: v for k, v in self.model_dump(exclude_none=True).items() if k in FAITS_DECLARATIFS}

    def autres(self) -> dict[str, Any]:
        """The other facts given, as sent (null meaning not given): the règlement's declared facts,
        checked by the service."""
        return {nom: valeur for nom, valeur in (self.model_extra or {}).items() if valeur is not None}


class DemandeEligibilite(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [EXEMPLE_DEMANDE]})

    demandeur: Demandeur
    dispositifs: list[str] | None = Field(
        default=None, description="Identifiants des dispositifs à évaluer ; tous si absent."
    )
    date_reference: date | None = Field(
        default=None, description="Date à laquelle la situation est appréciée ; aujourd'hui si absente."
    )
    dossier_ref: DossierRef = None
    declaratif: Declaratif = Field(default_factory=Declaratif)

    @field_validator("dispositifs")
    @classmethod
    def _dispositifs(cls, value: list[str] | None) -> list[str] | None:
        if value is not None and not value:
            raise ValueError("indiquer au moins un dispositif, ou null pour tous")
        return value


class SourceOut(BaseModel):
    fournisseur: str
    certifie: bool
    periode: str | None = None
    obtenu_le: datetime | None = None
    depuis_cache: bool = False
    request_id: str | None = None
    perime: bool = Field(
        default=False,
        description="Vrai quand la valeur vient du cache au-delà de sa durée de fraîcheur, "
        "le fournisseur étant indisponible (stale-if-error).",
    )


class ConditionOut(BaseModel):
    critere: str
    operateur: str
    seuil: Valeur
    valeur: Valeur
    satisfaite: bool | None
    ecart: Nombre | None
    source: SourceOut | None
    deliberation: str | None
    parametre: str | None = None
    explication: str
    piece_justificative: str | None = None
    code: str | None = Field(
        default=None, description="Code stable de la condition dans son aide (motif lisible par machine)."
    )


class ResultatOut(BaseModel):
    dispositif: str
    libelle: str
    statut: Literal["eligible", "non_eligible", "a_verifier"]
    montant: Nombre | None = None
    tranche: str | None = None
    motif: str
    conditions: list[ConditionOut]
    pieces_justificatives: list[str] = []
    base_legale: str | None = None
    deliberation: str | None = None
    decisives: list[str] = Field(
        default=[],
        description="Codes des conditions (ou groupes « au moins ») qui ont décidé du statut : "
        "celles que nomme le motif.",
    )


class ReglementRef(BaseModel):
    id: str
    version: str
    empreinte: str


class ParametreOut(BaseModel):
    nom: str
    valeur: Nombre | str | list[str]
    depuis: date
    deliberation: str | None


class DonneeIndisponible(BaseModel):
    """A data set the gateway could not use, and why (shown to the agent)."""

    donnee: str
    code: str
    raison: str


class Decision(BaseModel):
    """A decision record: what `POST /v1/eligibilite` returns and `GET /v1/decisions/{id}` replays."""

    id: UUID
    cree_le: datetime
    date_reference: date
    dossier_ref: str | None
    reglement: ReglementRef
    resultats: list[ResultatOut]
    parametres_appliques: list[ParametreOut] = []
    donnees_indisponibles: list[DonneeIndisponible] = []
    mention: str
    donnees: DonneesCertifiees | None = Field(
        default=None,
        description="Données certifiées pour pré-remplir le dossier (absentes du journal).",
    )
