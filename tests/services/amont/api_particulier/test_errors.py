"""Every error class of the v3 catalogue, as answered on the wire, becomes the right exception."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Any

import httpx
import pytest
import respx
from pydantic import SecretStr

from app.errors import (
    UpstreamError,
    UpstreamMisconfigured,
    UpstreamPersonNotFound,
    UpstreamRateLimited,
    UpstreamRejectedInput,
    UpstreamTimeout,
    UpstreamUnavailable,
)
from app.schemas.demandeur import Demandeur
from app.services.amont.api_particulier import AccesApiParticulier, ApiParticulierClient
from app.services.amont.api_particulier.errors import erreur_depuis_reponse, retry_after

from .conftest import BASE_URL, SIRET_CCAS, fixture

QF_PATH = "/v3/dss/quotient_familial/identite"


def body(code: str, *, parameter: str | None = None, **meta: Any) -> dict[str, Any]:
    error: dict[str, Any] = {"code": code, "title": "t", "detail": "d", "meta": meta}
    if parameter:
        error["source"] = {"parameter": parameter}
    return {"errors": [error]}


CASES = [
    # status, body, extra headers, class, upstream code, retry_after, words of the French detail
    (
        401,
        fixture("v3_error_401_00101_invalid_token.json"),
        {},
        UpstreamMisconfigured,
        "00101",
        None,
        "invalide",
    ),
    (
        401,
        fixture("v3_error_401_00103_expired_token.json"),
        {},
        UpstreamMisconfigured,
        "00103",
        None,
        "expiré",
    ),
    (401, body("00105"), {}, UpstreamMisconfigured, "00105", None, "liste noire"),
    (
        403,
        fixture("v3_error_403_00100_insufficient_scopes.json"),
        {},
        UpstreamMisconfigured,
        "00100",
        None,
        "habilitation",
    ),
    (403, body("00107"), {}, UpstreamMisconfigured, "00107", None, "adresse IP"),
    (
        404,
        fixture("v3_error_404_qf_23003_absent_cnaf.json"),
        {},
        UpstreamPersonNotFound,
        "23003",
        None,
        "auprès de la CNAF",
    ),
    (
        404,
        fixture("v3_error_404_qf_10003_absent_msa.json"),
        {},
        UpstreamPersonNotFound,
        "10003",
        None,
        "auprès de la MSA",
    ),
    (404, body("40003", provider="RNCPS"), {}, UpstreamPersonNotFound, "40003", None, "RNCPS"),
    (
        404,
        fixture("v3_error_404_qf_35003_non_reference.json"),
        {},
        UpstreamPersonNotFound,
        "35003",
        None,
        "dossier allocataire",
    ),
    (404, fixture("v3_qf_404_staging_mock_37003.json"), {}, UpstreamPersonNotFound, "37003", None, "CNAV"),
    (
        404,
        fixture("v3_error_404_00402_unsupported_version.json"),
        {},
        UpstreamMisconfigured,
        "00402",
        None,
        "version",
    ),
    (409, fixture("v3_error_409_00015_conflict.json"), {}, UpstreamUnavailable, "00015", 10, "déjà en cours"),
    (
        409,
        fixture("v3_error_409_00015_conflict.json"),
        {"Retry-After": "3"},
        UpstreamUnavailable,
        "00015",
        3,
        "déjà en cours",
    ),
    (
        422,
        fixture("v3_error_422_00355_allocataire_non_identifie.json"),
        {},
        UpstreamPersonNotFound,
        "00355",
        None,
        "n'a pas pu être rapprochée",
    ),
    (
        422,
        fixture("v3_error_422_00210_invalid_recipient.json"),
        {},
        UpstreamRejectedInput,
        "00210",
        None,
        "le paramètre : recipient",
    ),
    (
        422,
        fixture("v3_error_422_00366_civilite_rejetee_par_fournisseur.json"),
        {},
        UpstreamRejectedInput,
        "00366",
        None,
        "paramètres de civilité",
    ),
    (
        422,
        fixture("v3_error_422_multiple_params.json"),
        {},
        UpstreamRejectedInput,
        "00356",
        None,
        "les paramètres : annee, sexe, lieu de naissance",
    ),
    (
        429,
        fixture("v3_error_429_00429_too_many_requests.json"),
        {"Retry-After": "1", "RateLimit-Limit": "20", "RateLimit-Remaining": "0"},
        UpstreamRateLimited,
        "00429",
        1,
        "quota",
    ),
    (
        429,
        {"errors": ["Vous avez effectué trop de requêtes"]},
        {"Retry-After": "7"},
        UpstreamRateLimited,
        None,
        7,
        "quota",
    ),
    (
        502,
        fixture("v3_error_502_35999_provider_unknown.json"),
        {},
        UpstreamUnavailable,
        "35999",
        None,
        "réponse inconnue",
    ),
    (502, body("37000"), {}, UpstreamUnavailable, "37000", None, "erreur interne"),
    (
        502,
        fixture("v3_error_502_35001_provider_unavailable.json"),
        {},
        UpstreamUnavailable,
        "35001",
        None,
        "temporairement indisponible",
    ),
    (502, body("35008"), {}, UpstreamUnavailable, "35008", None, "limite le nombre"),
    (502, body("35004"), {}, UpstreamUnavailable, "35004", None, "DNS"),
    (502, fixture("v3_error_502_00501_network.json"), {}, UpstreamUnavailable, "00501", 10, "réseau"),
    (
        503,
        fixture("v3_error_503_35020_maintenance.json"),
        {},
        UpstreamUnavailable,
        "35020",
        1800,
        "maintenance",
    ),
    (504, fixture("v3_error_504_35002_timeout.json"), {}, UpstreamTimeout, "35002", None, "à temps"),
    (500, body("00500"), {}, UpstreamUnavailable, "00500", None, "erreur"),
    (410, None, {}, UpstreamMisconfigured, None, None, "n'existe plus"),
    (404, None, {}, UpstreamMisconfigured, None, None, "URL"),
    (418, None, {}, UpstreamError, None, None, "HTTP 418"),
]


@pytest.fixture
def upstream() -> Iterator[respx.MockRouter]:
    with respx.mock(base_url=BASE_URL, assert_all_called=True) as router:
        yield router


@pytest.mark.parametrize(
    ("status", "payload", "headers", "kind", "code", "wait", "words"),
    CASES,
    ids=[f"{c[0]}-{c[4] or 'sans-corps'}" for c in CASES],
)
async def test_error_class_is_mapped(
    *,
    upstream: respx.MockRouter,
    client: ApiParticulierClient,
    demandeur: Demandeur,
    acces: AccesApiParticulier,
    status: int,
    payload: Any,
    headers: dict[str, str],
    kind: type[UpstreamError],
    code: str | None,
    wait: int | None,
    words: str,
) -> None:
    response = (
        httpx.Response(status, json=payload, headers={"X-Request-ID": "rid-42", **headers})
        if payload is not None
        else httpx.Response(status, text="Not Found", headers={"X-Request-ID": "rid-42", **headers})
    )
    route = upstream.get(QF_PATH).mock(return_value=response)

    with pytest.raises(UpstreamError) as caught:
        await client.quotient_familial(demandeur, acces)

    error = caught.value
    assert type(error) is kind
    assert error.upstream_code == code
    assert error.request_id == "rid-42"
    assert error.retry_after == wait
    assert error.fournisseur == "API Particulier"
    assert words in error.detail
    assert route.call_count == 1
    # never the identity nor the URL with its query string
    for secret in ("LEFEBVRE", "ALEXIS", "1982", "08480", "recipient=", BASE_URL):
        assert secret not in error.detail


@pytest.mark.parametrize(
    ("code", "words"),
    [("50001", "mal formé"), ("50002", "introuvable ou expiré"), ("50003", "identité pivot")],
)
async def test_france_connect_token_errors(
    upstream: respx.MockRouter, client: ApiParticulierClient, code: str, words: str
) -> None:
    payload = fixture("v3_fc_error_401_50002_fc_token_invalid.json") if code == "50002" else body(code)
    upstream.get("/v3/dss/quotient_familial/france_connect").respond(401, json=payload)

    with pytest.raises(UpstreamMisconfigured) as caught:
        await client.quotient_familial_france_connect(SecretStr("fc"), recipient=SIRET_CCAS)
    assert caught.value.upstream_code == code
    assert words in caught.value.detail


def test_rejected_parameter_name_is_never_a_value() -> None:
    """`source.parameter` is echoed only when it looks like a parameter name."""
    response = httpx.Response(422, json=body("00420", parameter="LEFEBVRE 1982-12-27"))
    error = erreur_depuis_reponse(response)
    assert isinstance(error, UpstreamRejectedInput)
    assert "1982" not in error.detail
    assert "nom de naissance" in error.detail


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"Retry-After": "12"}, 12),
        ({"Retry-After": format_datetime(datetime.fromtimestamp(1_000_030, UTC), usegmt=True)}, 30),
        ({"Retry-After": "later"}, None),
        ({"RateLimit-Reset": "1000005"}, 5),
        ({"RateLimit-Reset": "999999"}, None),
        ({}, None),
    ],
)
def test_retry_after(headers: dict[str, str], expected: int | None) -> None:
    assert retry_after(httpx.Response(429, headers=headers), now=lambda: 1_000_000.0) == expected


def test_rate_limited_without_any_hint_waits_one_second() -> None:
    error = erreur_depuis_reponse(httpx.Response(429, text="Too Many Requests"), now=lambda: 0.0)
    assert isinstance(error, UpstreamRateLimited)
    assert error.retry_after == 1
