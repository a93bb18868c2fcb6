"""Shared fixtures: a simulator on an in-process transport, a token provider and a client on it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime

import httpx
import pytest
from pydantic import SecretStr

from app.services.amont.impot_particulier import ImpotParticulierClient, TokenProvider
from app.simulators.faults import PARIS
from app.simulators.impot_particulier import (
    BASE_PATH,
    SIMULATEUR_CLIENT_ID,
    SIMULATEUR_CLIENT_SECRET,
    ImpotSimulatorConfig,
    create_impot_simulator_app,
)

#: 1 March 2026: the newest taxed year is 2024 (2025 comes on 22 July 2026).
MOMENT = datetime(2026, 3, 1, 10, 0, tzinfo=PARIS)
SIM_URL = "http://dgfip.simulateur"


@pytest.fixture
def sim_config() -> ImpotSimulatorConfig:
    return ImpotSimulatorConfig(clock=lambda: MOMENT)


@pytest.fixture
async def sim_http(sim_config: ImpotSimulatorConfig) -> AsyncIterator[httpx.AsyncClient]:
    app = create_impot_simulator_app(sim_config)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app)) as http:
        yield http


@pytest.fixture
def sim_tokens(sim_http: httpx.AsyncClient) -> TokenProvider:
    return TokenProvider(
        sim_http,
        token_url=f"{SIM_URL}/token",
        client_id=SIMULATEUR_CLIENT_ID,
        client_secret=SecretStr(SIMULATEUR_CLIENT_SECRET),
    )


@pytest.fixture
def sim_client(sim_http: httpx.AsyncClient, sim_tokens: TokenProvider) -> ImpotParticulierClient:
    return ImpotParticulierClient(
        sim_http,
        base_url=SIM_URL + BASE_PATH,
        tokens=sim_tokens,
        id_teleservice="SIMULATEUR-CCAS",
        sandbox=True,
        now=lambda: MOMENT,
    )
