"""The journal's key ring: Fernet for the whole record, AES-GCM for the compact copy a replay reads,
both under one named entry, and the copies written before (sealed `a1.`, or Fernet tokens) still
read."""

from __future__ import annotations

import base64
import os

import pytest
from cryptography.fernet import Fernet
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from hypothesis import given
from hypothesis import strategies as st
from pydantic import SecretStr

from app.keys import derive_key
from app.services.journal.chiffrement import (
    PREFIXE_SCELLE,
    PREFIXE_SCELLE_1,
    PURPOSE_SCELLE,
    TrousseauInvalide,
    TrousseauJournal,
)

K1, K2 = Fernet.generate_key().decode(), Fernet.generate_key().decode()
TROUSSEAU = TrousseauJournal([("k1", K1), ("k2", K2)])


@given(st.text())
def test_a_sealed_copy_opens_under_its_entry_only(texte: str) -> None:
    scelle = TROUSSEAU.sceller_avec("k1", texte)
    assert scelle.startswith(PREFIXE_SCELLE)
    assert TROUSSEAU.dechiffrer("k1", scelle) == texte
    # Moved to a row naming the other entry (associated data), or that entry alone: unreadable.
    assert TROUSSEAU.dechiffrer("k2", scelle) is None
    assert TrousseauJournal([("k2", K2)]).dechiffrer("k1", scelle) is None


def test_a_sealed_copy_is_fresh_each_time_and_tampering_is_caught() -> None:
    premier, second = TROUSSEAU.sceller_avec("k1", "{}"), TROUSSEAU.sceller_avec("k1", "{}")
    assert premier != second  # a nonce per copy
    donnees = bytearray(bytes.fromhex(premier[len(PREFIXE_SCELLE) :]))
    donnees[-1] ^= 1
    assert TROUSSEAU.dechiffrer("k1", PREFIXE_SCELLE + donnees.hex()) is None
    assert TROUSSEAU.dechiffrer("k1", PREFIXE_SCELLE + "pas de l'hexadécimal !") is None
    assert TROUSSEAU.dechiffrer("k1", PREFIXE_SCELLE + " " + premier[len(PREFIXE_SCELLE) :]) is None
    assert TROUSSEAU.dechiffrer("k1", PREFIXE_SCELLE) is None
    # Relabelled as a copy of the older format (`a1.`, base64): the prefix is associated data.
    assert TROUSSEAU.dechiffrer("k1", PREFIXE_SCELLE_1 + base64.b64encode(donnees).decode()) is None


def test_a_seal_given_as_its_bytes_opens_as_its_text_does() -> None:
    """`ouvrir_scelle`: the bytes after `a2.` (as a reader that decodes the hex itself gives them)."""
    scelle = TROUSSEAU.sceller_avec("k2", "[1, 2]")
    donnees = bytes.fromhex(scelle[len(PREFIXE_SCELLE) :])
    assert TROUSSEAU.ouvrir_scelle("k2", donnees) == TROUSSEAU.dechiffrer("k2", scelle) == "[1, 2]"
    assert TROUSSEAU.ouvrir_scelle("k1", donnees) is None
    assert TROUSSEAU.ouvrir_scelle("inconnue", donnees) is None
    assert TROUSSEAU.ouvrir_scelle("k2", donnees[:-1] + bytes([donnees[-1] ^ 1])) is None
    assert TROUSSEAU.ouvrir_scelle("k2", donnees[:5]) is None  # shorter than a nonce


def _scelle_format_1(cle: str, cle_fernet: str, texte: bytes) -> str:
    """A copy sealed as the journal sealed them before format 2, written here on its own: `a1.` +
    base64(nonce ‖ ciphertext ‖ tag), the entry's id as associated data."""
    aead = AESGCM(derive_key(base64.urlsafe_b64decode(cle_fernet), f"{PURPOSE_SCELLE}:{cle}"))
    nonce = os.urandom(12)
    return PREFIXE_SCELLE_1 + base64.b64encode(nonce + aead.encrypt(nonce, texte, cle.encode())).decode()


def test_copies_sealed_in_the_older_format_are_still_read() -> None:
    ancien = _scelle_format_1("k1", K1, b'{"format": 1}')
    assert TROUSSEAU.dechiffrer("k1", ancien) == '{"format": 1}'
    assert TROUSSEAU.dechiffrer("k2", ancien) is None
    # Relabelled as the current format: does not open.
    donnees = base64.b64decode(ancien[len(PREFIXE_SCELLE_1) :])
    assert TROUSSEAU.dechiffrer("k1", PREFIXE_SCELLE + donnees.hex()) is None
    assert TROUSSEAU.connait("k1")
    assert not TROUSSEAU.connait("k3")


def test_copies_written_as_fernet_tokens_are_still_read() -> None:
    """Before the AES-GCM seal, the compact copy was a Fernet token under the same entry."""
    ancien = Fernet(K2.encode()).encrypt(b"[1, 2]").decode()
    assert TROUSSEAU.dechiffrer("k2", ancien) == "[1, 2]"
    assert TROUSSEAU.dechiffrer("k1", ancien) is None
    assert TROUSSEAU.dechiffrer("k1", TROUSSEAU.chiffrer("tout").jeton) == "tout"


def test_the_seal_key_is_derived_per_entry_from_the_configured_ring() -> None:
    depuis = TrousseauJournal.depuis_reglages(SecretStr(f"k1:{K1},k2:{K2}"), SecretStr("s" * 40))
    assert depuis.courante == "k1"
    assert depuis.dechiffrer("k2", TROUSSEAU.sceller_avec("k2", "x")) == "x"
    # The same key under another id seals differently: the id is part of the derivation.
    assert TrousseauJournal([("k3", K1)]).dechiffrer("k3", TROUSSEAU.sceller_avec("k1", "x")) is None
    with pytest.raises(TrousseauInvalide, match="pas une clé Fernet valide"):
        TrousseauJournal.depuis_reglages(SecretStr("k1:pas-une-cle"), SecretStr("s" * 40))
