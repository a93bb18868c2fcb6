"""Key derivation, pseudonyms and the Fernet ring."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet, InvalidToken
from hypothesis import given
from hypothesis import strategies as st
from pydantic import SecretStr

from app.config import Settings
from app.errors import ConfigurationError
from app.keys import (
    PURPOSE_CACHE_KEY,
    PURPOSE_PSEUDONYME,
    KeyRing,
    derive_key,
    encode_parts,
    normalise_part,
)

SECRET = SecretStr("un-secret-de-test-suffisamment-long-0123456789")
IDENTITE = ("LEFEBVRE", "ALEXIS GÉRÔME JEAN-PHILIPPE", "F", "1982-12-27", "08480", "99100")


def test_sub_keys_are_independent_and_stable() -> None:
    secret = SECRET.get_secret_value().encode()
    assert derive_key(secret, PURPOSE_CACHE_KEY) != derive_key(secret, PURPOSE_PSEUDONYME)
    assert derive_key(secret, PURPOSE_CACHE_KEY) == derive_key(secret, PURPOSE_CACHE_KEY)
    assert len(derive_key(secret, PURPOSE_CACHE_KEY)) == 32


def test_pseudonyme_is_stable_and_ignores_case_and_spacing() -> None:
    ring = KeyRing(SECRET)
    first = ring.pseudonyme("26999000800006", *IDENTITE)
    assert first == KeyRing(SECRET).pseudonyme("26999000800006", *IDENTITE)
    assert first == ring.pseudonyme(
        "26999000800006", "lefebvre ", "Alexis  Gérôme Jean-Philippe", *IDENTITE[2:]
    )
    assert len(first) == 64
    assert all(c in "0123456789abcdef" for c in first)


def test_pseudonyme_differs_between_organismes_secrets_and_persons() -> None:
    ring = KeyRing(SECRET)
    base = ring.pseudonyme("26999000800006", *IDENTITE)
    assert base != ring.pseudonyme("21750001600019", *IDENTITE)
    assert base != KeyRing(SecretStr("un-autre-secret-tout-aussi-long-9876543210")).pseudonyme(
        "26999000800006", *IDENTITE
    )
    assert base != ring.pseudonyme("26999000800006", "LEFEBVRE", "ALEXIS", *IDENTITE[2:])
    # Accents are meaningful upstream, so they are in the pseudonym too.
    assert base != ring.pseudonyme("26999000800006", "LEFEBVRE", "ALEXIS GEROME JEAN-PHILIPPE", *IDENTITE[2:])


def test_pseudonyme_is_not_a_bare_hash_of_the_identity() -> None:
    ring = KeyRing(SECRET)
    assert "lefebvre" not in ring.pseudonyme("26999000800006", *IDENTITE)
    with pytest.raises(ValueError, match="identité"):
        ring.pseudonyme("26999000800006")


@given(
    st.lists(st.text(max_size=5), min_size=1, max_size=4),
    st.lists(st.text(max_size=5), min_size=1, max_size=4),
)
def test_part_encoding_is_injective(first: list[str], second: list[str]) -> None:
    if first != second:
        assert encode_parts(*first) != encode_parts(*second)


def test_normalise_part() -> None:
    assert normalise_part("  Jean\tPhilippe  ") == "jean philippe"
    assert normalise_part("E\u0301") == normalise_part("\u00c9") == "é"  # decomposed and composed É


def test_configured_keys_rotate_first_encrypts_all_decrypt() -> None:
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    token_old = KeyRing(SECRET, SecretStr(old)).fernet.encrypt(b"qf")
    rotated = KeyRing(SECRET, SecretStr(f"{new}, {old}"))
    assert rotated.fernet.decrypt(token_old) == b"qf"
    token_new = rotated.fernet.encrypt(b"qf")
    assert Fernet(new.encode()).decrypt(token_new) == b"qf"
    with pytest.raises(InvalidToken):
        Fernet(old.encode()).decrypt(token_new)
    assert rotated.derived_encryption_key is False


def test_without_configured_keys_the_encryption_key_is_derived_from_the_secret() -> None:
    ring = KeyRing(SECRET)
    assert ring.derived_encryption_key is True
    assert KeyRing(SECRET).fernet.decrypt(ring.fernet.encrypt(b"x")) == b"x"
    with pytest.raises(InvalidToken):
        KeyRing(SecretStr("un-autre-secret-tout-aussi-long-9876543210")).fernet.decrypt(
            ring.fernet.encrypt(b"x")
        )


def test_invalid_configured_key_is_a_configuration_error_that_does_not_echo_it() -> None:
    good = Fernet.generate_key().decode()
    with pytest.raises(ConfigurationError, match="n°2") as raised:
        KeyRing(SECRET, SecretStr(f"{good},pas-une-cle-fernet"))
    assert "pas-une-cle-fernet" not in raised.value.detail
    with pytest.raises(ConfigurationError, match="aucune clé"):
        KeyRing(SECRET, SecretStr(" , "))


def test_from_settings() -> None:
    key = Fernet.generate_key().decode()
    settings = Settings(gateway_secret_key=SECRET, cache_encryption_keys=SecretStr(key))
    ring = KeyRing.from_settings(settings)
    assert Fernet(key.encode()).decrypt(ring.fernet.encrypt(b"x")) == b"x"
    assert ring.pseudonyme("o", "p") == KeyRing(SECRET).pseudonyme("o", "p")
