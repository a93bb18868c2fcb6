"""The API Particulier v3 simulator as an ASGI app: the real sandbox's semantics, plus quotas and faults.

Order of the checks on a data route, as SIADE runs them: rate limit (per token, 1 s windows) →
token → identical request in flight (409) → parameter validation (422, accumulated) → provider
maintenance (503) → injected faults → fixture matching (fallback: the endpoint's 404 case).
"""

from __future__ import annotations

import asyncio
import copy
import json
import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime, time, timedelta
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.types import Receive, Scope, Send

from app.simulators.api_particulier import error_catalogue
from app.simulators.api_particulier.catalogue import ENDPOINTS, ENDPOINTS_BY_PATH, ROUTES_SUPPRIMEES, Endpoint
from app.simulators.api_particulier.control import control_routes
from app.simulators.api_particulier.fixtures import FixtureIndex, default_index
from app.simulators.api_particulier.state import SimulatorConfig, SimulatorState
from app.simulators.api_particulier.validation import Requete, valider_france_connect, valider_identite
from app.simulators.faults import FaultInjection

MAINTENANCE_DEBUT = time(23, 0)
MAINTENANCE_FIN = time(23, 45)
SUNDAY = 6
MALFORMED_BODY = b'{"data": {"quotient_familial": {"fournisseur": "CNAF", "valeur": '


class ConnectionDropped(Response):
    """Starts a 200 then fails, so the server drops the connection mid-response.

    Under uvicorn the client sees the connection closed before the body (httpx raises
    `RemoteProtocolError`); under `httpx.ASGITransport` the exception raised here, an
    `httpx.ReadError`, reaches the client as is. Both are `httpx.TransportError`s.
    """

    def __init__(self) -> None:
        super().__init__(status_code=200)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = [(b"content-type", b"application/json"), (b"content-length", b"4096")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        raise httpx.ReadError("connexion coupée par le simulateur (panne injectée)")


def maintenance_retry_in(now: datetime) -> int | None:
    """Seconds left in the Sunday 23:00–23:45 (Europe/Paris) window of CNAF & MSA, or None outside it."""
    if now.weekday() != SUNDAY or not MAINTENANCE_DEBUT <= now.time() < MAINTENANCE_FIN:
        return None
    fin = now.replace(hour=MAINTENANCE_FIN.hour, minute=MAINTENANCE_FIN.minute, second=0, microsecond=0)
    return max(1, int((fin - now) / timedelta(seconds=1)))


def _bearer(request: Request) -> str | None:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    token = token.strip()
    return token if scheme.lower() == "bearer" and token else None


class DataRoutes:
    """Handlers of the v3 data routes of one simulator instance."""

    def __init__(self, state: SimulatorState, index: FixtureIndex) -> None:
        self.state = state
        self.index = index

    def handler(self, endpoint: Endpoint) -> Callable[[Request], Awaitable[Response]]:
        async def handle(request: Request) -> Response:
            return await self.serve(endpoint, request)

        return handle

    async def serve(self, endpoint: Endpoint, request: Request) -> Response:
        config = self.state.config
        now = config.now()
        self.state.counters.record_call(endpoint.nom, int(now.timestamp()))
        token = _bearer(request)
        decision = self.state.limiter.hit(token or "", now.timestamp())
        headers = {
            "X-Request-ID": str(uuid.uuid4()),
            "X-Response-Cached": "false",
            "X-Cache-Expires-in": "",
            "RateLimit-Limit": str(decision.limit),
            "RateLimit-Remaining": str(decision.remaining),
            "RateLimit-Reset": str(decision.reset),
        }
        if not decision.allowed:
            headers["Retry-After"] = str(decision.retry_after)
            response: Response = self._json(error_catalogue.trop_de_requetes(), 429, headers)
        else:
            response = await self._authenticated(endpoint, request, token, now, headers)
        self.state.counters.record_status(endpoint.nom, response.status_code)
        self.state.counters.record_token(token or "", int(now.timestamp()), response.status_code)
        return response

    async def _authenticated(
        self, endpoint: Endpoint, request: Request, token: str | None, now: datetime, headers: dict[str, str]
    ) -> Response:
        accepted = self.state.config.accepted_tokens
        if token is None or (not endpoint.france_connect and accepted is not None and token not in accepted):
            return self._json(error_catalogue.jeton_invalide(), 401, headers)
        identity_params: dict[str, Any] = {}
        if endpoint.france_connect:
            identity = self.index.identities.get(token)
            if identity is None:
                return self._json(error_catalogue.jeton_france_connect_invalide(), 401, headers)
            if not identity.scopes & endpoint.scopes:
                return self._json(error_catalogue.privileges_insuffisants(), 403, headers)
            identity_params = identity.parametres_appel()
        query = list(request.query_params.multi_items())
        fingerprint = (endpoint.path, tuple(sorted(query)), token)
        if fingerprint in self.state.in_flight:
            return self._json(error_catalogue.conflit(), 409, headers)
        self.state.in_flight.add(fingerprint)
        try:
            return await self._answer(endpoint, Requete(query), identity_params, now, headers)
        finally:
            self.state.in_flight.discard(fingerprint)

    async def _answer(
        self,
        endpoint: Endpoint,
        requete: Requete,
        identity_params: dict[str, Any],
        now: datetime,
        headers: dict[str, str],
    ) -> Response:
        if (latency := self.state.latency()) > 0:
            await asyncio.sleep(latency)
        valider = valider_france_connect if endpoint.france_connect else valider_identite
        validation = valider(requete, endpoint, now.date())
        if validation.errors:
            return self._json(error_catalogue.corps(*validation.errors), 422, headers)
        if endpoint.quotient_familial and (retry_in := maintenance_retry_in(now)) is not None:
            return self._json(error_catalogue.maintenance(endpoint, retry_in), 503, headers)
        fault = self.state.next_fault(endpoint.nom)
        if fault is not None and (injected := await self._inject(fault, endpoint, headers)) is not None:
            return injected
        params = {**identity_params, **validation.params}
        production = self.state.config.period_mode == "production"
        case = self.index.match(endpoint.path, params, period_free=production)
        payload = case.payload
        if case.status == 200 and production and endpoint.quotient_familial:
            payload = _echo_period(payload, params, now)
        return self._json(payload, case.status, headers)

    async def _inject(
        self, fault: FaultInjection, endpoint: Endpoint, headers: dict[str, str]
    ) -> Response | None:
        if fault.mode == "delai_depasse":
            await asyncio.sleep(fault.timeout_sleep_seconds)
            return None
        if fault.mode == "connexion_coupee":
            return ConnectionDropped()
        if fault.mode == "json_malforme":
            return Response(MALFORMED_BODY, 200, headers, media_type=self.state.config.media_type)
        return self._json(error_catalogue.erreur_serveur(fault.status, endpoint), fault.status, headers)

    def _json(self, body: Any, status: int, headers: dict[str, str]) -> Response:
        content = json.dumps(body, ensure_ascii=False).encode("utf-8")
        return Response(content, status, headers, media_type=self.state.config.media_type)


def _echo_period(payload: Any, params: dict[str, Any], now: datetime) -> Any:
    """In production the QF `annee`/`mois` are the requested month (default: the current one)."""
    quotient = payload.get("data", {}).get("quotient_familial") if isinstance(payload, dict) else None
    if not isinstance(quotient, dict):
        return payload
    payload = copy.deepcopy(payload)
    payload["data"]["quotient_familial"]["annee"] = params.get("annee", now.year)
    payload["data"]["quotient_familial"]["mois"] = params.get("mois", now.month)
    return payload


def _other_routes(state: SimulatorState) -> list[BaseRoute]:
    async def ping(request: Request) -> Response:
        return JSONResponse({"status": "ok", "last_update": state.config.now().isoformat()})

    async def gone(request: Request) -> Response:
        return PlainTextResponse(ROUTES_SUPPRIMEES[request.url.path], status_code=410)

    async def other_version(request: Request) -> Response:
        path = f"/v3/dss/{request.path_params['ressource']}/{request.path_params['modalite']}"
        version = f"v{request.path_params['version']}"
        if path not in ENDPOINTS_BY_PATH:
            return PlainTextResponse("Not Found", status_code=404)
        body = json.dumps(error_catalogue.version_non_supportee(version), ensure_ascii=False)
        headers = {"X-Request-ID": str(uuid.uuid4())}
        return Response(body, 404, headers, media_type=state.config.media_type)

    return [
        Route("/api/{provider}/ping", ping),
        *(Route(path, gone, methods=["GET", "POST"]) for path in ROUTES_SUPPRIMEES),
        Route("/v{version:int}/dss/{ressource}/{modalite}", other_version),
    ]


def create_simulator_app(
    config: SimulatorConfig | None = None, index: FixtureIndex | None = None
) -> Starlette:
    """A new, independent simulator (its own quotas, counters and faults) over the shipped fixtures."""
    state = SimulatorState(config or SimulatorConfig())
    data = DataRoutes(state, index or default_index())
    routes: list[BaseRoute] = [Route(e.path, data.handler(e)) for e in ENDPOINTS]
    routes += _other_routes(state)
    routes.append(Mount("/__simulateur", routes=control_routes(state, data.index)))
    app = Starlette(routes=routes)
    app.state.simulateur = state
    return app
