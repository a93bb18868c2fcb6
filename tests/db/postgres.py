"""Throwaway PostgreSQL databases for integration tests, on the machine's real server.

Each call creates `eg_test_<random>` on 127.0.0.1:5432 (user postgres, trust auth) and drops it
afterwards, so test runs never share state and never touch the `test` database others use.
"""

from __future__ import annotations

import asyncio
import os
import secrets
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any

from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

PG_HOST = os.environ.get("EG_TEST_PG_HOST", "127.0.0.1")
PG_PORT = int(os.environ.get("EG_TEST_PG_PORT", "5432"))
PG_USER = os.environ.get("EG_TEST_PG_USER", "postgres")


async def _admin(statement: str) -> None:
    # CREATE/DROP DATABASE cannot run inside a transaction, hence AUTOCOMMIT.
    url = f"postgresql+asyncpg://{PG_USER}@{PG_HOST}:{PG_PORT}/postgres"
    engine = create_async_engine(url, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    try:
        async with engine.connect() as connection:
            await connection.exec_driver_sql(statement)
    finally:
        await engine.dispose()


def run_in_thread(function: Any, *args: Any) -> Any:
    """Run blocking set-up (asyncio.run inside) off the test's thread, whatever loop it has."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(function, *args).result()


@contextmanager
def throwaway_database() -> Iterator[str]:
    """Yield the URL of a new, empty PostgreSQL database; drop it on exit."""
    name = f"eg_test_{secrets.token_hex(6)}"
    run_in_thread(asyncio.run, _admin(f'CREATE DATABASE "{name}"'))
    try:
        yield f"postgresql://{PG_USER}@{PG_HOST}:{PG_PORT}/{name}"
    finally:
        run_in_thread(asyncio.run, _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
