"""Alembic migrations: from empty to head on SQLite and PostgreSQL, idempotent, safe when several
workers start at once, and in agreement with the models of app/db/tables.py."""

from __future__ import annotations

import asyncio
import multiprocessing
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
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


def test_head_revision_is_the_replay_column_schema() -> None:
    assert head_revision() == "0007_journal_rejeu"


async def test_upgrade_from_empty_creates_the_journal(empty_database_url: str) -> None:
    assert await _inspect(empty_database_url, _tables) == set()
    await asyncio.to_thread(upgrade_database, empty_database_url)
    assert await _inspect(empty_database_url, _tables) == EXPECTED_TABLES
    engine = create_engine_from_url(empty_database_url)
    try:
        assert await current_revision(engine) == "0007_journal_rejeu"
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

    assert await _inspect(empty_database_url, versions) == ["0007_journal_rejeu"]


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
