"""API Particulier v3 (DINUM): client, parameter rules, error catalogue, response models and facts."""

from app.services.amont.api_particulier.client import ApiParticulierClient
from app.services.amont.api_particulier.facts import (
    faits_allocation_adulte_handicape,
    faits_allocation_soutien_familial,
    faits_complementaire_sante_solidaire,
    faits_prime_activite,
    faits_quotient_familial,
    faits_revenu_solidarite_active,
)
from app.services.amont.api_particulier.identity import identite_correspond
from app.services.amont.api_particulier.models import (
    AccesApiParticulier,
    Adresse,
    Personne,
    PrestationAah,
    PrestationAsf,
    PrestationC2s,
    PrestationPrimeActivite,
    PrestationRsa,
    Provenance,
    QuotientFamilial,
    Reponse,
    ValeurQuotientFamilial,
)
from app.services.amont.api_particulier.pre_remplissage import donnees_pre_remplissage

__all__ = [
    "AccesApiParticulier",
    "Adresse",
    "ApiParticulierClient",
    "Personne",
    "PrestationAah",
    "PrestationAsf",
    "PrestationC2s",
    "PrestationPrimeActivite",
    "PrestationRsa",
    "Provenance",
    "QuotientFamilial",
    "Reponse",
    "ValeurQuotientFamilial",
    "donnees_pre_remplissage",
    "faits_allocation_adulte_handicape",
    "faits_allocation_soutien_familial",
    "faits_complementaire_sante_solidaire",
    "faits_prime_activite",
    "faits_quotient_familial",
    "faits_revenu_solidarite_active",
    "identite_correspond",
]
