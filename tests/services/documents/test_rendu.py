"""The HTML pages carry the package's style sheet as written (app/services/documents/rendu.py)."""

from __future__ import annotations

import logging
import re

import pytest

from app.services.documents.rendu import FEUILLE_DE_STYLE, Moteur


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
