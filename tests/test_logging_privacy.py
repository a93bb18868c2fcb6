"""Privacy of the logs: a whole gateway run under real uvicorn (every endpoint, errors included, at
DEBUG level, uvicorn's access log asked for, a catch-all root handler installed) leaves no name, birth
date, address or numéro fiscal of the sandbox identities in any line written, nor in /metrics.

A control run re-enables httpx's own logger and must find the identities: the capture sees what leaks.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sys
import urllib.parse
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from app.main import create_app
from app.simulators.api_particulier.fixtures import FIXTURES_DIR
from app.simulators.server import _EmbeddedServer
from tests.conftest import AUTH, gateway_settings
from tests.routers.test_eligibilite import LEFEBVRE, MARTIN_AXELLE
from tests.routers.test_eligibilite_fiscale import DUPONT_SOPHIE, NUMERO_FISCAL

IDENTITES = [MARTIN_AXELLE, LEFEBVRE, DUPONT_SOPHIE]
ADRESSE_FISCALE = ("15 COURS JULIEN", "13006 MARSEILLE")  # the DGFiP simulator's foyer of DUPONT SOPHIE


def _identites_du_bac_a_sable() -> set[str]:
    """Every personal string the run can meet: the identities sent and what the sandbox answers for
    them (allocataires, children, postal address), plus the numéro fiscal and the tax address."""
    noms = {i["nom_naissance"] for i in IDENTITES}
    sensibles: set[str] = {NUMERO_FISCAL, *ADRESSE_FISCALE}
    for identite in IDENTITES:
        sensibles |= {identite["nom_naissance"], identite["date_naissance"], *identite["prenoms"]}
    fixture = json.loads(
        (FIXTURES_DIR / "api_particulier_v3_cnav_quotient_familial_with_civility.json").read_text()
    )
    for cas in fixture["cas"]:
        if cas["params"].get("nomNaissance") not in noms or cas["status"] != 200:
            continue
        data = cas["payload"]["data"]
        for personne in [*data.get("allocataires", []), *data.get("enfants", [])]:
            sensibles |= {personne["nom_naissance"], personne["prenoms"], personne["date_naissance"]}
        adresse = data.get("adresse") or {}
        sensibles |= {
            adresse[k] for k in ("destinataire", "numero_libelle_voie", "code_postal_ville") if adresse.get(k)
        }
    return {s for s in sensibles if s and len(s) >= 4}


def _fuites(texte: str, sensibles: set[str]) -> list[str]:
    haystack = texte.casefold()
    trouvees = []
    for valeur in sorted(sensibles):
        formes = {valeur, urllib.parse.quote(valeur), urllib.parse.quote_plus(valeur)}
        if "-" in valeur and valeur[:4].isdigit():  # a date, also as the query parameters would carry it
            annee, mois, *jour = valeur.split("-")
            formes |= {f"{jour[0]}/{mois}/{annee}" if jour else f"{mois}/{annee}"}
        if any(forme.casefold() in haystack for forme in formes):
            trouvees.append(valeur)
    return trouvees


@pytest.fixture
def root_handler(capfd: pytest.CaptureFixture[str]) -> Iterator[None]:
    """A catch-all handler, as an operator's logging configuration might install: whatever a library
    logger lets through reaches the captured stderr. Made after `capfd` (hence the argument), so that
    `sys.stderr` is the stream `capfd` reads and not pytest's own."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
    root = logging.getLogger()
    previous = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        yield
    finally:
        root.removeHandler(handler)
        root.setLevel(previous)


@asynccontextmanager
async def serve_gateway(tmp_path: Path, simulateur: str) -> AsyncIterator[str]:
    settings = gateway_settings(
        tmp_path, api_particulier_url=simulateur, api_particulier_token="jeton-de-test", log_level="DEBUG"
    )
    # uvicorn with its own logging set-up and access log on: the gateway must silence what leaks.
    config = uvicorn.Config(
        create_app(settings), host="127.0.0.1", port=0, lifespan="on", access_log=True, log_level="debug"
    )
    server = _EmbeddedServer(config)
    task = asyncio.create_task(server.serve())
    try:
        while not server.started:
            assert not task.done(), "la passerelle n'a pas démarré"
            await asyncio.sleep(0.01)
        port = server.servers[0].sockets[0].getsockname()[1]
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


async def _parcours_complet(base_url: str, simulateur: str) -> str:
    """Every endpoint, successes and errors; returns /metrics, which is scanned too."""
    async with httpx.AsyncClient(base_url=base_url, headers=AUTH, timeout=30) as http:
        ids = []
        for identite in IDENTITES:
            response = await http.post(
                "/v1/eligibilite",
                json={
                    "demandeur": identite,
                    "dossier_ref": "D-LOG-1",
                    "declaratif": {"commune_residence": "08480"},
                },
                headers={"X-Agent-Id": "agent-7"},
            )
            assert response.status_code == 200, response.text
            ids.append(response.json()["id"])
        fiscal = await http.post(
            "/v1/eligibilite",
            json={"demandeur": {**DUPONT_SOPHIE, "numero_fiscal": NUMERO_FISCAL}, "dossier_ref": "D-LOG-2"},
        )
        assert fiscal.status_code == 200, fiscal.text
        assert (await http.post("/v1/donnees", json={"demandeur": MARTIN_AXELLE})).status_code == 200
        assert (await http.get(f"/v1/decisions/{ids[0]}")).status_code == 200
        assert (await http.get(f"/v1/decisions/{uuid.uuid4()}")).status_code == 404
        assert (await http.get("/v1/journal", params={"dossier_ref": "D-LOG-1"})).status_code == 200
        assert (await http.get("/v1/journal", params={"format": "csv"})).status_code == 200
        assert (await http.get("/v1/reglement")).status_code == 200
        assert (await http.post("/v1/simulations", json={"faits": {}})).status_code in (200, 422)
        bad_date = {**MARTIN_AXELLE, "date_naissance": "1989-13-03"}
        assert (await http.post("/v1/eligibilite", json={"demandeur": bad_date})).status_code == 422
        bad_nf = {**DUPONT_SOPHIE, "numero_fiscal": NUMERO_FISCAL[:-1] + "0"}
        assert (await http.post("/v1/eligibilite", json={"demandeur": bad_nf})).status_code == 422
        bad_key = await http.post(
            "/v1/eligibilite", json={"demandeur": LEFEBVRE}, headers={"Authorization": "Bearer inconnue"}
        )
        assert bad_key.status_code == 401
        async with httpx.AsyncClient(base_url=simulateur) as control:
            await control.put("/__simulateur/pannes", json={"mode": "erreur_serveur", "status": 502})
            outage = await http.post(
                "/v1/eligibilite", json={"demandeur": LEFEBVRE, "dossier_ref": "D-LOG-3"}
            )
            assert outage.status_code == 200
            await control.delete("/__simulateur/pannes")
        await http.get("/healthz")
        await http.get("/readyz")
        return (await http.get("/metrics")).text


async def _run(
    tmp_path: Path,
    simulateur: str,
    capfd: pytest.CaptureFixture[str],
    after_start: Callable[[], Any] | None = None,
) -> str:
    async with serve_gateway(tmp_path, simulateur) as base_url:
        if after_start is not None:
            after_start()
        metrics = await _parcours_complet(base_url, simulateur)
    out, err = capfd.readouterr()
    return "\n".join((out, err, metrics))


@pytest.mark.usefixtures("root_handler")
async def test_a_full_run_logs_no_identity(
    tmp_path: Path, simulateur: str, capfd: pytest.CaptureFixture[str]
) -> None:
    captured = await _run(tmp_path, simulateur, capfd)
    sensibles = _identites_du_bac_a_sable()

    assert len(sensibles) >= 15
    assert "http.request" in captured  # the run did log, at DEBUG level, through the capture
    assert "upstream.call" in captured
    assert _fuites(captured, sensibles) == []


@pytest.mark.usefixtures("root_handler")
async def test_control_the_scan_finds_identities_when_httpx_is_allowed_to_log(
    tmp_path: Path, simulateur: str, capfd: pytest.CaptureFixture[str]
) -> None:
    # Undo the silencing of httpx once the gateway has configured logging: its INFO lines carry the
    # upstream URLs, identity in the query string. The scan must see them.
    captured = await _run(
        tmp_path, simulateur, capfd, lambda: logging.getLogger("httpx").setLevel(logging.INFO)
    )
    fuites = _fuites(captured, _identites_du_bac_a_sable())

    assert "MARTIN" in fuites
    assert "1989-12-03" in fuites or "AXELLE" in fuites
