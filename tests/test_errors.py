"""The exception tree rendered as problem+json, and unknown errors as a logged 500."""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI

from app.errors import (
    PROBLEM_CONTENT_TYPE,
    FieldError,
    GatewayError,
    InvalidInput,
    JournalUnavailable,
    UpstreamRateLimited,
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
