"""OAuth2 client-credentials tokens for API Impôt particulier, cached and shared by a worker's requests.

One `TokenProvider` per set of credentials (an organisme's client id/secret and scopes). The token
is reused until `expires_in` minus a margin; when it must be renewed, an `asyncio.Lock` makes one
coroutine fetch it while the others wait for that result, so a burst of requests costs one token
call, not a stampede.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Final, Literal

import httpx
import structlog
from pydantic import BaseModel, ConfigDict, SecretStr, ValidationError

from app.errors import UpstreamError, UpstreamMisconfigured, UpstreamTimeout, UpstreamUnavailable

FOURNISSEUR: Final[str] = "API Impôt particulier"

#: OAuth2 scope of each ressource the gateway calls (contract §3).
SCOPE_ASSIETTES: Final[str] = "RessourceIR"
SCOPE_DERNIERE_SITUATION: Final[str] = "RessourceIRDerniere"
SCOPE_DERNIERE_SITUATION_DEUX_ANS: Final[str] = "RessourceIRDerniere2"
SCOPES_GATEWAY: Final[tuple[str, ...]] = (
    SCOPE_ASSIETTES,
    SCOPE_DERNIERE_SITUATION,
    SCOPE_DERNIERE_SITUATION_DEUX_ANS,
)

DEFAULT_TOKEN_TIMEOUT: Final[httpx.Timeout] = httpx.Timeout(5.0, connect=2.0)

logger = structlog.get_logger(__name__)


class _TokenResponse(BaseModel):
    model_config = ConfigDict(extra="ignore")

    access_token: str
    expires_in: int = 3600  # not published by DGFiP; WSO2's default when the key is missing
    token_type: str = "Bearer"  # noqa: S105 - the OAuth2 token type, not a secret


@dataclass(frozen=True, slots=True)
class _CachedToken:
    value: str
    refresh_at: float  # monotonic instant from which a new token is fetched


class TokenProvider:
    """Client-credentials token source for one organisme's credentials.

    `clock` is a monotonic clock in seconds (injectable in tests). The token is renewed
    `refresh_margin_seconds` before it expires, or halfway through a short lifetime.
    `auth_method` sends the credentials as HTTP Basic (default) or as form fields; DGFiP
    clients use both. A TLS client certificate is configured on the injected `http` client
    (see `transport.create_http_client`), not here.
    """

    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        token_url: str,
        client_id: str,
        client_secret: SecretStr,
        scopes: Iterable[str] = SCOPES_GATEWAY,
        auth_method: Literal["basic", "form"] = "basic",
        refresh_margin_seconds: float = 60.0,
        timeout: httpx.Timeout | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._http = http
        self._token_url = token_url
        self._client_id = client_id
        self._client_secret = client_secret
        self.scopes: tuple[str, ...] = tuple(scopes)
        self._auth_method = auth_method
        self._margin = refresh_margin_seconds
        self._timeout = timeout or DEFAULT_TOKEN_TIMEOUT
        self._clock = clock
        self._cached: _CachedToken | None = None
        self._lock = asyncio.Lock()
        self.requests_made = 0  # token calls so far (observability and tests)

    def __repr__(self) -> str:
        return f"TokenProvider(client_id={self._client_id!r}, scopes={self.scopes!r})"

    async def token(self) -> str:
        """A valid access token, fetched at most once per expiry whatever the concurrency."""
        cached = self._cached
        if cached is not None and self._clock() < cached.refresh_at:
            return cached.value
        async with self._lock:
            cached = self._cached  # another coroutine may have refreshed while we waited
            if cached is not None and self._clock() < cached.refresh_at:
                return cached.value
            self._cached = await self._fetch()
            return self._cached.value

    def invalidate(self, rejected: str) -> None:
        """Forget `rejected` after a 401, unless a newer token has already replaced it."""
        if self._cached is not None and self._cached.value == rejected:
            self._cached = None

    async def _fetch(self) -> _CachedToken:
        data = {"grant_type": "client_credentials", "scope": " ".join(self.scopes)}
        auth: httpx.BasicAuth | None = None
        secret = self._client_secret.get_secret_value()
        if self._auth_method == "basic":
            auth = httpx.BasicAuth(self._client_id, secret)
        else:
            data |= {"client_id": self._client_id, "client_secret": secret}
        started = self._clock()
        self.requests_made += 1
        try:
            response = await self._http.post(
                self._token_url,
                data=data,
                auth=auth if auth is not None else httpx.USE_CLIENT_DEFAULT,
                headers={"Accept": "application/json"},
                timeout=self._timeout,
            )
        except httpx.TimeoutException as e:
            raise UpstreamTimeout(
                "Le service d'authentification de la DGFiP n'a pas répondu à temps.",
                fournisseur=FOURNISSEUR,
            ) from e
        except httpx.TransportError as e:
            raise UpstreamUnavailable(
                "Le service d'authentification de la DGFiP est injoignable.", fournisseur=FOURNISSEUR
            ) from e
        logger.info("upstream.token", fournisseur=FOURNISSEUR, status=response.status_code)
        if response.status_code in (400, 401, 403):
            raise UpstreamMisconfigured(
                "La DGFiP refuse les identifiants OAuth2 ou les scopes de la passerelle "
                f"(HTTP {response.status_code}).",
                fournisseur=FOURNISSEUR,
                upstream_code=str(response.status_code),
            )
        if response.status_code != 200:
            raise UpstreamUnavailable(
                f"Le service d'authentification de la DGFiP a répondu HTTP {response.status_code}.",
                fournisseur=FOURNISSEUR,
                upstream_code=str(response.status_code),
            )
        try:
            body = _TokenResponse.model_validate_json(response.content)
        except ValidationError:
            # The body may carry the token itself: do not chain the error that would print it.
            raise UpstreamError(
                "Réponse illisible du service d'authentification de la DGFiP.", fournisseur=FOURNISSEUR
            ) from None
        lifetime = max(body.expires_in, 0)
        margin = min(self._margin, lifetime / 2)
        return _CachedToken(value=body.access_token, refresh_at=started + lifetime - margin)


class TokenProviders:
    """The worker-wide registry: one `TokenProvider` per (client id, scopes), created on first use."""

    def __init__(self, factory: Callable[[str, SecretStr, tuple[str, ...]], TokenProvider]) -> None:
        self._factory = factory
        self._providers: dict[tuple[str, tuple[str, ...]], TokenProvider] = {}

    def get(
        self, client_id: str, client_secret: SecretStr, scopes: Iterable[str] = SCOPES_GATEWAY
    ) -> TokenProvider:
        key = (client_id, tuple(sorted(scopes)))
        provider = self._providers.get(key)
        if provider is None:
            provider = self._factory(client_id, client_secret, key[1])
            self._providers[key] = provider
        return provider
