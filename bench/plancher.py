"""The floor of the throughput benchmark: a FastAPI endpoint doing only what no implementation of
`POST /v1/eligibilite` can skip, with the gateway's own building blocks and nothing else.

It validates the same request (`DemandeEligibilite`), reads one encrypted entry from Redis and
decrypts it (`SecureCache`), journals a consultation and its decision before answering (`Journal`,
group commit on PostgreSQL), and sends a decision of the gateway's size (9.6 kB, encoded once at
start-up). No authentication, no rules, no facts, no decision to build: if this endpoint does not
reach the target ratio, no gateway that meets the product's non-negotiables can.

Served exactly like the gateway and the bare endpoint: `python -m bench.plancher --port P --workers N`
with REDIS_URL and DATABASE_URL (a migrated PostgreSQL database) in the environment.
"""

from __future__ import annotations

import json
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import date
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request, Response
from pydantic import SecretStr

from app.db.engine import DocumentJson, create_engine_from_url
from app.keys import KeyRing
from app.schemas.eligibilite import DemandeEligibilite
from app.services.amont.cache import RedisCache, SecureCache
from app.services.journal import ConsultationRecord, DecisionRecord, Journal
from bench.serveurs import servir_comme_la_passerelle

ORGANISME = "banc-plancher"
#: A decision of the gateway (MARTIN AXELLE, demo règlement): its size and shape.
DECISION: dict[str, Any] = json.loads(
    (Path(__file__).resolve().parent / "decision_exemple.json").read_text(encoding="utf-8")
)
#: A cached API Particulier answer of the usual size (QF, allocataires, enfants, adresse).
ENTREE_EN_CACHE: dict[str, Any] = {"donnees": DECISION["donnees"], "provenance": {"request_id": "banc"}}


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[dict[str, Any]]:
    backend = RedisCache.from_url(os.environ["REDIS_URL"])
    cache = SecureCache(backend, KeyRing(SecretStr("secret-du-banc-plancher-0123456789abcdef")))
    cle = cache.cle(ORGANISME, "banc.plancher", "une", "identite")
    await cache.set_json(cle, ENTREE_EN_CACHE, 3600)
    engine = create_engine_from_url(os.environ["DATABASE_URL"])
    contenu = {k: v for k, v in DECISION.items() if k != "donnees"}
    try:
        yield {
            "cache": cache,
            "cle": cle,
            "journal": Journal(engine),
            "contenu": DocumentJson(contenu, json.dumps(contenu, ensure_ascii=False)),
            "reponse": json.dumps(DECISION, ensure_ascii=False).encode(),
        }
    finally:
        await engine.dispose()
        await backend.close()


app = FastAPI(lifespan=lifespan)


@app.get("/healthz")
async def healthz() -> dict[str, str]:
    return {"statut": "ok"}


@app.post("/v1/eligibilite")
async def eligibilite(demande: DemandeEligibilite, request: Request) -> Response:
    etat = request.state
    if await etat.cache.get_json(etat.cle) is None:
        raise RuntimeError("l'entrée du banc a disparu du cache")
    consultation = ConsultationRecord(
        organisme_id=ORGANISME, type="eligibilite", statut="succes", dossier_ref=demande.dossier_ref
    )
    decision = DecisionRecord(
        consultation_id=consultation.id,
        organisme_id=ORGANISME,
        date_reference=date(2026, 11, 26),
        reglement_id="banc",
        reglement_version="1",
        reglement_empreinte="sha256:" + "0" * 64,
        contenu=etat.contenu,
    )
    await etat.journal.enregistrer(consultation, decision)
    return Response(content=etat.reponse, media_type="application/json")


if __name__ == "__main__":
    servir_comme_la_passerelle("bench.plancher:app")
