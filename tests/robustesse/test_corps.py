"""Issue 13, point 7 and the 400s of point 8: no body limit even before authentication (8 × 100 MB
without a key took a worker to 1 GB RSS); invalid UTF-8, 1 000-level nesting and malformed JSON
answered an English 400. Bodies are bounded while they stream (413), idle bodies answered 408,
every 400 is French problem+json."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import gateway_settings, open_gateway
from tests.robustesse.conftest import AUTH


async def _morceaux(total: int, taille: int = 16 * 1024) -> AsyncIterator[bytes]:
    envoye = 0
    while envoye < total:
        yield b"x" * taille
        envoye += taille


@pytest.mark.parametrize("chemin", ["/v1/eligibilite", "/v1/donnees/quotient-familial", "/v1/nulle-part"])
async def test_a_body_over_64_kb_is_a_413_before_authentication(
    passerelle: httpx.AsyncClient, chemin: str
) -> None:
    response = await passerelle.post(chemin, content=b"x" * (64 * 1024 + 1))
    assert response.status_code == 413
    assert response.headers["content-type"] == "application/problem+json"
    probleme = response.json()
    assert probleme["code"] == "corps-trop-volumineux"
    assert probleme["limite_octets"] == 64 * 1024
    assert "octets" in probleme["detail"]


async def test_a_streamed_body_without_length_is_cut_at_the_limit(passerelle: httpx.AsyncClient) -> None:
    # Chunked: no Content-Length to refuse up front; the count stops the reading.
    lus = 0

    async def corps() -> AsyncIterator[bytes]:
        nonlocal lus
        async for morceau in _morceaux(50 * 1024 * 1024):
            lus += len(morceau)
            yield morceau

    response = await passerelle.post("/v1/eligibilite", content=corps(), headers=AUTH)
    assert response.status_code == 413
    assert response.json()["code"] == "corps-trop-volumineux"


async def test_simulations_accept_512_kb_and_refuse_beyond(passerelle: httpx.AsyncClient) -> None:
    # A 300 kB body passes the body limit (it is then refused by the règlement's own cap).
    moyen = await passerelle.post(
        "/v1/simulations", json={"faits": {}, "reglement": "#" * 300_000}, headers=AUTH
    )
    assert moyen.status_code == 422
    grand = await passerelle.post("/v1/simulations", content=b"{" + b" " * 600_000 + b"}", headers=AUTH)
    assert grand.status_code == 413
    assert grand.json()["limite_octets"] == 512 * 1024


async def test_the_limits_are_settings(tmp_path: Path) -> None:
    settings = gateway_settings(tmp_path, request_body_max_bytes=2048, simulations_body_max_bytes=4096)
    async with open_gateway(settings) as client:
        assert (await client.post("/v1/eligibilite", content=b"x" * 2049)).status_code == 413
        assert (await client.post("/v1/eligibilite", content=b"x" * 2048)).status_code == 401
        assert (await client.post("/v1/simulations", content=b"x" * 4097, headers=AUTH)).status_code == 413


async def test_a_body_that_stops_coming_is_a_408(tmp_path: Path) -> None:
    settings = gateway_settings(tmp_path, http_body_idle_timeout_seconds=0.2)

    async def lent() -> AsyncIterator[bytes]:
        yield b'{"faits": '
        await asyncio.sleep(2)
        yield b"{}}"

    async with open_gateway(settings) as client:
        response = await asyncio.wait_for(client.post("/v1/simulations", content=lent(), headers=AUTH), 30)
    assert response.status_code == 408
    assert response.json()["code"] == "requete-trop-lente"


@pytest.mark.parametrize(
    "corps",
    [b'{"faits": {"\xff\xfe": 1}}', b"[" * 1000 + b"]" * 1000, b'{"faits": {"a": ' * 1000, b"\xef\xbb\xbf{}"],
    ids=["utf8-invalide", "imbrication-1000", "imbrication-ouverte", "bom"],
)
async def test_every_400_is_french_problem_json(passerelle: httpx.AsyncClient, corps: bytes) -> None:
    response = await passerelle.post(
        "/v1/simulations", content=corps, headers={**AUTH, "Content-Type": "application/json"}
    )
    assert 400 <= response.status_code < 500
    assert response.headers["content-type"] == "application/problem+json"
    assert "There was an error" not in response.text
    if response.status_code == 400:
        assert response.json()["code"] == "requete-illisible"
        assert "illisible" in response.json()["detail"]


async def test_malformed_json_names_the_body_not_a_character_offset(passerelle: httpx.AsyncClient) -> None:
    response = await passerelle.post(
        "/v1/simulations", content=b'{"faits": ', headers={**AUTH, "Content-Type": "application/json"}
    )
    assert response.status_code == 422
    assert response.json()["erreurs"][0]["champ"] == "corps"


async def test_a_refused_body_is_traced_like_any_answer(passerelle: httpx.AsyncClient) -> None:
    response = await passerelle.post(
        "/v1/eligibilite", content=b"x" * 70_000, headers={"X-Request-ID": "trace-413"}
    )
    assert response.status_code == 413
    assert response.headers["x-request-id"] == "trace-413"
