"""Templates to HTML (Jinja2, autoescaped) and HTML to a tagged PDF (WeasyPrint, PDF/UA-1).

Built once per process: the Jinja2 environment, WeasyPrint's font configuration and the parsed
style sheet are reused by every render (parsing them each time cost more than the layout). The
only font is a Latin subset of DejaVu Sans shipped in `static/fonts/`: subsetting the whole Debian
font at each render was most of a PDF's time. Nothing is fetched from the network: the URL fetcher
serves the package's own files and refuses every other URL.
"""

from __future__ import annotations

import base64
import functools
import threading
import xml.etree.ElementTree as ET
import zlib
from pathlib import Path
from typing import Any

import cssselect2  # type: ignore[import-untyped]  # WeasyPrint's selector engine, no type hints
import jinja2
import pydyf  # type: ignore[import-untyped]  # WeasyPrint's PDF writer, no type hints
from markupsafe import Markup
from weasyprint import CSS, HTML
from weasyprint.text.fonts import FontConfiguration
from weasyprint.urls import URLFetcher, URLFetcherResponse

from app.services.documents.verification import PREFIXE_QR

DOSSIER = Path(__file__).parent
GABARITS = DOSSIER / "templates"
STATIQUE = DOSSIER / "static"
FEUILLE_DE_STYLE = STATIQUE / "documents.css"
#: The `@font-face` rules, for WeasyPrint only: a browser uses its own DejaVu Sans or sans-serif.
POLICES = STATIQUE / "polices.css"
#: The user-agent style sheet of the PDF, in place of WeasyPrint's: only what the templates use.
FEUILLE_UA = STATIQUE / "ua.css"


#: The deflate level of the PDF's streams. pydyf, WeasyPrint's PDF writer, asks zlib for level 9:
#: on a 5-aid fiche's streams (pages, fonts, structure) that took 14.2 ms of CPU for 49.8 kB,
#: level 6 4.8 ms for 51.2 kB, level 4 2.6 ms for 54.8 kB (best of 15) — 3 to 5 % of the PDF.
NIVEAU_DEFLATE = 4


class DeflateRapide:
    """The two functions pydyf calls from `zlib`, at NIVEAU_DEFLATE whatever level it asks for.
    Installed as `pydyf.zlib` when this module is imported (pydyf is only WeasyPrint's writer)."""

    @staticmethod
    def compress(data: bytes, level: int = -1) -> bytes:
        return zlib.compress(data, NIVEAU_DEFLATE)

    @staticmethod
    def compressobj(level: int = -1) -> Any:
        return zlib.compressobj(NIVEAU_DEFLATE)


pydyf.zlib = DeflateRapide


class RessourceRefusee(ValueError):
    """A document asked for a resource outside the package (never fetched)."""


class FetcherLocal(URLFetcher):  # type: ignore[misc]  # WeasyPrint ships no type hints
    """WeasyPrint's fetcher, limited to the files shipped with this package and to the QR code's
    PNG in a `data:` URI (verification.py): any other URL (http, https, another data URI, another
    file) is refused, so a document never reaches the network."""

    def __init__(self) -> None:
        super().__init__(allowed_protocols={"file"}, allow_redirects=False)

    def fetch(self, url: str, headers: dict[str, str] | None = None) -> URLFetcherResponse:
        if url.startswith(PREFIXE_QR):
            png = base64.b64decode(url.removeprefix(PREFIXE_QR), validate=True)
            return URLFetcherResponse(url, png, {"Content-Type": "image/png"})
        if not url.startswith("file://"):
            raise RessourceRefusee(f"ressource refusée (hors du paquet) : {url[:80]}")
        chemin = Path(url.removeprefix("file://").split("?")[0]).resolve()
        if not chemin.is_relative_to(DOSSIER.resolve()):
            raise RessourceRefusee("ressource refusée (hors du paquet)")
        return super().fetch(url, headers)


url_fetcher_local = FetcherLocal()


@functools.cache
def feuille_ua() -> CSS:
    """FEUILLE_UA parsed, once per process."""
    return CSS(string=FEUILLE_UA.read_text(encoding="utf-8"))


class PageDuPaquet(HTML):  # type: ignore[misc]  # WeasyPrint ships no type hints
    """A page of this package for WeasyPrint, styled by FEUILLE_UA instead of WeasyPrint's HTML5
    user-agent sheet, which also gives every element six pseudo-elements (footnote and note calls
    and markers, list marker) and tries 24 tagless selectors on it: on a fiche, 2 500 computed
    styles for 390 elements, ≈ 15 % of its PDF's instructions.

    `_ua_stylesheets` is the hook WeasyPrint's own tests override (`FakeHTML`); WeasyPrint is pinned
    (requirements.lock) and tests/services/documents/test_rendu.py checks the hook is still called."""

    def _ua_stylesheets(self, forms: bool = False) -> list[CSS]:
        return [feuille_ua()]


class PageBienFormee(PageDuPaquet):
    """A page of this package for WeasyPrint, parsed as XML by expat rather than by WeasyPrint's
    HTML5 parser (tinyhtml5, pure Python: 7 % of a fiche's PDF, for ~1 ms here).

    The templates are well-formed XML as well as HTML5 (void elements closed with `/>`, inline SVG
    with its namespace) and every value in them is escaped by Jinja2: expat gives the same tree, but
    for the whitespace around <head> and <body>, which no layout shows. Sets what `HTML.__init__`
    sets (WeasyPrint 70; the documents' tests render every template through here)."""

    def __init__(self, racine: ET.Element, *, base_url: str, url_fetcher: URLFetcher) -> None:
        self.base_url = base_url
        self.url_fetcher = url_fetcher
        self.media_type = "print"
        self.wrapper_element = cssselect2.ElementWrapper.from_html_root(racine, content_language=None)
        self.etree_element = self.wrapper_element.etree_element


def document_weasyprint(html: str) -> HTML:
    """The page for WeasyPrint: read by expat when it is well-formed XML (every page this package
    makes), else by WeasyPrint's HTML5 parser (a value with a control character, say)."""
    base_url = STATIQUE.as_uri() + "/"
    try:
        # A page of this package: no DTD, no entity declaration (Jinja2 escapes every "<" of a value).
        racine = ET.fromstring(html)  # noqa: S314
    except ET.ParseError:
        return PageDuPaquet(string=html, url_fetcher=url_fetcher_local, base_url=base_url)
    return PageBienFormee(racine, base_url=base_url, url_fetcher=url_fetcher_local)


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
            document = document_weasyprint(html)
            pdf = document.write_pdf(
                stylesheets=[self._css],
                font_config=self._polices,
                pdf_variant="pdf/ua-1",
                # Embedded once per document already: the fonts are subsets to begin with.
                uncompressed_pdf=False,
            )
        assert pdf is not None  # noqa: S101 - write_pdf without a target returns the bytes
        return bytes(pdf)
