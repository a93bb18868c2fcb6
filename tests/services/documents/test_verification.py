"""The verification code: a pure function of the journaled record, whatever the key order, and
changed by any change of content; the QR code is a small PNG of the URL."""

from __future__ import annotations

import base64
import re
import struct
from typing import Any

import pytest
import segno
from hypothesis import given
from hypothesis import strategies as st

from app.services.documents.rendu import RessourceRefusee, url_fetcher_local
from app.services.documents.verification import (
    CODE_PATTERN,
    PREFIXE_QR,
    code_court,
    code_valide,
    codes_egaux,
    empreinte_contenu,
    qr_png,
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


def test_the_qr_code_is_a_small_png_of_the_url() -> None:
    url = "http://127.0.0.1:8000/v1/decisions/x/verification?code=AAAA-BBBB-CCCC"
    uri = qr_png(url)
    assert uri.startswith(PREFIXE_QR)
    png = base64.b64decode(uri.removeprefix(PREFIXE_QR), validate=True)
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    assert b"127.0.0.1" not in png  # the URL is encoded in the modules, not linked
    # One pixel per module, and a border of 2 on each side (37 modules here, version 5).
    modules = len(segno.make(url, error="m", micro=False).matrix)
    assert struct.unpack(">II", png[16:24]) == (modules + 4, modules + 4) == (41, 41)


def test_the_fetcher_serves_the_qr_code_and_nothing_else_outside_the_package() -> None:
    uri = qr_png("http://127.0.0.1:8000/v1/decisions/x/verification?code=AAAA-BBBB-CCCC")
    assert url_fetcher_local.fetch(uri).read().startswith(b"\x89PNG")
    for url in (
        "data:image/svg+xml;base64,PHN2Zy8+",
        "data:text/html,<p>x</p>",
        "http://example.invalid/qr.png",
        "file:///etc/passwd",
    ):
        with pytest.raises(RessourceRefusee):
            url_fetcher_local.fetch(url)
