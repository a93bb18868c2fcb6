"""serve_simulator: a real uvicorn server on a loopback port, inside the test's event loop."""

from __future__ import annotations

import httpx
import pytest

from app.simulators.api_particulier import FaultInjection, SimulatorConfig, create_simulator_app
from app.simulators.server import SimulatorStartupError, serve_simulator

from .api_particulier.conftest import NOMINAL, QF, FakeClock

AUTH = {"Authorization": "Bearer jeton"}


async def test_serves_over_a_real_loopback_port() -> None:
    app = create_simulator_app(SimulatorConfig(clock=FakeClock()))
    async with serve_simulator(app, port=0) as base_url:
        assert base_url.startswith("http://127.0.0.1:")
        assert not base_url.endswith(":0")
        async with httpx.AsyncClient(base_url=base_url, headers=AUTH) as client:
            response = await client.get(QF, params=NOMINAL)
            assert response.status_code == 200
            assert response.json()["data"]["quotient_familial"]["valeur"] == 2550
            assert response.headers["RateLimit-Limit"] == "20"
    with pytest.raises(httpx.ConnectError):
        async with httpx.AsyncClient(base_url=base_url) as client:
            await client.get("/api/cnaf_msa_quotient_familial/ping")


async def test_connection_drop_is_seen_by_a_real_client() -> None:
    config = SimulatorConfig(clock=FakeClock(), faults=FaultInjection(mode="connexion_coupee"))
    async with serve_simulator(create_simulator_app(config)) as base_url:
        client = httpx.AsyncClient(base_url=base_url, headers=AUTH)
        with pytest.raises(httpx.RemoteProtocolError):
            await client.get(QF, params=NOMINAL)
        await client.aclose()


async def test_timeout_fault_outlasts_the_client_timeout() -> None:
    faults = FaultInjection(mode="delai_depasse", timeout_sleep_seconds=1.0)
    config = SimulatorConfig(clock=FakeClock(), faults=faults)
    async with serve_simulator(create_simulator_app(config), shutdown_timeout=1.0) as base_url:
        client = httpx.AsyncClient(base_url=base_url, headers=AUTH, timeout=0.1)
        with pytest.raises(httpx.ReadTimeout):
            await client.get(QF, params=NOMINAL)
        await client.aclose()


async def test_two_simulators_get_two_ports() -> None:
    async with (
        serve_simulator(create_simulator_app()) as first,
        serve_simulator(create_simulator_app()) as second,
    ):
        assert first != second


async def test_a_taken_port_is_a_startup_error() -> None:
    async with serve_simulator(create_simulator_app()) as base_url:
        port = int(base_url.rsplit(":", 1)[1])
        with pytest.raises(SimulatorStartupError):
            async with serve_simulator(create_simulator_app(), port=port):
                pass
