"""The journal at rest: a decision's whole record encrypted with the journal's key ring (issue 13).

What a decision keeps in clear is what must survive the loss of every key: its existence, dates,
dossier reference, règlement identity (columns) and each aid's status (`resume_clair`). Everything
else — the facts used (birth dates of the household, QF, RFR, tax…), the conditions that quote
them, the explanations — is one Fernet token under a key named in the row (`cle_journal`).

The compact copy a replay reads (`decisions.rejeu`, app/services/journal/rejeu.py), decrypted at
every replay, is sealed with AES-256-GCM instead (`sceller_avec`: ≈ 2× cheaper to open than a
Fernet token, whose HMAC, CBC and base64 dominated reading a replay's rows), under a key derived by
HKDF from the same ring entry (so one `cle_journal` still names the key of both): the text
`a2.` + hex(nonce of 12 bytes ‖ ciphertext ‖ tag of 16 bytes), the prefix and the entry's id as
associated data (a copy moved to a row naming another key does not open, nor one relabelled to
another format). Hexadecimal rather than base64: a third longer (≈ 1.3 kB more per row of ≈ 45 kB)
but ≈ 4× cheaper to decode (CPython's base64 decoder was most of what opening a copy cost).
`a2.` seals the copy's format 2, `a1.` (written before: base64, its associated data the entry's id
only) its format 1; both are read, and so are the copies written before as Fernet tokens (they start
`gAAAAA`); `journal rechiffrer` seals them anew.

Keys: `JOURNAL_ENCRYPTION_KEYS="id1:fernet-key,id2:fernet-key"`, the first encrypts and all decrypt;
without it, one key derived from GATEWAY_SECRET_KEY (id `derivee-1`). Rotation: put the new key
first, run `python -m app journal rechiffrer` (every row goes under the new key), then drop the old.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from pydantic import SecretStr

from app.keys import derive_key

#: HKDF purpose of the journal key derived from GATEWAY_SECRET_KEY when no key ring is configured.
PURPOSE_JOURNAL = "journal-chiffrement"
CLE_DERIVEE = "derivee-1"
#: HKDF purpose of the AES-GCM key of a ring entry (followed by the entry's id), and the mark of
#: what it seals: no Fernet token starts so ('.' is no base64 character). `a2.` is written,
#: `a1.` (format 1 of the copy, sealed before) still read.
PURPOSE_SCELLE = "journal-rejeu-aes-gcm"
PREFIXE_SCELLE = "a2."
PREFIXE_SCELLE_1 = "a1."
_NONCE = 12
_ID_CLE = re.compile(r"^[A-Za-z0-9._-]{1,64}\Z")


class TrousseauInvalide(ValueError):
    """JOURNAL_ENCRYPTION_KEYS cannot be read (the message names the entry, never the key)."""


@dataclass(frozen=True, slots=True)
class Chiffre:
    cle: str
    jeton: str


class TrousseauJournal:
    """Named keys (each a Fernet key, text): the first encrypts, all decrypt."""

    def __init__(self, cles: Sequence[tuple[str, str]]) -> None:
        if not cles:
            raise TrousseauInvalide("le trousseau du journal ne contient aucune clé")
        self._cles = {identifiant: Fernet(cle.encode("ascii")) for identifiant, cle in cles}
        if len(self._cles) != len(cles):
            raise TrousseauInvalide("deux clés du journal portent le même identifiant")
        self._scelles = {
            identifiant: AESGCM(derive_key(base64.urlsafe_b64decode(cle), f"{PURPOSE_SCELLE}:{identifiant}"))
            for identifiant, cle in cles
        }
        #: The associated data of each entry's `a2.` seals, encoded once (opened ≈ once a decision).
        self._associees = {
            identifiant: (PREFIXE_SCELLE + identifiant).encode("ascii")
            for identifiant in self._cles
            if identifiant.isascii()
        }
        self.courante = cles[0][0]

    @classmethod
    def depuis_reglages(cls, cles: SecretStr | None, secret_passerelle: SecretStr) -> TrousseauJournal:
        """From JOURNAL_ENCRYPTION_KEYS (`id:key,…`), or one key derived from GATEWAY_SECRET_KEY."""
        if cles is None or not cles.get_secret_value().strip():
            derivee = derive_key(secret_passerelle.get_secret_value().encode("utf-8"), PURPOSE_JOURNAL)
            return cls([(CLE_DERIVEE, base64.urlsafe_b64encode(derivee).decode("ascii"))])
        trousseau: list[tuple[str, str]] = []
        for rang, entree in enumerate(cles.get_secret_value().split(","), start=1):
            identifiant, _, cle = entree.strip().partition(":")
            if not _ID_CLE.match(identifiant) or not cle:
                raise TrousseauInvalide(
                    f"JOURNAL_ENCRYPTION_KEYS, entrée {rang} : attendu « identifiant:clé-fernet »"
                )
            try:
                Fernet(cle.strip().encode("ascii"))
            except (ValueError, UnicodeEncodeError):
                raise TrousseauInvalide(
                    f"JOURNAL_ENCRYPTION_KEYS, clé « {identifiant} » : pas une clé Fernet valide"
                ) from None
            trousseau.append((identifiant, cle.strip()))
        return cls(trousseau)

    def chiffrer(self, texte: str) -> Chiffre:
        return Chiffre(
            self.courante, self._cles[self.courante].encrypt(texte.encode("utf-8")).decode("ascii")
        )

    def sceller_avec(self, cle: str, texte: str) -> str:
        """`texte` sealed with AES-GCM under the named entry (one the ring holds): the compact copy
        that goes with a record encrypted by `chiffrer` under that entry (`Chiffre.cle`), so that
        one `cle_journal` names the key of both."""
        nonce = os.urandom(_NONCE)
        associees = (PREFIXE_SCELLE + cle).encode("ascii")
        scelle = self._scelles[cle].encrypt(nonce, texte.encode("utf-8"), associees)
        return PREFIXE_SCELLE + (nonce + scelle).hex()

    def connait(self, cle: str) -> bool:
        """Whether the ring holds the entry `cle` (a text it cannot open then is not its own)."""
        return cle in self._cles

    def dechiffrer(self, cle: str, jeton: str) -> str | None:
        """The clear text of a Fernet token or of a sealed text (`sceller_avec`), or None when the
        key is gone (or the token is not one of its own)."""
        prefixe = jeton[:3]
        if prefixe in (PREFIXE_SCELLE, PREFIXE_SCELLE_1):
            try:
                if prefixe == PREFIXE_SCELLE:
                    return self.ouvrir_scelle(cle, binascii.a2b_hex(jeton[3:]))
                return self._ouvrir(
                    cle, binascii.a2b_base64(jeton[3:], strict_mode=True), cle.encode("ascii")
                )
            except ValueError:  # binascii.Error is a ValueError
                return None
        fernet = self._cles.get(cle)
        if fernet is None:
            return None
        try:
            return fernet.decrypt(jeton.encode("ascii")).decode("utf-8")
        except (InvalidToken, UnicodeEncodeError):
            return None

    def ouvrir_scelle(self, cle: str, donnees: bytes) -> str | None:
        """The clear text of an `a2.` seal given as its bytes (nonce ‖ ciphertext ‖ tag: the hex
        after the prefix, decoded — PostgreSQL decodes it for a replay's reading, see
        app/services/journal/relecture.py), or None when the key is gone or it does not open."""
        associees = self._associees.get(cle)
        if associees is None:
            return None
        return self._ouvrir(cle, donnees, associees)

    def _ouvrir(self, cle: str, donnees: bytes, associees: bytes) -> str | None:
        aead = self._scelles.get(cle)
        if aead is None:
            return None
        try:
            return aead.decrypt(donnees[:_NONCE], donnees[_NONCE:], associees).decode("utf-8")
        except (InvalidTag, ValueError):  # UnicodeDecodeError is a ValueError
            return None


def resume_clair(contenu: Mapping[str, Any]) -> dict[str, Any]:
    """What a decision keeps in clear: each aid's status (the journal's listing reads it)."""
    return {
        "resultats": [
            {"dispositif": r.get("dispositif"), "statut": r.get("statut")}
            for r in contenu.get("resultats", ())
            if isinstance(r, Mapping)
        ],
        "chiffre": True,
    }


def contenu_clair(texte: str) -> dict[str, Any]:
    contenu: dict[str, Any] = json.loads(texte)
    return contenu
