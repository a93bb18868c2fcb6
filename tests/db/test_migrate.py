"""Alembic migrations: from empty to head on SQLite and PostgreSQL, idempotent, safe when several
workers start at once, and in agreement with the models of app/db/tables.py."""

from __future__ import annotations

import asyncio
import multiprocessing
import sqlite3
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection

from app.db import migrate
from app.db.engine import create_engine_from_url
from app.db.migrate import (
    alembic_config,
    current_revision,
    downgrade_database,
    head_revision,
    upgrade_database,
)
from app.db.tables import Base
from tests.db.postgres import throwaway_database

EXPECTED_TABLES = {
    "alembic_version",
    "consultations",
    "decisions",
    "organismes",
    "clients",
    "cles_api",
    "reglements_archives",
    "campagnes",
    "campagne_lignes",
    "campagne_resultats",
}
WORKERS = 4


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.integration)])
def empty_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'var' / 'journal.db'}"
        return
    with throwaway_database() as url:
        yield url


def _tables(connection: Connection) -> set[str]:
    return set(inspect(connection).get_table_names())


def _schema_differences(connection: Connection) -> list[Any]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return list(compare_metadata(context, Base.metadata))


async def _inspect(url: str, function: Any) -> Any:
    engine = create_engine_from_url(url)
    try:
        async with engine.connect() as connection:
            return await connection.run_sync(function)
    finally:
        await engine.dispose()


def test_head_revision_is_the_replay_copy_first_schema() -> None:
    assert head_revision() == "0008_journal_rejeu_en_tete"


async def test_upgrade_from_empty_creates_the_journal(empty_database_url: str) -> None:
    assert await _inspect(empty_database_url, _tables) == set()
    await asyncio.to_thread(upgrade_database, empty_database_url)
    assert await _inspect(empty_database_url, _tables) == EXPECTED_TABLES
    engine = create_engine_from_url(empty_database_url)
    try:
        assert await current_revision(engine) == "0008_journal_rejeu_en_tete"
    finally:
        await engine.dispose()


async def test_migrations_match_the_models(empty_database_url: str) -> None:
    await asyncio.to_thread(upgrade_database, empty_database_url)
    assert await _inspect(empty_database_url, _schema_differences) == []


async def test_upgrade_is_idempotent(empty_database_url: str) -> None:
    await asyncio.to_thread(upgrade_database, empty_database_url)
    await asyncio.to_thread(upgrade_database, empty_database_url)
    assert await _inspect(empty_database_url, _tables) == EXPECTED_TABLES


def _worker_upgrade(url: str, barrier: Any) -> None:
    barrier.wait(timeout=60)  # all workers start migrating at the same instant, as after a deploy
    upgrade_database(url)


async def test_concurrent_upgrades_by_several_worker_processes_all_succeed(empty_database_url: str) -> None:
    # Without the advisory/file lock the workers all see an empty database and all but one fail on
    # CREATE TABLE (or on the alembic_version row).
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(WORKERS)
    workers = [
        context.Process(target=_worker_upgrade, args=(empty_database_url, barrier)) for _ in range(WORKERS)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=120)
    assert [worker.exitcode for worker in workers] == [0] * WORKERS
    assert await _inspect(empty_database_url, _tables) == EXPECTED_TABLES

    def versions(connection: Connection) -> list[str]:
        return list(connection.execute(text("SELECT version_num FROM alembic_version")).scalars())

    assert await _inspect(empty_database_url, versions) == ["0008_journal_rejeu_en_tete"]


async def test_concurrent_upgrades_in_threads_of_one_process_all_succeed(empty_database_url: str) -> None:
    # The app's lifespan runs the upgrade in a worker thread; tests and tools may do it in parallel.
    with ThreadPoolExecutor(max_workers=3) as pool:
        futures = [pool.submit(upgrade_database, empty_database_url) for _ in range(3)]
        for future in futures:
            future.result(timeout=120)
    assert await _inspect(empty_database_url, _tables) == EXPECTED_TABLES


async def test_downgrade_to_base_removes_the_tables(empty_database_url: str) -> None:
    await asyncio.to_thread(upgrade_database, empty_database_url)
    await asyncio.to_thread(downgrade_database, empty_database_url, "base")
    assert await _inspect(empty_database_url, _tables) == {"alembic_version"}


def test_offline_mode_prints_the_sql(capsys: pytest.CaptureFixture[str]) -> None:
    command.upgrade(alembic_config("postgresql://db/journal"), "head", sql=True)
    sql = capsys.readouterr().out
    assert "CREATE TABLE consultations" in sql
    assert "JSONB" in sql


def test_command_line_upgrades_database_url(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    database = tmp_path / "cli" / "journal.db"
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{database}")
    assert migrate.main([]) == 0
    assert database.exists()
    assert "révision head" in capsys.readouterr().out


def test_command_line_hides_the_password(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql://u:tres-secret@db/journal")
    monkeypatch.setattr(migrate, "upgrade_database", lambda url, revision: None)
    assert migrate.main([]) == 0
    out = capsys.readouterr().out
    assert "tres-secret" not in out
    assert "postgresql+asyncpg://u:***@db/journal" in out


def _sqlite_rows(chemin: Path) -> tuple[list[str], list[dict[str, Any]], set[str]]:
    with closing(sqlite3.connect(chemin)) as connexion:
        connexion.row_factory = sqlite3.Row
        colonnes = [ligne["name"] for ligne in connexion.execute("PRAGMA table_info(decisions)")]
        lignes = [dict(ligne) for ligne in connexion.execute("SELECT * FROM decisions ORDER BY id")]
        index = {ligne["name"] for ligne in connexion.execute("PRAGMA index_list(decisions)")}
    return colonnes, lignes, index


def test_sqlite_rebuilds_the_journal_with_the_replay_copy_before_the_whole_record(tmp_path: Path) -> None:
    """0008 on SQLite: every row and value kept, `cle_journal` and `rejeu` stored before `contenu` and
    `contenu_chiffre` (so reading the copy does not walk the record's overflow pages), the indexes,
    the unique consultation and the cascading foreign key still there."""
    chemin = tmp_path / "journal.db"
    url = f"sqlite:///{chemin}"
    upgrade_database(url, "0007_journal_rejeu")
    enregistrement = "x" * 40_000  # a whole encrypted record spans several overflow pages
    with closing(sqlite3.connect(chemin)) as connexion, connexion:
        for rang in range(3):
            connexion.execute(
                "INSERT INTO consultations (id, organisme_id, cree_le, type, appels_fournisseurs, statut) "
                "VALUES (?, 'ccas-a', '2026-05-14 10:00:00.000000', 'eligibilite', '[]', 'succes')",
                (f"{rang:032x}",),
            )
        connexion.executemany(
            "INSERT INTO decisions (id, consultation_id, organisme_id, cree_le, date_reference, "
            "dossier_ref, reglement_id, reglement_version, reglement_empreinte, contenu, "
            "contenu_chiffre, cle_journal, rejeu) "
            "VALUES (?, ?, 'ccas-a', ?, '2026-05-14', ?, 'demo', '1', 'sha256:e', ?, ?, ?, ?)",
            [
                (
                    f"{1:032x}",
                    f"{0:032x}",
                    "2026-05-14 10:00:01.000000",
                    "D-1",
                    '{"a": 1}',
                    enregistrement,
                    "derivee-1",
                    "a2.copie",
                ),
                (
                    f"{2:032x}",
                    f"{1:032x}",
                    "2026-05-14 10:00:02.000000",
                    None,
                    '{"entier": true}',
                    None,
                    None,
                    None,
                ),
                (
                    f"{3:032x}",
                    f"{2:032x}",
                    "2026-05-14 10:00:03.000000",
                    "D-3",
                    '{"b": 2}',
                    enregistrement,
                    "derivee-1",
                    None,
                ),
            ],
        )
    colonnes_avant, lignes_avant, index_avant = _sqlite_rows(chemin)
    assert colonnes_avant.index("rejeu") > colonnes_avant.index("contenu_chiffre")

    upgrade_database(url)

    colonnes, lignes, index = _sqlite_rows(chemin)
    assert colonnes[colonnes.index("reglement_empreinte") + 1 :] == [
        "cle_journal", "rejeu", "contenu", "contenu_chiffre"
    ]  # fmt: skip
    assert sorted(colonnes) == sorted(colonnes_avant)
    assert lignes == lignes_avant
    assert index == index_avant
    with closing(sqlite3.connect(chemin)) as connexion, connexion:
        connexion.execute("PRAGMA foreign_keys=ON")
        with pytest.raises(sqlite3.IntegrityError):  # one decision per consultation, still
            connexion.execute(
                "INSERT INTO decisions SELECT ?, consultation_id, organisme_id, cree_le, date_reference, "
                "dossier_ref, reglement_id, reglement_version, reglement_empreinte, cle_journal, rejeu, "
                "contenu, contenu_chiffre FROM decisions WHERE id = ?",
                (f"{9:032x}", f"{1:032x}"),
            )
        connexion.execute("DELETE FROM consultations WHERE id = ?", (f"{0:032x}",))
        restantes = [r[0] for r in connexion.execute("SELECT id FROM decisions ORDER BY id")]
    assert restantes == [f"{2:032x}", f"{3:032x}"]  # the retention purge's cascade, still
    # Downgrading below 0008 keeps every row (the order carries no meaning).
    downgrade_database(url, "0007_journal_rejeu")
    assert _sqlite_rows(chemin)[1] == lignes[1:]
