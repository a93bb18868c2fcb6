"""The HTTP models of campaigns (`/v1/campagnes`)."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

_ID = "3f0e8a52-4c1b-4d7e-9a26-8b1f0c9d2e47"

EtatCampagneOut = Literal["en_cours", "terminee", "annulee"]

#: The columns of a campaign's results in CSV, in order.
COLONNES_RESULTATS = (
    "ligne",
    "dossier_ref",
    "etat",
    "dispositif",
    "statut",
    "montant",
    "tranche",
    "motif",
    "decision_id",
    "erreur",
)


class ErreurLigne(BaseModel):
    """Une ligne refusée du fichier : son numéro, le champ fautif et pourquoi."""

    ligne: int = Field(description="Numéro de la ligne dans le fichier (1 : la ligne d'en-tête d'un CSV).")
    champ: str = Field(description="Champ fautif (ex. demandeur.sexe), ou « ligne » pour la ligne entière.")
    message: str = Field(description="La raison, en français (la valeur reçue n'est jamais répétée).")


class LiensCampagne(BaseModel):
    """Où suivre la campagne."""

    suivi: str = Field(description="État et avancement : GET de cette adresse.")
    evenements: str = Field(description="Avancement en direct (Server-Sent Events).")
    resultats: str = Field(description="Résultats (CSV ou JSON Lines).")


class CampagneLancee(BaseModel):
    """La campagne acceptée : ses lignes valides sont en file, les autres listées."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": _ID,
                    "etat": "en_cours",
                    "lignes_valides": 1999,
                    "lignes_invalides": 1,
                    "erreurs": [
                        {"ligne": 17, "champ": "demandeur.sexe", "message": "n'est pas une valeur admise"}
                    ],
                    "erreurs_tronquees": False,
                    "liens": {
                        "suivi": f"/v1/campagnes/{_ID}",
                        "evenements": f"/v1/campagnes/{_ID}/evenements",
                        "resultats": f"/v1/campagnes/{_ID}/resultats",
                    },
                }
            ]
        }
    )

    id: uuid.UUID = Field(description="Identifiant de la campagne.")
    etat: EtatCampagneOut = Field(description="État de la campagne.")
    lignes_valides: int = Field(description="Demandeurs mis en file (chacun sera une décision journalisée).")
    lignes_invalides: int = Field(description="Lignes refusées (aucune n'a coûté d'appel aux fournisseurs).")
    erreurs: list[ErreurLigne] = Field(
        description="Les lignes refusées et pourquoi (les 1 000 premières erreurs)."
    )
    erreurs_tronquees: bool = Field(description="Vrai quand toutes les erreurs ne sont pas listées.")
    liens: LiensCampagne = Field(description="Adresses de suivi de la campagne.")


class StatutsDispositif(BaseModel):
    """Les lignes décidées pour une aide, par statut."""

    eligible: int = Field(default=0, description="Demandeurs éligibles.")
    non_eligible: int = Field(default=0, description="Demandeurs non éligibles.")
    a_verifier: int = Field(default=0, description="Demandeurs à vérifier sur pièce.")


class LigneEnEchec(BaseModel):
    """Une ligne qui n'a pas pu être décidée."""

    ligne: int = Field(description="Numéro de la ligne dans le fichier.")
    dossier_ref: str | None = Field(description="Référence du dossier de la ligne.")
    code: str = Field(description="Code stable de l'erreur (voir le schéma Probleme).")
    detail: str = Field(description="La raison, en français.")


class EtatCampagne(BaseModel):
    """L'état et l'avancement d'une campagne."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": _ID,
                    "etat": "en_cours",
                    "cree_le": "2026-12-03T10:00:00Z",
                    "date_reference": "2026-12-01",
                    "dispositifs": ["colis-fin-annee"],
                    "total": 2000,
                    "lignes_invalides": 1,
                    "en_file": 1000,
                    "faites": 990,
                    "en_echec": 10,
                    "annulees": 0,
                    "par_dispositif": {
                        "colis-fin-annee": {"eligible": 700, "non_eligible": 250, "a_verifier": 40}
                    },
                    "echecs": [
                        {
                            "ligne": 42,
                            "dossier_ref": "D-2026-00042",
                            "code": "configuration-fournisseur",
                            "detail": "Le jeton de l'organisme est refusé par le fournisseur.",
                        }
                    ],
                    "debit_par_seconde": 19.8,
                    "fin_estimee": "2026-12-03T10:01:41Z",
                    "pause_motif": None,
                    "termine_le": None,
                }
            ]
        }
    )

    id: uuid.UUID = Field(description="Identifiant de la campagne.")
    etat: EtatCampagneOut = Field(description="État : en_cours, terminee ou annulee.")
    cree_le: datetime = Field(description="Instant de création.")
    date_reference: date | None = Field(
        description="Date de référence des décisions (aujourd'hui si absente)."
    )
    dispositifs: list[str] | None = Field(
        description="Aides évaluées ; toutes celles du règlement si absent."
    )
    total: int = Field(description="Demandeurs mis en file.")
    lignes_invalides: int = Field(description="Lignes refusées au dépôt.")
    en_file: int = Field(description="Demandeurs restant à décider (en attente ou en cours).")
    faites: int = Field(description="Demandeurs décidés (décision journalisée).")
    en_echec: int = Field(description="Demandeurs qui n'ont pas pu être décidés.")
    annulees: int = Field(description="Demandeurs retirés par l'annulation.")
    par_dispositif: dict[str, StatutsDispositif] = Field(description="Par aide, les décisions par statut.")
    echecs: list[LigneEnEchec] = Field(description="Les lignes en échec et pourquoi (les 100 premières).")
    debit_par_seconde: float | None = Field(description="Décisions par seconde sur la dernière minute.")
    fin_estimee: datetime | None = Field(description="Fin estimée au débit actuel (absente sans débit).")
    pause_motif: str | None = Field(
        default=None, description="Pourquoi la campagne attend (elle reprend d'elle-même)."
    )
    termine_le: datetime | None = Field(default=None, description="Instant de fin (terminée ou annulée).")


class ResumeCampagne(BaseModel):
    """Une campagne de l'organisme, en bref."""

    id: uuid.UUID = Field(description="Identifiant de la campagne.")
    etat: EtatCampagneOut = Field(description="État : en_cours, terminee ou annulee.")
    cree_le: datetime = Field(description="Instant de création.")
    total: int = Field(description="Demandeurs mis en file.")
    lignes_invalides: int = Field(description="Lignes refusées au dépôt.")
    dispositifs: list[str] | None = Field(description="Aides évaluées ; toutes si absent.")
    termine_le: datetime | None = Field(description="Instant de fin (terminée ou annulée).")


class ListeCampagnes(BaseModel):
    """Les campagnes de l'organisme appelant, les plus récentes d'abord."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "campagnes": [
                        {
                            "id": _ID,
                            "etat": "terminee",
                            "cree_le": "2026-12-03T10:00:00Z",
                            "total": 2000,
                            "lignes_invalides": 1,
                            "dispositifs": ["colis-fin-annee"],
                            "termine_le": "2026-12-03T10:01:41Z",
                        }
                    ]
                }
            ]
        }
    )

    campagnes: list[ResumeCampagne] = Field(
        description="Les campagnes, de la plus récente à la plus ancienne."
    )
