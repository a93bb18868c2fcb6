"""Organismes (CCAS) and access: the registry of organismes, clients and API keys, its
administration (the CLI's commands), and the per-client request limit."""

from app.services.organismes.administration import AdministrationOrganismes, AdministrationRefusee
from app.services.organismes.ratelimit import LimiteurClients
from app.services.organismes.registre import (
    SCOPES_CLIENT,
    AnnuaireOrganismes,
    Appelant,
    ChiffrementSecrets,
    Client,
    Organisme,
    chemin_reglement,
    hash_api_key,
    siret_valide,
)

__all__ = [
    "SCOPES_CLIENT",
    "AdministrationOrganismes",
    "AdministrationRefusee",
    "AnnuaireOrganismes",
    "Appelant",
    "ChiffrementSecrets",
    "Client",
    "LimiteurClients",
    "Organisme",
    "chemin_reglement",
    "hash_api_key",
    "siret_valide",
]
