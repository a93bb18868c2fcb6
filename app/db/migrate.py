"""Bring the journal's schema up to date with Alembic, from code: at start-up or as a command.

    python -m app.db.migrate            # DATABASE_URL, else the embedded SQLite file

Several workers may start at once: on PostgreSQL the upgrade runs under a transaction-level advisory
lock, on a SQLite file under an exclusive file lock, so exactly one of them migrates.
"""

from __future__ import annotations

import asyncio
import fcntl
import os
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Literal

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from app.db.engine import create_engine_from_url, normalise_database_url, sqlite_file

#: Alembic's `context` and `op` are process-wide proxies: two migrations in threads of one process
#: would overwrite each other's, so they run one at a time.
_ALEMBIC_LOCK = threading.Lock()

Direction = Literal["upgrade", "downgrade"]

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"

#: Key of the PostgreSQL advisory lock taken during an upgrade (any constant bigint shared by all
#: workers; this one spells "eg-migr" in ASCII).
ADVISORY_LOCK_KEY = 0x65672D6D69677200


def alembic_config(url: str | None = None) -> Config:
    """An Alembic configuration built in code, so migrations run from an installed package too."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    if url is not None:
        rendered = normalise_database_url(url).render_as_string(hide_password=False)
        # ConfigParser interpolation: a literal % (e.g. in a password) must be doubled.
        config.set_main_option("sqlalchemy.url", rendered.replace("%", "%%"))
    return config


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def _apply_on(connection: Connection, direction: Direction, revision: str) -> None:
    config = alembic_config()
    config.attributes["connection"] = connection
    if direction == "upgrade":
        command.upgrade(config, revision)
    else:
        command.downgrade(config, revision)


def _current_on(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


async def current_revision(engine: AsyncEngine) -> str | None:
    """The schema revision the database is at (None when never migrated)."""
    async with engine.connect() as connection:
        return await connection.run_sync(_current_on)


async def _apply(engine: AsyncEngine, direction: Direction, revision: str) -> None:
    async with engine.connect() as connection:
        if connection.dialect.name == "postgresql":
            # Released at commit: the other workers then find the schema current and do nothing.
            await connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": ADVISORY_LOCK_KEY})
        await connection.run_sync(_apply_on, direction, revision)
        await connection.commit()


async def upgrade_engine(engine: AsyncEngine, revision: str = "head") -> None:
    """Upgrade the database behind `engine` on the caller's event loop (blocking it meanwhile).

    Meant for one caller per process (tests, an app that owns its engine); `upgrade_database` is the
    thread-safe entry point.
    """
    await _apply(engine, "upgrade", revision)


async def _apply_url(url: str, direction: Direction, revision: str) -> None:
    engine = create_engine_from_url(url)
    try:
        await _apply(engine, direction, revision)
    finally:
        await engine.dispose()


@contextmanager
def _sqlite_file_lock(url: str) -> Iterator[None]:
    path = sqlite_file(normalise_database_url(url))
    if path is None:
        yield
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    lock_path = path.with_name(path.name + ".migrate.lock")
    with lock_path.open("a") as lock_file:
        fcntl.flock(lock_file, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock_file, fcntl.LOCK_UN)


def upgrade_database(url: str, revision: str = "head") -> None:
    """Upgrade the database at `url` to `revision`. Synchronous: call it from a worker thread
    (`await asyncio.to_thread(upgrade_database, url)`) or a command line, not from a running loop.
    """
    with _ALEMBIC_LOCK, _sqlite_file_lock(url):
        asyncio.run(_apply_url(url, "upgrade", revision))


def downgrade_database(url: str, revision: str) -> None:
    """Downgrade the database at `url` to `revision` (`base` empties it); synchronous like the upgrade."""
    with _ALEMBIC_LOCK, _sqlite_file_lock(url):
        asyncio.run(_apply_url(url, "downgrade", revision))


def _default_url() -> str:
    url = os.environ.get("DATABASE_URL")
    if url:
        return url
    from app.config import get_settings  # noqa: PLC0415 - only the command line needs the settings

    return get_settings().database_url


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    revision = args[0] if args else "head"
    url = _default_url()
    shown = normalise_database_url(url).render_as_string(hide_password=True)
    upgrade_database(url, revision)
    sys.stdout.write(f"Journal à jour (révision {revision}) : {shown}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
