"""The simulator's control API under `/__simulateur/`: counters, faults, latency, tokens, foyers.

Tests and benchmarks drive a running simulator through it (same verbs as the API Particulier
simulator): read the counters, inject a fault, expire every token, list the foyers and their cases.
"""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from app.simulators.faults import FaultInjection
from app.simulators.impot_particulier.state import ImpotSimulatorState


def _state(request: Request) -> ImpotSimulatorState:
    state: ImpotSimulatorState = request.app.state.simulator
    return state


async def compteurs(request: Request) -> Response:
    return JSONResponse(_state(request).counters.to_json())


async def reinitialiser(request: Request) -> Response:
    _state(request).reset()
    return Response(status_code=204)


async def pannes(request: Request) -> Response:
    state = _state(request)
    if request.method == "DELETE":
        state.set_faults(FaultInjection())
    elif request.method == "PUT":
        try:
            data: Any = json.loads(await request.body() or b"{}")
            if not isinstance(data, dict):
                raise ValueError("un objet JSON est attendu")
            state.set_faults(FaultInjection.from_json(data))
        except (ValueError, TypeError) as e:
            return JSONResponse({"detail": str(e)}, status_code=422)
    return JSONResponse(state.faults.to_json())


async def jetons(request: Request) -> Response:
    """DELETE: every issued token becomes invalid (the next data call gets a 401)."""
    _state(request).expire_tokens()
    return Response(status_code=204)


async def foyers(request: Request) -> Response:
    state = _state(request)
    today = state.config.now().date()
    return JSONResponse(
        [
            {
                "spi": f.spi,
                "cas": f.cas,
                "origine": f.origine,
                "annees_disponibles": list(f.annees_disponibles(today)) if f.erreur is None else [],
            }
            for f in state.config.foyers.values()
        ]
    )


def control_routes() -> list[Route]:
    return [
        Route("/__simulateur/compteurs", compteurs, methods=["GET"]),
        Route("/__simulateur/reinitialiser", reinitialiser, methods=["POST"]),
        Route("/__simulateur/pannes", pannes, methods=["GET", "PUT", "DELETE"]),
        Route("/__simulateur/jetons", jetons, methods=["DELETE"]),
        Route("/__simulateur/foyers", foyers, methods=["GET"]),
    ]
