"""Issue 13, point 8: on PostgreSQL, `GET /v1/journal?au=9999-12-31` answered 500; `du=0001-01-01`,
extreme cursors and NUL bytes in filters a false 503 `journal-indisponible` (the database refused
the value, read as an outage). Each is now a 422 naming the parameter, before any query."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import gateway_settings, open_gateway
from tests.robustesse.conftest import AUTH


@pytest.fixture
async def sur_postgres(tmp_path: Path, base_postgres: str) -> AsyncIterator[httpx.AsyncClient]:
    async with open_gateway(gateway_settings(tmp_path, database_url=base_postgres)) as client:
        yield client


def _curseur(horodatage: str, identifiant: str = "0" * 32) -> str:
    return base64.urlsafe_b64encode(f"{horodatage}|{identifiant}".encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    ("parametres", "champ"),
    [
        ({"au": "9999-12-31"}, "au"),
        ({"du": "0001-01-01"}, "du"),
        ({"du": "0001-01-01", "au": "9999-12-31"}, "du"),
        ({"dossier_ref": "D\x00X"}, "dossier_ref"),
        ({"dossier_ref": "D-0001\n"}, "dossier_ref"),
        ({"agent_id": "\x00"}, "agent_id"),
        ({"curseur": _curseur("0001-01-01T00:00:00+05:00")}, "curseur"),
        ({"curseur": _curseur("9999-12-31T23:59:59-05:00")}, "curseur"),
        ({"curseur": _curseur("9999-12-31T23:59:59+00:00")}, "curseur"),
        ({"curseur": _curseur("2026-01-01T00:00:00+00:00", "\x00" * 32)}, "curseur"),
        ({"curseur": "A" * 200}, "curseur"),
    ],
)
async def test_extreme_filters_are_a_422_not_a_500_nor_a_false_503(
    sur_postgres: httpx.AsyncClient, parametres: dict[str, str], champ: str
) -> None:
    response = await sur_postgres.get("/v1/journal", params=parametres, headers=AUTH)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["erreurs"][0]["champ"] == champ


async def test_the_widest_accepted_period_still_reads_the_journal(sur_postgres: httpx.AsyncClient) -> None:
    response = await sur_postgres.get(
        "/v1/journal", params={"du": "1900-01-01", "au": "2999-12-31"}, headers=AUTH
    )
    assert response.status_code == 200, response.text
