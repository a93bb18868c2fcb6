"""The simulator over real loopback HTTP, driven by the real client: what the sandbox gateway does."""

from __future__ import annotations

import asyncio
import socket
import subprocess
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime

import httpx
import pytest
from pydantic import SecretStr

from app.errors import UpstreamRateLimited, UpstreamTimeout, UpstreamUnavailable
from app.services.amont.impot_particulier import ImpotParticulierClient, TokenProvider, faits_impot
from app.simulators.faults import PARIS
from app.simulators.impot_particulier import (
    BASE_PATH,
    SIMULATEUR_CLIENT_ID,
    SIMULATEUR_CLIENT_SECRET,
    ImpotSimulatorConfig,
    create_impot_simulator_app,
)
from app.simulators.server import serve_simulator

MOMENT = datetime(2026, 3, 1, 10, 0, tzinfo=PARIS)
SPI = "3999999104458"


@dataclass
class Setup:
    url: str
    http: httpx.AsyncClient
    tokens: TokenProvider

    def client(self, timeout: httpx.Timeout | None = None) -> ImpotParticulierClient:
        return ImpotParticulierClient(
            self.http,
            base_url=self.url + BASE_PATH,
            tokens=self.tokens,
            id_teleservice="SIMULATEUR-CCAS",
            timeout=timeout,
            now=lambda: MOMENT,
        )

    async def counters(self) -> dict[str, object]:
        body: dict[str, object] = (await self.http.get(self.url + "/__simulateur/compteurs")).json()
        return body


@pytest.fixture
async def setup() -> AsyncIterator[Setup]:
    app = create_impot_simulator_app(ImpotSimulatorConfig(clock=lambda: MOMENT))
    async with serve_simulator(app) as url, httpx.AsyncClient() as http:
        tokens = TokenProvider(
            http,
            token_url=url + "/token",
            client_id=SIMULATEUR_CLIENT_ID,
            client_secret=SecretStr(SIMULATEUR_CLIENT_SECRET),
        )
        yield Setup(url, http, tokens)


async def test_concurrent_calls_share_one_token(setup: Setup) -> None:
    client = setup.client()
    reponses = await asyncio.gather(*(client.derniere_situation_deux_ans(SPI) for _ in range(40)))
    assert {faits_impot(r)["nombre_personnes_a_charge"].valeur for r in reponses} == {3}
    assert len({r.request_id for r in reponses}) == 40
    counters = await setup.counters()
    assert (counters["jetons"], counters["total"]) == (1, 40)


async def test_quota_of_fifty_per_minute_surfaces_as_rate_limited(setup: Setup) -> None:
    client = setup.client()
    for _ in range(50):
        await client.assiettes_ir(SPI, 2024)
    with pytest.raises(UpstreamRateLimited) as caught:
        await client.assiettes_ir(SPI, 2024)
    assert caught.value.retry_after == 60  # frozen clock: the window never slides


async def test_revoked_token_is_renewed_transparently(setup: Setup) -> None:
    client = setup.client()
    await client.derniere_situation_deux_ans(SPI)
    await setup.http.delete(setup.url + "/__simulateur/jetons")
    await client.derniere_situation_deux_ans(SPI)
    assert (await setup.counters())["jetons"] == 2


async def test_dropped_connection_is_unavailable(setup: Setup) -> None:
    await setup.http.put(setup.url + "/__simulateur/pannes", json={"mode": "connexion_coupee"})
    with pytest.raises(UpstreamUnavailable):
        await setup.client().derniere_situation_deux_ans(SPI)


async def test_hanging_upstream_is_a_timeout(setup: Setup) -> None:
    await setup.http.put(
        setup.url + "/__simulateur/pannes", json={"mode": "delai_depasse", "timeout_sleep_seconds": 1}
    )
    with pytest.raises(UpstreamTimeout):
        await setup.client(timeout=httpx.Timeout(0.2)).derniere_situation_deux_ans(SPI)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


async def test_runs_on_its_own_from_the_command_line() -> None:
    port = _free_port()
    process = subprocess.Popen(  # noqa: ASYNC220, S603 - our own module, run for the whole test
        [sys.executable, "-m", "app.simulators.impot_particulier", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:
            for _ in range(200):
                try:
                    response = await http.get("/__simulateur/foyers")
                    break
                except httpx.ConnectError:
                    await asyncio.sleep(0.05)
            else:
                pytest.fail("le simulateur n'a pas démarré")
            assert response.status_code == 200
            assert any(f["spi"] == "3999999898230" for f in response.json())
    finally:
        process.terminate()
        process.wait(timeout=10)
