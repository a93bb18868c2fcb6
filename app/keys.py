"""Key material of the gateway: independent sub-keys derived from `GATEWAY_SECRET_KEY` (HKDF-SHA256),
the applicant pseudonym, and the rotating Fernet ring that encrypts cached personal data.

One root secret, many purposes: deriving a sub-key per purpose means a leaked cache-key HMAC key says
nothing about pseudonyms, and rotating the cache encryption keys never changes a pseudonym.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import unicodedata
from collections.abc import Iterable
from typing import TYPE_CHECKING

from cryptography.fernet import Fernet, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from pydantic import SecretStr

from app.errors import ConfigurationError

if TYPE_CHECKING:
    from app.config import Settings

#: Fixed salt: HKDF needs no secret salt, only one that never changes (changing it changes every key).
_HKDF_SALT = b"eligibility-gateway/keys/v1"

#: Purposes of the derived sub-keys (the HKDF `info`); renaming one is a key rotation.
PURPOSE_CACHE_KEY = "cache-key"
PURPOSE_PSEUDONYME = "pseudonyme"
PURPOSE_CACHE_FERNET = "cache-fernet"
#: Names of the upstream tokens and client ids in the limiter's Redis keys (issue 13).
PURPOSE_QUOTA_SUJET = "quota-sujet"
#: Source addresses in the shared count of unknown API keys (Redis keys), never in clear.
PURPOSE_ADRESSE_SOURCE = "adresse-source"


def derive_key(secret: bytes, purpose: str, length: int = 32) -> bytes:
    """An independent sub-key of `secret` for one purpose (HKDF-SHA256)."""
    hkdf = HKDF(algorithm=hashes.SHA256(), length=length, salt=_HKDF_SALT, info=purpose.encode())
    return hkdf.derive(secret)


def normalise_part(part: str) -> str:
    """Canonical form of one identity or key part: NFC, case-folded, whitespace collapsed.

    Upstream matching is case-insensitive, so "Dupont" and "DUPONT" are one person and must give one
    pseudonym and one cache key. Accents are kept: upstream does not treat "GÉRÔME" as "GEROME".
    """
    return " ".join(unicodedata.normalize("NFC", part).casefold().split())


def encode_parts(*parts: str) -> bytes:
    """Length-prefixed encoding, so ("ab", "c") and ("a", "bc") never hash alike."""
    chunks: list[bytes] = []
    for part in parts:
        raw = part.encode("utf-8")
        chunks.append(f"{len(raw)}:".encode() + raw)
    return b"".join(chunks)


def _parse_fernet_keys(raw: str) -> list[Fernet]:
    keys: list[Fernet] = []
    for position, item in enumerate((k.strip() for k in raw.split(",")), start=1):
        if not item:
            continue
        try:
            keys.append(Fernet(item))
        except (ValueError, TypeError) as e:
            # The key itself is never echoed: only its position in the list.
            raise ConfigurationError(
                f"CACHE_ENCRYPTION_KEYS : la clé n°{position} n'est pas une clé Fernet valide "
                "(32 octets en base64 url-safe)."
            ) from e
    if not keys:
        raise ConfigurationError("CACHE_ENCRYPTION_KEYS est défini mais ne contient aucune clé.")
    return keys


class KeyRing:
    """Every key the gateway uses, derived once at start-up."""

    def __init__(self, secret_key: SecretStr, cache_encryption_keys: SecretStr | None = None) -> None:
        secret = secret_key.get_secret_value().encode("utf-8")
        if not secret:
            raise ConfigurationError("GATEWAY_SECRET_KEY ne doit pas être vide.")
        self._cache_key = derive_key(secret, PURPOSE_CACHE_KEY)
        self._pseudonyme_key = derive_key(secret, PURPOSE_PSEUDONYME)
        self._idempotence_key = derive_key(secret, "eligibility-gateway/idempotence/v1")
        if cache_encryption_keys is not None and cache_encryption_keys.get_secret_value().strip():
            fernets = _parse_fernet_keys(cache_encryption_keys.get_secret_value())
            self.derived_encryption_key = False
        else:
            # Sandbox only: production settings refuse a missing CACHE_ENCRYPTION_KEYS.
            derived = base64.urlsafe_b64encode(derive_key(secret, PURPOSE_CACHE_FERNET))
            fernets = [Fernet(derived)]
            self.derived_encryption_key = True
        #: The first key encrypts, all keys decrypt: add a new key first, drop the old one later.
        self.fernet = MultiFernet(fernets)

    @classmethod
    def from_settings(cls, settings: Settings) -> KeyRing:
        return cls(settings.gateway_secret_key, settings.cache_encryption_keys)

    def cache_key_digest(self, organisme_id: str, espace: str, materiau: Iterable[str]) -> str:
        """Keyed hash (HMAC-SHA256, hex) of a cache key's material, scoped by organisme and espace."""
        message = encode_parts(organisme_id, espace, *(normalise_part(m) for m in materiau))
        return hmac.new(self._cache_key, message, hashlib.sha256).hexdigest()

    def idempotence_digest(self, *parts: str) -> str:
        """Keyed hash (HMAC-SHA256, hex) of an idempotency key or request body, parts taken
        verbatim (an `Idempotency-Key` is case-sensitive; a body is compared byte for byte)."""
        return hmac.new(self._idempotence_key, encode_parts(*parts), hashlib.sha256).hexdigest()

    def pseudonyme(self, organisme_id: str, *identite: str) -> str:
        """Keyed pseudonym of an applicant within one organisme (HMAC-SHA256, hex).

        Stable for the same normalised identity in the same organisme, so the journal can group an
        applicant's consultations; different between organismes, so journals cannot be joined.
        """
        if not identite:
            raise ValueError("pseudonyme : au moins une partie d'identité est requise")
        message = encode_parts(organisme_id, *(normalise_part(p) for p in identite))
        return hmac.new(self._pseudonyme_key, message, hashlib.sha256).hexdigest()
