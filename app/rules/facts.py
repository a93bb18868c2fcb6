"""Typed facts: what the engine reasons on, each with the source it comes from.

A fact is a value plus its provenance (provider, period, fetched-at, cache, upstream request id).
The catalogue below lists the *base* facts the gateway can obtain — from API Particulier, from
API Impôt particulier, from the request itself or declared by the agent — with the upstream scope
each needs and the paper proof to ask for when it is missing. Derived facts (ages, children by
age band, fiscal QF, consumption units…) are computed by the engine from these, never supplied.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from app.rules.dates import DatePartielle


class Origine(StrEnum):
    """Where a base fact comes from."""

    API_PARTICULIER = "api_particulier"
    IMPOT_PARTICULIER = "impot_particulier"
    DEMANDE = "demande"  # the identity sent by the caller (matched by the provider)
    DECLARATIF = "declaratif"  # declared by the agent: never certified


class TypeFait(StrEnum):
    NOMBRE = "nombre"  # Decimal
    ENTIER = "entier"  # int
    BOOLEEN = "booleen"
    TEXTE = "texte"
    DATE = "date"  # DatePartielle
    MEMBRES = "membres"  # tuple[MembreFoyer, ...]


@dataclass(frozen=True, slots=True)
class Source:
    """Provenance of a fact, shown beside every condition that used it."""

    fournisseur: str  # "CNAF", "MSA", "DGFIP", "declaratif", "demande", "calcul"
    certifie: bool
    periode: str | None = None  # "2026-10" for a monthly QF, "2025" for a tax year
    obtenu_le: datetime | None = None
    depuis_cache: bool = False
    request_id: str | None = None
    #: Served from the gateway's cache past its lifetime because the provider failed (stale-if-error).
    perime: bool = False


@dataclass(frozen=True, slots=True)
class RefFait:
    """A fact as a rule names it; derived facts may carry an age band (`nombre_enfants`)."""

    nom: str
    age_min: int | None = None
    age_max: int | None = None


@dataclass(frozen=True, slots=True)
class MembreFoyer:
    """A member of the household as the engine needs it: no name, only what rules use."""

    date_naissance: DatePartielle | None
    sexe: str | None = None


FactValue = Decimal | int | bool | str | DatePartielle | tuple[MembreFoyer, ...]


@dataclass(frozen=True, slots=True)
class Fait:
    valeur: FactValue
    source: Source


@dataclass(frozen=True, slots=True)
class FaitIndisponible:
    """Why a fact could not be obtained; the aid that needs it becomes `a_verifier`."""

    code: str  # "personne-introuvable", "fournisseur-indisponible", "non-fourni", …
    raison: str  # a French sentence, safe to show to the agent and the applicant
    source: Source | None = None


@dataclass(frozen=True, slots=True)
class Faits:
    """The facts known for one applicant, and those that could not be obtained (with why)."""

    connus: Mapping[str, Fait] = field(default_factory=dict)
    indisponibles: Mapping[str, FaitIndisponible] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class DefinitionFait:
    """A base fact of the catalogue."""

    nom: str
    type: TypeFait
    origine: Origine
    libelle: str  # French noun phrase used in explanations ("le quotient familial CAF/MSA")
    donnee: str | None = None  # upstream data set: "quotient_familial", "revenu_solidarite_active", …
    scope: str | None = None  # upstream scope the organisme's habilitation must hold
    piece_justificative: str | None = None  # paper proof to ask for when the fact is missing
    valeurs_admises: tuple[str, ...] | None = None  # for enumerated texts
    # Facts a règlement declares (supplied in `declaratif`): unit and bounds of a number.
    unite: str | None = None
    minimum: Decimal | None = None
    maximum: Decimal | None = None


_PIECE_QF = "attestation de quotient familial CAF ou MSA datant de moins de trois mois"
_PIECE_AVIS = "dernier avis d'impôt sur le revenu (ou de non-imposition)"

CATALOGUE_FAITS: Mapping[str, DefinitionFait] = {
    d.nom: d
    for d in (
        DefinitionFait(
            "quotient_familial_caf",
            TypeFait.NOMBRE,
            Origine.API_PARTICULIER,
            "le quotient familial CAF/MSA",
            donnee="quotient_familial",
            scope="cnaf_quotient_familial",
            piece_justificative=_PIECE_QF,
        ),
        DefinitionFait(
            "allocataires",
            TypeFait.MEMBRES,
            Origine.API_PARTICULIER,
            "les allocataires du foyer",
            donnee="quotient_familial",
            scope="cnaf_allocataires",
            piece_justificative=_PIECE_QF,
        ),
        DefinitionFait(
            "enfants",
            TypeFait.MEMBRES,
            Origine.API_PARTICULIER,
            "les enfants à charge (au sens de la CAF/MSA)",
            donnee="quotient_familial",
            scope="cnaf_enfants",
            piece_justificative="livret de famille ou attestation CAF/MSA de composition du foyer",
        ),
        DefinitionFait(
            "code_postal_caf",
            TypeFait.TEXTE,
            Origine.API_PARTICULIER,
            "le code postal de l'adresse connue de la CAF/MSA",
            donnee="quotient_familial",
            scope="cnaf_adresse",
            piece_justificative="justificatif de domicile de moins de trois mois",
        ),
        DefinitionFait(
            "beneficiaire_rsa",
            TypeFait.BOOLEEN,
            Origine.API_PARTICULIER,
            "le bénéfice du RSA",
            donnee="revenu_solidarite_active",
            scope="revenu_solidarite_active",
            piece_justificative="attestation de paiement du RSA",
        ),
        DefinitionFait(
            "rsa_avec_majoration",
            TypeFait.BOOLEEN,
            Origine.API_PARTICULIER,
            "la majoration du RSA (parent isolé)",
            donnee="revenu_solidarite_active",
            scope="revenu_solidarite_active_majoration",
            piece_justificative="attestation de paiement du RSA",
        ),
        DefinitionFait(
            "beneficiaire_prime_activite",
            TypeFait.BOOLEEN,
            Origine.API_PARTICULIER,
            "le bénéfice de la prime d'activité",
            donnee="prime_activite",
            scope="prime_activite",
            piece_justificative="attestation de paiement de la prime d'activité",
        ),
        DefinitionFait(
            "beneficiaire_aah",
            TypeFait.BOOLEEN,
            Origine.API_PARTICULIER,
            "le bénéfice de l'allocation aux adultes handicapés",
            donnee="allocation_adulte_handicape",
            scope="allocation_adulte_handicape",
            piece_justificative="attestation de paiement de l'AAH",
        ),
        DefinitionFait(
            "beneficiaire_asf",
            TypeFait.BOOLEEN,
            Origine.API_PARTICULIER,
            "le bénéfice de l'allocation de soutien familial",
            donnee="allocation_soutien_familial",
            scope="allocation_soutien_familial",
            piece_justificative="attestation de paiement de l'ASF",
        ),
        DefinitionFait(
            "beneficiaire_c2s",
            TypeFait.BOOLEEN,
            Origine.API_PARTICULIER,
            "le bénéfice de la complémentaire santé solidaire",
            donnee="complementaire_sante_solidaire",
            scope="complementaire_sante_solidaire",
            piece_justificative="attestation de droits à la complémentaire santé solidaire",
        ),
        DefinitionFait(
            "revenu_fiscal_de_reference",
            TypeFait.NOMBRE,
            Origine.IMPOT_PARTICULIER,
            "le revenu fiscal de référence",
            donnee="impot_sur_le_revenu",
            scope="dgfip_rfr",
            piece_justificative=_PIECE_AVIS,
        ),
        DefinitionFait(
            "nombre_de_parts",
            TypeFait.NOMBRE,
            Origine.IMPOT_PARTICULIER,
            "le nombre de parts fiscales",
            donnee="impot_sur_le_revenu",
            scope="dgfip_nbpart",
            piece_justificative=_PIECE_AVIS,
        ),
        DefinitionFait(
            "situation_familiale",
            TypeFait.TEXTE,
            Origine.IMPOT_PARTICULIER,
            "la situation familiale déclarée aux impôts",
            donnee="impot_sur_le_revenu",
            scope="dgfip_sitfam",
            piece_justificative=_PIECE_AVIS,
            valeurs_admises=("M", "O", "C", "D", "V"),
        ),
        DefinitionFait(
            "nombre_personnes_a_charge",
            TypeFait.ENTIER,
            Origine.IMPOT_PARTICULIER,
            "le nombre de personnes à charge déclarées aux impôts",
            donnee="impot_sur_le_revenu",
            scope="dgfip_pac",
            piece_justificative=_PIECE_AVIS,
        ),
        DefinitionFait(
            "impot_sur_le_revenu",
            TypeFait.NOMBRE,
            Origine.IMPOT_PARTICULIER,
            "l'impôt sur le revenu",
            donnee="impot_sur_le_revenu",
            scope="dgfip_montant_impot",
            piece_justificative=_PIECE_AVIS,
        ),
        DefinitionFait(
            "date_naissance_demandeur",
            TypeFait.DATE,
            Origine.DEMANDE,
            "la date de naissance du demandeur",
            piece_justificative="pièce d'identité",
        ),
        DefinitionFait(
            "commune_residence",
            TypeFait.TEXTE,
            Origine.DECLARATIF,
            "la commune de résidence (code COG)",
            piece_justificative="justificatif de domicile de moins de trois mois",
        ),
        DefinitionFait(
            "statut_occupation_logement",
            TypeFait.TEXTE,
            Origine.DECLARATIF,
            "le statut d'occupation du logement",
            piece_justificative="bail, quittance de loyer ou attestation d'hébergement",
            valeurs_admises=("proprietaire", "locataire", "heberge", "sans_domicile", "autre"),
        ),
    )
}

#: Base facts the agent may declare in `declaratif`.
FAITS_DECLARATIFS: frozenset[str] = frozenset(
    nom for nom, d in CATALOGUE_FAITS.items() if d.origine is Origine.DECLARATIF
)
