"""The contract of the certified data returned for pre-filling (`donnees` of `POST /v1/donnees` and
`POST /v1/eligibilite`): documentation models, declared in the OpenAPI document by `app.openapi`.

At run time the data stays the dict the providers' views built (`DonneesCertifiees`): these models
say its shape to clients; `tests/schemas/test_pre_remplissage.py` validates real answers against them.
Each object accepts more properties than it lists (a provider may add fields).
"""

from __future__ import annotations

from decimal import Decimal as _Decimal
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, WithJsonSchema

_OUVERT = ConfigDict(extra="allow")
#: An exact decimal written as a JSON number (as `app.schemas.eligibilite.Nombre`).
Decimal = Annotated[_Decimal, WithJsonSchema({"type": "number"})]


class QuotientFamilialCertifie(BaseModel):
    """Quotient familial certifié par la CAF ou la MSA."""

    model_config = _OUVERT

    fournisseur: str | None = Field(default=None, description="Organisme qui l'a calculé : CNAF ou MSA.")
    valeur: Decimal | None = Field(
        default=None, description="Montant du quotient familial, en euros (nombre décimal exact)."
    )
    annee: int | None = Field(default=None, description="Année du mois de droit.")
    mois: int | None = Field(default=None, description="Mois de droit (1 à 12).")
    annee_calcul: int | None = Field(default=None, description="Année du calcul.")
    mois_calcul: int | None = Field(default=None, description="Mois du calcul (1 à 12).")


class PersonneCertifiee(BaseModel):
    """Un allocataire ou un enfant, tel que le fournisseur le connaît."""

    model_config = _OUVERT

    nom_naissance: str | None = Field(default=None, description="Nom de naissance.")
    nom_usage: str | None = Field(default=None, description="Nom d'usage.")
    prenoms: str | None = Field(default=None, description="Prénoms, séparés par des espaces.")
    date_naissance: str | None = Field(
        default=None, description="Date de naissance : AAAA, AAAA-MM ou AAAA-MM-JJ."
    )
    sexe: str | None = Field(default=None, description="M ou F.")


class AdresseCertifiee(BaseModel):
    """Adresse postale connue du fournisseur (norme postale, lignes 1 à 7)."""

    model_config = _OUVERT

    destinataire: str | None = Field(default=None, description="Ligne 1 : destinataire.")
    complement_information: str | None = Field(default=None, description="Ligne 2 : complément.")
    complement_information_geographique: str | None = Field(
        default=None, description="Ligne 3 : complément géographique."
    )
    numero_libelle_voie: str | None = Field(default=None, description="Ligne 4 : numéro et voie.")
    lieu_dit: str | None = Field(default=None, description="Ligne 5 : lieu-dit.")
    code_postal_ville: str | None = Field(default=None, description="Ligne 6 : code postal et ville.")
    pays: str | None = Field(default=None, description="Ligne 7 : pays.")


class ImpotCertifie(BaseModel):
    """Situation fiscale du foyer (API Impôt particulier, DGFiP)."""

    model_config = _OUVERT

    annee_des_revenus: int | None = Field(default=None, description="Année des revenus déclarés.")
    source: dict[str, Any] | None = Field(
        default=None, description="Provenance : fournisseur, période, date d'obtention, request_id."
    )
    revenu_fiscal_de_reference: Decimal | None = Field(
        default=None, description="Revenu fiscal de référence, en euros (nombre décimal exact)."
    )
    nombre_de_parts: Decimal | None = Field(default=None, description="Nombre de parts du foyer fiscal.")
    situation_familiale: dict[str, Any] | None = Field(
        default=None, description="Situation familiale : code DGFiP et libellé."
    )
    nombre_personnes_a_charge: int | None = Field(default=None, description="Personnes à charge.")
    impot_sur_le_revenu: Decimal | None = Field(default=None, description="Impôt sur le revenu, en euros.")
    revenu_brut_global: Decimal | None = Field(default=None, description="Revenu brut global, en euros.")
    revenu_imposable: Decimal | None = Field(default=None, description="Revenu imposable, en euros.")
    date_mise_en_recouvrement: str | None = Field(
        default=None, description="Date de mise en recouvrement (AAAA-MM-JJ)."
    )
    date_etablissement: str | None = Field(default=None, description="Date d'établissement (AAAA-MM-JJ).")
    declarants: list[PersonneCertifiee] | None = Field(default=None, description="Déclarants du foyer.")
    adresse_fiscale: dict[str, Any] | None = Field(default=None, description="Adresse fiscale du foyer.")


class DonneesPreRemplissage(BaseModel):
    """Données certifiées pour pré-remplir un dossier, par jeu de données ; seuls les jeux obtenus
    sont présents. Les prestations (`revenu_solidarite_active`, `prime_activite`,
    `allocation_adulte_handicape`, `allocation_soutien_familial`, `complementaire_sante_solidaire`)
    figurent sous leur nom, telles que le fournisseur les a certifiées."""

    model_config = _OUVERT

    quotient_familial: QuotientFamilialCertifie | None = Field(
        default=None, description="Quotient familial CAF/MSA."
    )
    allocataires: list[PersonneCertifiee] | None = Field(default=None, description="Allocataires du foyer.")
    enfants: list[PersonneCertifiee] | None = Field(default=None, description="Enfants du foyer.")
    adresse: AdresseCertifiee | None = Field(default=None, description="Adresse connue de la CAF/MSA.")
    impot_sur_le_revenu: ImpotCertifie | None = Field(
        default=None, description="Situation fiscale (API Impôt particulier)."
    )
