"""The exact requests the client sends (respx), local validation, and the error mapping."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, date, datetime
from decimal import Decimal

import httpx
import pytest
import respx
from pydantic import SecretStr

from app.errors import (
    InvalidInput,
    UpstreamError,
    UpstreamMisconfigured,
    UpstreamPersonNotFound,
    UpstreamRateLimited,
    UpstreamRejectedInput,
    UpstreamTimeout,
    UpstreamUnavailable,
)
from app.services.amont.impot_particulier import ImpotParticulierClient, TokenProvider

BASE = "https://dgfip.test/impotparticulier/1.0"
TOKEN_URL = "https://dgfip.test/token"
SPI = "3999999898230"
NOW = datetime(2026, 9, 1, 8, 0, tzinfo=UTC)  # after 22 July: the newest year is 2025
SITUATION = {"annRevenu": 2025, "rfr": 48583, "nbPart": 2.0, "sitFam": "M", "pac": {"nbPac": 0}}


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as client:
        yield client


@pytest.fixture
def router() -> Iterator[respx.MockRouter]:
    with respx.mock(assert_all_called=False) as mock:
        mock.post(TOKEN_URL).mock(
            return_value=httpx.Response(200, json={"access_token": "jeton", "expires_in": 3600})
        )
        yield mock


def make_client(
    http: httpx.AsyncClient, *, id_teleservice: str | None = "TS-CCAS-42", sandbox: bool = False
) -> ImpotParticulierClient:
    tokens = TokenProvider(http, token_url=TOKEN_URL, client_id="ccas", client_secret=SecretStr("secret"))
    return ImpotParticulierClient(
        http,
        base_url=BASE + "/",
        tokens=tokens,
        id_teleservice=id_teleservice,
        sandbox=sandbox,
        now=lambda: NOW,
    )


def ok(body: object = SITUATION) -> httpx.Response:
    return httpx.Response(
        200,
        content=json.dumps(body).encode(),
        headers={"Content-Type": "application/prs.dgfip.part.derniere.situations.ir.assiettes.v1+json"},
    )


@pytest.mark.parametrize(
    ("method", "args", "path"),
    [
        ("assiettes_ir", (2024,), f"/spi/{SPI}/situations/ir/assiettes/annrev/2024"),
        ("assiettes_ir", (), f"/spi/{SPI}/situations/ir/assiettes/annrev/2025"),
        ("derniere_situation", (2023,), f"/spi/{SPI}/dernieresituation/ir/assiettes/annrev/2023"),
        ("derniere_situation_deux_ans", (), f"/spi/{SPI}/dernieresituation/ir/assiettes/deuxans"),
    ],
)
async def test_exact_request(
    http: httpx.AsyncClient, router: respx.MockRouter, method: str, args: tuple[int, ...], path: str
) -> None:
    route = router.get(BASE + path).mock(return_value=ok())
    reponse = await getattr(make_client(http), method)(SPI, *args)
    request = route.calls.last.request
    assert request.method == "GET"
    assert request.url.query == b""
    assert request.headers["authorization"] == "Bearer jeton"
    assert request.headers["id_teleservice"] == "TS-CCAS-42"
    correlation = uuid.UUID(request.headers["x-correlation-id"])
    assert correlation.version == 4
    assert reponse.request_id == str(correlation)
    assert reponse.obtenu_le == NOW


async def test_correlation_id_is_fresh_for_every_call(
    http: httpx.AsyncClient, router: respx.MockRouter
) -> None:
    route = router.get(url__regex=r".*/deuxans$").mock(return_value=ok())
    client = make_client(http)
    ids = {(await client.derniere_situation_deux_ans(SPI)).request_id for _ in range(3)}
    assert len(ids) == 3
    assert {c.request.headers["x-correlation-id"] for c in route.calls} == ids


async def test_no_teleservice_header_when_none(http: httpx.AsyncClient, router: respx.MockRouter) -> None:
    route = router.get(url__regex=r".*/deuxans$").mock(return_value=ok())
    await make_client(http, id_teleservice=None).derniere_situation_deux_ans(SPI)
    assert "id_teleservice" not in route.calls.last.request.headers


async def test_explicit_date_reference_picks_the_year(
    http: httpx.AsyncClient, router: respx.MockRouter
) -> None:
    route = router.get(url__regex=r".*/annrev/2023$").mock(return_value=ok())
    reponse = await make_client(http).assiettes_ir(SPI, date_reference=date(2025, 7, 21))
    assert route.called
    assert reponse.annee_des_revenus == 2023


@pytest.mark.parametrize(
    "spi",
    ["123", "39999998982301", "3999999898231", "abcdefghijklm", "4999999898230", "3999999899410"],
)
async def test_invalid_numero_fiscal_makes_no_http_call(
    http: httpx.AsyncClient, router: respx.MockRouter, spi: str
) -> None:
    client = make_client(http)
    for call in (client.assiettes_ir, client.derniere_situation, client.derniere_situation_deux_ans):
        with pytest.raises(InvalidInput) as caught:
            await call(spi)
        assert caught.value.errors[0].champ == "demandeur.numero_fiscal"
        assert spi not in str(caught.value)
    assert router.calls.call_count == 0  # not even the token


async def test_sandbox_spis_without_check_key_are_accepted_only_in_sandbox_mode(
    http: httpx.AsyncClient, router: respx.MockRouter
) -> None:
    router.get(url__regex=r".*/deuxans$").mock(return_value=ok())
    for spi in ("3999999899410", "3999999776202"):
        with pytest.raises(InvalidInput):
            await make_client(http).derniere_situation_deux_ans(spi)
        reponse = await make_client(http, sandbox=True).derniere_situation_deux_ans(spi)
        assert reponse.annee_des_revenus == 2025


@pytest.mark.parametrize("annee", [2026, 2027, 1999])
async def test_impossible_year_is_refused_locally(
    http: httpx.AsyncClient, router: respx.MockRouter, annee: int
) -> None:
    with pytest.raises(InvalidInput) as caught:
        await make_client(http).assiettes_ir(SPI, annee)
    assert caught.value.errors[0].champ == "demandeur.annee_des_revenus"
    assert router.calls.call_count == 0


async def test_exact_decimals_from_the_json_text(http: httpx.AsyncClient, router: respx.MockRouter) -> None:
    body = b'{"annRevenu": 2025, "rfr": 33640, "nbPart": 6.75, "montTotIr": -36, "impAvImput": 0.10}'
    router.get(url__regex=r".*/deuxans$").mock(return_value=httpx.Response(200, content=body))
    situation = (await make_client(http).derniere_situation_deux_ans(SPI)).situation
    assert situation.nombre_de_parts == Decimal("6.75")
    assert str(situation.impot_avant_imputations) == "0.10"  # a float would have said 0.1
    assert situation.impot_sur_le_revenu == Decimal(-36)


async def test_401_renews_the_token_once_and_retries(http: httpx.AsyncClient) -> None:
    with respx.mock(assert_all_called=True) as router:
        token = router.post(TOKEN_URL).mock(
            side_effect=[
                httpx.Response(200, json={"access_token": "vieux", "expires_in": 3600}),
                httpx.Response(200, json={"access_token": "neuf", "expires_in": 3600}),
            ]
        )
        data = router.get(url__regex=r".*/deuxans$").mock(side_effect=[httpx.Response(401), ok()])
        reponse = await make_client(http).derniere_situation_deux_ans(SPI)
    assert token.call_count == 2
    assert [c.request.headers["authorization"] for c in data.calls] == ["Bearer vieux", "Bearer neuf"]
    assert reponse.request_id == data.calls.last.request.headers["x-correlation-id"]


async def test_401_twice_is_a_misconfiguration(http: httpx.AsyncClient, router: respx.MockRouter) -> None:
    router.get(url__regex=r".*/deuxans$").mock(return_value=httpx.Response(401))
    with pytest.raises(UpstreamMisconfigured):
        await make_client(http).derniere_situation_deux_ans(SPI)


def erreur(status: int, code: int | None = None, message: str = "x") -> httpx.Response:
    body = {"erreur": {"code": code, "message": message}} if code else {"erreur": {"message": message}}
    return httpx.Response(status, json=body)


@pytest.mark.parametrize(
    "cas",
    [
        (erreur(400, 4001), UpstreamRejectedInput, "4001", None),
        (erreur(400, message="format SPI incorrect"), UpstreamRejectedInput, "400", None),
        (erreur(400, 4002), UpstreamRejectedInput, "4002", None),
        (httpx.Response(400), UpstreamRejectedInput, "400", None),
        (erreur(403, 4031), UpstreamMisconfigured, "4031", None),
        (httpx.Response(404), UpstreamPersonNotFound, "404", None),
        (erreur(410, 4101), UpstreamPersonNotFound, "4101", None),
        (erreur(410, 4102), UpstreamPersonNotFound, "4102", None),
        (httpx.Response(204), UpstreamPersonNotFound, "204", None),
        (httpx.Response(429, headers={"Retry-After": "17"}), UpstreamRateLimited, "429", 17),
        (erreur(500, 5000), UpstreamUnavailable, "5000", None),
        (httpx.Response(503, headers={"Retry-After": "60"}), UpstreamUnavailable, "503", 60),
        (httpx.Response(509), UpstreamUnavailable, "509", None),
        (httpx.Response(302), UpstreamError, "302", None),
        (httpx.Response(200, content=b'{"rfr": 12'), UpstreamError, None, None),
        (httpx.Response(200, content=b'{"rfr": "pas un nombre"}'), UpstreamError, None, None),
    ],
)
async def test_error_mapping(
    http: httpx.AsyncClient,
    router: respx.MockRouter,
    cas: tuple[httpx.Response, type[UpstreamError], str | None, int | None],
) -> None:
    answer, expected, upstream_code, retry_after = cas
    route = router.get(url__regex=r".*/annrev/2024$").mock(return_value=answer)
    with pytest.raises(UpstreamError) as caught:
        await make_client(http).assiettes_ir(SPI, 2024)
    error = caught.value
    assert type(error) is expected
    assert error.upstream_code == upstream_code
    assert error.retry_after == retry_after
    assert error.request_id == route.calls.last.request.headers["x-correlation-id"]
    assert SPI not in str(error)


async def test_not_found_details_are_french_and_name_the_year(
    http: httpx.AsyncClient, router: respx.MockRouter
) -> None:
    router.get(url__regex=r".*/annrev/2024$").mock(side_effect=[erreur(410, 4101), erreur(410, 4102)])
    client = make_client(http)
    with pytest.raises(UpstreamPersonNotFound) as aucun_avis:
        await client.assiettes_ir(SPI, 2024)
    with pytest.raises(UpstreamPersonNotFound) as inconnu:
        await client.assiettes_ir(SPI, 2024)
    assert "aucun avis" in aucun_avis.value.detail
    assert "2024" in aucun_avis.value.detail
    assert "aucun usager" in inconnu.value.detail


@pytest.mark.parametrize(
    ("failure", "expected"),
    [
        (httpx.ConnectTimeout("délai"), UpstreamTimeout),
        (httpx.ReadTimeout("délai"), UpstreamTimeout),
        (httpx.ConnectError("refus"), UpstreamUnavailable),
        (httpx.RemoteProtocolError("coupure"), UpstreamUnavailable),
    ],
)
async def test_transport_failures(
    http: httpx.AsyncClient, router: respx.MockRouter, failure: Exception, expected: type[UpstreamError]
) -> None:
    router.get(url__regex=r".*/deuxans$").mock(side_effect=failure)
    with pytest.raises(UpstreamError) as caught:
        await make_client(http).derniere_situation_deux_ans(SPI)
    assert type(caught.value) is expected
    assert caught.value.__cause__ is failure


async def test_deux_ans_without_annrevenu_is_an_upstream_error(
    http: httpx.AsyncClient, router: respx.MockRouter
) -> None:
    router.get(url__regex=r".*/deuxans$").mock(return_value=ok({"rfr": 1}))
    with pytest.raises(UpstreamError):
        await make_client(http).derniere_situation_deux_ans(SPI)


async def test_explicit_timeout_is_passed_to_httpx(http: httpx.AsyncClient, router: respx.MockRouter) -> None:
    route = router.get(url__regex=r".*/deuxans$").mock(return_value=ok())
    tokens = TokenProvider(http, token_url=TOKEN_URL, client_id="c", client_secret=SecretStr("s"))
    client = ImpotParticulierClient(
        http, base_url=BASE, tokens=tokens, id_teleservice=None, timeout=httpx.Timeout(1.5)
    )
    await client.derniere_situation_deux_ans(SPI)
    assert route.calls.last.request.extensions["timeout"]["read"] == 1.5
