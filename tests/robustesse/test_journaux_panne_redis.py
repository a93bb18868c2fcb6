"""Issue 13, point 8: a Redis outage is logged once per state change, plus a summary a minute, not
once per failed operation. Before: a 10 s Redis outage wrote ~15,000 warning lines.

The gateway reaches the machine's Redis (db 15) through a TCP relay this test cuts for a few seconds
(every connection closed, new ones refused), while requests keep coming."""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import structlog.testing

from app.logging import OutageLog
from tests.conftest import AUTH, gateway_settings, open_gateway
from tests.routers.test_eligibilite import MARTIN_AXELLE

pytestmark = pytest.mark.integration

REDIS = ("127.0.0.1", 6379)


class Relais:
    """A TCP relay to Redis that can be cut (an outage) and restored."""

    def __init__(self) -> None:
        self.port = 0
        self._serveur: asyncio.Server | None = None
        self._flux: set[asyncio.StreamWriter] = set()

    async def ouvrir(self) -> None:
        self._serveur = await asyncio.start_server(self._relayer, "127.0.0.1", self.port)
        self.port = self._serveur.sockets[0].getsockname()[1]

    async def couper(self) -> None:
        assert self._serveur is not None
        self._serveur.close()
        await self._serveur.wait_closed()
        for flux in list(self._flux):
            flux.close()
        self._flux.clear()

    async def _relayer(self, lecteur: asyncio.StreamReader, ecrivain: asyncio.StreamWriter) -> None:
        amont_lecteur, amont_ecrivain = await asyncio.open_connection(*REDIS)
        self._flux |= {ecrivain, amont_ecrivain}

        async def copier(de: asyncio.StreamReader, vers: asyncio.StreamWriter) -> None:
            with contextlib.suppress(OSError, ConnectionError):
                while donnees := await de.read(65536):
                    vers.write(donnees)
                    await vers.drain()
            vers.close()

        await asyncio.gather(copier(lecteur, amont_ecrivain), copier(amont_lecteur, ecrivain))


@pytest.fixture
async def relais() -> AsyncIterator[Relais]:
    r = Relais()
    await r.ouvrir()
    yield r
    with contextlib.suppress(AssertionError, RuntimeError):
        await r.couper()


def _inconnu(n: int) -> dict[str, Any]:
    lettres = "".join(chr(ord("A") + int(c)) for c in f"{n:05d}")
    return {**MARTIN_AXELLE, "nom_naissance": f"INCONNU{lettres}"}


async def test_a_redis_outage_is_a_few_log_lines(
    tmp_path: Path, simulateur: str, relais: Relais, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = gateway_settings(
        tmp_path,
        redis_url=f"redis://127.0.0.1:{relais.port}/15",
        api_particulier_url=simulateur,
        api_particulier_token=f"jeton-{secrets.token_hex(6)}",
        log_level="WARNING",
        # The per-client limit is not what this test is about: a fast machine sends more than the
        # default 600 requests a minute during the outage, and a 429 is not the degraded answer.
        client_rate_limit_requests=1_000_000,
    )
    requetes = 0
    async with open_gateway(settings) as gw:

        async def flot(debut: int, duree: float) -> None:
            nonlocal requetes
            fin, n = time.monotonic() + duree, debut
            while time.monotonic() < fin:
                r = await gw.post("/v1/eligibilite", json={"demandeur": _inconnu(n)}, headers=AUTH)
                assert r.status_code == 200, r.text  # degraded (data to verify), never a 500
                requetes += 1
                n += 1

        await flot(0, 0.5)
        capsys.readouterr()
        await relais.couper()
        await asyncio.gather(*(flot(10_000 * (k + 1), 3.0) for k in range(4)))
        await relais.ouvrir()
        await flot(90_000, 1.5)
    sortie = capsys.readouterr()
    avertissements = [
        ligne for ligne in (sortie.err + sortie.out).splitlines() if '"level": "warning"' in ligne
    ]
    print(f"\npanne Redis de 3 s, {requetes} requêtes : {len(avertissements)} lignes d'avertissement")
    assert requetes > 50
    # Each component that uses Redis (cache, limiter, coalescing, per-client limit): one line when
    # it fails, one when it recovers.
    assert len(avertissements) <= 10, avertissements
    assert any('"dependency.recovered"' in ligne for ligne in avertissements)


def test_an_outage_log_summarises_once_a_minute() -> None:
    horloge = [0.0]
    journal = OutageLog("redis", resume_seconds=60, clock=lambda: horloge[0])
    with structlog.testing.capture_logs() as lignes:
        for _ in range(15_000):  # ~ what a 10 s outage used to write, one line each
            journal.echec("limiter.unavailable", error_type="ConnectionError")
            horloge[0] += 0.01  # 150 s in all
        journal.succes()
        journal.succes()
    assert [ligne["event"] for ligne in lignes] == [
        "limiter.unavailable",
        "dependency.still_down",
        "dependency.still_down",
        "dependency.recovered",
    ]
    assert lignes[-1]["echecs"] == 15_000
