"""HTTP models of `POST /v1/simulations/impact`: a proposed règlement replayed on the organisme's past
decisions, summarised per aid and in total."""

from __future__ import annotations

from datetime import date
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from app.schemas.eligibilite import DateIso, ReglementRef

#: An exact sum of euros, as text with at least two decimals (never a binary float).
SOMME_PATTERN = r"^-?[0-9]+\.[0-9]{2,}$"
_IDENTIFIANT = r"^[a-z0-9][a-z0-9_-]{0,63}$"
_VALEUR_PARAMETRE: dict[str, Any] = {
    "anyOf": [
        {"type": "number"},
        {"type": "string", "minLength": 1, "maxLength": 200},
        {"type": "array", "maxItems": 200, "items": {"type": "string", "minLength": 1, "maxLength": 200}},
    ]
}

EXEMPLE_DEMANDE_IMPACT: dict[str, Any] = {
    "parametres": {"plafond_qf_alimentaire": 650},
    "date_effet": "2027-01-01",
    "du": "2026-01-01",
    "au": "2026-11-30",
    "dispositifs": None,
}


class DemandeImpact(BaseModel):
    """Un règlement proposé (texte YAML entier, ou nouvelles valeurs de paramètres) et la période de
    décisions passées sur laquelle le rejouer."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [EXEMPLE_DEMANDE_IMPACT],
            # Schema = validation: a whole text, or new values with their effective date.
            "oneOf": [
                {
                    "required": ["reglement"],
                    "properties": {"reglement": {"type": "string"}, "parametres": {"type": "null"}},
                },
                {
                    "required": ["parametres", "date_effet"],
                    "properties": {
                        "parametres": {"not": {"type": "null"}},
                        "date_effet": {"not": {"type": "null"}},
                        "reglement": {"type": "null"},
                    },
                },
            ],
        },
    )

    reglement: str | None = Field(
        default=None,
        description="Texte YAML du règlement proposé (exclusif de `parametres`).",
        max_length=500_000,
    )
    parametres: dict[str, Any] | None = Field(
        default=None,
        description="Nouvelles valeurs de paramètres du règlement actuel, par nom (exclusif de "
        "`reglement`) ; elles prennent effet à `date_effet`.",
        max_length=50,
        json_schema_extra={
            "minProperties": 1,
            "propertyNames": {"pattern": _IDENTIFIANT},
            "additionalProperties": _VALEUR_PARAMETRE,
        },
    )
    date_effet: DateIso | None = Field(
        default=None,
        description="Date d'effet proposée (AAAA-MM-JJ) : les valeurs en vigueur ce jour-là sont "
        "appliquées aux décisions antérieures rejouées. Obligatoire avec `parametres`.",
    )
    du: DateIso = Field(description="Premier jour des décisions rejouées (AAAA-MM-JJ, heure de Paris).")
    au: DateIso = Field(description="Dernier jour inclus des décisions rejouées (AAAA-MM-JJ).")
    dispositifs: list[str] | None = Field(
        default=None,
        description="Dispositifs rejoués ; tous ceux de chaque décision si absent.",
        max_length=50,
        json_schema_extra={"minItems": 1, "items": {"type": "string", "pattern": _IDENTIFIANT}},
    )

    @field_validator("dispositifs")
    @classmethod
    def _dispositifs(cls, value: list[str] | None) -> list[str] | None:
        if value is not None and not value:
            raise ValueError("indiquer au moins un dispositif, ou null pour tous")
        return value

    @model_validator(mode="after")
    def _une_proposition(self) -> DemandeImpact:
        if (self.reglement is None) == (self.parametres is None):
            raise ValueError("donner soit `reglement` (texte YAML), soit `parametres` (nouvelles valeurs)")
        if self.parametres is not None and self.date_effet is None:
            raise ValueError("`date_effet` est obligatoire avec `parametres`")
        if self.parametres is not None and not self.parametres:
            raise ValueError("`parametres` nomme au moins un paramètre")
        return self


class ParStatut(BaseModel):
    """Un nombre de résultats par statut."""

    eligible: int = Field(description="Résultats « éligible ».")
    non_eligible: int = Field(description="Résultats « non éligible ».")
    a_verifier: int = Field(description="Résultats « à vérifier ».")


class Transition(BaseModel):
    """Des résultats passés d'un statut à un autre."""

    de: str = Field(description="Statut journalisé.")
    vers: str = Field(description="Statut sous la proposition.")
    nombre: int = Field(description="Nombre de résultats (décision × dispositif).")


class RaisonNonEvaluable(BaseModel):
    """Pourquoi des résultats n'ont pu être rejoués sous la proposition."""

    raison: str = Field(description="La raison, en français (par ex. la donnée non collectée à l'époque).")
    nombre: int = Field(description="Nombre de résultats concernés.")


class BilanDispositif(BaseModel):
    """L'effet de la proposition sur un dispositif (ou sur tous : `total`)."""

    dispositif: str = Field(description="Identifiant du dispositif (`total` pour l'ensemble).")
    libelle: str = Field(description="Libellé du dispositif.")
    rejoues: int = Field(description="Résultats rejoués sous la proposition (décision × dispositif).")
    changements: int = Field(description="Résultats dont le statut, le montant ou la tranche changent.")
    statuts_avant: ParStatut = Field(description="Statuts journalisés des résultats rejoués.")
    statuts_apres: ParStatut = Field(description="Statuts sous la proposition.")
    transitions: list[Transition] = Field(description="Changements de statut, par paire de statuts.")
    montant_avant: str = Field(
        description="Somme exacte des montants journalisés des résultats éligibles (euros, au moins "
        "deux décimales, texte).",
        pattern=SOMME_PATTERN,
    )
    montant_apres: str = Field(
        description="Somme exacte des montants sous la proposition (euros, texte).", pattern=SOMME_PATTERN
    )
    difference: str = Field(
        description="montant_apres − montant_avant (euros, texte ; négatif : une économie).",
        pattern=SOMME_PATTERN,
    )
    tranches_avant: dict[str, int] = Field(description="Résultats journalisés par tranche (libellé).")
    tranches_apres: dict[str, int] = Field(description="Résultats par tranche sous la proposition.")
    non_evaluables: int = Field(description="Résultats que la proposition ne peut évaluer (comptés à part).")
    raisons_non_evaluables: list[RaisonNonEvaluable] = Field(description="Les mêmes, par raison.")


class VerdictOut(BaseModel):
    """Ce qu'une décision dit pour un dispositif, tel que comparé (jamais ses explications)."""

    statut: str = Field(description="`eligible`, `non_eligible` ou `a_verifier`.")
    montant: str | None = Field(description="Montant exact (euros, texte), s'il y en a un.")
    tranche: str | None = Field(description="Tranche, s'il y en a une.")
    decisives: list[str] | None = Field(
        description="Codes des conditions décisives (null : non journalisés)."
    )


class AlerteIntegrite(BaseModel):
    """Une décision que son propre règlement ne reproduit pas à l'identique."""

    decision_id: str = Field(description="Identifiant de la décision journalisée.")
    dossier_ref: str | None = Field(
        description="Référence du dossier (le demandeur n'apparaît que par elle)."
    )
    dispositif: str = Field(description="Dispositif concerné.")
    journalise: VerdictOut = Field(description="Ce que le journal contient.")
    rejoue: VerdictOut | None = Field(description="Ce que le rejeu donne (null : rejeu impossible).")
    raison: str | None = Field(description="Pourquoi, en français.")


EXEMPLE_BILAN: dict[str, Any] = {
    "dispositif": "aide-alimentaire",
    "libelle": "Aide alimentaire d'urgence",
    "rejoues": 120,
    "changements": 9,
    "statuts_avant": {"eligible": 40, "non_eligible": 78, "a_verifier": 2},
    "statuts_apres": {"eligible": 49, "non_eligible": 69, "a_verifier": 2},
    "transitions": [{"de": "non_eligible", "vers": "eligible", "nombre": 9}],
    "montant_avant": "4200.00",
    "montant_apres": "5145.00",
    "difference": "945.00",
    "tranches_avant": {},
    "tranches_apres": {},
    "non_evaluables": 0,
    "raisons_non_evaluables": [],
}


class ImpactReglement(BaseModel):
    """Ce que la proposition aurait changé sur les décisions de la période, et ce qu'elle coûterait."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "du": "2026-01-01",
                    "au": "2026-11-30",
                    "reglement_propose": {
                        "id": "ccas-demoville",
                        "version": "2026.1+proposition",
                        "empreinte": "sha256:" + "0" * 64,
                    },
                    "date_effet": "2027-01-01",
                    "decisions": 120,
                    "decisions_illisibles": 0,
                    "decisions_non_verifiables": 0,
                    "total": {**EXEMPLE_BILAN, "dispositif": "total", "libelle": "Tous les dispositifs"},
                    "dispositifs": [EXEMPLE_BILAN],
                    "alertes_integrite": 0,
                    "alertes": [],
                }
            ]
        }
    )

    du: date = Field(description="Premier jour de la période rejouée.")
    au: date = Field(description="Dernier jour de la période rejouée.")
    reglement_propose: ReglementRef = Field(description="Le règlement proposé, identifié.")
    date_effet: date | None = Field(description="Date d'effet appliquée aux décisions antérieures.")
    decisions: int = Field(description="Décisions de l'organisme lues dans la période.")
    decisions_illisibles: int = Field(
        description="Décisions qu'aucune clé du trousseau du journal n'ouvre plus (non rejouées)."
    )
    decisions_non_verifiables: int = Field(
        description="Décisions dont le règlement d'origine n'est pas archivé : rejouées sous la "
        "proposition, sans contrôle d'intégrité."
    )
    total: BilanDispositif = Field(description="Tous les dispositifs ensemble.")
    dispositifs: list[BilanDispositif] = Field(description="Un bilan par dispositif rejoué.")
    alertes_integrite: int = Field(
        description="Résultats que leur propre règlement ne reproduit pas exactement (tous comptés)."
    )
    alertes: list[AlerteIntegrite] = Field(
        description="Ces résultats (les 1000 premiers ; tous figurent dans le CSV)."
    )
