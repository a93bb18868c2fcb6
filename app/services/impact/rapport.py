"""The impact summary as a document for the board: HTML from an autoescaped Jinja2 template shipped
with the package, and PDF (WeasyPrint) from that HTML."""

from __future__ import annotations

from datetime import date
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape

_STATUTS = {"eligible": "éligible", "non_eligible": "non éligible", "a_verifier": "à vérifier"}

_ENVIRONNEMENT = Environment(
    loader=PackageLoader("app.services.impact", "modeles"),
    # Dossier references and proposal texts come from callers: always escaped.
    autoescape=select_autoescape(default=True, default_for_string=True),
    auto_reload=False,
)
_ENVIRONNEMENT.filters["jour"] = lambda iso: date.fromisoformat(str(iso)).strftime("%d/%m/%Y")
_ENVIRONNEMENT.filters["statut"] = lambda statut: _STATUTS.get(str(statut), str(statut))


def html(bilan: dict[str, Any], organisme: str) -> str:
    """The summary (`bilan_json`'s shape) as one self-contained HTML page."""
    return _ENVIRONNEMENT.get_template("bilan.html").render(bilan=bilan, organisme=organisme)


def pdf(bilan: dict[str, Any], organisme: str) -> bytes:
    """The same page as PDF."""
    from weasyprint import HTML  # noqa: PLC0415 - loads Pango: only when a PDF is asked for

    document: bytes = HTML(string=html(bilan, organisme)).write_pdf()
    return document
