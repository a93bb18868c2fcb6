"""Issue 13, point 7 and point 8 (slowloris): uvicorn read a request's head with no deadline and
no bound on headers (a slowloris connection stayed open 30 s and more; 500 headers and a 200 kB
header were served). The server the CLI runs (app/serving.py) on a real loopback socket."""

from __future__ import annotations

import asyncio
import json
import pickle
import time
from collections.abc import AsyncIterator

import pytest
import uvicorn
from starlette.types import Receive, Scope, Send

from app.serving import HttpLimits, uvicorn_config


async def _ok(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["type"] == "lifespan":
        while (await receive())["type"] != "lifespan.shutdown":
            pass
        await send({"type": "lifespan.shutdown.complete"})
        return
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"2")]})
    await send({"type": "http.response.body", "body": b"ok"})


LIMITES = HttpLimits(header_timeout_seconds=0.5, max_headers=20, max_header_bytes=4096, keep_alive_seconds=5)


@pytest.fixture
async def port() -> AsyncIterator[int]:
    config = uvicorn_config(_ok, factory=False, host="127.0.0.1", port=0, workers=1, limits=LIMITES)
    config.lifespan = "off"
    server = uvicorn.Server(config)
    tache = asyncio.create_task(server.serve())
    while not server.started:  # noqa: ASYNC110 - uvicorn offers a flag, not an event
        await asyncio.sleep(0.01)
    yield server.servers[0].sockets[0].getsockname()[1]
    server.should_exit = True
    await asyncio.wait_for(tache, 10)


async def _echange(port: int, donnees: bytes, attente: float = 5.0) -> bytes:
    lecteur, ecrivain = await asyncio.open_connection("127.0.0.1", port)
    ecrivain.write(donnees)
    await ecrivain.drain()
    try:
        return await asyncio.wait_for(lecteur.read(65536), attente)
    finally:
        ecrivain.close()


async def test_a_normal_request_is_served(port: int) -> None:
    assert (await _echange(port, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")).startswith(b"HTTP/1.1 200")


async def test_too_many_headers_is_a_french_431(port: int) -> None:
    entetes = b"".join(b"X-%d: v\r\n" % i for i in range(21))
    reponse = await _echange(port, b"GET / HTTP/1.1\r\nHost: x\r\n" + entetes + b"\r\n")
    assert reponse.startswith(b"HTTP/1.1 431")
    corps = json.loads(reponse.split(b"\r\n\r\n", 1)[1])
    assert corps["code"] == "en-tetes-trop-volumineux"


async def test_a_header_too_large_is_a_431(port: int) -> None:
    reponse = await _echange(port, b"GET / HTTP/1.1\r\nHost: x\r\nX-Grand: " + b"v" * 5000 + b"\r\n\r\n")
    assert reponse.startswith(b"HTTP/1.1 431")


async def test_an_invalid_request_is_a_french_400(port: int) -> None:
    reponse = await _echange(port, b"\x00\x01 nimporte quoi\r\n\r\n")
    assert reponse.startswith(b"HTTP/1.1 400")
    assert b"application/problem+json" in reponse
    assert b"Invalid HTTP request" not in reponse


async def test_a_slowloris_connection_is_closed_after_the_header_timeout(port: int) -> None:
    lecteur, ecrivain = await asyncio.open_connection("127.0.0.1", port)
    debut = time.monotonic()
    ecrivain.write(b"GET / HTTP/1.1\r\nHost: x\r\n")
    reponse = b""
    try:
        for _ in range(50):  # one byte every 0.1 s: never a complete head
            ecrivain.write(b"X")
            await ecrivain.drain()
            try:
                reponse = await asyncio.wait_for(lecteur.read(1024), 0.1)
            except TimeoutError:
                continue
            break
    except ConnectionError:
        pass
    finally:
        ecrivain.close()
    assert reponse.startswith(b"HTTP/1.1 408")
    assert time.monotonic() - debut < 3


async def test_a_silent_connection_is_closed_too(port: int) -> None:
    lecteur, ecrivain = await asyncio.open_connection("127.0.0.1", port)
    try:
        assert (await asyncio.wait_for(lecteur.read(1024), 5)).startswith(b"HTTP/1.1 408")
        assert await asyncio.wait_for(lecteur.read(1024), 5) == b""
    finally:
        ecrivain.close()


async def test_the_next_request_on_a_kept_alive_connection_is_timed_too(port: int) -> None:
    lecteur, ecrivain = await asyncio.open_connection("127.0.0.1", port)
    try:
        ecrivain.write(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        assert (await asyncio.wait_for(lecteur.read(1024), 5)).startswith(b"HTTP/1.1 200")
        ecrivain.write(b"GET / HTTP/1.1\r\n")  # then nothing
        assert (await asyncio.wait_for(lecteur.read(1024), 5)).startswith(b"HTTP/1.1 408")
    finally:
        ecrivain.close()


def test_the_config_pickles_for_spawned_workers() -> None:
    # Several workers: uvicorn pickles the config to each; the protocol class is built in `load`.
    config = uvicorn_config(
        "app.main:create_app", factory=True, host="127.0.0.1", port=0, workers=2, limits=LIMITES
    )
    copie = pickle.loads(pickle.dumps(config))  # noqa: S301 - our own object
    assert copie.limits == LIMITES
