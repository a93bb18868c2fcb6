"""Structured logging (structlog), a per-request id, and the guard that keeps personal data out of logs.

Logs are JSON unless stderr is a terminal. Event names are dotted (`upstream.call`, `cache.hit`).
Personal data never reaches a log call by design; as a second line of defence, `redact_personal_data`
drops any key that names identity data, and the access logs of uvicorn and httpx (which would see
upstream URLs carrying identity in their query string) are silenced.
"""

from __future__ import annotations

import logging
import sys
import time
import uuid
from collections.abc import MutableMapping
from typing import Any

import structlog
from starlette.types import ASGIApp, Message, Receive, Scope, Send

#: Keys that may never appear in a log event, whatever their value.
_FORBIDDEN_KEYS = frozenset(
    {
        "nom",
        "nom_naissance",
        "nom_usage",
        "prenoms",
        "prenom",
        "date_naissance",
        "adresse",
        "numero_fiscal",
        "spi",
        "demandeur",
        "url",
        "query",
        "params",
    }
)

REQUEST_ID_HEADER = "x-request-id"


def redact_personal_data(
    _logger: Any, _method: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """structlog processor: replace the value of any identity-bearing key."""
    for key in list(event_dict):
        if key.lower() in _FORBIDDEN_KEYS:
            event_dict[key] = "[masqué]"
    return event_dict


def configure_logging(*, level: str = "INFO", json: bool | None = None) -> None:
    """Configure structlog and the standard library once per process."""
    render_json = not sys.stderr.isatty() if json is None else json
    shared: list[structlog.types.Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        redact_personal_data,
    ]
    renderer: structlog.types.Processor = (
        structlog.processors.JSONRenderer() if render_json else structlog.dev.ConsoleRenderer()
    )
    structlog.configure(
        processors=[*shared, structlog.processors.format_exc_info, renderer],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level)),
        # Resolve stderr when a logger is made, not now: test runners swap the stream.
        logger_factory=_stderr_logger,
        cache_logger_on_first_use=False,
    )
    # Library loggers: httpx/httpcore log full URLs (identity in the query string) at INFO;
    # uvicorn's access log prints request lines; aiosqlite (DEBUG) and SQLAlchemy's engine log
    # every statement with its parameters, i.e. the journaled facts. All stay quiet; our middleware
    # logs requests.
    for noisy in ("httpx", "httpcore", "uvicorn.access", "aiosqlite", "sqlalchemy.engine"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    logging.getLogger("uvicorn.access").disabled = True


def _stderr_logger(*_args: Any) -> structlog.PrintLogger:
    return structlog.PrintLogger(file=sys.stderr)


class RequestContextMiddleware:
    """Pure-ASGI middleware: binds a request id to the log context and echoes it in `X-Request-ID`.

    It logs one `http.request` line per request with method, route path (never the query
    string), status and duration.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.logger = structlog.get_logger("app.http")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = dict(scope.get("headers") or []).get(REQUEST_ID_HEADER.encode())
        request_id = _safe_request_id(incoming) or uuid.uuid4().hex
        structlog.contextvars.clear_contextvars()
        # Named apart from upstream calls' own `request_id` (their X-Request-ID) in the same events.
        structlog.contextvars.bind_contextvars(http_request_id=request_id)
        status_holder: dict[str, int] = {}

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                status_holder["status"] = message["status"]
                headers = list(message.get("headers", []))
                headers.append((REQUEST_ID_HEADER.encode(), request_id.encode()))
                message["headers"] = headers
            await send(message)

        started = time.perf_counter()
        try:
            await self.app(scope, receive, send_with_id)
        finally:
            if scope.get("path") not in ("/healthz", "/metrics"):
                self.logger.info(
                    "http.request",
                    method=scope.get("method"),
                    path=scope.get("path"),
                    status=status_holder.get("status", 500),
                    duration_ms=round((time.perf_counter() - started) * 1000, 2),
                )
            structlog.contextvars.clear_contextvars()


def _safe_request_id(raw: bytes | None) -> str | None:
    """Accept a caller's request id only if it is short and made of safe characters."""
    if not raw or len(raw) > 64:
        return None
    text = raw.decode("ascii", "ignore")
    return text if text.replace("-", "").replace("_", "").isalnum() else None


class OutageLog:
    """The log of one dependency's outage: one line when it starts, one summary per
    `resume_seconds` while it lasts, one line when it ends (issue 13: a 10 s Redis outage wrote
    ~15,000 warning lines, one per failed operation).

    `echec(event, **fields)` for each failed operation, `succes()` for each one that worked (a
    flag test when nothing is wrong). One instance per component that uses the dependency (the
    cache, the limiter…): a few lines per outage in all.
    """

    def __init__(self, dependance: str, *, resume_seconds: float = 60.0, clock: Any = time.monotonic) -> None:
        self.dependance = dependance
        self._resume = resume_seconds
        self._clock = clock
        self._depuis: float | None = None
        self._dernier_resume = 0.0
        self._echecs_total = 0
        self._echecs_resume: dict[str, int] = {}
        self._logger = structlog.get_logger("app.outage")

    @property
    def en_panne(self) -> bool:
        return self._depuis is not None

    def echec(self, event: str, **fields: Any) -> None:
        now = self._clock()
        if self._depuis is None:
            self._depuis = self._dernier_resume = now
            self._echecs_total = 1
            self._echecs_resume = {}
            self._logger.warning(event, dependance=self.dependance, etat="panne-commencee", **fields)
            return
        self._echecs_total += 1
        self._echecs_resume[event] = self._echecs_resume.get(event, 0) + 1
        if now - self._dernier_resume >= self._resume:
            self._logger.warning(
                "dependency.still_down",
                dependance=self.dependance,
                depuis_seconds=round(now - self._depuis, 1),
                echecs=dict(self._echecs_resume),
            )
            self._dernier_resume = now
            self._echecs_resume = {}

    def succes(self) -> None:
        if self._depuis is None:
            return
        self._logger.warning(
            "dependency.recovered",
            dependance=self.dependance,
            panne_seconds=round(self._clock() - self._depuis, 1),
            echecs=self._echecs_total,
        )
        self._depuis = None
