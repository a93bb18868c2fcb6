"""Serve any ASGI app (an upstream simulator) on a loopback port from inside a running event loop.

Used by the gateway's lifespan in sandbox mode and by tests: the gateway then reaches the simulator
through its real httpx client, over real HTTP, exactly as it would reach the real API.

    async with serve_simulator(create_simulator_app(), port=0) as base_url:
        ...  # base_url == "http://127.0.0.1:<bound port>"
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Generator
from typing import Any

import uvicorn
from starlette.types import ASGIApp


class SimulatorStartupError(RuntimeError):
    """The simulator could not start (port taken, bad host…)."""


class _EmbeddedServer(uvicorn.Server):
    """A uvicorn server that leaves the host process's signal handlers alone."""

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield


@contextlib.asynccontextmanager
async def serve_simulator(
    app: ASGIApp,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    startup_timeout: float = 10.0,
    shutdown_timeout: float = 5.0,
) -> AsyncIterator[str]:
    """Run `app` with uvicorn as a task of the current loop; yield its base URL; stop it on exit.

    `port=0` lets the OS pick a free port. No access log, no lifespan, no signal handlers and no
    logging reconfiguration: the host process (the gateway, pytest) keeps control of all three.
    """
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        lifespan="off",
        access_log=False,
        log_config=None,
        log_level="warning",
        timeout_graceful_shutdown=max(1, int(shutdown_timeout)),
    )
    server = _EmbeddedServer(config)

    async def run() -> None:
        try:
            await server.serve()
        except SystemExit as e:  # uvicorn exits the process when it cannot bind; keep ours alive
            raise SimulatorStartupError(f"le simulateur n'a pas pu démarrer sur {host}:{port}") from e

    task = asyncio.create_task(run(), name=f"simulator-{host}:{port}")
    try:
        await _wait_started(server, task, deadline_seconds=startup_timeout)
        bound_port: Any = server.servers[0].sockets[0].getsockname()[1]
        yield f"http://{host}:{bound_port}"
    finally:
        server.should_exit = True
        try:
            await asyncio.wait_for(asyncio.shield(task), timeout=shutdown_timeout + 1)
        except TimeoutError:
            server.force_exit = True
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        except SimulatorStartupError:
            pass  # already reported by _wait_started


async def _wait_started(server: uvicorn.Server, task: asyncio.Task[None], *, deadline_seconds: float) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + deadline_seconds
    while not server.started:
        if task.done():
            task.result()  # raises the startup error
            raise SimulatorStartupError("le simulateur s'est arrêté avant d'avoir démarré")
        if loop.time() > deadline:
            raise SimulatorStartupError("le simulateur n'a pas démarré à temps")
        await asyncio.sleep(0.01)
