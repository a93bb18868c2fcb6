"""The reference of the throughput benchmark: a bare FastAPI JSON endpoint, no I/O behind it."""

from __future__ import annotations

import argparse
from typing import Any

from fastapi import FastAPI

from app.serving import serve_workers

app = FastAPI()


@app.get("/healthz")
async def healthz() -> dict[str, str]:
    return {"statut": "ok"}


@app.post("/v1/eligibilite")
async def eligibilite(corps: dict[str, Any]) -> dict[str, Any]:
    # Parses the same JSON body the gateway does and answers a small JSON document.
    return {"statut": "eligible", "recu": len(corps)}


if __name__ == "__main__":
    # Served exactly like the gateway (`python -m app serve --workers N`).
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args()
    serve_workers(
        "bench.nu:app",
        factory=False,
        host="127.0.0.1",
        port=args.port,
        workers=args.workers,
        log_level="warning",
    )
