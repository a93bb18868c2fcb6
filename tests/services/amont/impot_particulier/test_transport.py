"""The DGFiP HTTP client: verifying TLS, and our client certificate when one is configured."""

from __future__ import annotations

import ssl
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from pydantic import SecretStr

from app.services.amont.impot_particulier import create_http_client
from app.services.amont.impot_particulier.transport import contexte_tls


def write_certificate(directory: Path, password: bytes | None = None) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "ccas-demo.test")])
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "client.pem", directory / "client.key"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    encryption = serialization.BestAvailableEncryption(password) if password else serialization.NoEncryption()
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption)
    )
    return cert_path, key_path


def test_default_context_verifies_the_server() -> None:
    context = contexte_tls()
    assert context.verify_mode is ssl.CERT_REQUIRED
    assert context.check_hostname


def test_client_certificate_is_loaded(tmp_path: Path) -> None:
    cert, key = write_certificate(tmp_path, password=b"phrase")
    context = contexte_tls(certificat=cert, cle_privee=key, mot_de_passe_cle=SecretStr("phrase"))
    assert context.verify_mode is ssl.CERT_REQUIRED


def test_wrong_key_password_fails_at_start_up(tmp_path: Path) -> None:
    cert, key = write_certificate(tmp_path, password=b"phrase")
    with pytest.raises(ssl.SSLError):
        contexte_tls(certificat=cert, cle_privee=key, mot_de_passe_cle=SecretStr("autre"))


async def test_http_client_is_built_with_the_certificate(tmp_path: Path) -> None:
    cert, key = write_certificate(tmp_path)
    async with create_http_client(certificat=cert, cle_privee=key) as http:
        assert http.timeout.connect == 2.0
        assert not http.follow_redirects
