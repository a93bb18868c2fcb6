"""Templates to HTML (Jinja2, autoescaped) and HTML to a tagged PDF (WeasyPrint, PDF/UA-1).

Built once per process: the Jinja2 environment, WeasyPrint's font configuration and the parsed
style sheet are reused by every render (parsing them each time cost more than the layout). The
only font is a Latin subset of DejaVu Sans shipped in `static/fonts/`: subsetting the whole Debian
font at each render was most of a PDF's time. Nothing is fetched from the network: the URL fetcher
serves the package's own files and refuses every other URL.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import jinja2
from markupsafe import Markup
from weasyprint import CSS, HTML
from weasyprint.text.fonts import FontConfiguration
from weasyprint.urls import URLFetcher, URLFetcherResponse

DOSSIER = Path(__file__).parent
GABARITS = DOSSIER / "templates"
STATIQUE = DOSSIER / "static"
FEUILLE_DE_STYLE = STATIQUE / "documents.css"
#: The `@font-face` rules, for WeasyPrint only: a browser uses its own DejaVu Sans or sans-serif.
POLICES = STATIQUE / "polices.css"


class RessourceRefusee(ValueError):
    """A document asked for a resource outside the package (never fetched)."""


class FetcherLocal(URLFetcher):  # type: ignore[misc]  # WeasyPrint ships no type hints
    """WeasyPrint's fetcher, limited to the files shipped with this package: any other URL (http,
    https, data, another file) is refused, so a document never reaches the network."""

    def __init__(self) -> None:
        super().__init__(allowed_protocols={"file"}, allow_redirects=False)

    def fetch(self, url: str, headers: dict[str, str] | None = None) -> URLFetcherResponse:
        if not url.startswith("file://"):
            raise RessourceRefusee(f"ressource refusée (hors du paquet) : {url[:80]}")
        chemin = Path(url.removeprefix("file://").split("?")[0]).resolve()
        if not chemin.is_relative_to(DOSSIER.resolve()):
            raise RessourceRefusee("ressource refusée (hors du paquet)")
        return super().fetch(url, headers)


url_fetcher_local = FetcherLocal()


def environnement() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(GABARITS),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        auto_reload=False,
    )
    return env


class Moteur:
    """Renders a template to HTML, and HTML to PDF. PDF renders are serialised: WeasyPrint's font
    machinery (Pango, fontconfig) is shared by the process and not meant for concurrent use."""

    def __init__(self) -> None:
        self._env = environnement()
        self._polices = FontConfiguration()
        # The style sheet as the browser sees it (an HTML page links it) and as WeasyPrint parses it.
        # Markup: the package's own sheet goes into <style> as written. Autoescaped, its quotes
        # became `&#34;`, which a raw-text element does not decode: every quoted font family was
        # void and browsers fell back to a serif font. It must not close its element.
        feuille = FEUILLE_DE_STYLE.read_text(encoding="utf-8")
        if "</" in feuille:
            raise ValueError(f"{FEUILLE_DE_STYLE.name} ne peut pas contenir « </ » (élément <style>)")
        self.css = Markup(feuille)  # noqa: S704 - the package's own file, checked above
        polices = POLICES.read_text(encoding="utf-8").replace(
            "url(fonts/", f"url({(STATIQUE / 'fonts').as_uri()}/"
        )
        self._css = CSS(
            string=polices + feuille,
            font_config=self._polices,
            url_fetcher=url_fetcher_local,
        )
        self._verrou = threading.Lock()

    def html(self, gabarit: str, contexte: dict[str, Any], *, pour_pdf: bool = False) -> str:
        """The page; for a browser its style sheet is inline (one answer, no asset route), for
        WeasyPrint it is left out (the parsed one is reused)."""
        return self._env.get_template(gabarit).render(css="" if pour_pdf else self.css, **contexte)

    def pdf(self, html: str) -> bytes:
        """The tagged PDF (PDF/UA-1: structure tree, language, title) of a page this package made."""
        with self._verrou:
            document = HTML(string=html, url_fetcher=url_fetcher_local, base_url=STATIQUE.as_uri() + "/")
            pdf = document.write_pdf(
                stylesheets=[self._css],
                font_config=self._polices,
                pdf_variant="pdf/ua-1",
                # Embedded once per document already: the fonts are subsets to begin with.
                uncompressed_pdf=False,
            )
        assert pdf is not None  # noqa: S101 - write_pdf without a target returns the bytes
        return bytes(pdf)
