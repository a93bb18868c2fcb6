"""Running the ASGI server, and the limits that bound what one connection or one request can cost.

With several workers, uvicorn binds the shared socket in its supervisor with
`socket.socket(family)`, whose `proto` is 0. asyncio only disables Nagle's algorithm
(TCP_NODELAY) on accepted sockets whose `proto` is IPPROTO_TCP, so every response that uvicorn
writes in two parts (headers, then body) waited for the client's delayed ACK: a flat ~44 ms per
request and ~730 req/s for an empty endpoint, measured with wrk on loopback (7 870 req/s, 6 ms
once fixed). Re-wrapping the same descriptor with its TCP protocol number restores TCP_NODELAY.

Limits (issue 13; README, « Robustesse »): uvicorn reads a request's head without any deadline
and without a bound on the headers' count or size (a slowloris connection stayed open forever; a
200 kB header was accepted), so the HTTP protocol below closes a connection whose head does not
arrive in time and answers 431 to too many or too large headers. `BodyLimitMiddleware` (pure
ASGI, before authentication) stops reading a body past its limit (413) or idle too long (408).
"""

from __future__ import annotations

import asyncio
import json
import socket
from dataclasses import dataclass
from typing import Any

import httptools
import uvicorn
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn.supervisors import Multiprocess

from app.config import Settings
from app.errors import (
    PROBLEM_CONTENT_TYPE,
    PROBLEM_TYPE_PREFIX,
    HeadersTooLarge,
    PayloadTooLarge,
    RequestTooSlow,
    UnreadableRequest,
)


@dataclass(frozen=True, slots=True)
class HttpLimits:
    """What one connection may cost before a request reaches the app (settings `HTTP_*`)."""

    #: Seconds for a request's whole head (request line and headers) from the connection or the
    #: previous response: a slowloris connection is closed after it.
    header_timeout_seconds: float = 10.0
    max_headers: int = 100
    #: Request line and headers together.
    max_header_bytes: int = 16_384
    #: An idle keep-alive connection is closed after this.
    keep_alive_seconds: float = 5.0


def _problem(status: int, raison: bytes, code: str, title: str, detail: str) -> bytes:
    corps = json.dumps(
        {
            "type": PROBLEM_TYPE_PREFIX + code,
            "title": title,
            "status": status,
            "detail": detail,
            "code": code,
        },
        ensure_ascii=False,
    ).encode()
    return (
        b"HTTP/1.1 %d %s\r\ncontent-type: %s\r\ncontent-length: %d\r\nconnection: close\r\n\r\n"
        % (status, raison, PROBLEM_CONTENT_TYPE.encode(), len(corps))
    ) + corps


_ENTETES_TROP_GRANDES = _problem(
    431,
    b"Request Header Fields Too Large",
    HeadersTooLarge.code,
    HeadersTooLarge.title,
    "La requête porte trop d'en-têtes, ou des en-têtes trop longs.",
)
_REQUETE_HTTP_INVALIDE = _problem(
    400, b"Bad Request", UnreadableRequest.code, UnreadableRequest.title, "La requête HTTP est mal formée."
)
_ENTETES_TROP_LENTES = _problem(
    408,
    b"Request Timeout",
    RequestTooSlow.code,
    RequestTooSlow.title,
    "Les en-têtes de la requête ne sont pas arrivés à temps.",
)


class _HeadRefused(Exception):
    """Raised from a parser callback to stop parsing; httptools re-raises it from feed_data."""


class BoundedHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with a deadline, a count and a size for each request's head.

    Subclassed per server by `protocol_class` (the limits are class attributes: uvicorn builds
    the protocol itself). Hooks into uvicorn 0.54's callbacks (`on_message_begin`, `on_url`,
    `on_header`, `on_headers_complete`, `on_response_complete`); tests/test_serving.py runs it
    on a real socket, so an upgrade that changes them fails there.
    """

    limits: HttpLimits = HttpLimits()

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._head_bytes = 0
        self._head_count = 0
        self._head_timer: asyncio.TimerHandle | None = None
        self._arm_head_timer()

    def _arm_head_timer(self) -> None:
        if self._head_timer is None:
            self._head_timer = self.loop.call_later(self.limits.header_timeout_seconds, self._head_too_slow)

    def _disarm_head_timer(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _head_too_slow(self) -> None:
        self._head_timer = None
        if not self.transport.is_closing():
            self.transport.write(_ENTETES_TROP_LENTES)
            self.transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm_head_timer()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        self._unset_keepalive_if_required()
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            if self._should_upgrade():
                self.handle_websocket_upgrade()
            else:
                self._unsupported_upgrade_warning()
        except (httptools.HttpParserError, _HeadRefused) as exc:
            # uvicorn answers an English text/plain 400 here; ours is French problem+json.
            refused = isinstance(exc, _HeadRefused) or isinstance(exc.__context__, _HeadRefused)
            self._disarm_head_timer()
            if not self.transport.is_closing():
                self.transport.write(_ENTETES_TROP_GRANDES if refused else _REQUETE_HTTP_INVALIDE)
                self.transport.close()

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._head_bytes = 0
        self._head_count = 0
        self._arm_head_timer()

    def _count(self, size: int) -> None:
        self._head_bytes += size
        if self._head_bytes > self.limits.max_header_bytes:
            raise _HeadRefused

    def on_url(self, url: bytes) -> None:
        self._count(len(url))
        super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        self._head_count += 1
        if self._head_count > self.limits.max_headers:
            raise _HeadRefused
        self._count(len(name) + len(value) + 4)
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        self._disarm_head_timer()
        super().on_headers_complete()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        # The next request's head is timed from the end of this response, idle or not.
        if not self.transport.is_closing():
            self._arm_head_timer()


def protocol_class(limits: HttpLimits) -> type[BoundedHttpToolsProtocol]:
    return type("BoundedHttpToolsProtocolConfigured", (BoundedHttpToolsProtocol,), {"limits": limits})


class _TcpConfig(uvicorn.Config):
    #: Set after construction; plain data, so that the config pickles to spawned workers.
    limits: HttpLimits = HttpLimits()

    def load(self) -> None:
        # Each process (worker) builds its protocol class here, never pickled.
        super().load()
        self.http_protocol_class = protocol_class(self.limits)

    def bind_socket(self) -> socket.socket:
        sock = super().bind_socket()
        if sock.family in (socket.AF_INET, socket.AF_INET6) and sock.proto == 0:
            return socket.socket(sock.family, socket.SOCK_STREAM, socket.IPPROTO_TCP, fileno=sock.detach())
        return sock


def uvicorn_config(
    app: str | ASGIApp,
    *,
    factory: bool,
    host: str,
    port: int,
    workers: int,
    log_level: str | None = None,
    limits: HttpLimits | None = None,
) -> uvicorn.Config:
    """The server's configuration, HTTP limits included (one place for every way of serving)."""
    limits = limits or HttpLimits()
    config = _TcpConfig(
        app,
        factory=factory,
        host=host,
        port=port,
        workers=workers,
        access_log=False,
        proxy_headers=True,
        log_level=log_level,
        http="httptools",  # replaced by the bounded protocol in `_TcpConfig.load`
        timeout_keep_alive=max(1, round(limits.keep_alive_seconds)),
    )
    config.limits = limits
    return config


def http_limits(settings: Settings) -> HttpLimits:
    return HttpLimits(
        header_timeout_seconds=settings.http_header_timeout_seconds,
        max_headers=settings.http_max_headers,
        max_header_bytes=settings.http_max_header_bytes,
        keep_alive_seconds=settings.http_keep_alive_seconds,
    )


def serve_workers(
    app: str | ASGIApp,
    *,
    factory: bool,
    host: str,
    port: int,
    workers: int,
    log_level: str | None = None,
    limits: HttpLimits | None = None,
) -> None:
    """Serve `app` (an import string when `workers` > 1: each builds its own app)."""
    config = uvicorn_config(
        app, factory=factory, host=host, port=port, workers=workers, log_level=log_level, limits=limits
    )
    if workers == 1:
        # One process binds its own sockets through asyncio, which sets TCP_NODELAY itself.
        uvicorn.Server(config).run()
        return
    Multiprocess(config, sockets=[config.bind_socket()]).run()


# --- request bodies ------------------------------------------------------------------------------


class BodyLimitMiddleware:
    """Pure ASGI, outermost: a request body longer than its path's limit is answered 413 without
    being read any further (before authentication, before any JSON parsing), and a body whose
    next chunk does not come within `idle_timeout_seconds` is answered 408.

    Measured before (issue 13): 8 bodies of 100 MB without a key took a worker to 1 GB RSS.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        max_bytes: int,
        max_bytes_by_path: dict[str, int] | None = None,
        idle_timeout_seconds: float = 10.0,
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.max_bytes_by_path = dict(max_bytes_by_path or {})
        self.idle_timeout_seconds = idle_timeout_seconds

    def limit_for(self, path: str) -> int:
        return self.max_bytes_by_path.get(path.rstrip("/") or "/", self.max_bytes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope.get("path", ""))
        declared = _content_length(scope)
        if declared is not None and declared > limit:
            await _reject(send, 413, _trop_volumineux(limit))
            return
        state: dict[str, Any] = {"received": 0, "answered": False, "started": False}

        async def bounded_receive() -> Message:
            if state["answered"]:
                return {"type": "http.disconnect"}
            try:
                # A timeout scope, not `wait_for`: no task created per chunk.
                async with asyncio.timeout(self.idle_timeout_seconds):
                    message = await receive()
            except TimeoutError:
                await answer(408, _trop_lent())
                return {"type": "http.disconnect"}
            if message["type"] == "http.request":
                state["received"] += len(message.get("body", b""))
                if state["received"] > limit:
                    await answer(413, _trop_volumineux(limit))
                    return {"type": "http.disconnect"}
            return message

        async def answer(status: int, body: dict[str, Any]) -> None:
            state["answered"] = True
            if not state["started"]:
                await _reject(send, status, body)

        async def guarded_send(message: Message) -> None:
            if state["answered"]:
                return  # the app's answer to the disconnect we gave it: ours already went out
            if message["type"] == "http.response.start":
                state["started"] = True
            await send(message)

        await self.app(scope, bounded_receive, guarded_send)


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers") or ():
        if name == b"content-length":
            try:
                return int(value) if value.isdigit() and len(value) < 20 else None
            except ValueError:  # pragma: no cover - digits only
                return None
    return None


def _trop_volumineux(limit: int) -> dict[str, Any]:
    return {
        "type": PROBLEM_TYPE_PREFIX + PayloadTooLarge.code,
        "title": PayloadTooLarge.title,
        "status": 413,
        "detail": f"Le corps de la requête dépasse la taille admise sur cette adresse ({limit} octets).",
        "code": PayloadTooLarge.code,
        "limite_octets": limit,
    }


def _trop_lent() -> dict[str, Any]:
    return {
        "type": PROBLEM_TYPE_PREFIX + RequestTooSlow.code,
        "title": RequestTooSlow.title,
        "status": 408,
        "detail": "Le corps de la requête n'arrive pas : envoyez-le sans interruption.",
        "code": RequestTooSlow.code,
    }


async def _reject(send: Send, status: int, body: dict[str, Any]) -> None:
    contenu = json.dumps(body, ensure_ascii=False).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", PROBLEM_CONTENT_TYPE.encode()),
                (b"content-length", str(len(contenu)).encode()),
                (b"connection", b"close"),
                (b"cache-control", b"no-store"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": contenu})


class NoStoreMiddleware:
    """Pure ASGI: `Cache-Control: no-store` on every answer under `/v1/` (each may carry personal
    data: identities, certified data, decisions, the journal), unless the route set its own."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope.get("path", "").startswith("/v1/"):
            await self.app(scope, receive, send)
            return

        async def send_no_store(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                if not any(name.lower() == b"cache-control" for name, _ in headers):
                    headers.append((b"cache-control", b"no-store"))
                    message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_no_store)
