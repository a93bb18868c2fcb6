"""Servers the upstream benchmarks start as separate processes on loopback: the API Particulier
simulator, the gateway (uvicorn, N workers, Redis, PostgreSQL), a bare FastAPI JSON endpoint and
the floor endpoint (bench/plancher.py: only the I/O a decision cannot skip).

Each is a context manager that waits until the server answers and stops it (SIGTERM, then SIGKILL)
on exit, so a failed benchmark leaves nothing running.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from app.serving import serve_workers

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
API_KEY = "cle-de-banc-essai"
#: `BENCH_REDIS_URL` gives a bench its own database when others run on the same Redis.
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/14")


def port_libre() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _attendre(url: str, processus: subprocess.Popen[bytes], secondes: float = 60.0) -> None:
    fin = time.monotonic() + secondes
    while time.monotonic() < fin:
        if processus.poll() is not None:
            raise RuntimeError(f"le serveur s'est arrêté (code {processus.returncode}) : {url}")
        try:
            if httpx.get(url, timeout=1.0).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"le serveur ne répond pas : {url}")


@contextmanager
def _processus(commande: list[str], env: dict[str, str], sonde: str) -> Iterator[None]:
    # A new session: SIGTERM reaches uvicorn's supervisor and its workers together.
    processus = subprocess.Popen(  # noqa: S603 - our own interpreter, fixed arguments
        commande,
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        _attendre(sonde, processus)
        yield
    finally:
        os.killpg(processus.pid, signal.SIGTERM)
        try:
            processus.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(processus.pid, signal.SIGKILL)
            processus.wait()


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GATEWAY_", "API_", "REDIS", "DATABASE"))}
    env.update(extra)
    return env


@contextmanager
def simulateur(latence: float = 0.0, quota: int = 20) -> Iterator[str]:
    port = port_libre()
    url = f"http://127.0.0.1:{port}"
    commande = [
        PYTHON,
        "-m",
        "app.simulators.api_particulier",
        "--port",
        str(port),
        "--latency",
        str(latence),
        "--quota",
        str(quota),
    ]
    with _processus(commande, _env(), url + "/__simulateur/compteurs"):
        yield url


@contextmanager
def passerelle(
    simulateur_url: str,
    database_url: str,
    *,
    workers: int,
    deadline: float = 8.0,
    extra: dict[str, str] | None = None,
) -> Iterator[str]:
    """The gateway in sandbox mode, pointed at `simulateur_url`, with Redis and PostgreSQL."""
    port = port_libre()
    with tempfile.TemporaryDirectory(prefix="eg-bench-metrics-") as metriques:
        env = _env(
            GATEWAY_MODE="sandbox",
            GATEWAY_DEMO_API_KEY=API_KEY,
            API_PARTICULIER_URL=simulateur_url,
            API_PARTICULIER_TOKEN="jeton-banc-essai",  # noqa: S106 - the simulator's, not a secret
            REDIS_URL=REDIS_URL,
            DATABASE_URL=database_url,
            DATABASE_AUTO_MIGRATE="false",
            CLIENT_RATE_LIMIT_REQUESTS="0",
            REQUEST_DEADLINE_SECONDS=str(deadline),
            LOG_LEVEL="WARNING",
            LOG_JSON="true",
            PROMETHEUS_MULTIPROC_DIR=metriques,
            **(extra or {}),
        )
        subprocess.run(  # noqa: S603 - our own interpreter, fixed arguments
            [PYTHON, "-m", "app", "db", "upgrade"], cwd=ROOT, env=env, check=True, capture_output=True
        )
        commande = [PYTHON, "-m", "app", "serve", "--port", str(port), "--workers", str(workers)]
        url = f"http://127.0.0.1:{port}"
        with _processus(commande, env, url + "/healthz"):
            yield url


@contextmanager
def nu(*, workers: int) -> Iterator[str]:
    """A bare FastAPI JSON endpoint, served by uvicorn exactly like the gateway."""
    port = port_libre()
    commande = [PYTHON, "-m", "bench.nu", "--port", str(port), "--workers", str(workers)]
    with _processus(commande, _env(), f"http://127.0.0.1:{port}/healthz"):
        yield f"http://127.0.0.1:{port}"


@contextmanager
def plancher(database_url: str, *, workers: int) -> Iterator[str]:
    """bench/plancher.py, served like the gateway, on the same Redis and PostgreSQL."""
    port = port_libre()
    env = _env(REDIS_URL=REDIS_URL, DATABASE_URL=database_url)
    subprocess.run(  # noqa: S603 - our own interpreter, fixed arguments
        [PYTHON, "-m", "app", "db", "upgrade"], cwd=ROOT, env=env, check=True, capture_output=True
    )
    commande = [PYTHON, "-m", "bench.plancher", "--port", str(port), "--workers", str(workers)]
    with _processus(commande, env, f"http://127.0.0.1:{port}/healthz"):
        yield f"http://127.0.0.1:{port}"


def servir_comme_la_passerelle(application: str) -> None:
    """`python -m bench.<module> --port P --workers N`: serve `application` (an import string)
    exactly as `python -m app serve` serves the gateway, for a fair comparison."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args()
    serve_workers(
        application,
        factory=False,
        host="127.0.0.1",
        port=args.port,
        workers=args.workers,
        log_level="warning",
    )
