"""Règlement archives (issue 17): kept once per (organisme, fingerprint), read back by the same
organisme only, and written when the registry loads an organisme's règlement."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from pydantic import SecretStr
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from app.config import DEMO_ORGANISME_SIRET, PROJECT_ROOT
from app.db.engine import create_engine_from_url
from app.db.tables import ReglementArchiveRow
from app.rules.loader import lire_reglement
from app.services.journal.chiffrement import TrousseauJournal
from app.services.organismes import AdministrationOrganismes, AnnuaireOrganismes, ChiffrementSecrets
from app.services.organismes.administration import NouvelOrganisme
from app.services.organismes.archives import archiver, lire_archive
from tests.services.impact.journal_exemple import TROUSSEAU

TEXTE = (PROJECT_ROOT / "reglements" / "demo.yaml").read_text(encoding="utf-8")
SECRET = SecretStr("secret-de-test-" + "a" * 32)


@pytest.fixture
async def engine(base_migree: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine_from_url(base_migree)
    try:
        yield engine
    finally:
        await engine.dispose()


async def _lignes(engine: AsyncEngine, organisme: str) -> int:
    async with engine.connect() as connection:
        statement = (
            select(func.count())
            .select_from(ReglementArchiveRow)
            .where(ReglementArchiveRow.organisme_id == organisme)
        )
        return int((await connection.execute(statement)).scalar_one())


async def test_kept_once_and_read_back_by_its_organisme_only(engine: AsyncEngine) -> None:
    organisme = f"org-{uuid.uuid4().hex[:8]}"
    reglement = lire_reglement(TEXTE, "demo.yaml")
    await archiver(engine, organisme, reglement, TEXTE, TROUSSEAU)
    await archiver(engine, organisme, reglement, TEXTE, TROUSSEAU)  # a second worker loading the same version
    assert await _lignes(engine, organisme) == 1
    assert await lire_archive(engine, organisme, reglement.empreinte, TROUSSEAU) == TEXTE
    assert await lire_archive(engine, organisme + "-autre", reglement.empreinte, TROUSSEAU) is None
    assert await lire_archive(engine, organisme, "sha256:" + "0" * 64, TROUSSEAU) is None
    # Encrypted at rest like the journal: the test cases' names never lie in clear in the database.
    async with engine.connect() as connection:
        stocke = (await connection.execute(select(ReglementArchiveRow.texte_chiffre))).scalars().all()
    assert stocke
    assert not any("DUPONT" in t or "reglement:" in t for t in stocke)
    autre_trousseau = TrousseauJournal.depuis_reglages(None, SecretStr("un-autre-secret-" + "b" * 32))
    assert await lire_archive(engine, organisme, reglement.empreinte, autre_trousseau) is None


async def test_the_registry_archives_what_it_loads(engine: AsyncEngine, tmp_path: Path) -> None:
    organisme = f"org-{uuid.uuid4().hex[:8]}"
    (tmp_path / "demo.yaml").write_text(TEXTE, encoding="utf-8")
    chiffrement = ChiffrementSecrets(SECRET)
    await AdministrationOrganismes(engine, chiffrement, reglements_dir=tmp_path).creer_organisme(
        NouvelOrganisme(id=organisme, nom="CCAS", siret=DEMO_ORGANISME_SIRET, reglement="demo.yaml")
    )
    annuaire = AnnuaireOrganismes(engine, chiffrement, reglements_dir=tmp_path, archives=TROUSSEAU)
    await annuaire.charger()
    charge = annuaire.organisme(organisme)
    assert charge is not None
    assert await lire_archive(engine, organisme, charge.reglement.empreinte, TROUSSEAU) == TEXTE
