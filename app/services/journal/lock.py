"""The purge lock: one journal purge at a time, across processes and hosts.

PostgreSQL: a session advisory lock, held by a dedicated connection for the purge's duration and
released by the server if the process dies. SQLite: an exclusive `flock` on a file beside the
database, released by the kernel likewise. An in-memory SQLite database has one process anyway.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from app.db.engine import sqlite_file

#: The advisory lock's key: any constant the gateway uses for nothing else ("purge" in ASCII).
CLE_VERROU_PURGE = 0x7075726765


class PurgeEnCours(RuntimeError):
    """Another purge holds the lock: this one does not start."""


@asynccontextmanager
async def purge_lock(engine: AsyncEngine) -> AsyncIterator[None]:
    """Hold the purge lock for the block, or raise `PurgeEnCours` at once (never waits)."""
    if engine.dialect.name == "postgresql":
        async with engine.connect() as connection:
            obtenu = (
                await connection.execute(text("SELECT pg_try_advisory_lock(:cle)"), {"cle": CLE_VERROU_PURGE})
            ).scalar_one()
            await connection.commit()
            if not obtenu:
                raise PurgeEnCours(_MESSAGE)
            try:
                yield
            finally:
                await connection.execute(text("SELECT pg_advisory_unlock(:cle)"), {"cle": CLE_VERROU_PURGE})
                await connection.commit()
        return
    fichier = sqlite_file(engine.url)
    if fichier is None:
        yield
        return
    descripteur = os.open(f"{fichier}.purge-lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(descripteur, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise PurgeEnCours(_MESSAGE) from None
        try:
            yield
        finally:
            fcntl.flock(descripteur, fcntl.LOCK_UN)
    finally:
        os.close(descripteur)


_MESSAGE = "Une autre purge du journal est en cours : rien n'a été supprimé ; réessayer quand elle aura fini."
