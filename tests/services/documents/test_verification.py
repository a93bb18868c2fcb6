"""The verification code: a pure function of the journaled record, whatever the key order, and
changed by any change of content; the QR code is SVG markup of the URL."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from app.services.documents.verification import (
    CODE_PATTERN,
    code_court,
    code_valide,
    codes_egaux,
    empreinte_contenu,
    qr_svg,
)

RECORD: dict[str, Any] = {
    "id": "8da5a3dc-0723-44b7-8b4e-e59e952a188a",
    "resultats": [{"dispositif": "aide-energie", "statut": "eligible", "montant": 150, "tranche": "1"}],
    "reglement": {"id": "ccas-demoville", "version": "2026.1", "empreinte": "sha256:2dc6"},
}


def test_the_code_does_not_depend_on_key_order() -> None:
    inverse = dict(reversed(list(RECORD.items())))
    assert empreinte_contenu(inverse) == empreinte_contenu(RECORD)
    code = code_court(empreinte_contenu(RECORD))
    assert re.fullmatch(CODE_PATTERN, code)
    assert code_valide(code)


def test_a_changed_amount_changes_the_code() -> None:
    modifie = {**RECORD, "resultats": [{**RECORD["resultats"][0], "montant": 1500}]}
    assert code_court(empreinte_contenu(modifie)) != code_court(empreinte_contenu(RECORD))


@given(st.dictionaries(st.text(max_size=8), st.integers() | st.text(max_size=8), max_size=6))
def test_every_record_gives_a_well_formed_code(record: dict[str, Any]) -> None:
    code = code_court(empreinte_contenu(record))
    assert code_valide(code)
    assert codes_egaux(code, code)
    assert not codes_egaux(code, "AAAA-AAAA-AAAA") or code == "AAAA-AAAA-AAAA"


def test_the_qr_code_is_inline_svg() -> None:
    svg = qr_svg("http://127.0.0.1:8000/v1/decisions/x/verification?code=AAAA-BBBB-CCCC")
    assert svg.startswith("<svg")
    assert "<image" not in svg
    assert "127.0.0.1" not in svg  # the URL is encoded in the modules, not linked
    assert "verification" not in svg
    # Well-formed XML in the SVG namespace, as the PDF's renderer reads the page (rendu.py).
    assert ET.fromstring(svg).tag == "{http://www.w3.org/2000/svg}svg"  # noqa: S314 - our own markup
