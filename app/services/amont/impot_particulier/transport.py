"""The HTTP client for DGFiP, with the TLS client certificate its API gateway checks in production.

httpx 0.28 deprecates `cert=`; the certificate goes into an `ssl.SSLContext` passed as `verify=`.
The lifespan builds one client per process with `create_http_client(...)` and injects it into
`TokenProvider` and `ImpotParticulierClient`.
"""

from __future__ import annotations

import ssl
from pathlib import Path

import httpx
from pydantic import SecretStr

from app.services.amont.impot_particulier.client import DEFAULT_TIMEOUT


def contexte_tls(
    *,
    certificat: Path | None = None,
    cle_privee: Path | None = None,
    mot_de_passe_cle: SecretStr | None = None,
    autorites: Path | None = None,
) -> ssl.SSLContext:
    """A verifying TLS context; with `certificat` (PEM), it also presents our client certificate."""
    context = ssl.create_default_context(cafile=str(autorites) if autorites else None)
    if certificat is not None:
        context.load_cert_chain(
            certfile=str(certificat),
            keyfile=str(cle_privee) if cle_privee else None,
            password=mot_de_passe_cle.get_secret_value() if mot_de_passe_cle else None,
        )
    return context


def create_http_client(
    *,
    certificat: Path | None = None,
    cle_privee: Path | None = None,
    mot_de_passe_cle: SecretStr | None = None,
    autorites: Path | None = None,
    timeout: httpx.Timeout | None = None,
    max_connections: int = 20,
) -> httpx.AsyncClient:
    """One pooled client for DGFiP (token and data calls). The caller closes it (`aclose`)."""
    return httpx.AsyncClient(
        verify=contexte_tls(
            certificat=certificat,
            cle_privee=cle_privee,
            mot_de_passe_cle=mot_de_passe_cle,
            autorites=autorites,
        ),
        timeout=timeout or DEFAULT_TIMEOUT,
        limits=httpx.Limits(max_connections=max_connections),
        follow_redirects=False,
    )
