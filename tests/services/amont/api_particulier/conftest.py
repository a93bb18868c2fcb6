"""Shared pieces of the API Particulier client tests: a fixed clock, an organisme, an applicant."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from app.schemas.demandeur import Demandeur
from app.services.amont.api_particulier import AccesApiParticulier, ApiParticulierClient

FIXTURES = Path(__file__).parent / "fixtures"
BASE_URL = "https://particulier.test"
TODAY = date(2026, 11, 26)
NOW = datetime(2026, 11, 26, 14, 0, tzinfo=UTC)
SIRET_CCAS = "13002526500013"
TOKEN = "jeton-de-test"


def fixture(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


def make_demandeur(**overrides: Any) -> Demandeur:
    fields: dict[str, Any] = {
        "nom_naissance": "LEFEBVRE",
        "prenoms": ["ALEXIS", "GÉRÔME", "JEAN-PHILIPPE"],
        "sexe": "F",
        "date_naissance": "1982-12-27",
        "code_cog_insee_commune_naissance": "08480",
        "code_cog_insee_pays_naissance": "99100",
    }
    fields.update(overrides)
    return Demandeur.model_validate(fields)


@pytest.fixture
def acces() -> AccesApiParticulier:
    return AccesApiParticulier(token=SecretStr(TOKEN), recipient=SIRET_CCAS)


@pytest.fixture
def demandeur() -> Demandeur:
    return make_demandeur()


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as client:
        yield client


@pytest.fixture
def make_client(http: httpx.AsyncClient) -> Callable[..., ApiParticulierClient]:
    def build(**kwargs: Any) -> ApiParticulierClient:
        kwargs.setdefault("today", lambda: TODAY)
        kwargs.setdefault("clock", lambda: NOW)
        return ApiParticulierClient(http, base_url=BASE_URL, **kwargs)

    return build


@pytest.fixture
def client(make_client: Callable[..., ApiParticulierClient]) -> ApiParticulierClient:
    return make_client()
