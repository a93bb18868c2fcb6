"""The journal at rest: a decision's whole record encrypted with the journal's key ring (issue 13).

What a decision keeps in clear is what must survive the loss of every key: its existence, dates,
dossier reference, règlement identity (columns) and each aid's status (`resume_clair`). Everything
else — the facts used (birth dates of the household, QF, RFR, tax…), the conditions that quote
them, the explanations — is one Fernet token under a key named in the row (`cle_journal`).

Keys: `JOURNAL_ENCRYPTION_KEYS="id1:fernet-key,id2:fernet-key"`, the first encrypts and all decrypt;
without it, one key derived from GATEWAY_SECRET_KEY (id `derivee-1`). Rotation: put the new key
first, run `python -m app journal rechiffrer` (every row goes under the new key), then drop the old.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from cryptography.fernet import Fernet, InvalidToken
from pydantic import SecretStr

from app.keys import derive_key

#: HKDF purpose of the journal key derived from GATEWAY_SECRET_KEY when no key ring is configured.
PURPOSE_JOURNAL = "journal-chiffrement"
CLE_DERIVEE = "derivee-1"
_ID_CLE = re.compile(r"^[A-Za-z0-9._-]{1,64}\Z")


class TrousseauInvalide(ValueError):
    """JOURNAL_ENCRYPTION_KEYS cannot be read (the message names the entry, never the key)."""


@dataclass(frozen=True, slots=True)
class Chiffre:
    cle: str
    jeton: str


class TrousseauJournal:
    """Named Fernet keys: the first encrypts, all decrypt."""

    def __init__(self, cles: Sequence[tuple[str, Fernet]]) -> None:
        if not cles:
            raise TrousseauInvalide("le trousseau du journal ne contient aucune clé")
        self._cles = dict(cles)
        if len(self._cles) != len(cles):
            raise TrousseauInvalide("deux clés du journal portent le même identifiant")
        self.courante = cles[0][0]

    @classmethod
    def depuis_reglages(cls, cles: SecretStr | None, secret_passerelle: SecretStr) -> TrousseauJournal:
        """From JOURNAL_ENCRYPTION_KEYS (`id:key,…`), or one key derived from GATEWAY_SECRET_KEY."""
        if cles is None or not cles.get_secret_value().strip():
            derivee = derive_key(secret_passerelle.get_secret_value().encode("utf-8"), PURPOSE_JOURNAL)
            return cls([(CLE_DERIVEE, Fernet(base64.urlsafe_b64encode(derivee)))])
        trousseau: list[tuple[str, Fernet]] = []
        for rang, entree in enumerate(cles.get_secret_value().split(","), start=1):
            identifiant, _, cle = entree.strip().partition(":")
            if not _ID_CLE.match(identifiant) or not cle:
                raise TrousseauInvalide(
                    f"JOURNAL_ENCRYPTION_KEYS, entrée {rang} : attendu « identifiant:clé-fernet »"
                )
            try:
                trousseau.append((identifiant, Fernet(cle.strip().encode("ascii"))))
            except (ValueError, UnicodeEncodeError):
                raise TrousseauInvalide(
                    f"JOURNAL_ENCRYPTION_KEYS, clé « {identifiant} » : pas une clé Fernet valide"
                ) from None
        return cls(trousseau)

    def chiffrer(self, texte: str) -> Chiffre:
        return Chiffre(
            self.courante, self._cles[self.courante].encrypt(texte.encode("utf-8")).decode("ascii")
        )

    def chiffrer_avec(self, cle: str, texte: str) -> str:
        """`texte` under the named key (one the ring holds): what goes with a record encrypted by
        `chiffrer` under that key (`Chiffre.cle`), so that one `cle_journal` names the key of both."""
        return self._cles[cle].encrypt(texte.encode("utf-8")).decode("ascii")

    def dechiffrer(self, cle: str, jeton: str) -> str | None:
        """The clear text, or None when the key is gone (or the token is not one of its own)."""
        fernet = self._cles.get(cle)
        if fernet is None:
            return None
        try:
            return fernet.decrypt(jeton.encode("ascii")).decode("utf-8")
        except InvalidToken:
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
