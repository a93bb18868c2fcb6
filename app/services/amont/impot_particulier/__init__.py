"""Client of DGFiP's API Impôt particulier: OAuth2 tokens, IR endpoints, facts and identity guard."""

from app.services.amont.impot_particulier.calendrier import annee_des_revenus_disponible
from app.services.amont.impot_particulier.client import ImpotParticulierClient
from app.services.amont.impot_particulier.faits import (
    LIBELLES_SITUATION_FAMILIALE,
    faits_impot,
    libelle_situation_familiale,
)
from app.services.amont.impot_particulier.identite import identite_fiscale_correspond
from app.services.amont.impot_particulier.models import ReponseImpot, SituationIR
from app.services.amont.impot_particulier.numero_fiscal import NumeroFiscal
from app.services.amont.impot_particulier.pre_remplissage import donnees_pre_remplissage
from app.services.amont.impot_particulier.tokens import (
    FOURNISSEUR,
    SCOPES_GATEWAY,
    TokenProvider,
    TokenProviders,
)
from app.services.amont.impot_particulier.transport import create_http_client

__all__ = [
    "FOURNISSEUR",
    "LIBELLES_SITUATION_FAMILIALE",
    "SCOPES_GATEWAY",
    "ImpotParticulierClient",
    "NumeroFiscal",
    "ReponseImpot",
    "SituationIR",
    "TokenProvider",
    "TokenProviders",
    "annee_des_revenus_disponible",
    "create_http_client",
    "donnees_pre_remplissage",
    "faits_impot",
    "identite_fiscale_correspond",
    "libelle_situation_familiale",
]
