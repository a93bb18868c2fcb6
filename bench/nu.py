"""The reference of the throughput benchmark: a bare FastAPI JSON endpoint, no I/O behind it."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

app = FastAPI()


@app.get("/healthz")
async def healthz() -> dict[str, str]:
    return {"statut": "ok"}


@app.post("/v1/eligibilite")
async def eligibilite(corps: dict[str, Any]) -> dict[str, Any]:
    # Parses the same JSON body the gateway does and answers a small JSON document.
    return {"statut": "eligible", "recu": len(corps)}
