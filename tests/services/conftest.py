"""Databases for the services' tests: each test runs on SQLite and on the real PostgreSQL."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from app.db.engine import create_engine_from_url
from app.db.migrate import upgrade_database
from app.services.journal import Journal
from tests.db.postgres import run_in_thread, throwaway_database


@pytest.fixture(scope="module")
def postgres_url() -> Iterator[str]:
    """A throwaway, migrated PostgreSQL database shared by one test module."""
    with throwaway_database() as url:
        run_in_thread(upgrade_database, url)
        yield url


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.integration)])
async def base_migree(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The URL of a migrated database: a fresh SQLite file, or the module's PostgreSQL one."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'journal.db'}"
        await asyncio.to_thread(upgrade_database, url)
        return url
    postgres: str = request.getfixturevalue("postgres_url")
    return postgres


@pytest.fixture
async def journal(base_migree: str) -> AsyncIterator[Journal]:
    engine = create_engine_from_url(base_migree)
    try:
        yield Journal(engine)
    finally:
        await engine.dispose()
