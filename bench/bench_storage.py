"""Benchmark of the storage layer: journal writes (SQLite file, PostgreSQL), encrypted cache reads and
writes (in-process, Redis), and in-process coalescing of 100 identical concurrent calls.

Run with `.venv/bin/python bench/bench_storage.py`; prints and writes bench/results/storage.json
(median and p99 in ms). Uses the machine's PostgreSQL (a throwaway database) and Redis (db 15).
"""

from __future__ import annotations

import asyncio
import json
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import date
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pydantic import SecretStr

from app.db.engine import create_engine_from_url
from app.db.migrate import upgrade_database
from app.keys import KeyRing
from app.services.amont.cache import CacheBackend, MemoryCache, RedisCache, SecureCache
from app.services.amont.coalescing import Coalescer
from app.services.journal import AppelFournisseur, ConsultationRecord, DecisionRecord, Journal
from tests.db.postgres import throwaway_database

RESULTATS = Path(__file__).resolve().parent / "results" / "storage.json"
ITERATIONS = 1_000
CONCURRENCE = 20
IDENTITE = ("LEFEBVRE", "ALEXIS GÉRÔME JEAN-PHILIPPE", "F", "1982-12-27", "08480", "99100")
# About the size of a real decision record: 3 aids, 2 conditions each, with sources.
CONTENU = {
    "resultats": [
        {
            "dispositif": f"aide-{i}",
            "statut": "eligible",
            "conditions": [
                {
                    "critere": "quotient_familial_caf",
                    "seuil": "600",
                    "valeur": "550",
                    "explication": "Le QF CAF (550 €) est inférieur ou égal au seuil de 600 €.",
                    "source": {"fournisseur": "CNAF", "periode": "2026-10", "request_id": "x" * 36},
                }
            ]
            * 2,
        }
        for i in range(3)
    ]
}


def _ms(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {
        "p50_ms": round(statistics.median(ordered) * 1000, 3),
        "p99_ms": round(ordered[int(len(ordered) * 0.99) - 1] * 1000, 3),
    }


async def _timed(operation: Callable[[], Awaitable[Any]], n: int = ITERATIONS) -> list[float]:
    samples: list[float] = []
    for _ in range(n):
        start = time.perf_counter()
        await operation()
        samples.append(time.perf_counter() - start)
    return samples


def _records() -> tuple[ConsultationRecord, DecisionRecord]:
    consultation = ConsultationRecord(
        organisme_id="26999000800006",
        type="eligibilite",
        statut="succes",
        dossier_ref="D-2026-00042",
        demandeur_pseudonyme="a" * 64,
        appels_fournisseurs=(
            AppelFournisseur(
                endpoint="/v3/dss/quotient_familial/identite", fournisseur="api_particulier", issue="ok"
            ),
        ),
    )
    decision = DecisionRecord(
        consultation_id=consultation.id,
        organisme_id=consultation.organisme_id,
        date_reference=date(2026, 11, 26),
        reglement_id="demo",
        reglement_version="1",
        reglement_empreinte="sha256:" + "0" * 64,
        contenu=CONTENU,
    )
    return consultation, decision


async def _journal(url: str) -> dict[str, Any]:
    await asyncio.to_thread(upgrade_database, url)
    engine = create_engine_from_url(url)
    journal = Journal(engine)
    try:
        sequential = await _timed(lambda: journal.enregistrer(*_records()))
        start = time.perf_counter()
        total = ITERATIONS
        semaphore = asyncio.Semaphore(CONCURRENCE)

        async def one() -> None:
            async with semaphore:
                await journal.enregistrer(*_records())

        await asyncio.gather(*(one() for _ in range(total)))
        elapsed = time.perf_counter() - start
        return {**_ms(sequential), f"writes_per_s_{CONCURRENCE}_concurrent": round(total / elapsed)}
    finally:
        await engine.dispose()


async def _cache(backend: CacheBackend) -> dict[str, Any]:
    cache = SecureCache(backend, KeyRing(SecretStr("bench-secret-bench-secret-bench-secret")))
    cle = cache.cle("26999000800006", "bench", *IDENTITE, "2026-10")
    valeur = {"quotient_familial": 550, "allocataires": [{"nom_naissance": "LEFEBVRE"}] * 2}
    try:
        writes = await _timed(lambda: cache.set_json(cle, valeur, 60))
        reads = await _timed(lambda: cache.get_json(cle))
        keys = await _timed(lambda: asyncio.sleep(0, cache.cle("26999000800006", "bench", *IDENTITE)))
        if isinstance(backend, RedisCache):
            await backend.client.delete(cle)
        return {"set_json": _ms(writes), "get_json": _ms(reads), "cle": _ms(keys)}
    finally:
        await cache.close()


async def _coalescing() -> dict[str, int]:
    coalescer = Coalescer()
    calls = 0

    async def upstream() -> int:
        nonlocal calls
        calls += 1
        await asyncio.sleep(0.05)
        return 550

    await asyncio.gather(*(coalescer.run("k", upstream) for _ in range(100)))
    return {"concurrent_identical_calls": 100, "factory_calls": calls}


async def main() -> dict[str, Any]:
    results: dict[str, Any] = {"python": platform.python_version(), "iterations": ITERATIONS}
    with tempfile.TemporaryDirectory() as directory:
        results["journal_sqlite"] = await _journal(f"sqlite:///{directory}/journal.db")
    with throwaway_database() as url:
        results["journal_postgresql"] = await _journal(url)
    results["cache_memory"] = await _cache(MemoryCache())
    results["cache_redis"] = await _cache(RedisCache.from_url("redis://127.0.0.1:6379/15"))
    results["coalescing"] = await _coalescing()
    return results


if __name__ == "__main__":
    figures = asyncio.run(main())
    RESULTATS.parent.mkdir(parents=True, exist_ok=True)
    RESULTATS.write_text(json.dumps(figures, indent=2, ensure_ascii=False) + "\n")
    print(json.dumps(figures, indent=2, ensure_ascii=False))
