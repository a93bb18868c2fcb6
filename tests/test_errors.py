"""The exception tree rendered as problem+json, and unknown errors as a logged 500."""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI

from app.errors import (
    PROBLEM_CONTENT_TYPE,
    AuthenticationRequired,
    FieldError,
    GatewayError,
    InvalidInput,
    JournalUnavailable,
    UpstreamRateLimited,
    codes_stables,
    register_problem_handlers,
)


def app_raising(error: Exception) -> FastAPI:
    app = FastAPI()
    register_problem_handlers(app)

    @app.get("/boom")
    async def boom() -> None:
        raise error

    return app


async def call(app: FastAPI) -> httpx.Response:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        return await client.get("/boom")


@pytest.mark.parametrize(
    ("error", "status", "code"),
    [
        (InvalidInput.for_fields([FieldError("demandeur.sexe", "M ou F")]), 422, "donnees-invalides"),
        (JournalUnavailable("Le journal d'audit est indisponible."), 503, "journal-indisponible"),
        (
            UpstreamRateLimited("Quota atteint.", fournisseur="API Particulier", retry_after=7),
            503,
            "quota-fournisseur-atteint",
        ),
    ],
)
async def test_every_error_is_a_problem(error: GatewayError, status: int, code: str) -> None:
    response = await call(app_raising(error))

    assert response.status_code == status
    assert response.headers["content-type"] == PROBLEM_CONTENT_TYPE
    body = response.json()
    assert body["type"] == f"urn:eligibility-gateway:probleme:{code}"
    assert body["code"] == code
    assert body["status"] == status
    assert body["detail"] == error.detail


async def test_retry_after_is_sent() -> None:
    response = await call(app_raising(UpstreamRateLimited("Quota.", fournisseur="x", retry_after=7)))

    assert response.headers["retry-after"] == "7"


async def test_an_unexpected_exception_is_a_500_problem_without_its_message() -> None:
    response = await call(app_raising(RuntimeError("secret interne LEFEBVRE")))

    assert response.status_code == 500
    assert response.headers["content-type"] == PROBLEM_CONTENT_TYPE
    assert response.json()["code"] == "erreur-interne"
    assert "LEFEBVRE" not in response.text


def test_several_field_errors_are_summarised_in_french() -> None:
    error = InvalidInput.for_fields([FieldError("a", "obligatoire"), FieldError("b", "trop long")])

    assert error.detail == "2 champs sont invalides : a : obligatoire ; b : trop long"
    assert error.extra["erreurs"] == [
        {"champ": "a", "message": "obligatoire"},
        {"champ": "b", "message": "trop long"},
    ]


# --- HTTP-level errors, as an integrator meets them (issue 15) -----------------------------------


def app_with_routes() -> FastAPI:
    app = FastAPI()
    register_problem_handlers(app)

    @app.post("/objets")
    async def creer(corps: dict[str, int]) -> dict[str, int]:
        return corps

    @app.get("/objets")
    async def lister() -> list[int]:
        return []

    @app.get("/prive")
    async def prive() -> None:
        raise AuthenticationRequired("Une clé d'API est requise.")

    return app


async def send(app: FastAPI, method: str, path: str, **kwargs: object) -> httpx.Response:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        return await client.request(method, path, **kwargs)  # type: ignore[arg-type]


async def test_a_401_names_the_bearer_scheme() -> None:
    response = await send(app_with_routes(), "GET", "/prive")

    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")


async def test_a_405_says_which_methods_are_allowed() -> None:
    response = await send(app_with_routes(), "DELETE", "/objets")

    assert response.status_code == 405
    assert response.headers["allow"] == "GET, HEAD, POST"
    assert response.json()["code"] == "methode-non-autorisee"


@pytest.mark.parametrize("content_type", [None, "application/x-www-form-urlencoded", "text/plain"])
async def test_a_body_that_is_not_declared_json_is_a_415(content_type: str | None) -> None:
    headers = {"content-type": content_type} if content_type else {}
    response = await send(app_with_routes(), "POST", "/objets", content=b'{"a": 1}', headers=headers)

    assert response.status_code == 415
    assert response.headers["content-type"] == PROBLEM_CONTENT_TYPE
    assert response.json()["code"] == "type-de-contenu-non-supporte"
    assert "Content-Type: application/json" in response.json()["detail"]


async def test_a_json_body_is_accepted_with_its_charset() -> None:
    response = await send(
        app_with_routes(),
        "POST",
        "/objets",
        content=b'{"a": 1}',
        headers={"content-type": "application/json; charset=utf-8"},
    )

    assert response.status_code == 200


async def test_a_json_syntax_error_names_its_line_and_column() -> None:
    corps = b'{\n  "a": 1,\n  "b": 2,,\n}'
    response = await send(
        app_with_routes(), "POST", "/objets", content=corps, headers={"content-type": "application/json"}
    )

    assert response.status_code == 422
    assert response.json()["erreurs"] == [{"champ": "corps", "message": "JSON invalide ligne 3, colonne 10"}]


def test_the_stable_codes_are_the_whole_tree_once_each() -> None:
    import app.main  # noqa: F401, PLC0415 - services define some classes (LimiteurIndisponible)

    codes = codes_stables()

    assert len({c.code for c in codes}) == len(codes)
    assert {(c.code, c.status) for c in codes} >= {
        ("erreur-interne", 500),
        ("methode-non-autorisee", 405),
        ("type-de-contenu-non-supporte", 415),
        ("limiteur-indisponible", 503),
        ("personne-introuvable", 404),
        ("cle-idempotence-reutilisee", 422),
        ("requete-idempotente-en-cours", 409),
    }
