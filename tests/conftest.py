"""Shared fixtures: the gateway app under its real lifespan, and a loopback API Particulier simulator."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
import stamina
from asgi_lifespan import LifespanManager

from app.config import Settings
from app.main import create_app
from app.simulators.api_particulier.app import create_simulator_app
from app.simulators.server import serve_simulator

DEMO_KEY = "cle-de-test-demo"


@pytest.fixture(autouse=True)
def _retries_without_sleeping() -> Iterator[None]:
    """stamina's testing mode: upstream retries happen (3 attempts, as configured) but never sleep."""
    with stamina.set_testing(True, attempts=3):
        yield


AUTH = {"Authorization": f"Bearer {DEMO_KEY}"}


def gateway_settings(tmp_path: Path, **overrides: Any) -> Settings:
    """Settings isolated from the machine's environment and `.env`: sandbox, SQLite in tmp_path."""
    values: dict[str, Any] = {
        "gateway_mode": "sandbox",
        "database_url": f"sqlite+aiosqlite:///{tmp_path / 'journal.db'}",
        "redis_url": None,
        "api_particulier_url": None,
        "api_particulier_token": None,
        "gateway_demo_api_key": DEMO_KEY,
        "log_json": True,
        # A full collection per app start would slow the suite; tests/test_main.py covers it.
        "gc_tuning": False,
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)


@pytest.fixture
async def simulateur() -> AsyncIterator[str]:
    """An API Particulier simulator on a real loopback port; yields its base URL."""
    async with serve_simulator(create_simulator_app(), host="127.0.0.1", port=0) as base_url:
        yield base_url


async def upstream_calls(simulator_url: str) -> int:
    """How many data calls the simulator has received (its own counters)."""
    async with httpx.AsyncClient(base_url=simulator_url) as http:
        counters = (await http.get("/__simulateur/compteurs")).json()
    return int(counters["total"])


@pytest.fixture
async def gateway(tmp_path: Path, simulateur: str) -> AsyncIterator[httpx.AsyncClient]:
    """The gateway pointed at the loopback simulator (the path `API_PARTICULIER_URL` opens)."""
    settings = gateway_settings(
        tmp_path, api_particulier_url=simulateur, api_particulier_token="jeton-de-test"
    )
    async with open_gateway(settings) as client:
        yield client


@asynccontextmanager
async def open_gateway(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """The app with its lifespan running, and an httpx client talking to it in-process."""
    app = create_app(settings)
    async with (
        LifespanManager(app, startup_timeout=30) as manager,
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=manager.app), base_url="http://gateway"
        ) as client,
    ):
        yield client
