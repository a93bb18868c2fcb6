"""Provisioning organismes, clients and keys in a test database, the way the CLI does."""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from pydantic import SecretStr
from sqlalchemy.ext.asyncio import AsyncEngine

from app.config import DEMO_ORGANISME_SIRET, Settings
from app.db.engine import create_engine_from_url
from app.db.migrate import upgrade_database
from app.services.organismes import ChiffrementSecrets, chemin_reglement
from app.services.organismes.administration import AdministrationOrganismes, NouvelOrganisme

SIRET_A = "21750001600019"
SIRET_B = "21690123100011"


@dataclass(frozen=True, slots=True)
class OrganismeDeTest:
    id: str
    siret: str
    reglement: str = "demo.yaml"
    habilitation: frozenset[str] | None = None
    #: Accept a habilitation short of the règlement (what some tests are about: the 403).
    forcer: bool = False


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
                    reglement=reglement_de(settings, o),
                    api_particulier_token=SecretStr(f"jeton-{o.id}"),
                    scopes_habilitation=o.habilitation,
                ),
                forcer=o.forcer,
            )
        return {
            client_id: await admin.creer_client(org, client_id, scopes) for org, client_id, scopes in clients
        }
    finally:
        await engine.dispose()


def reglement_de(settings: Settings, organisme: OrganismeDeTest) -> str:
    """The organisme's règlement: a file naming another organisme's SIRET (the demo's) is refused
    for it, so the test organisme gets its own copy, its header naming it."""
    chemin = chemin_reglement(organisme.reglement, settings.reglements_dir)
    texte = chemin.read_text(encoding="utf-8")
    if DEMO_ORGANISME_SIRET not in texte or organisme.siret == DEMO_ORGANISME_SIRET:
        return organisme.reglement
    copie = Path(tempfile.mkdtemp(prefix="reglement-")) / chemin.name
    for cas in chemin.parent.glob(chemin.stem + ".cas.yaml"):  # its test cases go with it
        shutil.copy(cas, copie.parent / cas.name)
    copie.write_text(texte.replace(DEMO_ORGANISME_SIRET, organisme.siret), encoding="utf-8")
    return str(copie)


def admin_de(settings: Settings, engine: AsyncEngine) -> AdministrationOrganismes:
    return AdministrationOrganismes(
        engine,
        ChiffrementSecrets(settings.gateway_secret_key),
        reglements_dir=settings.reglements_dir,
    )


def bearer(key: str, **headers: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}", **headers}
