"""Provisioning organismes, clients and keys in a test database, the way the CLI does."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from dataclasses import dataclass

from pydantic import SecretStr
from sqlalchemy.ext.asyncio import AsyncEngine

from app.config import Settings
from app.db.engine import create_engine_from_url
from app.db.migrate import upgrade_database
from app.services.organismes import ChiffrementSecrets
from app.services.organismes.administration import AdministrationOrganismes, NouvelOrganisme

SIRET_A = "21750001600019"
SIRET_B = "21690123100011"


@dataclass(frozen=True, slots=True)
class OrganismeDeTest:
    id: str
    siret: str
    reglement: str = "demo.yaml"
    habilitation: frozenset[str] | None = None


async def provisionner(
    settings: Settings,
    organismes: Iterable[OrganismeDeTest],
    clients: Iterable[tuple[str, str, Iterable[str]]],
) -> dict[str, str]:
    """Create the organismes and clients (organisme id, client id, scopes); returns client id → key."""
    await asyncio.to_thread(upgrade_database, settings.database_url)
    engine = create_engine_from_url(settings.database_url)
    try:
        admin = admin_de(settings, engine)
        for o in organismes:
            await admin.creer_organisme(
                NouvelOrganisme(
                    id=o.id,
                    nom=f"CCAS {o.id}",
                    siret=o.siret,
                    reglement=o.reglement,
                    api_particulier_token=SecretStr(f"jeton-{o.id}"),
                    scopes_habilitation=o.habilitation,
                )
            )
        return {
            client_id: await admin.creer_client(org, client_id, scopes) for org, client_id, scopes in clients
        }
    finally:
        await engine.dispose()


def admin_de(settings: Settings, engine: AsyncEngine) -> AdministrationOrganismes:
    return AdministrationOrganismes(
        engine,
        ChiffrementSecrets(settings.gateway_secret_key),
        reglements_dir=settings.reglements_dir,
    )


def bearer(key: str, **headers: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}", **headers}
