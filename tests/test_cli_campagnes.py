"""`eg campagne …` against a gateway served on loopback, and `eg worker` without Redis."""

from __future__ import annotations

import asyncio
import csv
from pathlib import Path

import pytest
from asgi_lifespan import LifespanManager

from app import cli
from app.config import get_settings
from app.main import create_app
from app.simulators.server import serve_simulator
from tests.conftest import DEMO_KEY, gateway_settings
from tests.routers.test_campagnes import fichier_csv, ligne_csv


async def test_a_campaign_launched_followed_and_exported_from_the_command_line(
    tmp_path: Path, simulateur: str, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = gateway_settings(
        tmp_path, api_particulier_url=simulateur, api_particulier_token="jeton-de-test"
    )
    fichier = tmp_path / "demandeurs.csv"
    fichier.write_bytes(fichier_csv([ligne_csv(1, nom="MARTIN"), ligne_csv(2), ligne_csv(3, sexe="X")]))
    sortie = tmp_path / "resultats.csv"

    async with (
        LifespanManager(create_app(settings), startup_timeout=30) as gateway,
        serve_simulator(gateway.app) as url,
    ):
        options = ["campagne", "--url", url, "--cle", DEMO_KEY]
        lancee = await asyncio.to_thread(
            cli.main, [*options, "lancer", str(fichier), "--dispositifs", "colis-fin-annee", "--attendre"]
        )
        exportee = await asyncio.to_thread(cli.main, [*options, "resultats", "derniere", "-o", str(sortie)])

    texte = capsys.readouterr().out
    assert (lancee, exportee) == (0, 0)
    assert "2 demandeur(s) en file, 1 ligne(s) refusée(s)" in texte
    assert "ligne 4 : demandeur.sexe" in texte
    assert ": terminee, 2 décidé(s)" in texte
    lignes = list(csv.DictReader(sortie.read_text(encoding="utf-8").splitlines()))
    assert [(r["ligne"], r["dispositif"]) for r in lignes] == [
        ("2", "colis-fin-annee"),
        ("3", "colis-fin-annee"),
    ]


def test_a_worker_needs_redis(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.delenv("REDIS_URL", raising=False)
    get_settings.cache_clear()
    try:
        assert cli.main(["worker"]) == 2
    finally:
        get_settings.cache_clear()
    assert "REDIS_URL" in capsys.readouterr().err
