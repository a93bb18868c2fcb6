"""What makes a printed document checkable: the content hash of the journaled decision, its short
code, and the QR code of the verification address.

The hash is SHA-256 over the decision record exactly as journaled, in canonical JSON (sorted keys,
no spaces, UTF-8): the same record gives the same code on every worker, a year later, whatever the
database. A paper whose code the journal does not confirm was not printed from that decision.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
from collections.abc import Mapping
from typing import Any

import segno

#: A short code: 12 characters of base32 (60 bits) in three groups, e.g. `K7QF-2MXA-9PZC`.
CODE_PATTERN = r"^[A-Z2-7]{4}-[A-Z2-7]{4}-[A-Z2-7]{4}$"
_CODE = re.compile(r"^[A-Z2-7]{4}-[A-Z2-7]{4}-[A-Z2-7]{4}\Z", re.ASCII)


def empreinte_contenu(contenu: Mapping[str, Any]) -> str:
    """`sha256:<hex>` of the journaled record in canonical JSON."""
    texte = json.dumps(contenu, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return "sha256:" + hashlib.sha256(texte.encode("utf-8")).hexdigest()


def code_court(empreinte: str) -> str:
    """The code printed on the document, from the content hash."""
    brut = bytes.fromhex(empreinte.removeprefix("sha256:"))
    lettres = base64.b32encode(brut).decode("ascii")[:12]
    return f"{lettres[:4]}-{lettres[4:8]}-{lettres[8:12]}"


def normaliser_code(code: str) -> str:
    """As typed by a person: spaces dropped, lower case accepted, groups joined by dashes."""
    compact = re.sub(r"[\s-]", "", code).upper()
    return f"{compact[:4]}-{compact[4:8]}-{compact[8:]}" if len(compact) == 12 else compact


def code_valide(code: str) -> bool:
    return bool(_CODE.match(code))


def codes_egaux(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode("ascii", "replace"), b.encode("ascii", "replace"))


#: What a QR code's data URI starts with: the only URI of a page that is not a file of the package.
PREFIXE_QR = "data:image/png;base64,"


def qr_png(url: str) -> str:
    """The QR code of `url` as a `data:` URI of a one-bit PNG, one pixel per module (45 × 45 here),
    error correction M; the style sheet sizes it and keeps its modules square (`image-rendering:
    pixelated`). WeasyPrint places this small image for less than the same code in SVG (a path of
    ≈ 600 segments, parsed and drawn in Python: 2 to 3 % of a fiche's PDF); `<img alt>` also gives
    the PDF's figure its alternative text, which the SVG lacked."""
    uri: str = segno.make(url, error="m", micro=False).png_data_uri(scale=1, border=2)
    return uri
