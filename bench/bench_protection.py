"""Benchmark of upstream protection, against real processes on loopback: the API Particulier
simulator, the gateway (uvicorn, 2 workers, Redis db 14, a throwaway PostgreSQL journal).

1. coalescing: 100 identical concurrent requests → upstream calls (target: 1);
2. cold path: gateway latency minus the simulator's own latency for the same call (target: < 2 ms
   at p50), next to two floors measured the same way, sequentially: one HTTP round trip to a bare
   FastAPI endpoint (what any gateway adds by being one more hop) and one durable journal commit
   of the same decision on the same PostgreSQL (what answering only once journaled costs);
3. burst: 10× the per-token quota at once → the simulator's calls per second never exceed 20,
   no 429, no request refused that could have waited.

Run with `.venv/bin/python bench/bench_protection.py`; writes bench/results/protection.json.
"""

from __future__ import annotations

import asyncio
import json
import platform
import statistics
import sys
import time
from datetime import date
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx
from redis.asyncio import Redis

from app.db.engine import DocumentJson, create_engine_from_url
from app.schemas.demandeur import Demandeur
from app.services.api_particulier.params import parametres_identite
from app.services.journal import ConsultationRecord, DecisionRecord, Journal
from bench.serveurs import API_KEY, REDIS_URL, nu, passerelle, simulateur
from tests.db.postgres import throwaway_database

RESULTATS = Path(__file__).resolve().parent / "results" / "protection.json"
AUTH = {"Authorization": f"Bearer {API_KEY}"}
SIRET_DEMO = "26999000800006"
MARTIN_AXELLE: dict[str, Any] = {
    "nom_naissance": "MARTIN",
    "prenoms": ["AXELLE"],
    "sexe": "F",
    "date_naissance": "1989-12-03",
    "code_cog_insee_commune_naissance": "35238",
    "code_cog_insee_pays_naissance": "99100",
}


def inconnu(n: int) -> dict[str, Any]:
    """A valid identity unknown to the sandbox: a cache miss and one upstream call (a 404)."""
    lettres = "".join(chr(ord("A") + int(c)) for c in f"{n:05d}")
    return {**MARTIN_AXELLE, "nom_naissance": f"INCONNU{lettres}"}


def demande(demandeur: dict[str, Any]) -> dict[str, Any]:
    return {"demandeur": demandeur, "dispositifs": ["aide-alimentaire"], "dossier_ref": "BANC"}


def _ms(echantillons: list[float]) -> dict[str, float]:
    ordonnes = sorted(echantillons)
    return {
        "p50": round(statistics.median(ordonnes) * 1000, 2),
        "p90": round(ordonnes[int(len(ordonnes) * 0.9)] * 1000, 2),
        "p99": round(ordonnes[min(len(ordonnes) - 1, int(len(ordonnes) * 0.99))] * 1000, 2),
    }


async def _vider_redis() -> None:
    redis = Redis.from_url(REDIS_URL)
    try:
        for motif in ("eg:*", "eg-quota:*"):
            cles = [k async for k in redis.scan_iter(match=motif)]
            if cles:
                await redis.delete(*cles)
    finally:
        await redis.aclose()


async def _controle(sim: str, methode: str, chemin: str, **json_: Any) -> Any:
    async with httpx.AsyncClient(base_url=sim) as http:
        response = await http.request(methode, chemin, json=json_ or None)
        return response.json() if response.content else None


async def coalescence(gw: str, sim: str) -> dict[str, Any]:
    await _vider_redis()
    await _controle(sim, "POST", "/__simulateur/reinitialiser")
    # The upstream answers in 300 ms: every request arrives while the first call is in flight.
    await _controle(sim, "PUT", "/__simulateur/pannes", latency_seconds=0.3)
    limites = httpx.Limits(max_connections=100, max_keepalive_connections=100)
    async with httpx.AsyncClient(base_url=gw, headers=AUTH, timeout=30, limits=limites) as http:
        reponses = await asyncio.gather(
            *(http.post("/v1/eligibilite", json=demande(MARTIN_AXELLE)) for _ in range(100))
        )
    await _controle(sim, "DELETE", "/__simulateur/pannes")
    compteurs = await _controle(sim, "GET", "/__simulateur/compteurs")
    statuts = [r.status_code for r in reponses]
    return {
        "requetes": 100,
        "workers": 2,
        "appels_amont": compteurs["total"],
        "cible": 1,
        "reponses_200": statuts.count(200),
    }


async def _plancher_http(n: int) -> list[float]:
    """Sequential round trips to a bare FastAPI endpoint served like the gateway (same body)."""
    echantillons: list[float] = []
    with nu(workers=2) as url:
        async with httpx.AsyncClient(base_url=url, timeout=30) as http:
            await http.post("/v1/eligibilite", json=demande(MARTIN_AXELLE))
            for _ in range(n):
                debut = time.perf_counter()
                await http.post("/v1/eligibilite", json=demande(MARTIN_AXELLE))
                echantillons.append(time.perf_counter() - debut)
                await asyncio.sleep(0.06)
    return echantillons


async def _plancher_journal(database_url: str, decision: dict[str, Any], n: int) -> list[float]:
    """Sequential durable commits of `decision` (a consultation and its decision) by the journal."""
    engine = create_engine_from_url(database_url)
    journal = Journal(engine)
    contenu = DocumentJson(decision, json.dumps(decision, ensure_ascii=False))
    echantillons: list[float] = []
    try:
        for i in range(n + 1):
            consultation = ConsultationRecord(
                organisme_id="banc", type="eligibilite", statut="succes", demandeur_pseudonyme="0" * 64
            )
            record = DecisionRecord(
                consultation_id=consultation.id,
                organisme_id="banc",
                date_reference=date(2026, 11, 26),
                reglement_id="banc",
                reglement_version="1",
                reglement_empreinte="sha256:" + "0" * 64,
                contenu=contenu,
            )
            debut = time.perf_counter()
            await journal.enregistrer(consultation, record)
            if i:  # the first one opens the connection
                echantillons.append(time.perf_counter() - debut)
            await asyncio.sleep(0.06)
    finally:
        await engine.dispose()
    return echantillons


async def chemin_froid(gw: str, sim: str, database_url: str, n: int = 60) -> dict[str, Any]:
    await _vider_redis()
    await _controle(sim, "POST", "/__simulateur/reinitialiser")
    passerelle_s: list[float] = []
    amont_s: list[float] = []
    async with (
        httpx.AsyncClient(base_url=gw, headers=AUTH, timeout=30) as http,
        httpx.AsyncClient(base_url=sim, timeout=30) as direct,
    ):
        await http.post("/v1/eligibilite", json=demande(inconnu(99_999)))  # connections warmed up
        for i in range(n):
            identite = inconnu(i)
            debut = time.perf_counter()
            reponse = await http.post("/v1/eligibilite", json=demande(identite))
            passerelle_s.append(time.perf_counter() - debut)
            assert reponse.status_code == 200, reponse.text
            # The same upstream call, made directly (another token: its own quota).
            params = [("recipient", SIRET_DEMO), *parametres_identite(Demandeur.model_validate(identite))]
            debut = time.perf_counter()
            await direct.get(
                "/v3/dss/quotient_familial/identite",
                params=tuple(params),
                headers={"Authorization": "Bearer jeton-mesure-directe"},
            )
            amont_s.append(time.perf_counter() - debut)
            await asyncio.sleep(0.06)  # below 20 calls/s on both tokens: no quota wait in the figures
    surcouts = [g - a for g, a in zip(passerelle_s, amont_s, strict=True)]
    http_nu = _ms(await _plancher_http(n))
    journal = _ms(await _plancher_journal(database_url, reponse.json(), n))
    surcout = _ms(surcouts)
    return {
        "requetes": n,
        "passerelle_ms": _ms(passerelle_s),
        "amont_direct_ms": _ms(amont_s),
        "surcout_ms": surcout,
        "cible_surcout_p50_ms": 2.0,
        "planchers_ms": {
            "aller_retour_http_fastapi_nu": http_nu,
            "commit_durable_du_journal": journal,
        },
        "surcout_hors_planchers_p50_ms": round(surcout["p50"] - http_nu["p50"] - journal["p50"], 2),
        "note": "requête d'éligibilité complète à froid : validation, cache (absent), limiteur et verrou "
        "Redis, appel, règles, écriture du journal PostgreSQL, réponse. Les planchers sont mesurés de "
        "la même façon (séquentiel, 60 ms entre deux) : un aller-retour HTTP vers un point d'accès "
        "FastAPI nu servi comme la passerelle, et le commit durable de la même décision par le journal.",
    }


async def rafale(gw: str, sim: str, n: int = 200) -> dict[str, Any]:
    await _vider_redis()
    await _controle(sim, "POST", "/__simulateur/reinitialiser")
    limites = httpx.Limits(max_connections=n, max_keepalive_connections=n)
    debut = time.perf_counter()
    async with httpx.AsyncClient(base_url=gw, headers=AUTH, timeout=60, limits=limites) as http:
        reponses = await asyncio.gather(
            *(http.post("/v1/eligibilite", json=demande(inconnu(1000 + i))) for i in range(n))
        )
    duree = time.perf_counter() - debut
    compteurs = await _controle(sim, "GET", "/__simulateur/compteurs")
    codes: dict[str, int] = {}
    for reponse in reponses:
        for indisponible in reponse.json().get("donnees_indisponibles", []):
            codes[indisponible["code"]] = codes.get(indisponible["code"], 0) + 1
    statuts_amont = compteurs["par_statut"].get("quotient_familial/identite", {})
    return {
        "requetes": n,
        "quota_par_jeton_par_seconde": 20,
        "appels_amont": compteurs["total"],
        "max_appels_par_seconde": compteurs["max_par_seconde"],
        "reponses_429_amont": statuts_amont.get("429", 0),
        "refus_quota_passerelle": codes.get("quota-fournisseur-atteint", 0),
        "codes_indisponibilite": codes,
        "duree_s": round(duree, 2),
        "note": "échéance de requête 15 s : les 200 appels tiennent en 10 s à 20/s, aucun n'a à échouer",
    }


async def main() -> dict[str, Any]:
    with throwaway_database() as database_url, simulateur() as sim:
        with passerelle(sim, database_url, workers=2) as gw:
            resultats = {
                "coalescence": await coalescence(gw, sim),
                "chemin_froid": await chemin_froid(gw, sim, database_url),
            }
        with passerelle(sim, database_url, workers=2, deadline=15.0) as gw:
            resultats["rafale"] = await rafale(gw, sim)
    await _vider_redis()
    return resultats


if __name__ == "__main__":
    resultats = asyncio.run(main())
    resultats["machine"] = {"python": platform.python_version(), "processeur": platform.processor() or "?"}
    RESULTATS.parent.mkdir(exist_ok=True)
    RESULTATS.write_text(json.dumps(resultats, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(json.dumps(resultats, indent=2, ensure_ascii=False))
