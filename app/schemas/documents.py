"""HTTP models of the documents (issue 16): the letter's addressee, the verification's answer."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from app.schemas.eligibilite import Nombre, ReglementRef

#: One printable line: no control character (a letter head is printed, never interpreted), not
#: starting with a space (a blank line is not a line). Kept free of `\s`, whose meaning differs
#: between JSON Schema (ECMA-262) and the validator.
LIGNE_PATTERN = r"^[^ \x00-\x1f\x7f][^\x00-\x1f\x7f]*$"
NOM_MAX = 120
LIGNE_ADRESSE_MAX = 80
LIGNES_ADRESSE_MAX = 6

EXEMPLE_LETTRE: dict[str, Any] = {
    "demandeur": {
        "nom": "Madame Axelle MARTIN",
        "adresse": ["Appartement 12", "4 rue des Tilleuls", "08480 DÉMOVILLE"],
    }
}


class DestinatairePostal(BaseModel):
    """Le nom et l'adresse postale du demandeur, pour l'en-tête de la lettre : imprimés une fois,
    jamais journalisés, consignés ni mis en cache."""

    model_config = ConfigDict(extra="forbid")

    nom: Annotated[str, StringConstraints(min_length=1, max_length=NOM_MAX, pattern=LIGNE_PATTERN)] = Field(
        description="Civilité, prénom et nom tels qu'ils figurent sur l'enveloppe "
        f"({NOM_MAX} caractères au plus)."
    )
    adresse: list[
        Annotated[str, StringConstraints(min_length=1, max_length=LIGNE_ADRESSE_MAX, pattern=LIGNE_PATTERN)]
    ] = Field(
        min_length=1,
        max_length=LIGNES_ADRESSE_MAX,
        description=f"Lignes de l'adresse postale, dans l'ordre de l'enveloppe (1 à {LIGNES_ADRESSE_MAX} "
        f"lignes de {LIGNE_ADRESSE_MAX} caractères au plus).",
    )


class DemandeLettre(BaseModel):
    """À qui adresser la lettre."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [EXEMPLE_LETTRE]})

    demandeur: DestinatairePostal = Field(description="Destinataire de la lettre (en-tête seulement).")


class AideVerifiee(BaseModel):
    """Ce que le journal dit d'une aide, pour la comparer au document imprimé."""

    dispositif: str = Field(description="Identifiant du dispositif.")
    libelle: str = Field(description="Nom de l'aide.")
    statut: Literal["eligible", "non_eligible", "a_verifier"] = Field(description="Proposition journalisée.")
    montant: Nombre | None = Field(default=None, description="Montant journalisé, en euros.")
    tranche: str | None = Field(default=None, description="Tranche du barème journalisée.")


class VerificationDocument(BaseModel):
    """Le code imprimé correspond au contenu journalisé de la décision."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "conforme": True,
                    "decision_id": "8da5a3dc-0723-44b7-8b4e-e59e952a188a",
                    "code": "K7QF-2MXA-PZCD",
                    "empreinte_contenu": "sha256:9f2c…",
                    "cree_le": "2026-11-26T15:04:32.844533Z",
                    "date_reference": "2026-11-26",
                    "dossier_ref": "D-2026-00042",
                    "reglement": {"id": "ccas-demoville", "version": "2026.1", "empreinte": "sha256:2dc6…"},
                    "resultats": [
                        {
                            "dispositif": "aide-energie",
                            "libelle": "Aide au paiement des factures d'énergie",
                            "statut": "eligible",
                            "montant": 150,
                            "tranche": "1",
                        }
                    ],
                }
            ]
        }
    )

    conforme: Literal[True] = Field(
        description="Toujours vrai : un code refusé est un 409 `document-non-conforme`."
    )
    decision_id: UUID = Field(description="Identifiant de la décision.")
    code: str = Field(description="Code de vérification, tel qu'imprimé.")
    empreinte_contenu: str = Field(
        description="SHA-256 du contenu journalisé (`sha256:…`), dont dérive le code."
    )
    cree_le: datetime = Field(description="Instant de la décision.")
    date_reference: date = Field(description="Date à laquelle la situation a été appréciée.")
    dossier_ref: str | None = Field(description="Référence du dossier chez l'appelant.")
    reglement: ReglementRef = Field(description="Règlement appliqué.")
    resultats: list[AideVerifiee] = Field(
        description="Chaque aide telle que journalisée, à comparer au papier."
    )
