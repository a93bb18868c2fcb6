"""The simulator's control API under `/__simulateur/`: faults at run time, call counters, reset.

Not part of API Particulier: tests and benchmarks use it to inject failures into a running
simulator and to count the upstream calls the gateway really made.
"""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from app.simulators.api_particulier.fixtures import FixtureIndex
from app.simulators.api_particulier.state import SimulatorState
from app.simulators.faults import FaultInjection


def control_routes(state: SimulatorState, index: FixtureIndex) -> list[BaseRoute]:
    async def get_faults(request: Request) -> Response:
        return JSONResponse(state.faults.to_json())

    async def put_faults(request: Request) -> Response:
        try:
            data: Any = json.loads(await request.body())
            if not isinstance(data, dict):
                raise TypeError("un objet JSON est attendu")
            faults = FaultInjection.from_json(data)
        except (ValueError, TypeError) as e:
            return JSONResponse({"erreur": str(e)}, status_code=422)
        state.set_faults(faults)
        return JSONResponse(faults.to_json())

    async def delete_faults(request: Request) -> Response:
        state.set_faults(FaultInjection())
        return JSONResponse(state.faults.to_json())

    async def counters(request: Request) -> Response:
        return JSONResponse(state.counters.to_json())

    async def reset(request: Request) -> Response:
        state.reset()
        return Response(status_code=204)

    async def france_connect_tokens(request: Request) -> Response:
        return JSONResponse([{"token": i.token, "origine": i.origine} for i in index.identities.values()])

    return [
        Route("/pannes", get_faults, methods=["GET"]),
        Route("/pannes", put_faults, methods=["PUT"]),
        Route("/pannes", delete_faults, methods=["DELETE"]),
        Route("/compteurs", counters, methods=["GET"]),
        Route("/reinitialiser", reset, methods=["POST"]),
        Route("/jetons_france_connect", france_connect_tokens, methods=["GET"]),
    ]
