"""The API Impôt particulier simulator: `POST /token` and the SPI-mode IR endpoints, per the contract.

Checks made in the real service's order of concern: bearer token (401), `X-Correlation-ID` (400),
quota of 50 calls/minute per client (429), scope and ID_Teleservice (403 4031), SPI and year
formats (400 4001/4002), then the foyer (410 4102, its forced error, or 410 4101 for a year not
taxed). Errors use DGFiP's `{"erreur": {code, message, horodatage}}` body.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import re
import secrets
from typing import Any, Final
from urllib.parse import parse_qs

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from app.simulators.impot_particulier.control import control_routes
from app.simulators.impot_particulier.foyers import Foyer, newest_taxed_year
from app.simulators.impot_particulier.state import (
    ImpotSimulatorConfig,
    ImpotSimulatorState,
    IssuedToken,
)

BASE_PATH: Final[str] = "/impotparticulier/1.0"
MEDIA_ASSIETTES: Final[str] = "application/prs.dgfip.part.situations.ir.assiettes.v1+json"
MEDIA_DERNIERE: Final[str] = "application/prs.dgfip.part.derniere.situations.ir.assiettes.v1+json"

#: endpoint name → (scope required, media type)
ENDPOINTS: Final[dict[str, tuple[str, str]]] = {
    "assiettes": ("RessourceIR", MEDIA_ASSIETTES),
    "derniere_situation": ("RessourceIRDerniere", MEDIA_DERNIERE),
    "deux_ans": ("RessourceIRDerniere2", MEDIA_DERNIERE),
}
MESSAGES: Final[dict[int, str]] = {
    4001: "format SPI incorrect",
    4002: "mauvais format d'année (annrev)",
    4031: "L'utilisateur n'a pas accès à la ressource",
    4101: "La requête avec le spi et l'année ne renvoie aucun résultat",
    4102: "Le spi envoyé ne correspond à aucun usager",
    5000: "Erreur technique",
}
_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\Z")
_SPI = re.compile(r"^\d{13}\Z")
_ANNREV = re.compile(r"^\d{4}\Z")


class ConnectionDropped(Exception):
    """Raised after the response has started: the server closes the connection mid-answer."""


class _DroppedResponse(Response):
    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        raise ConnectionDropped("connexion coupée par le simulateur (panne injectée)")


def _state(request: Request) -> ImpotSimulatorState:
    state: ImpotSimulatorState = request.app.state.simulator
    return state


def erreur(
    state: ImpotSimulatorState,
    status: int,
    code: int | None,
    message: str | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    if status == 204:
        return Response(status_code=204, headers=headers)
    body: dict[str, Any] = {"message": message or MESSAGES.get(code or 0, "Requête mal formée")}
    if code is not None:
        body = {"code": code, **body}
    body["horodatage"] = state.config.now().replace(tzinfo=None, microsecond=0).isoformat()
    return JSONResponse({"erreur": body}, status_code=status, headers=headers)


async def token_endpoint(request: Request) -> Response:
    """OAuth2 client credentials, with HTTP Basic or form credentials."""
    state = _state(request)
    state.counters.tokens += 1
    form = {k: v[0] for k, v in parse_qs((await request.body()).decode("utf-8", "replace")).items()}
    client_id, secret = form.get("client_id"), form.get("client_secret")
    authorization = request.headers.get("authorization", "")
    if authorization.lower().startswith("basic "):
        try:
            client_id, _, secret = base64.b64decode(authorization[6:]).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            client_id = secret = None
    client = state.config.clients.get(client_id or "")
    if client is None or not secrets.compare_digest((secret or "").encode(), client.secret.encode()):
        return JSONResponse({"error": "invalid_client"}, status_code=401)
    if form.get("grant_type") != "client_credentials":
        return JSONResponse({"error": "unsupported_grant_type"}, status_code=400)
    requested = frozenset(form.get("scope", "").split()) or client.scopes
    granted = requested & client.scopes
    if not granted:
        return JSONResponse({"error": "invalid_scope"}, status_code=400)
    value, lifetime = state.issue_token(client_id or "", granted)
    return JSONResponse(
        {
            "access_token": value,
            "scope": " ".join(sorted(granted)),
            "token_type": "Bearer",
            "expires_in": lifetime,
        }
    )


def _check_access(request: Request, state: ImpotSimulatorState, endpoint: str) -> Response | None:
    """401, 400 (correlation id), 429, 403: None when the call may go on."""
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    issued: IssuedToken | None = state.token(value.strip()) if scheme.lower() == "bearer" else None
    if issued is None:
        return erreur(state, 401, None, "jeton d'accès absent, invalide ou expiré")
    if not _UUID.match(request.headers.get("x-correlation-id", "")):
        return erreur(state, 400, None, "Requête mal formée : X-Correlation-ID absent ou invalide")
    retry_after = state.quota.hit(issued.client_id, state.config.now().timestamp())
    if retry_after is not None:
        return erreur(
            state, 429, None, "le quota de requêtes a été dépassé", {"Retry-After": str(retry_after)}
        )
    scope, _ = ENDPOINTS[endpoint]
    expected_teleservice = state.config.id_teleservice
    if scope not in issued.scopes or (
        expected_teleservice is not None and request.headers.get("id_teleservice") != expected_teleservice
    ):
        return erreur(state, 403, 4031)
    return None


def _answer(state: ImpotSimulatorState, endpoint: str, foyer: Foyer, annrev: int | None) -> Response:
    today = state.config.now().date()
    disponibles = foyer.annees_disponibles(today)
    if annrev is None:  # deux ans: N-1, else N-2
        newest = newest_taxed_year(today)
        annee = next((a for a in (newest, newest - 1) if a in disponibles), None)
    else:
        annee = annrev if annrev in disponibles else None
    if annee is None:
        return erreur(state, 410, 4101)
    if endpoint == "assiettes" and foyer.deces and annee == disponibles[0]:
        # Two avis in the year of a death: the assiettes resource answers an error (its code is
        # undocumented; 4101 is our assumption), only dernière situation serves the last period.
        return erreur(state, 410, 4101, "plusieurs avis pour cette année (décès)")
    body = foyer.situation_pour(
        annee,
        today,
        date_format=state.config.date_format,
        address_spelling=state.config.address_spelling,
    )
    return Response(json.dumps(body, ensure_ascii=False), media_type=ENDPOINTS[endpoint][1])


async def _serve(request: Request, endpoint: str) -> Response:
    state = _state(request)
    if (latency := state.latency()) > 0:
        await asyncio.sleep(latency)
    fault = state.next_fault(endpoint)
    response: Response | None = None
    if fault is not None and fault.mode == "delai_depasse":
        await asyncio.sleep(fault.timeout_sleep_seconds)
    elif fault is not None and fault.mode == "connexion_coupee":
        response = _DroppedResponse()
    elif fault is not None and fault.mode == "json_malforme":
        response = Response('{"rfr": 12', media_type=ENDPOINTS[endpoint][1])
    elif fault is not None and fault.mode == "erreur_serveur":
        response = erreur(state, fault.status, 5000)
    if response is None:
        response = _check_access(request, state, endpoint) or _data(request, state, endpoint)
    correlation_id = request.headers.get("x-correlation-id")
    if correlation_id and _UUID.match(correlation_id):
        response.headers["X-Correlation-ID"] = correlation_id  # DGFiP's APIM echoes it
    state.counters.record(endpoint, response.status_code)
    return response


def _data(request: Request, state: ImpotSimulatorState, endpoint: str) -> Response:
    spi = request.path_params["spi"]
    annrev_text = request.path_params.get("annrev")
    if not _SPI.match(spi):
        return erreur(state, 400, 4001)
    if annrev_text is not None and not _ANNREV.match(annrev_text):
        return erreur(state, 400, 4002)
    foyer = state.config.foyers.get(spi)
    if foyer is None:
        return erreur(state, 410, 4102)
    if (forced := foyer.erreur) is not None:
        headers = {"Retry-After": str(forced.retry_after)} if forced.retry_after else None
        return erreur(state, forced.statut, forced.code, forced.message, headers)
    return _answer(state, endpoint, foyer, int(annrev_text) if annrev_text else None)


async def assiettes(request: Request) -> Response:
    return await _serve(request, "assiettes")


async def derniere_situation(request: Request) -> Response:
    return await _serve(request, "derniere_situation")


async def deux_ans(request: Request) -> Response:
    return await _serve(request, "deux_ans")


def create_impot_simulator_app(config: ImpotSimulatorConfig | None = None) -> Starlette:
    """A fresh simulator (its own tokens, quota, counters, faults), servable by any ASGI server."""
    routes = [
        Route("/token", token_endpoint, methods=["POST"]),
        Route(
            BASE_PATH + "/spi/{spi}/situations/ir/assiettes/annrev/{annrev}",
            assiettes,
            methods=["GET"],
        ),
        Route(
            BASE_PATH + "/spi/{spi}/dernieresituation/ir/assiettes/annrev/{annrev}",
            derniere_situation,
            methods=["GET"],
        ),
        Route(
            BASE_PATH + "/spi/{spi}/dernieresituation/ir/assiettes/deuxans",
            deux_ans,
            methods=["GET"],
        ),
        *control_routes(),
    ]
    app = Starlette(routes=routes)
    app.state.simulator = ImpotSimulatorState(config or ImpotSimulatorConfig())
    return app
