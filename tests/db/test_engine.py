"""The engine factory: driver selection, SQLite preparation and pragmas, JSON of the journal."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from uuid import UUID

import pytest
from sqlalchemy import text

from app.db.engine import create_engine_from_url, dumps_json, normalise_database_url, sqlite_file
from tests.db.postgres import throwaway_database


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("postgresql://u:p@db:5432/journal", "postgresql+asyncpg://u:p@db:5432/journal"),
        ("postgres://u:p@db/journal", "postgresql+asyncpg://u:p@db/journal"),
        ("postgresql+asyncpg://u@db/journal", "postgresql+asyncpg://u@db/journal"),
        ("sqlite:///var/journal.db", "sqlite+aiosqlite:///var/journal.db"),
        ("sqlite:////abs/journal.db", "sqlite+aiosqlite:////abs/journal.db"),
        ("sqlite+aiosqlite:///x.db", "sqlite+aiosqlite:///x.db"),
        ("sqlite://", "sqlite+aiosqlite://"),
    ],
)
def test_normalise_database_url_picks_the_async_driver(url: str, expected: str) -> None:
    assert normalise_database_url(url).render_as_string(hide_password=False) == expected


def test_sqlite_file_is_none_for_memory_and_other_databases() -> None:
    assert sqlite_file(normalise_database_url("sqlite://")) is None
    assert sqlite_file(normalise_database_url("sqlite:///:memory:")) is None
    assert sqlite_file(normalise_database_url("postgresql://db/x")) is None
    assert sqlite_file(normalise_database_url("sqlite:////a/b.db")) == Path("/a/b.db")


async def test_sqlite_engine_creates_the_parent_directory_and_sets_pragmas(tmp_path: Path) -> None:
    database = tmp_path / "deep" / "er" / "journal.db"
    engine = create_engine_from_url(f"sqlite:///{database}")
    try:
        assert database.parent.is_dir()
        async with engine.connect() as connection:
            journal_mode = (await connection.execute(text("PRAGMA journal_mode"))).scalar_one()
            foreign_keys = (await connection.execute(text("PRAGMA foreign_keys"))).scalar_one()
            busy_timeout = (await connection.execute(text("PRAGMA busy_timeout"))).scalar_one()
        assert journal_mode == "wal"
        assert foreign_keys == 1
        assert busy_timeout == 5000
        assert database.exists()
    finally:
        await engine.dispose()


async def test_sqlite_memory_engine_shares_one_database_across_checkouts() -> None:
    engine = create_engine_from_url("sqlite://")
    try:
        async with engine.begin() as connection:
            await connection.execute(text("CREATE TABLE t (x INTEGER)"))
            await connection.execute(text("INSERT INTO t VALUES (7)"))
        async with engine.connect() as connection:
            assert (await connection.execute(text("SELECT x FROM t"))).scalar_one() == 7
    finally:
        await engine.dispose()


@pytest.mark.integration
async def test_postgresql_engine_connects_through_asyncpg() -> None:
    with throwaway_database() as url:
        engine = create_engine_from_url(url)
        try:
            assert engine.dialect.driver == "asyncpg"
            assert engine.pool.timeout() == 5  # type: ignore[attr-defined]
            async with engine.connect() as connection:
                assert (await connection.execute(text("SELECT 1"))).scalar_one() == 1
        finally:
            await engine.dispose()


def test_dumps_json_writes_exact_decimals_dates_and_uuids_as_text() -> None:
    value = {
        "qf": Decimal("550.10"),
        "jour": date(2026, 11, 26),
        "quand": datetime(2026, 11, 26, 9, 30, tzinfo=UTC),
        "id": UUID("12345678-1234-5678-1234-567812345678"),
        "nom": "Gérôme",
    }
    assert dumps_json(value) == (
        '{"qf":"550.10","jour":"2026-11-26","quand":"2026-11-26T09:30:00+00:00",'
        '"id":"12345678-1234-5678-1234-567812345678","nom":"Gérôme"}'
    )


def test_dumps_json_refuses_unknown_types() -> None:
    with pytest.raises(TypeError, match="object"):
        dumps_json({"x": object()})
