"""The reference of the throughput benchmark: a bare FastAPI JSON endpoint, no I/O behind it."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

from bench.serveurs import servir_comme_la_passerelle

app = FastAPI()


@app.get("/healthz")
async def healthz() -> dict[str, str]:
    return {"statut": "ok"}


@app.post("/v1/eligibilite")
async def eligibilite(corps: dict[str, Any]) -> dict[str, Any]:
    # Parses the same JSON body the gateway does and answers a small JSON document.
    return {"statut": "eligible", "recu": len(corps)}


if __name__ == "__main__":
    servir_comme_la_passerelle("bench.nu:app")
