"""The HTML pages carry the package's style sheet as written (app/services/documents/rendu.py)."""

from __future__ import annotations

import io
import logging
import re
import zlib
from typing import Any

import pydyf  # type: ignore[import-untyped]
import pytest
import tinycss2  # type: ignore[import-untyped]  # WeasyPrint's CSS parser, no type hints
from pypdf import PdfReader

from app.services.documents.rendu import (
    FEUILLE_DE_STYLE,
    FEUILLE_UA,
    GABARITS,
    NIVEAU_DEFLATE,
    Moteur,
    PageBienFormee,
    PageDuPaquet,
    document_weasyprint,
    feuille_ua,
)


def test_the_inline_style_sheet_is_not_escaped() -> None:
    # Autoescaped, the quotes of `font-family: "DejaVu Sans Doc", …` became `&#34;`, which a <style>
    # element does not decode: browsers dropped every quoted font and showed a serif font.
    page = Moteur().html("base.html", _contexte_minimal())
    [feuille] = re.findall(r"<style>(.*?)</style>", page, flags=re.S)
    assert feuille == FEUILLE_DE_STYLE.read_text(encoding="utf-8")
    assert '"DejaVu Sans Doc"' in feuille
    assert "&#34;" not in feuille


def test_the_pdf_page_leaves_the_style_sheet_out() -> None:
    assert "<style>" not in Moteur().html("base.html", _contexte_minimal(), pour_pdf=True)


def _contexte_minimal() -> dict[str, object]:
    return {"titre": "Règles publiées", "organisme": "CCAS de Démoville"}


def test_weasyprint_reads_every_rule_of_the_style_sheets(caplog: pytest.LogCaptureFixture) -> None:
    # An ignored declaration (an escaped quote, a misspelt property) is only a warning in WeasyPrint's
    # log: the PDF silently falls back to another font or layout.
    moteur = Moteur()
    with caplog.at_level(logging.WARNING, logger="weasyprint"):
        pdf = moteur.pdf(moteur.html("base.html", _contexte_minimal(), pour_pdf=True))
    assert pdf.startswith(b"%PDF")
    assert [r.getMessage() for r in caplog.records if r.name.startswith("weasyprint")] == []


def test_the_fonts_are_subset_by_harfbuzz_and_embedded(caplog: pytest.LogCaptureFixture) -> None:
    # Without Debian's libharfbuzz-subset0 (`make pango`, the Dockerfile), WeasyPrint subsets the
    # fonts with fontTools instead: pure Python, a tenth of a fiche's time, and a warning per PDF.
    page = (
        '<!DOCTYPE html><html lang="fr"><head><title>Décision</title></head>'
        "<body><p>Proposition : <strong>éligible</strong>, 35 €.</p></body></html>"
    )
    with caplog.at_level(logging.WARNING, logger="weasyprint"):
        pdf = Moteur().pdf(page)
    assert [r.getMessage() for r in caplog.records if r.name.startswith("weasyprint")] == []
    lecteur = PdfReader(io.BytesIO(pdf))
    assert "Proposition : éligible, 35 €." in (lecteur.pages[0].extract_text() or "")
    polices: Any = lecteur.pages[0]["/Resources"]["/Font"]  # type: ignore[index]
    descripteurs = [
        f.get_object()["/DescendantFonts"][0].get_object()["/FontDescriptor"] for f in polices.values()
    ]
    assert len(descripteurs) == 2  # regular and bold, both embedded
    assert all("/FontFile2" in d for d in descripteurs)


def test_a_page_that_is_not_well_formed_xml_is_still_rendered() -> None:
    # A void element left open (HTML5, not XML), as a new template might have it: expat refuses the
    # page, WeasyPrint's own HTML5 parser reads it.
    page = (
        '<!DOCTYPE html><html lang="fr"><head><title>Lettre</title></head>'
        "<body><p>Madame Axelle MARTIN<br>4 rue des Tilleuls</p></body></html>"
    )
    assert not isinstance(document_weasyprint(page), PageBienFormee)
    texte = PdfReader(io.BytesIO(Moteur().pdf(page))).pages[0].extract_text() or ""
    assert "Madame Axelle MARTIN\n4 rue des Tilleuls" in texte
    assert isinstance(document_weasyprint(page.replace("<br>", "<br />")), PageBienFormee)


def test_weasyprints_writer_deflates_at_the_documents_level() -> None:
    # pydyf asks zlib for level 9, 3 to 5 % of a fiche's PDF time; rendu.py sets NIVEAU_DEFLATE.
    operations = [f"{x} {x * 7 % 842} m {x * 3 % 595} {x} l S".encode() for x in range(2000)]
    brut = b"\n".join(operations)
    assert zlib.compress(brut, 9) != zlib.compress(brut, NIVEAU_DEFLATE)  # the levels differ here
    flux = pydyf.Stream(operations, compress=True).data
    assert zlib.compress(brut, NIVEAU_DEFLATE) in flux
    assert b"/FlateDecode" in flux


def test_weasyprint_styles_the_pages_with_the_packages_user_agent_sheet(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # `_ua_stylesheets` is the hook WeasyPrint's own tests override: a WeasyPrint that stopped
    # calling it would go back to its HTML5 sheet (≈ 15 % more instructions per fiche), silently.
    appels: list[str] = []

    def espion(self: PageDuPaquet, forms: bool = False) -> list[object]:
        appels.append(type(self).__name__)
        return [feuille_ua()]

    monkeypatch.setattr(PageDuPaquet, "_ua_stylesheets", espion)
    moteur = Moteur()
    moteur.pdf(moteur.html("base.html", _contexte_minimal(), pour_pdf=True))
    moteur.pdf("<!DOCTYPE html><html><head><title>t</title></head><body><p>a<br>b</p></body></html>")
    assert appels == ["PageBienFormee", "PageDuPaquet"]  # the XML page, then the HTML5 one


#: Laid out inline by default: a tag here needs no rule in the user-agent sheet.
EN_LIGNE = {"a", "abbr", "b", "br", "code", "em", "i", "img", "small", "span", "strong", "sub", "sup"}


def test_every_tag_the_templates_write_has_its_display_in_the_user_agent_sheet() -> None:
    # A block tag missing from ua.css would be laid out inline in the PDF (the browser's own sheet
    # still knows it: only the PDF would break). The SVG's children are drawn by WeasyPrint's SVG
    # renderer, never as boxes.
    affichees: set[str] = set()
    for regle in tinycss2.parse_stylesheet(FEUILLE_UA.read_text(encoding="utf-8"), skip_comments=True):
        if regle.type == "qualified-rule" and "display" in tinycss2.serialize(regle.content):
            affichees |= set(re.findall(r"[a-z][a-z0-9]*", tinycss2.serialize(regle.prelude)))
    ecrites: set[str] = set()
    for gabarit in GABARITS.glob("*.html"):
        ecrites |= set(re.findall(r"<([a-z][a-z0-9]*)", gabarit.read_text(encoding="utf-8")))
    assert {"table", "td", "h2", "li", "figure"} <= ecrites  # the scan reads the templates
    assert sorted(ecrites - EN_LIGNE - affichees) == []


def test_the_user_agent_sheet_gives_no_pseudo_element_to_every_element() -> None:
    # WeasyPrint's sheet sets ::marker, ::footnote-call… on every element: 2 500 computed styles
    # for a fiche's 390 elements. Every pseudo-element here is tied to its tag.
    regles = tinycss2.parse_stylesheet(FEUILLE_UA.read_text(encoding="utf-8"), skip_comments=True)
    selecteurs = [
        s.strip()
        for r in regles
        if r.type == "qualified-rule"
        for s in tinycss2.serialize(r.prelude).split(",")
    ]
    assert "li::marker" in selecteurs
    assert [s for s in selecteurs if re.match(r"^[:\[]", s)] == []
