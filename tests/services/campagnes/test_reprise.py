"""Campaigns on the real Redis and PostgreSQL, decided by `eg worker` processes: a worker killed
(SIGKILL) mid-campaign loses nothing and nothing is decided twice (the journal is the truth)."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from redis.asyncio import Redis
from sqlalchemy import text

from app.db.engine import create_engine_from_url
from app.services.campagnes import id_decision
from tests.conftest import AUTH, DEMO_KEY, gateway_settings, open_gateway, upstream_calls
from tests.db.postgres import throwaway_database
from tests.routers.test_campagnes import CSV_HEADERS, fichier_csv, ligne_csv

pytestmark = pytest.mark.integration

REDIS = "redis://127.0.0.1:6379/15"
ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture
def base() -> Iterator[str]:
    with throwaway_database() as url:
        yield url


def _reglages(base: str, simulateur: str, flux: str) -> dict[str, Any]:
    return {
        "database_url": base,
        "redis_url": REDIS,
        "api_particulier_url": simulateur,
        "api_particulier_token": "jeton-de-test-campagne-" + flux[-8:],
        "campagne_flux_redis": flux,
        "campagne_reprise_seconds": 2.0,
        "campagne_bail_seconds": 5.0,
        "campagne_lot_lignes": 5,
        "campagne_concurrence": 4,
        # 60 lines at 10 calls/s: six seconds, time enough to kill a worker in the middle.
        "quota_api_particulier_par_jeton_par_seconde": 10,
    }


def _worker(reglages: dict[str, Any], tmp_path: Path, nom: str) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GATEWAY_", "API_", "REDIS", "DATABASE"))}
    env.update({k.upper(): str(v) for k, v in reglages.items()})
    env.update({"GATEWAY_MODE": "sandbox", "GATEWAY_DEMO_API_KEY": DEMO_KEY, "LOG_JSON": "true"})
    with (tmp_path / f"{nom}.log").open("wb") as journal:
        return subprocess.Popen(
            [sys.executable, "-m", "app", "worker", "--lots", "2"],
            cwd=ROOT,
            env=env,
            stdout=journal,
            stderr=subprocess.STDOUT,
        )


async def _etat(client: httpx.AsyncClient, campagne_id: str) -> dict[str, Any]:
    reponse = await client.get(f"/v1/campagnes/{campagne_id}", headers=AUTH)
    return dict(reponse.json())


async def _lancer_jusqu_au_tiers(client: httpx.AsyncClient, lignes: int) -> str:
    """Launch a campaign of `lignes` lines; return its id once a third of them is done (or after 45 s)."""
    reponse = await client.post(
        "/v1/campagnes?dispositifs=colis-fin-annee",
        content=fichier_csv([ligne_csv(n) for n in range(1, lignes + 1)]),
        headers=CSV_HEADERS,
    )
    assert reponse.status_code == 202, reponse.text
    campagne_id = str(reponse.json()["id"])
    for _ in range(900):
        if (await _etat(client, campagne_id))["faites"] >= lignes // 3:
            break
        await asyncio.sleep(0.05)
    return campagne_id


async def test_a_worker_killed_mid_campaign_loses_nothing_and_decides_nothing_twice(
    tmp_path: Path, base: str, simulateur: str
) -> None:
    flux = f"eg-test-campagnes:{uuid.uuid4().hex}"
    reglages = _reglages(base, simulateur, flux)
    lignes = 60
    async with open_gateway(gateway_settings(tmp_path, **reglages)) as client:
        workers = [_worker(reglages, tmp_path, "w1")]
        await asyncio.sleep(1.5)  # the first one installs the demo organisme; then the second
        workers.append(_worker(reglages, tmp_path, "w2"))
        try:
            campagne_id = await _lancer_jusqu_au_tiers(client, lignes)
            workers[0].send_signal(signal.SIGKILL)
            workers[0].wait()
            for _ in range(900):
                etat = await _etat(client, campagne_id)
                if etat["etat"] != "en_cours":
                    break
                await asyncio.sleep(0.1)
        finally:
            for worker in workers:
                if worker.poll() is None:
                    worker.terminate()
                    worker.wait(timeout=30)
        appels = await upstream_calls(simulateur)

    assert etat["etat"] == "terminee", (etat, (tmp_path / "w2.log").read_text()[-3000:])
    assert (etat["faites"], etat["en_echec"], etat["en_file"]) == (lignes, 0, 0)
    ids, restantes = await _journal(base)
    campagne = uuid.UUID(campagne_id)
    # One journaled decision per line, under its fixed id, none twice (the primary key says so).
    assert ids == {id_decision(campagne, n) for n in range(2, lignes + 2)}
    # The request of every line is deleted once it is done.
    assert restantes == 0
    # A line whose decision was journaled, or whose answer arrived, is never asked again upstream
    # (the answer is stored the moment it arrives): only a call in flight at the instant of the kill
    # may be made again, at most one per line the killed worker was deciding.
    assert lignes <= appels <= lignes + reglages["campagne_concurrence"], appels
    print(f"appels amont : {appels} pour {lignes} lignes")


async def _journal(base: str) -> tuple[set[uuid.UUID], int]:
    """(the journaled decisions' ids, the lines whose request is still stored)."""
    engine = create_engine_from_url(base)
    try:
        async with engine.connect() as connection:
            ids = set(
                (
                    await connection.execute(
                        text("SELECT id FROM decisions WHERE organisme_id = 'ccas-demoville'")
                    )
                )
                .scalars()
                .all()
            )
            restantes = (
                await connection.execute(
                    text("SELECT count(*) FROM campagne_lignes WHERE charge_chiffree IS NOT NULL")
                )
            ).scalar()
    finally:
        await engine.dispose()
    return ids, int(restantes or 0)


@pytest.mark.parametrize("redis_garde_ses_donnees", [True, False], ids=["redis-garde", "redis-vide"])
async def test_a_campaign_survives_a_full_restart_of_the_stack(
    tmp_path: Path, base: str, simulateur: str, redis_garde_ses_donnees: bool
) -> None:
    """Gateway and every worker stopped mid-campaign (the worker SIGKILLed), then started again:
    the campaign finishes, every line decided exactly once. Redis either keeps its data (the queue's
    stream and its unacknowledged lots) or comes back empty (restarted without persistence: the
    new worker finds the stream empty and queues again every line left in PostgreSQL)."""
    flux = f"eg-test-campagnes:{uuid.uuid4().hex}"
    reglages = _reglages(base, simulateur, flux)
    lignes = 60
    async with open_gateway(gateway_settings(tmp_path, **reglages)) as client:
        avant = _worker(reglages, tmp_path, "avant")
        try:
            campagne_id = await _lancer_jusqu_au_tiers(client, lignes)
        finally:
            avant.send_signal(signal.SIGKILL)
            avant.wait()
        faites_a_l_arret = (await _etat(client, campagne_id))["faites"]
    # The whole stack is down.
    assert 0 < faites_a_l_arret < lignes
    if not redis_garde_ses_donnees:
        async with Redis.from_url(REDIS) as redis:
            await redis.delete(flux, flux + ":relance")

    async with open_gateway(gateway_settings(tmp_path, **reglages)) as client:
        apres = _worker(reglages, tmp_path, "apres")
        try:
            for _ in range(900):
                etat = await _etat(client, campagne_id)
                if etat["etat"] != "en_cours":
                    break
                await asyncio.sleep(0.1)
        finally:
            apres.terminate()
            apres.wait(timeout=30)
        appels = await upstream_calls(simulateur)

    assert etat["etat"] == "terminee", (etat, (tmp_path / "apres.log").read_text()[-3000:])
    assert (etat["faites"], etat["en_echec"], etat["en_file"]) == (lignes, 0, 0)
    ids, restantes = await _journal(base)
    campagne = uuid.UUID(campagne_id)
    assert ids == {id_decision(campagne, n) for n in range(2, lignes + 2)}
    assert restantes == 0
    # As for one worker killed: only calls in flight at the kill may be made again.
    assert lignes <= appels <= lignes + reglages["campagne_concurrence"], appels
