"""Benchmark of the upstream quotas when several organismes burst together (issue 13, point 4).

Real processes on loopback: the API Particulier simulator (its own process, counting each token's
calls per clock second as the real one does), the gateway (uvicorn, 2 workers, Redis db 14, a
throwaway PostgreSQL journal) and two organismes, each with its own API Particulier token. Each
organisme sends 10× its token's per-second quota at once (200 cold requests), both together.

Target: per token, at most 20 calls in any clock second the simulator counts, and 0 × 429.

Run with `.venv/bin/python bench/bench_quotas.py [--latence S]`; writes bench/results/quotas.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import platform
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx
from redis.asyncio import Redis

from bench.bench_protection import _controle, _organismes_de_banc, demande, inconnu
from bench.serveurs import REDIS_URL, passerelle, simulateur
from tests.db.postgres import throwaway_database

RESULTATS = Path(__file__).resolve().parent / "results" / "quotas.json"
QUOTA_PAR_JETON = 20


async def _vider_redis() -> None:
    """Windows and cache emptied between rounds, Redis' marker kept: to the gateway's workers, this
    is not a Redis that lost its data (which would stop every call for a window, see quotas.py)."""
    redis = Redis.from_url(REDIS_URL)
    try:
        for motif in ("eg:*", "eg-quota:*"):
            cles = [k async for k in redis.scan_iter(match=motif) if not k.endswith(b":marqueur")]
            if cles:
                await redis.delete(*cles)
    finally:
        await redis.aclose()


async def rafale_deux_jetons(gw: str, sim: str, cles: list[str], par_jeton: int) -> dict[str, Any]:
    await _vider_redis()
    await _controle(sim, "POST", "/__simulateur/reinitialiser")
    limites = httpx.Limits(max_connections=2 * par_jeton, max_keepalive_connections=2 * par_jeton)
    debut = time.perf_counter()
    async with httpx.AsyncClient(base_url=gw, timeout=60, limits=limites) as http:
        reponses = await asyncio.gather(
            *(
                http.post(
                    "/v1/eligibilite",
                    json=demande(inconnu(10_000 * (k + 1) + i)),
                    headers={"Authorization": f"Bearer {cle}"},
                )
                for i in range(par_jeton)
                for k, cle in enumerate(cles)
            )
        )
    duree = time.perf_counter() - debut
    compteurs = await _controle(sim, "GET", "/__simulateur/compteurs")
    codes: dict[str, int] = {}
    for reponse in reponses:
        for indisponible in reponse.json().get("donnees_indisponibles", []):
            codes[indisponible["code"]] = codes.get(indisponible["code"], 0) + 1
    par_jeton_sim = compteurs.get("par_jeton", {})
    return {
        "requetes": len(reponses),
        "jetons": len(cles),
        "quota_par_jeton_par_seconde": QUOTA_PAR_JETON,
        "statuts_passerelle": {
            str(s): [r.status_code for r in reponses].count(s) for s in {r.status_code for r in reponses}
        },
        "appels_amont": compteurs["total"],
        "max_appels_par_seconde_tous_jetons": compteurs["max_par_seconde"],
        "max_appels_par_seconde_par_jeton": max(
            (j["max_par_seconde"] for j in par_jeton_sim.values()), default=0
        ),
        "reponses_429_amont": sum(j["reponses_429"] for j in par_jeton_sim.values()),
        "par_jeton": par_jeton_sim,
        "codes_indisponibilite": codes,
        "duree_s": round(duree, 2),
    }


async def main(latence: float, tours: int) -> dict[str, Any]:
    with throwaway_database() as database_url, simulateur(latence) as sim:
        paires = await asyncio.to_thread(_organismes_de_banc, database_url, 2)
        cles = [cle for cle, _ in paires]
        with passerelle(sim, database_url, workers=2, deadline=15.0) as gw:
            essais = [await rafale_deux_jetons(gw, sim, cles, 10 * QUOTA_PAR_JETON) for _ in range(tours)]
    await _vider_redis()
    return {
        "latence_simulateur_s": latence,
        "essais": essais,
        "max_appels_par_seconde_par_jeton": max(e["max_appels_par_seconde_par_jeton"] for e in essais),
        "reponses_429_amont": sum(e["reponses_429_amont"] for e in essais),
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--latence", type=float, default=0.0)
    parser.add_argument("--tours", type=int, default=2)
    args = parser.parse_args()
    resultats = asyncio.run(main(args.latence, args.tours))
    resultats["machine"] = {"python": platform.python_version(), "processeur": platform.processor() or "?"}
    RESULTATS.parent.mkdir(exist_ok=True)
    RESULTATS.write_text(json.dumps(resultats, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(json.dumps(resultats, indent=2, ensure_ascii=False))
