"""HTTP models of `POST /v1/eligibilite` and `GET /v1/decisions/{id}` (French snake_case field names).

Numbers stay exact inside the gateway (`Decimal`) and are written as JSON numbers.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    WithJsonSchema,
    field_validator,
)

from app.rules.facts import FAITS_DECLARATIFS
from app.schemas.demandeur import COMMUNE_COG_PATTERN, Demandeur, code_commune_cog


def decimal_as_json_number(value: Decimal) -> int | float:
    """Integral values as integers; others as the shortest float that prints the same digits."""
    return int(value) if value == value.to_integral_value() else float(value)


#: An exact decimal (money in euros, a quotient, a number of parts) written as a JSON number.
Nombre = Annotated[
    Decimal,
    PlainSerializer(decimal_as_json_number, when_used="json"),
    WithJsonSchema(
        {
            "type": "number",
            "description": "Nombre décimal exact (montants en euros, au centime), "
            "écrit comme un nombre JSON.",
        },
        mode="serialization",
    ),
]


def json_numbers(value: Any) -> Any:
    """Certified data as JSON: exact decimals become numbers, not strings."""
    if isinstance(value, Decimal):
        return decimal_as_json_number(value)
    if isinstance(value, dict):
        return {k: json_numbers(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_numbers(v) for v in value]
    return value


#: The certified data returned for pre-filling, keyed by data set; its contract is the
#: `DonneesPreRemplissage` schema (app/schemas/pre_remplissage.py, declared by app.openapi).
DonneesCertifiees = Annotated[
    dict[str, Any],
    PlainSerializer(json_numbers, when_used="json"),
    # A marker `app.openapi` turns into a reference to that schema (pydantic resolves `$ref` itself).
    WithJsonSchema({"type": "object", "x-schema": "DonneesPreRemplissage"}),
]
Valeur = Nombre | int | bool | str | list[str] | None


def date_iso(valeur: object) -> object:
    # Only AAAA-MM-JJ, as `format: date` says: pydantic would also read a number as a Unix
    # timestamp and accept a date-time at midnight.
    if not isinstance(valeur, str) or not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", valeur):
        raise ValueError("doit être une date AAAA-MM-JJ")
    return valeur


#: A calendar date written AAAA-MM-JJ, nothing else.
DateIso = Annotated[date, BeforeValidator(date_iso)]

#: The JSON Schema form (ECMA-262, where `$` is the end of the text).
DOSSIER_REF_PATTERN = r"^[A-Za-z0-9._:/\-]{1,64}$"
# `\Z`, not `$`: in Python `$` also matches before a final newline ("D-0001\n" was accepted).
_DOSSIER_REF = re.compile(r"^[A-Za-z0-9._:/\-]{1,64}\Z", re.ASCII)


def reference_de_dossier_valide(value: str) -> bool:
    return bool(_DOSSIER_REF.match(value))


def _dossier_ref(value: str | None) -> str | None:
    if value is not None and not reference_de_dossier_valide(value):
        raise ValueError(
            "la référence de dossier compte 1 à 64 caractères parmi lettres, chiffres et . _ : / -"
        )
    return value


DossierRef = Annotated[
    str | None,
    AfterValidator(_dossier_ref),
    Field(
        description="Référence du dossier chez l'appelant (journalisée) : 1 à 64 caractères parmi "
        "lettres, chiffres et . _ : / -.",
        json_schema_extra={"pattern": DOSSIER_REF_PATTERN},
    ),
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
    """Faits déclarés par l'agent ; marqués non certifiés partout où ils servent.

    Outre les deux que la passerelle connaît, tout fait que le règlement de l'appelant déclare
    (`faits_declares`) peut être donné ; il est vérifié contre ce règlement (422 nommant le fait)."""

    model_config = ConfigDict(
        extra="allow",
        str_strip_whitespace=True,
        json_schema_extra={"additionalProperties": True},
    )

    commune_residence: str | None = Field(
        default=None,
        description="Code COG de la commune de résidence (5 caractères, ex. 08480, 2A004).",
        json_schema_extra={"pattern": COMMUNE_COG_PATTERN},
    )
    statut_occupation_logement: (
        Literal["proprietaire", "locataire", "heberge", "sans_domicile", "autre"] | None
    ) = Field(default=None, description="Statut d'occupation du logement, déclaré.")

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
    """Un demandeur, et les aides à évaluer pour lui."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [EXEMPLE_DEMANDE]})

    demandeur: Demandeur = Field(description="Identité pivot du demandeur (l'allocataire).")
    dispositifs: list[str] | None = Field(
        default=None,
        description="Identifiants des dispositifs à évaluer (voir GET /v1/reglement) ; tous si absent.",
        json_schema_extra={"minItems": 1},
    )
    date_reference: DateIso | None = Field(
        default=None,
        description="Date à laquelle la situation est appréciée (AAAA-MM-JJ) ; aujourd'hui si absente.",
    )
    dossier_ref: DossierRef = None
    declaratif: Declaratif | None = Field(
        default_factory=Declaratif,
        description="Faits déclarés par l'agent (non certifiés) ; aucun si absent.",
    )

    @field_validator("declaratif", mode="before")
    @classmethod
    def _declaratif(cls, value: object) -> object:
        # `null` means absent, as for every optional field.
        return {} if value is None else value

    @field_validator("dispositifs")
    @classmethod
    def _dispositifs(cls, value: list[str] | None) -> list[str] | None:
        if value is not None and not value:
            raise ValueError("indiquer au moins un dispositif, ou null pour tous")
        return value


class SourceOut(BaseModel):
    """D'où vient une valeur."""

    fournisseur: str = Field(description="Fournisseur (CNAF, MSA, DGFiP…) ou `declaratif`.")
    certifie: bool = Field(description="Vrai pour une donnée certifiée par un fournisseur de l'État.")
    periode: str | None = Field(default=None, description="Période à laquelle la donnée se rapporte.")
    obtenu_le: datetime | None = Field(default=None, description="Instant où la donnée a été obtenue.")
    depuis_cache: bool = Field(default=False, description="Vrai quand la donnée vient du cache.")
    request_id: str | None = Field(default=None, description="Identifiant de la requête chez le fournisseur.")
    perime: bool = Field(
        default=False,
        description="Vrai quand la valeur vient du cache au-delà de sa durée de fraîcheur, "
        "le fournisseur étant indisponible (stale-if-error).",
    )


_VALEUR = "Nombre décimal exact, entier, booléen, texte, liste de textes, ou null."


class ConditionOut(BaseModel):
    """Une condition du règlement, évaluée."""

    critere: str = Field(description="Fait ou grandeur comparé (ex. quotient_familial_caf).")
    operateur: str = Field(description="Opérateur de comparaison (<=, <, =, dans…).")
    seuil: Valeur = Field(description="Seuil du règlement. " + _VALEUR)
    valeur: Valeur = Field(description="Valeur du demandeur. " + _VALEUR)
    satisfaite: bool | None = Field(description="Vrai, faux, ou null quand la donnée manque.")
    ecart: Nombre | None = Field(description="Écart entre la valeur et le seuil, quand il a un sens.")
    source: SourceOut | None = Field(description="Provenance de la valeur.")
    deliberation: str | None = Field(description="Délibération qui fixe le seuil.")
    parametre: str | None = Field(default=None, description="Paramètre daté du règlement utilisé.")
    explication: str = Field(description="Phrase en français pour l'agent.")
    piece_justificative: str | None = Field(
        default=None, description="Pièce à demander quand la donnée manque ou est déclarative."
    )
    code: str | None = Field(
        default=None, description="Code stable de la condition dans son aide (motif lisible par machine)."
    )


class ResultatOut(BaseModel):
    """La proposition de décision pour une aide."""

    dispositif: str = Field(description="Identifiant du dispositif.")
    libelle: str = Field(description="Nom de l'aide.")
    statut: Literal["eligible", "non_eligible", "a_verifier"] = Field(
        description="eligible, non_eligible, ou a_verifier quand une donnée manque."
    )
    montant: Nombre | None = Field(
        default=None, description="Montant de l'aide en euros (nombre décimal exact, au centime)."
    )
    tranche: str | None = Field(default=None, description="Tranche du barème retenue.")
    motif: str = Field(description="Motif de la proposition, en français.")
    conditions: list[ConditionOut] = Field(description="Chaque condition évaluée.")
    pieces_justificatives: list[str] = Field(default=[], description="Pièces à demander au demandeur.")
    base_legale: str | None = Field(default=None, description="Texte qui fonde l'aide.")
    deliberation: str | None = Field(default=None, description="Délibération qui crée l'aide.")
    decisives: list[str] = Field(
        default=[],
        description="Codes des conditions (ou groupes « au moins ») qui ont décidé du statut : "
        "celles que nomme le motif.",
    )


class ReglementRef(BaseModel):
    """Le règlement appliqué, identifié sans ambiguïté."""

    id: str = Field(description="Identifiant du règlement.")
    version: str = Field(description="Version du règlement.")
    empreinte: str = Field(description="Empreinte SHA-256 du texte du règlement (`sha256:…`).")


class ParametreOut(BaseModel):
    """Un paramètre daté du règlement, tel qu'en vigueur à la date de référence."""

    nom: str = Field(description="Nom du paramètre.")
    valeur: Nombre | str | list[str] = Field(description="Valeur en vigueur (montants en euros).")
    depuis: date = Field(description="Date d'entrée en vigueur de cette valeur.")
    deliberation: str | None = Field(description="Délibération qui l'a fixée.")


class DonneeIndisponible(BaseModel):
    """Un jeu de données que la passerelle n'a pas pu utiliser, et pourquoi (montré à l'agent)."""

    donnee: str = Field(description="Jeu de données (ex. quotient_familial).")
    code: str = Field(description="Code stable de la raison (ex. personne-introuvable).")
    raison: str = Field(description="Raison, en français.")


EXEMPLE_RESULTAT: dict[str, Any] = {
    "dispositif": "aide-alimentaire",
    "libelle": "Aide alimentaire (bons d'achat)",
    "statut": "eligible",
    "montant": 45.5,
    "tranche": None,
    "motif": "Toutes les conditions sont remplies.",
    "conditions": [
        {
            "critere": "quotient_familial_caf",
            "operateur": "<=",
            "seuil": 700,
            "valeur": 150,
            "satisfaite": True,
            "ecart": 550,
            "source": {
                "fournisseur": "CNAF",
                "certifie": True,
                "periode": "2026-11",
                "obtenu_le": "2026-11-26T15:04:32Z",
                "depuis_cache": False,
                "request_id": "79ba39bd-a8e3-440c-a856-cd90d7be81d8",
                "perime": False,
            },
            "deliberation": "Délibération n° 2025-12 du 4 décembre 2025",
            "parametre": "plafond_qf_aide_alimentaire",
            "explication": "Le quotient familial CAF/MSA (150 €) est inférieur ou égal au plafond (700 €).",
            "piece_justificative": None,
        }
    ],
    "pieces_justificatives": [],
    "base_legale": "Code de l'action sociale et des familles, art. L123-5",
    "deliberation": None,
}
EXEMPLE_DECISION: dict[str, Any] = {
    "id": "8da5a3dc-0723-44b7-8b4e-e59e952a188a",
    "cree_le": "2026-11-26T15:04:32.844533Z",
    "date_reference": "2026-11-26",
    "dossier_ref": "D-2026-00042",
    "reglement": {"id": "ccas-demoville", "version": "2026.1", "empreinte": "sha256:2dc63f17c7c8…"},
    "resultats": [EXEMPLE_RESULTAT],
    "parametres_appliques": [
        {
            "nom": "plafond_qf_aide_alimentaire",
            "valeur": 700,
            "depuis": "2026-01-01",
            "deliberation": "Délibération n° 2025-12 du 4 décembre 2025",
        }
    ],
    "donnees_indisponibles": [],
    "mention": "Proposition de décision, à confirmer par un agent : "
    "ce n'est pas une décision administrative.",
}


class _ContenuDecision(BaseModel):
    """What a decision says, as answered and as read back from the journal."""

    id: UUID = Field(description="Identifiant de la décision journalisée.")
    cree_le: datetime = Field(description="Instant de la décision.")
    date_reference: date = Field(description="Date à laquelle la situation est appréciée.")
    dossier_ref: str | None = Field(description="Référence du dossier chez l'appelant.")
    reglement: ReglementRef = Field(description="Règlement appliqué.")
    resultats: list[ResultatOut] = Field(description="Une proposition par aide évaluée.")
    parametres_appliques: list[ParametreOut] = Field(
        default=[], description="Paramètres du règlement en vigueur à la date de référence."
    )
    donnees_indisponibles: list[DonneeIndisponible] = Field(
        default=[], description="Jeux de données non obtenus, et pourquoi."
    )
    mention: str = Field(
        description="Mention à reproduire : une proposition, pas une décision administrative."
    )


class Decision(_ContenuDecision):
    """Une décision : ce que rend `POST /v1/eligibilite`."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {**EXEMPLE_DECISION, "donnees": {"quotient_familial": {"fournisseur": "CNAF", "valeur": 150}}}
            ]
        }
    )

    donnees: DonneesCertifiees | None = Field(
        default=None,
        description="Données certifiées pour pré-remplir le dossier (absentes du journal).",
    )


class FaitConnu(BaseModel):
    """Un fait utilisé par l'évaluation, avec sa provenance."""

    valeur: Any = Field(description="Valeur du fait (décimaux écrits en texte, exacts).")
    source: SourceOut | None = Field(description="Provenance du fait.")


class FaitIndisponible(BaseModel):
    """Un fait que l'évaluation n'a pas pu obtenir."""

    code: str = Field(description="Code stable de la raison.")
    raison: str = Field(description="Raison, en français.")
    source: SourceOut | None = Field(default=None, description="Fournisseur en cause.")


class FaitsJournalises(BaseModel):
    """Les faits utilisés par la décision, tels que journalisés."""

    connus: dict[str, FaitConnu] = Field(description="Faits connus, par nom du catalogue.")
    indisponibles: dict[str, FaitIndisponible] = Field(description="Faits indisponibles, par nom.")


class DecisionJournalisee(_ContenuDecision):
    """Une décision telle que journalisée : ce que rend `GET /v1/decisions/{id}`."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    **EXEMPLE_DECISION,
                    "faits": {
                        "connus": {
                            "quotient_familial_caf": {
                                "valeur": "150",
                                "source": EXEMPLE_RESULTAT["conditions"][0]["source"],
                            }
                        },
                        "indisponibles": {},
                    },
                }
            ]
        }
    )

    id: UUID = Field(description="Identifiant de la décision.")
    date_reference: date = Field(description="Date à laquelle la situation a été appréciée.")
    faits: FaitsJournalises = Field(description="Faits utilisés, avec leurs sources.")
