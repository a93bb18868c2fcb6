"""`/docs` and `/redoc` work on a closed network: their assets are the gateway's own (packaged with
`fastapi-offline`), checked in Debian's headless Chromium with every other host unreachable.

Playwright drives the system's Chromium (`/usr/bin/chromium`, installed by `make test` and
`.ci/run`): Playwright's own browser download cannot work here. The screenshot of Swagger UI is
written to `CAPTURES_DIR` (default: the test's temporary directory).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from asgi_lifespan import LifespanManager

from app.main import create_app
from app.openapi import ASSETS_DIR
from app.simulators.server import serve_simulator
from tests.conftest import gateway_settings

CHROMIUM = "/usr/bin/chromium"
LANCEMENT = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

pytestmark = pytest.mark.skipif(
    not Path(CHROMIUM).exists() and os.environ.get("CI") != "true",
    reason="Chromium absent (make test l'installe ; en CI, son absence est un échec)",
)


@pytest.fixture
async def passerelle(tmp_path: Path) -> AsyncIterator[str]:
    """The gateway on a real loopback port, for a real browser."""
    app = create_app(gateway_settings(tmp_path))
    async with LifespanManager(app, startup_timeout=30) as manager, serve_simulator(manager.app) as base_url:
        yield base_url


async def test_the_docs_pages_reference_only_local_assets(passerelle: str) -> None:
    import httpx  # noqa: PLC0415

    async with httpx.AsyncClient(base_url=passerelle) as http:
        docs_page = await http.get("/docs")
        redoc_page = await http.get("/redoc")
        docs, redoc = docs_page.text, redoc_page.text
        bundle = await http.get("/docs-assets/swagger-ui-bundle.js")

    assert "/docs-assets/swagger-ui-bundle.js" in docs
    assert "/docs-assets/redoc.standalone.js" in redoc
    for page in (docs, redoc):
        assert "cdn." not in page
        assert "fonts.googleapis" not in page
    for reponse in (docs_page, redoc_page):
        assert "default-src 'self'" in reponse.headers["content-security-policy"]
    assert bundle.status_code == 200
    assert len(bundle.content) == (ASSETS_DIR / "swagger-ui-bundle.js").stat().st_size


async def test_swagger_ui_and_redoc_render_the_operations_offline(passerelle: str, tmp_path: Path) -> None:
    from playwright.async_api import Route, async_playwright  # noqa: PLC0415

    bloquees: list[str] = []

    async def hors_ligne(route: Route) -> None:
        # A closed network: only the gateway answers.
        if route.request.url.startswith(passerelle):
            await route.continue_()
        else:
            bloquees.append(route.request.url)
            await route.abort()

    captures = Path(os.environ.get("CAPTURES_DIR", tmp_path))
    captures.mkdir(parents=True, exist_ok=True)  # noqa: ASYNC240 - before the browser starts
    async with async_playwright() as p:
        navigateur = await p.chromium.launch(executable_path=CHROMIUM, args=LANCEMENT)
        try:
            page = await navigateur.new_page(viewport={"width": 1280, "height": 1600})
            await page.route("**/*", hors_ligne)
            await page.goto(f"{passerelle}/docs")
            await page.wait_for_selector(".opblock-summary", timeout=30_000)
            operations = await page.locator(".opblock-summary-path").all_inner_texts()
            await page.screenshot(path=str(captures / "docs-hors-ligne.png"), full_page=True)

            await page.goto(f"{passerelle}/redoc")
            # ReDoc names each operation's section after its operationId.
            await page.wait_for_selector(
                '[data-section-id="operation/evaluer_eligibilite"]', state="attached", timeout=30_000
            )
            sections = await page.locator('[data-section-id^="operation/"]').count()
            await page.screenshot(path=str(captures / "redoc-hors-ligne.png"))
        finally:
            await navigateur.close()

    assert {"/v1/eligibilite", "/v1/decisions/{decision_id}", "/v1/journal"} <= {
        o.strip() for o in operations
    }
    assert sections >= 8
    assert (captures / "docs-hors-ligne.png").stat().st_size > 20_000
    assert [u for u in bloquees if not u.startswith("data:")] == []


def test_chromium_is_the_debian_one() -> None:
    assert shutil.which("chromium") == CHROMIUM
