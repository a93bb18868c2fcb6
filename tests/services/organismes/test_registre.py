"""Organismes, clients and API keys in the database (SQLite and the real PostgreSQL): validation,
secrets encrypted at rest, digests only, revocation and rotation seen through the per-process cache."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr
from sqlalchemy import select, text, update
from sqlalchemy.ext.asyncio import AsyncEngine

from app.config import DEMO_ORGANISME_SIRET, PROJECT_ROOT
from app.db.engine import create_engine_from_url
from app.db.tables import CleApiRow, ClientRow, OrganismeRow
from app.errors import ConfigurationError, JournalUnavailable
from app.rules.loader import charger_reglement
from app.rules.needs import scopes_requis
from app.services.organismes import AnnuaireOrganismes, ChiffrementSecrets, hash_api_key
from app.services.organismes.administration import (
    PREFIXE_CLE,
    AdministrationOrganismes,
    AdministrationRefusee,
    NouvelOrganisme,
)
from tests.organismes import SIRET_A, SIRET_B

SECRET = SecretStr("x" * 40)
#: What `GET /v1/reglement` publishes for the demo règlement.
HABILITATION_DEMO = scopes_requis(charger_reglement(PROJECT_ROOT / "reglements" / "demo.yaml"))
T0 = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)


class Horloge:
    def __init__(self) -> None:
        self.instant = T0

    def __call__(self) -> datetime:
        return self.instant

    def avancer(self, **duree: float) -> None:
        self.instant += timedelta(**duree)


@pytest.fixture
async def engine(base_migree: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine_from_url(base_migree)
    if base_migree.startswith("postgresql"):  # the database is shared by the module: start empty
        async with engine.begin() as connection:
            await connection.execute(text("TRUNCATE cles_api, clients, organismes"))
    try:
        yield engine
    finally:
        await engine.dispose()


@pytest.fixture
def reglements(tmp_path: Path) -> Path:
    dossier = tmp_path / "reglements"
    dossier.mkdir()
    # The demo règlement, as ccas-a's own (its header names the organisme by SIRET).
    demo = (PROJECT_ROOT / "reglements" / "demo.yaml").read_text(encoding="utf-8")
    (dossier / "demo.yaml").write_text(demo.replace(DEMO_ORGANISME_SIRET, SIRET_A), encoding="utf-8")
    shutil.copy(PROJECT_ROOT / "reglements" / "exemples" / "petite-commune.yaml", dossier / "petite.yaml")
    return dossier


@pytest.fixture
def horloge() -> Horloge:
    return Horloge()


@pytest.fixture
def admin(engine: AsyncEngine, reglements: Path, horloge: Horloge) -> AdministrationOrganismes:
    return AdministrationOrganismes(
        engine, ChiffrementSecrets(SECRET), reglements_dir=reglements, now=horloge
    )


def annuaire(engine: AsyncEngine, reglements: Path, horloge: Horloge, ttl: float = 5) -> AnnuaireOrganismes:
    return AnnuaireOrganismes(
        engine, ChiffrementSecrets(SECRET), reglements_dir=reglements, ttl_seconds=ttl, now=horloge
    )


def organisme(id: str = "ccas-a", **changes: object) -> NouvelOrganisme:
    values: dict[str, object] = {
        "id": id,
        "nom": "CCAS A",
        "siret": SIRET_A,
        "reglement": "demo.yaml",
        "api_particulier_token": SecretStr("jeton-secret-de-a"),
        "impot_client_id": "client-dgfip-a",
        "impot_client_secret": SecretStr("secret-dgfip-de-a"),
        "scopes_habilitation": HABILITATION_DEMO,
    }
    values.update(changes)
    return NouvelOrganisme(**values)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"siret": "21750001600018"}, "SIRET"),
        ({"id": "CCAS A"}, "Identifiant"),
        ({"reglement": "absent.yaml"}, "Règlement invalide"),
        ({"scopes_habilitation": frozenset({"cnaf_quotient_familial", "tout"})}, "tout"),
        ({"impot_client_secret": None}, "vont ensemble"),
        ({"nom": " "}, "nom"),
    ],
)
async def test_invalid_organisme_is_refused_with_a_french_reason(
    admin: AdministrationOrganismes, engine: AsyncEngine, changes: dict[str, Any], message: str
) -> None:
    with pytest.raises(AdministrationRefusee, match=message):
        await admin.creer_organisme(organisme(**changes))
    async with engine.connect() as connection:
        assert (await connection.execute(select(OrganismeRow))).all() == []


async def test_duplicates_and_unknown_references_are_refused(admin: AdministrationOrganismes) -> None:
    await admin.creer_organisme(organisme())
    with pytest.raises(AdministrationRefusee, match="existe déjà"):
        await admin.creer_organisme(organisme())
    await admin.creer_client("ccas-a", "logiciel", ["eligibilite"])
    with pytest.raises(AdministrationRefusee, match="existe déjà"):
        await admin.creer_client("ccas-a", "logiciel", ["eligibilite"])
    with pytest.raises(AdministrationRefusee, match="inconnu"):
        await admin.creer_client("ccas-z", "autre", ["eligibilite"])
    with pytest.raises(AdministrationRefusee, match="Droits inconnus"):
        await admin.creer_client("ccas-a", "autre", ["eligibilite", "root"])
    with pytest.raises(AdministrationRefusee, match="inconnu"):
        await admin.revoquer_client("personne")
    with pytest.raises(AdministrationRefusee, match="inconnu"):
        await admin.tourner_cle("personne", timedelta(hours=1))


async def test_secrets_are_encrypted_and_keys_stored_as_digests(
    admin: AdministrationOrganismes, engine: AsyncEngine, reglements: Path, horloge: Horloge
) -> None:
    await admin.creer_organisme(organisme())
    key = await admin.creer_client("ccas-a", "logiciel", ["eligibilite", "journal:lecture"])

    values: list[str] = []
    async with engine.connect() as connection:
        for table in (OrganismeRow, ClientRow, CleApiRow):
            values += [str(value) for row in (await connection.execute(select(table))).all() for value in row]
    stored = " ".join(values)
    assert key.startswith(PREFIXE_CLE)
    assert len(key) >= 40
    assert key not in stored
    assert hash_api_key(key) in stored
    assert "jeton-secret-de-a" not in stored
    assert "secret-dgfip-de-a" not in stored

    appelant = await annuaire(engine, reglements, horloge).authentifier(key)
    assert appelant is not None
    assert appelant.client.scopes == {"eligibilite", "journal:lecture"}
    assert appelant.organisme.siret == SIRET_A
    assert appelant.organisme.api_particulier_token is not None
    assert appelant.organisme.api_particulier_token.get_secret_value() == "jeton-secret-de-a"
    assert appelant.organisme.impot_client_secret is not None
    assert appelant.organisme.impot_client_secret.get_secret_value() == "secret-dgfip-de-a"
    assert appelant.organisme.scopes_habilitation == HABILITATION_DEMO
    assert appelant.organisme.reglement.id == "ccas-demoville"


async def test_another_gateway_secret_cannot_read_the_secrets(
    admin: AdministrationOrganismes, engine: AsyncEngine, reglements: Path, horloge: Horloge
) -> None:
    await admin.creer_organisme(organisme())
    other = AnnuaireOrganismes(engine, ChiffrementSecrets(SecretStr("y" * 40)), reglements_dir=reglements)
    with pytest.raises(ConfigurationError, match="ccas-a"):
        await other.charger()


async def test_revocation_is_seen_once_the_cached_lookup_expires(
    admin: AdministrationOrganismes, engine: AsyncEngine, reglements: Path, horloge: Horloge
) -> None:
    await admin.creer_organisme(organisme())
    key = await admin.creer_client("ccas-a", "logiciel", ["eligibilite"])
    directory = annuaire(engine, reglements, horloge, ttl=5)
    assert await directory.authentifier(key) is not None

    assert await admin.revoquer_client("logiciel") == 1
    horloge.avancer(seconds=4)
    assert await directory.authentifier(key) is not None  # still within this worker's 5 s
    horloge.avancer(seconds=2)
    assert await directory.authentifier(key) is None
    # A fresh worker (or a TTL of 0) sees the revocation at once.
    assert await annuaire(engine, reglements, horloge, ttl=0).authentifier(key) is None


async def test_rotation_keeps_the_old_key_during_the_overlap_only(
    admin: AdministrationOrganismes, engine: AsyncEngine, reglements: Path, horloge: Horloge
) -> None:
    await admin.creer_organisme(organisme())
    old = await admin.creer_client("ccas-a", "logiciel", ["eligibilite"])
    directory = annuaire(engine, reglements, horloge, ttl=5)
    assert await directory.authentifier(old) is not None  # cached for up to 5 s…

    new, fin = await admin.tourner_cle("logiciel", timedelta(seconds=30))
    assert fin == T0 + timedelta(seconds=30)
    horloge.avancer(seconds=29)
    assert await directory.authentifier(old) is not None
    assert await directory.authentifier(new) is not None
    horloge.avancer(seconds=1)
    # Looked up again at 29 s, the old key is cached until 34 s at most, but never past its end.
    assert await directory.authentifier(old) is None
    assert await directory.authentifier(new) is not None

    # A second rotation never lengthens an expiry already set.
    newer, _ = await admin.tourner_cle("logiciel", timedelta(days=7))
    assert await directory.authentifier(old) is None
    assert await directory.authentifier(newer) is not None
    [resume] = await admin.lister()
    [client] = resume.clients
    assert len(client.cles) == 3
    assert client.cles[0].expire_le == T0 + timedelta(seconds=30)


async def test_rotating_a_revoked_client_is_refused(admin: AdministrationOrganismes) -> None:
    await admin.creer_organisme(organisme())
    await admin.creer_client("ccas-a", "logiciel", ["eligibilite"])
    await admin.revoquer_client("logiciel")
    with pytest.raises(AdministrationRefusee, match="révoqué"):
        await admin.tourner_cle("logiciel", timedelta(0))


async def test_changed_organisme_is_reloaded_and_a_broken_reload_keeps_the_previous_one(
    admin: AdministrationOrganismes, engine: AsyncEngine, reglements: Path, horloge: Horloge
) -> None:
    await admin.creer_organisme(organisme())
    key = await admin.creer_client("ccas-a", "logiciel", ["eligibilite"])
    directory = annuaire(engine, reglements, horloge, ttl=0)
    await directory.charger()
    before = await directory.authentifier(key)
    assert before is not None
    assert before.organisme.reglement.id == "ccas-demoville"

    await admin.creer_organisme(
        organisme(reglement="petite.yaml", siret=SIRET_B, scopes_habilitation=None),
        remplacer=True,
        clients="garder",
    )
    after = await directory.authentifier(key)
    assert after is not None
    assert after.organisme.siret == SIRET_B
    assert after.organisme.reglement.id != "ccas-demoville"

    (reglements / "petite.yaml").write_text("id: [cassé", encoding="utf-8")
    with pytest.raises(AdministrationRefusee, match="Règlement invalide"):
        await admin.recharger_organisme("ccas-a")
    async with engine.begin() as connection:  # as if the file broke after a reload was asked
        await connection.execute(update(OrganismeRow).values(version=OrganismeRow.version + 1))
    kept = await directory.authentifier(key)
    assert kept is not None
    assert kept.organisme.reglement.id == after.organisme.reglement.id
    with pytest.raises(ConfigurationError, match="ccas-a"):
        await annuaire(engine, reglements, horloge).charger()  # a fresh start refuses the broken file


async def test_demo_installation_is_idempotent_and_keeps_only_the_configured_key(
    admin: AdministrationOrganismes, engine: AsyncEngine, reglements: Path, horloge: Horloge
) -> None:
    demo = organisme("ccas-demoville", scopes_habilitation=None)
    await admin.installer_demo(demo, "demo", SecretStr("premiere-cle"))
    await admin.installer_demo(demo, "demo", SecretStr("premiere-cle"))
    directory = annuaire(engine, reglements, horloge, ttl=0)
    assert await directory.authentifier("premiere-cle") is not None

    await admin.installer_demo(demo, "demo", SecretStr("seconde-cle"))
    assert await directory.authentifier("premiere-cle") is None
    assert await directory.authentifier("seconde-cle") is not None
    [resume] = await admin.lister()
    assert [c.id for c in resume.clients] == ["demo"]

    await asyncio.gather(*(admin.installer_demo(demo, "demo", SecretStr("seconde-cle")) for _ in range(3)))
    assert await directory.authentifier("seconde-cle") is not None


async def test_unreachable_database_is_a_503_not_a_401(reglements: Path, horloge: Horloge) -> None:
    engine = create_engine_from_url("postgresql://postgres@127.0.0.1:1/absente")
    try:
        with pytest.raises(JournalUnavailable, match="authentification impossible"):
            await annuaire(engine, reglements, horloge).authentifier("une-cle")
    finally:
        await engine.dispose()
