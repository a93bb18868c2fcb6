"""Redis killed mid-run: the gateway keeps answering, makes no unmetered upstream call, keeps its
simulations, and `/readyz` says it is degraded. Uses a throwaway `redis-server` (never the machine's
own Redis on 6379), started and shut down by the test."""

from __future__ import annotations

import asyncio
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from app.services.sante import FRAICHEUR_SONDE_SECONDES
from tests.conftest import AUTH, gateway_settings, open_gateway, upstream_calls

MARTIN_AXELLE: dict[str, Any] = {
    "nom_naissance": "MARTIN",
    "prenoms": ["AXELLE"],
    "sexe": "F",
    "date_naissance": "1989-12-03",
    "code_cog_insee_commune_naissance": "35238",
    "code_cog_insee_pays_naissance": "99100",
}
BERNARD_ELODIE: dict[str, Any] = {
    "nom_naissance": "BERNARD",
    "prenoms": ["ELODIE"],
    "sexe": "F",
    "date_naissance": "1990-03",
    "code_cog_insee_commune_naissance": "08480",
    "code_cog_insee_pays_naissance": "99100",
}

pytestmark = pytest.mark.skipif(shutil.which("redis-server") is None, reason="redis-server absent")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class RedisJetable:
    def __init__(self, tmp_path: Path) -> None:
        self.port = _free_port()
        self._dir = tmp_path

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def demarrer(self) -> None:
        subprocess.run(  # noqa: S603 - fixed arguments, our own throwaway server
            [  # noqa: S607 - the Debian redis-server on PATH
                "redis-server",
                *("--port", str(self.port), "--bind", "127.0.0.1", "--save", ""),
                *("--appendonly", "no", "--daemonize", "yes", "--dir", str(self._dir)),
                *("--pidfile", str(self._dir / "redis.pid")),
            ],
            check=True,
            capture_output=True,
        )
        for _ in range(100):
            if self.repond():
                return
            time.sleep(0.02)
        raise RuntimeError("redis-server jetable n'a pas démarré")

    def arreter(self) -> None:
        subprocess.run(  # noqa: S603 - fixed arguments, our own throwaway server
            ["redis-cli", "-p", str(self.port), "shutdown", "nosave"],  # noqa: S607
            check=False,
            capture_output=True,
        )
        for _ in range(100):
            if not self.repond():
                return
            time.sleep(0.02)

    def repond(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.1):
                return True
        except OSError:
            return False


@pytest.fixture
def redis_jetable(tmp_path: Path) -> Iterator[RedisJetable]:
    serveur = RedisJetable(tmp_path)
    serveur.demarrer()
    try:
        yield serveur
    finally:
        serveur.arreter()


@pytest.mark.integration
async def test_redis_killed_mid_run(tmp_path: Path, simulateur: str, redis_jetable: RedisJetable) -> None:
    settings = gateway_settings(
        tmp_path, api_particulier_url=simulateur, api_particulier_token="jeton", redis_url=redis_jetable.url
    )
    async with open_gateway(settings) as gateway:
        avant = await gateway.post("/v1/eligibilite", json={"demandeur": MARTIN_AXELLE}, headers=AUTH)
        assert avant.status_code == 200
        assert (await gateway.get("/readyz")).json()["statut"] == "ok"
        assert await upstream_calls(simulateur) == 1

        redis_jetable.arreter()

        pendant = await gateway.post("/v1/eligibilite", json={"demandeur": BERNARD_ELODIE}, headers=AUTH)
        await asyncio.sleep(FRAICHEUR_SONDE_SECONDES)  # past the last probe's answer
        ready = await gateway.get("/readyz")
        simulation = await gateway.post(
            "/v1/simulations",
            json={
                "faits": {"quotient_familial_caf": 600, "allocataires": [], "enfants": []},
                "date_reference": "2026-11-26",
                "dispositifs": ["aide-alimentaire"],
            },
            headers=AUTH,
        )

    assert pendant.status_code == 200, pendant.text
    [indisponible] = [
        d for d in pendant.json()["donnees_indisponibles"] if d["donnee"] == "quotient_familial"
    ]
    assert indisponible["code"] == "limiteur-indisponible"
    assert "aucun appel non compté" in indisponible["raison"]
    assert {r["statut"] for r in pendant.json()["resultats"]} <= {"a_verifier", "eligible", "non_eligible"}
    assert await upstream_calls(simulateur) == 1  # fail closed: no unmetered call
    assert ready.status_code == 200
    assert ready.json()["statut"] == "degrade"
    # Redis lost is `degrade`, never unreadiness: the journal still records decisions.
    assert ready.json()["verifications"]["limiteur"] == "degrade"
    assert ready.json()["verifications"]["cache"] == "degrade"
    assert ready.json()["dependances"]["limiteur"]["depuis"] is not None
    assert "aucun appel aux fournisseurs" in ready.json()["dependances"]["limiteur"]["detail"]
    assert simulation.status_code == 200
