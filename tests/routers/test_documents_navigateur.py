"""The documents as people see them: the fiche and the published rules opened in Debian's headless
Chromium (Playwright for Python, `executable_path`) with every network request refused, and the
PDF pages rendered to PNG by poppler's `pdftoppm`. Screenshots and pages go to `CAPTURES_DIR`
(default: the test's temporary directory) for a person to look at."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from asgi_lifespan import LifespanManager

from app.main import create_app
from app.simulators.server import serve_simulator
from tests.conftest import AUTH, gateway_settings
from tests.routers.test_eligibilite import MARTIN_AXELLE, demande
from tests.test_docs_hors_ligne import CHROMIUM, LANCEMENT

pytestmark = pytest.mark.skipif(
    not Path(CHROMIUM).exists() and os.environ.get("CI") != "true",
    reason="Chromium absent (make test l'installe ; en CI, son absence est un échec)",
)


@pytest.fixture
async def passerelle(tmp_path: Path, simulateur: str) -> AsyncIterator[str]:
    settings = gateway_settings(tmp_path, api_particulier_url=simulateur, api_particulier_token="jeton")
    app = create_app(settings)
    async with LifespanManager(app, startup_timeout=30) as manager, serve_simulator(manager.app) as base_url:
        yield base_url


def _captures(tmp_path: Path) -> Path:
    captures = Path(os.environ.get("CAPTURES_DIR", tmp_path))
    captures.mkdir(parents=True, exist_ok=True)
    return captures


async def test_the_fiche_and_the_publication_render_offline_in_chromium(
    passerelle: str, tmp_path: Path
) -> None:
    from playwright.async_api import Route, async_playwright  # noqa: PLC0415

    async with httpx.AsyncClient(base_url=passerelle, headers=AUTH, timeout=60) as http:
        decision = await http.post(
            "/v1/eligibilite", json=demande(MARTIN_AXELLE, declaratif={"commune_residence": "08480"})
        )
        fiche = await http.post(f"/v1/decisions/{decision.json()['id']}/fiche?format=html")
    assert fiche.status_code == 200

    demandees: list[str] = []

    async def hors_ligne(route: Route) -> None:
        demandees.append(route.request.url)
        if route.request.url.startswith(f"{passerelle}/v1/reglement/publication"):
            await route.continue_()
        else:
            await route.abort()

    captures = _captures(tmp_path)
    async with async_playwright() as p:
        navigateur = await p.chromium.launch(executable_path=CHROMIUM, args=LANCEMENT)
        try:
            contexte = await navigateur.new_context(
                viewport={"width": 900, "height": 1200}, extra_http_headers={**AUTH, "Accept": "text/html"}
            )
            page = await contexte.new_page()
            await page.route("**/*", hors_ligne)
            await page.set_content(fiche.text)
            titre_fiche = await page.locator("h1").inner_text()
            lignes = await page.locator("table tbody tr").count()
            await page.screenshot(path=str(captures / "fiche.png"), full_page=True)

            await page.goto(f"{passerelle}/v1/reglement/publication")
            await page.wait_for_selector("svg.escalier")
            graphiques = await page.locator("svg.escalier").count()
            langue = await page.locator("html").get_attribute("lang")
            await page.screenshot(path=str(captures / "publication.png"), full_page=True)
        finally:
            await navigateur.close()

    assert titre_fiche == "Fiche de décision"
    assert lignes > 10
    assert graphiques == 2
    assert langue == "fr"
    # Nothing but the page itself was requested: no font, script or image from anywhere.
    assert [u for u in demandees if not u.startswith(f"{passerelle}/v1/reglement/publication")] == []
    assert (captures / "fiche.png").stat().st_size > 20_000
    assert (captures / "publication.png").stat().st_size > 20_000


async def test_the_pdf_pages_render_to_png_with_pdftoppm(passerelle: str, tmp_path: Path) -> None:
    pdftoppm = shutil.which("pdftoppm")
    assert pdftoppm is not None, "poppler-utils absent : make test l'installe (cible poppler)"
    async with httpx.AsyncClient(base_url=passerelle, headers=AUTH, timeout=60) as http:
        decision = await http.post("/v1/eligibilite", json=demande(MARTIN_AXELLE))
        ident = decision.json()["id"]
        documents = {
            "fiche": await http.post(f"/v1/decisions/{ident}/fiche?format=pdf"),
            "lettre": await http.post(
                f"/v1/decisions/{ident}/lettre?format=pdf",
                json={
                    "demandeur": {
                        "nom": "Madame Axelle MARTIN",
                        "adresse": ["4 rue des Tilleuls", "08480 DÉMOVILLE"],
                    }
                },
            ),
            "publication": await http.get("/v1/reglement/publication?format=pdf"),
        }
    captures = _captures(tmp_path)
    for nom, reponse in documents.items():
        assert reponse.status_code == 200, reponse.text
        pdf = tmp_path / f"{nom}.pdf"
        pdf.write_bytes(reponse.content)
        commande = [pdftoppm, "-png", "-r", "60", str(pdf), str(captures / nom)]
        await asyncio.to_thread(subprocess.run, commande, check=True)
        pages = sorted(captures.glob(f"{nom}-*.png"))
        assert pages, nom
        assert all(p.stat().st_size > 5_000 for p in pages), nom
