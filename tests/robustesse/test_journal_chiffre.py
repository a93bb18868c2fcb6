"""Issue 13, point 9: the journal at rest. Before: the facts used (birth dates of every household
member, CAF postal code, QF, RFR, tax…) were stored in clear, and the SQLite file was 0644.

On a throwaway PostgreSQL database: the row holds no fact in clear; the decision is replayed whole
(`GET /v1/decisions/{id}`, `Journal.lire_decision`); a key rotation re-encrypts every row; losing
every key loses the content, not the decision's existence, date, statuses or règlement version.
"""

from __future__ import annotations

import asyncio
import os
import stat
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography.fernet import Fernet
from pydantic import SecretStr
from sqlalchemy import select

from app.db.engine import create_engine_from_url
from app.db.migrate import upgrade_database
from app.db.tables import DecisionRow
from app.errors import DecisionIllisible
from app.services.journal import ConsultationRecord, DecisionRecord, Journal
from app.services.journal.chiffrement import TrousseauJournal
from tests.conftest import AUTH, gateway_settings, open_gateway
from tests.db.postgres import throwaway_database
from tests.routers.test_eligibilite import LEFEBVRE, MARTIN_AXELLE

pytestmark = pytest.mark.integration

K1, K2 = Fernet.generate_key().decode(), Fernet.generate_key().decode()
SECRET = "un-secret-de-passerelle-de-plus-de-32-caracteres"


@pytest.fixture
def base() -> Iterator[str]:
    with throwaway_database() as url:
        yield url


def _trousseau(cles: str | None) -> TrousseauJournal:
    return TrousseauJournal.depuis_reglages(SecretStr(cles) if cles else None, SecretStr(SECRET))


async def _lignes(base: str) -> list[Any]:
    engine = create_engine_from_url(base)
    try:
        async with engine.connect() as connection:
            return list((await connection.execute(select(DecisionRow))).all())
    finally:
        await engine.dispose()


async def _lire(base: str, cles: str | None, organisme: str, decision_id: str) -> dict[str, Any]:
    engine = create_engine_from_url(base)
    try:
        record = await Journal(engine, trousseau=_trousseau(cles)).lire_decision(
            organisme, uuid.UUID(decision_id)
        )
        assert record is not None
        return dict(record.contenu)
    finally:
        await engine.dispose()


async def test_facts_are_encrypted_at_rest_and_decisions_stay_replayable(tmp_path: Path, base: str) -> None:
    settings = gateway_settings(
        tmp_path, database_url=base, gateway_secret_key=SECRET, journal_encryption_keys=f"k1:{K1}"
    )
    async with open_gateway(settings) as gw:
        reponses = [
            await gw.post("/v1/eligibilite", json={"demandeur": d, "dossier_ref": "D-9"}, headers=AUTH)
            for d in (MARTIN_AXELLE, LEFEBVRE)
        ]
        assert [r.status_code for r in reponses] == [200, 200]
        decisions = [r.json() for r in reponses]
        rejouees = [(await gw.get(f"/v1/decisions/{d['id']}", headers=AUTH)).json() for d in decisions]

    # Replayed whole, as answered, with the facts used (the certified data are never journaled).
    for decision, rejouee in zip(decisions, rejouees, strict=True):
        assert rejouee.pop("faits")["connus"]
        assert {**rejouee, "donnees": None} == {**decision, "donnees": None}

    lignes = await _lignes(base)
    assert len(lignes) == 2
    for ligne in lignes:
        brut = str(ligne.contenu)
        assert ligne.contenu_chiffre.startswith("gAAAAA")  # a Fernet token
        assert ligne.cle_journal == "k1"
        assert "faits" not in ligne.contenu
        # MARTIN AXELLE's QF (150), her birth date, the CAF facts: none in clear.
        for en_clair in ("1989-12-03", "quotient_familial", "150", "date_naissance"):
            assert en_clair not in brut
        assert {r["statut"] for r in ligne.contenu["resultats"]}  # statuses stay in clear

    # Other readers (documents, impact replays) get the clear record, facts included.
    contenu = await _lire(base, f"k1:{K1}", "ccas-demoville", decisions[0]["id"])
    assert contenu["faits"]["connus"]["quotient_familial_caf"]["valeur"] in ("150", 150)


async def test_rotation_reencrypts_and_losing_every_key_loses_only_the_content(
    tmp_path: Path, base: str
) -> None:
    settings = gateway_settings(
        tmp_path, database_url=base, gateway_secret_key=SECRET, journal_encryption_keys=f"k1:{K1}"
    )
    async with open_gateway(settings) as gw:
        decision = (await gw.post("/v1/eligibilite", json={"demandeur": MARTIN_AXELLE}, headers=AUTH)).json()

    # Rotation: k2 first, k1 still there to decrypt; `journal rechiffrer` moves every row.
    engine = create_engine_from_url(base)
    try:
        rapport = await Journal(engine, trousseau=_trousseau(f"k2:{K2},k1:{K1}")).rechiffrer()
    finally:
        await engine.dispose()
    assert (rapport.rechiffrees, rapport.illisibles) == (1, 0)
    assert [ligne.cle_journal for ligne in await _lignes(base)] == ["k2"]
    # k1 can go: the decision still reads with k2 alone.
    contenu = await _lire(base, f"k2:{K2}", "ccas-demoville", decision["id"])
    assert contenu["resultats"] == decision["resultats"]

    # Every key lost: the content is gone, the decision's existence, date, statuses and règlement stay.
    perdue = gateway_settings(
        tmp_path,
        database_url=base,
        gateway_secret_key=SECRET,
        journal_encryption_keys=f"k3:{Fernet.generate_key().decode()}",
    )
    async with open_gateway(perdue) as gw:
        illisible = await gw.get(f"/v1/decisions/{decision['id']}", headers=AUTH)
        journal = (await gw.get("/v1/journal", headers=AUTH)).json()
    assert illisible.status_code == 410
    assert illisible.json()["code"] == "decision-illisible"
    [entree] = [e for e in journal["entrees"] if e.get("decision_id") == decision["id"]]
    assert entree["cree_le"]
    assert entree["reglement_version"]
    assert entree["resultats"]
    with pytest.raises(DecisionIllisible):
        await _lire(base, f"k3:{Fernet.generate_key().decode()}", "ccas-demoville", decision["id"])


async def test_rows_written_in_clear_before_are_encrypted_by_the_command(base: str) -> None:
    await asyncio.to_thread(upgrade_database, base)
    engine = create_engine_from_url(base)
    try:
        consultation = ConsultationRecord(organisme_id="o", type="eligibilite", statut="succes")
        decision = DecisionRecord(
            consultation_id=consultation.id,
            organisme_id="o",
            date_reference=consultation.cree_le.date(),
            reglement_id="r",
            reglement_version="1",
            reglement_empreinte="sha256:x",
            contenu={"resultats": [{"dispositif": "a", "statut": "eligible"}], "faits": {"qf": 150}},
        )
        await Journal(engine).enregistrer(consultation, decision)  # no ring: as before issue 13
        assert (await _lignes(base))[0].contenu_chiffre is None
        rapport = await Journal(engine, trousseau=_trousseau(None)).rechiffrer()
        [ligne] = await _lignes(base)
        assert rapport.rechiffrees == 1
        assert "faits" not in ligne.contenu
        assert ligne.cle_journal == "derivee-1"
        lu = await Journal(engine, trousseau=_trousseau(None)).lire_decision("o", decision.id)
        assert lu is not None
        assert lu.contenu["faits"] == {"qf": 150}
    finally:
        await engine.dispose()


def _modes(dossier: Path) -> dict[str, int]:
    return {
        f.name: stat.S_IMODE(f.stat().st_mode)
        for f in dossier.iterdir()
        if f.name.startswith("journal.db") and "lock" not in f.name
    }


async def test_the_sqlite_journal_and_its_wal_are_private(tmp_path: Path) -> None:
    ancien = os.umask(0o022)  # what made the file 0644 before
    try:
        async with open_gateway(gateway_settings(tmp_path)) as gw:
            assert (
                await gw.post("/v1/eligibilite", json={"demandeur": MARTIN_AXELLE}, headers=AUTH)
            ).status_code in (
                200,
                502,
                503,
            )
            modes = _modes(tmp_path)
            assert set(modes) >= {"journal.db", "journal.db-wal", "journal.db-shm"}
            assert set(modes.values()) == {0o600}, modes
    finally:
        os.umask(ancien)


async def test_the_rechiffrer_command_moves_every_decision_to_the_current_key(
    tmp_path: Path, base: str
) -> None:
    settings = gateway_settings(
        tmp_path, database_url=base, gateway_secret_key=SECRET, journal_encryption_keys=f"k1:{K1}"
    )
    async with open_gateway(settings) as gw:
        assert (
            await gw.post("/v1/eligibilite", json={"demandeur": MARTIN_AXELLE}, headers=AUTH)
        ).status_code == 200
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("GATEWAY_", "API_", "REDIS", "DATABASE", "JOURNAL"))
    }
    env |= {"DATABASE_URL": base, "GATEWAY_SECRET_KEY": SECRET, "JOURNAL_ENCRYPTION_KEYS": f"k2:{K2},k1:{K1}"}
    sortie = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "app", "journal", "rechiffrer"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert sortie.returncode == 0, sortie.stderr
    assert "rechiffrées sous la clé « k2 » : 1 ; illisibles (clé absente du trousseau) : 0" in sortie.stdout
    assert [ligne.cle_journal for ligne in await _lignes(base)] == ["k2"]
