"""Fixtures of the reliability suite (`make robustesse`): the gateway in sandbox, in production,
and on a throwaway PostgreSQL database, each with the real lifespan."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.fernet import Fernet

from app.config import Settings
from tests.conftest import AUTH, gateway_settings, open_gateway
from tests.db.postgres import throwaway_database

__all__ = ["AUTH"]


@pytest.fixture
async def passerelle(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    """The sandbox gateway (built-in simulators, SQLite): the demo key opens every scope."""
    async with open_gateway(gateway_settings(tmp_path)) as client:
        yield client


def production_settings(tmp_path: Path, simulateur: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "gateway_mode": "production",
        "gateway_secret_key": "r" * 40,
        "api_particulier_url": simulateur,
        "api_particulier_token": "jeton-de-test",
        "cache_encryption_keys": Fernet.generate_key().decode(),
        # The test's journal is a SQLite file and the loopback simulator speaks plain HTTP.
        "journal_sqlite_en_production": True,
        "allow_insecure_upstream_http": True,
    }
    values.update(overrides)
    return gateway_settings(tmp_path, **values)


@pytest.fixture
def base_postgres() -> Iterator[str]:
    with throwaway_database() as url:
        yield url
