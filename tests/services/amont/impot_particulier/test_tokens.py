"""OAuth2 client-credentials token provider: the exact token call, the cache, concurrency, refresh."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import AsyncIterator
from urllib.parse import parse_qs

import httpx
import pytest
import respx
from pydantic import SecretStr

from app.errors import UpstreamError, UpstreamMisconfigured, UpstreamTimeout, UpstreamUnavailable
from app.services.amont.impot_particulier import TokenProvider, TokenProviders

TOKEN_URL = "https://dgfip.test/token"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as client:
        yield client


def provider(http: httpx.AsyncClient, clock: Clock, **kwargs: object) -> TokenProvider:
    return TokenProvider(
        http,
        token_url=TOKEN_URL,
        client_id="ccas-demo",
        client_secret=SecretStr("s3cret"),
        clock=clock,
        **kwargs,  # type: ignore[arg-type]
    )


def token_answer(value: str, expires_in: int = 3600) -> httpx.Response:
    return httpx.Response(200, json={"access_token": value, "token_type": "Bearer", "expires_in": expires_in})


async def test_token_call_is_a_basic_auth_client_credentials_form(http: httpx.AsyncClient) -> None:
    with respx.mock(assert_all_called=True) as router:
        route = router.post(TOKEN_URL).mock(return_value=token_answer("jeton-1"))
        assert await provider(http, Clock()).token() == "jeton-1"
    request = route.calls.last.request
    assert request.headers["content-type"] == "application/x-www-form-urlencoded"
    assert request.headers["authorization"] == "Basic " + base64.b64encode(b"ccas-demo:s3cret").decode()
    assert parse_qs(request.content.decode()) == {
        "grant_type": ["client_credentials"],
        "scope": ["RessourceIR RessourceIRDerniere RessourceIRDerniere2"],
    }


async def test_form_credentials_when_asked(http: httpx.AsyncClient) -> None:
    with respx.mock(assert_all_called=True) as router:
        route = router.post(TOKEN_URL).mock(return_value=token_answer("jeton-1"))
        tokens = provider(http, Clock(), auth_method="form", scopes=["RessourceIRDerniere2"])
        await tokens.token()
    request = route.calls.last.request
    assert "authorization" not in request.headers
    assert parse_qs(request.content.decode()) == {
        "grant_type": ["client_credentials"],
        "scope": ["RessourceIRDerniere2"],
        "client_id": ["ccas-demo"],
        "client_secret": ["s3cret"],
    }


async def test_fifty_concurrent_calls_make_one_token_request(http: httpx.AsyncClient) -> None:
    async def slow_answer(request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(0.01)  # let every caller pile up on the lock
        return token_answer("jeton-partage")

    with respx.mock(assert_all_called=True) as router:
        route = router.post(TOKEN_URL).mock(side_effect=slow_answer)
        tokens = provider(http, Clock())
        values = await asyncio.gather(*(tokens.token() for _ in range(50)))
    assert set(values) == {"jeton-partage"}
    assert route.call_count == 1
    assert tokens.requests_made == 1


async def test_token_is_reused_then_refreshed_before_expiry(http: httpx.AsyncClient) -> None:
    clock = Clock()
    with respx.mock(assert_all_called=True) as router:
        route = router.post(TOKEN_URL).mock(
            side_effect=[token_answer("jeton-1", 3600), token_answer("jeton-2", 3600)]
        )
        tokens = provider(http, clock, refresh_margin_seconds=60)
        assert await tokens.token() == "jeton-1"
        clock.now += 3539  # 1 s before the margin: still the same
        assert await tokens.token() == "jeton-1"
        clock.now += 1  # 60 s before expiry: renewed ahead of time
        assert await tokens.token() == "jeton-2"
    assert route.call_count == 2


async def test_short_lifetime_is_renewed_halfway(http: httpx.AsyncClient) -> None:
    clock = Clock()
    with respx.mock() as router:
        router.post(TOKEN_URL).mock(side_effect=[token_answer("a", 20), token_answer("b", 20)])
        tokens = provider(http, clock, refresh_margin_seconds=60)
        assert await tokens.token() == "a"
        clock.now += 9
        assert await tokens.token() == "a"
        clock.now += 1
        assert await tokens.token() == "b"


async def test_invalidate_only_forgets_the_rejected_token(http: httpx.AsyncClient) -> None:
    with respx.mock() as router:
        route = router.post(TOKEN_URL).mock(
            side_effect=[token_answer("a"), token_answer("b"), token_answer("c")]
        )
        tokens = provider(http, Clock())
        assert await tokens.token() == "a"
        tokens.invalidate("a")
        assert await tokens.token() == "b"
        tokens.invalidate("a")  # a late 401 for the old token must not discard the new one
        assert await tokens.token() == "b"
    assert route.call_count == 2


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        (httpx.Response(401, json={"error": "invalid_client"}), UpstreamMisconfigured),
        (httpx.Response(400, json={"error": "invalid_scope"}), UpstreamMisconfigured),
        (httpx.Response(503), UpstreamUnavailable),
        (httpx.Response(200, text="pas du json"), UpstreamError),
        (httpx.ReadTimeout("lent"), UpstreamTimeout),
        (httpx.ConnectError("refus"), UpstreamUnavailable),
    ],
)
async def test_token_errors_are_mapped(
    http: httpx.AsyncClient, answer: httpx.Response | Exception, expected: type[UpstreamError]
) -> None:
    with respx.mock() as router:
        router.post(TOKEN_URL).mock(side_effect=[answer])
        with pytest.raises(UpstreamError) as caught:
            await provider(http, Clock()).token()
    assert type(caught.value) is expected
    assert "s3cret" not in str(caught.value)


def test_repr_never_shows_the_secret(http: httpx.AsyncClient) -> None:
    assert "s3cret" not in repr(provider(http, Clock()))


def test_registry_shares_one_provider_per_credentials_and_scopes(http: httpx.AsyncClient) -> None:
    def factory(client_id: str, secret: SecretStr, scopes: tuple[str, ...]) -> TokenProvider:
        return TokenProvider(
            http, token_url=TOKEN_URL, client_id=client_id, client_secret=secret, scopes=scopes
        )

    registry = TokenProviders(factory)
    a = registry.get("ccas-a", SecretStr("x"), ["RessourceIR", "RessourceIRDerniere2"])
    assert registry.get("ccas-a", SecretStr("x"), ["RessourceIRDerniere2", "RessourceIR"]) is a
    assert registry.get("ccas-b", SecretStr("y"), ["RessourceIR", "RessourceIRDerniere2"]) is not a
