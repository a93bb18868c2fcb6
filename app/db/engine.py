"""The async SQLAlchemy engine of the journal, built from `DATABASE_URL`.

Operators write the URLs they know (`postgresql://…`, `sqlite:///…`); this module picks the async
driver, prepares the SQLite file and sets the pragmas and pool options each database needs.
"""

from __future__ import annotations

import contextlib
import importlib
import json
import os
import sqlite3
import stat
import time
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from uuid import UUID

from sqlalchemy import event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import DisconnectionError, SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import StaticPool


def _driver_errors() -> tuple[type[BaseException], ...]:
    # SQLAlchemy wraps asyncpg's errors as DBAPIError; these are caught too in case one slips
    # through (connection set-up, cancellation). Imported by name: asyncpg ships no type stubs.
    try:
        asyncpg = importlib.import_module("asyncpg")
    except ImportError:  # pragma: no cover - asyncpg is a dependency
        return ()
    return (asyncpg.PostgresError, asyncpg.InterfaceError, asyncpg.InternalClientError)


#: Everything a failing or unreachable database may raise through SQLAlchemy and its drivers.
DATABASE_ERRORS: tuple[type[BaseException], ...] = (
    SQLAlchemyError,
    OSError,
    TimeoutError,
    sqlite3.Error,
    *_driver_errors(),
)


_ASYNC_DRIVERS = {
    "postgres": "postgresql+asyncpg",
    "postgresql": "postgresql+asyncpg",
    "sqlite": "sqlite+aiosqlite",
}


def normalise_database_url(url: str) -> URL:
    """The URL with its async driver: `postgres(ql)://` → asyncpg, `sqlite://` → aiosqlite."""
    parsed = make_url(url)
    driver = _ASYNC_DRIVERS.get(parsed.drivername)
    return parsed.set(drivername=driver) if driver else parsed


def is_sqlite_memory(url: URL) -> bool:
    return url.get_backend_name() == "sqlite" and url.database in (None, "", ":memory:")


def sqlite_file(url: URL) -> Path | None:
    """Path of the SQLite database file, or None for another database or an in-memory one."""
    if url.get_backend_name() != "sqlite" or is_sqlite_memory(url) or url.database is None:
        return None
    if url.database.startswith("file:"):
        return None
    return Path(url.database)


def _json_default(value: Any) -> Any:
    # The same conversions as pydantic's `model_dump(mode="json")`: exact decimals travel as text.
    if isinstance(value, Decimal | UUID):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    raise TypeError(f"type non sérialisable en JSON : {type(value).__name__}")


class DocumentJson(dict[str, Any]):
    """A JSON-ready document that carries its own encoding, written to a JSON column as it is.

    The decision is encoded once for the HTTP answer; the journal stores that same text instead of
    encoding the document again. `json` must be the encoding of the dict's content.
    """

    __slots__ = ("json",)

    def __init__(self, contenu: dict[str, Any], json: str) -> None:
        super().__init__(contenu)
        self.json = json


def dumps_json(value: Any) -> str:
    """JSON for the journal's JSON columns."""
    if isinstance(value, DocumentJson):
        return value.json
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=_json_default)


def _set_sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    try:
        # WAL: readers (GET /v1/journal) do not block the writer; foreign keys are off by default.
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        # Several workers may share the file: wait for the write lock rather than fail at once.
        cursor.execute("PRAGMA busy_timeout=5000")
        # synchronous stays at its FULL default: an acknowledged decision survives a power cut.
        # NORMAL would be safe against a crash of the process but, in WAL mode, may lose the last
        # commits on power loss — decisions already returned without their record. The journal's
        # group commit pays one fsync per batch, not per request, so FULL costs little under load
        # (measured: no throughput difference at 32 concurrent requests).
    finally:
        cursor.close()


#: A pooled PostgreSQL connection idle for longer than this is pinged before use (see below).
PING_APRES_INACTIVITE_SECONDS = 2.0
_DERNIER_RETOUR = "eg_dernier_retour"


def _ping_si_inactive(engine: AsyncEngine) -> None:
    """Ping a pooled connection before use only when it has been idle for a while.

    `pool_pre_ping` pays a round trip on *every* checkout, i.e. on every journal write. A connection
    used less than `PING_APRES_INACTIVITE_SECONDS` ago is handed out as it is: if the driver already
    knows it closed, the journal writer takes a fresh one (nothing was sent); if the server dies
    under the write, it fails (a 503, never a decision without its trace) and SQLAlchemy
    invalidates the whole pool on that disconnect, so the next checkouts reconnect. An idle
    connection — the one a restart usually leaves behind — is pinged and replaced when dead.
    """
    dialect = engine.dialect

    def au_retour(_dbapi_connection: Any, record: Any) -> None:
        record.info[_DERNIER_RETOUR] = time.monotonic()

    def a_la_sortie(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        retour = record.info.get(_DERNIER_RETOUR)
        if retour is not None and time.monotonic() - retour < PING_APRES_INACTIVITE_SECONDS:
            return
        try:
            vivante = dialect.do_ping(dbapi_connection)
        except Exception as e:  # the driver's own error for a dead connection
            raise DisconnectionError("connexion PostgreSQL morte au ping") from e
        if not vivante:
            raise DisconnectionError("connexion PostgreSQL morte au ping")

    event.listen(engine.sync_engine.pool, "checkin", au_retour)
    event.listen(engine.sync_engine.pool, "checkout", a_la_sortie)


def fichier_prive(path: Path) -> None:
    """The SQLite journal and its WAL/SHM files readable by the gateway's user only (0600): they
    hold the journal (issue 13: the file was created 0644, world-readable). An empty file is an
    empty SQLite database; SQLite gives the WAL and SHM files the database file's mode."""
    descripteur = os.open(path, os.O_CREAT | os.O_WRONLY, 0o600)
    os.close(descripteur)
    for fichier in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        with contextlib.suppress(FileNotFoundError):
            if stat.S_IMODE(fichier.stat().st_mode) != 0o600:
                fichier.chmod(0o600)


def create_engine_from_url(url: str, *, echo: bool = False) -> AsyncEngine:
    """An async engine for `url` (PostgreSQL through asyncpg, SQLite through aiosqlite)."""
    parsed = normalise_database_url(url)
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        path = sqlite_file(parsed)
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            fichier_prive(path)
        # SQLite has one writer at a time: a single pooled connection queues the process's writes
        # in the pool (FIFO) instead of making several connections spin on the busy handler.
        options: dict[str, Any] = {"pool_size": 1, "max_overflow": 0, "pool_timeout": 30}
        if is_sqlite_memory(parsed):
            # One shared connection, or each checkout would see its own empty database.
            options = {"poolclass": StaticPool, "connect_args": {"check_same_thread": False}}
        engine = create_async_engine(parsed, echo=echo, json_serializer=dumps_json, **options)
        event.listen(engine.sync_engine, "connect", _set_sqlite_pragmas)
        return engine
    if backend == "postgresql":
        engine = create_async_engine(
            parsed,
            echo=echo,
            json_serializer=dumps_json,
            pool_size=5,
            max_overflow=10,
            pool_timeout=5,  # seconds to wait for a pooled connection before failing the request
            pool_recycle=1800,
            connect_args={"timeout": 5, "command_timeout": 10},
        )
        # A restarted PostgreSQL leaves dead connections in the pool: pinged when idle (see above).
        _ping_si_inactive(engine)
        return engine
    return create_async_engine(parsed, echo=echo, json_serializer=dumps_json)
