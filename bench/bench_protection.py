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
import subprocess
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
from app.services.amont.api_particulier.params import parametres_identite
from app.services.journal import ConsultationRecord, DecisionRecord, Journal
from bench.serveurs import API_KEY, PYTHON, REDIS_URL, ROOT, _env, nu, passerelle, simulateur
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
            # Redis' marker kept: to the workers, a Redis that lost its data stops calls a window.
            cles = [k async for k in redis.scan_iter(match=motif) if not k.endswith(b":marqueur")]
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


async def _plancher_http(n: int, pause: float) -> list[float]:
    """Sequential round trips to a bare FastAPI endpoint served like the gateway (same body)."""
    echantillons: list[float] = []
    with nu(workers=2) as url:
        async with httpx.AsyncClient(base_url=url, timeout=30) as http:
            await http.post("/v1/eligibilite", json=demande(MARTIN_AXELLE))
            for _ in range(n):
                debut = time.perf_counter()
                await http.post("/v1/eligibilite", json=demande(MARTIN_AXELLE))
                echantillons.append(time.perf_counter() - debut)
                await asyncio.sleep(pause)
    return echantillons


async def _plancher_journal(database_url: str, decision: dict[str, Any], n: int, pause: float) -> list[float]:
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
            await asyncio.sleep(pause)
    finally:
        await engine.dispose()
    return echantillons


def _organismes_de_banc(database_url: str, nombre: int) -> list[tuple[str, str]]:
    """`nombre` organismes, each with its own API Particulier token and an API key of its own, made
    with the gateway's command line: (API key, token for the direct calls) per organisme."""
    paires: list[tuple[str, str]] = []
    for k in range(nombre):
        env = _env(
            GATEWAY_MODE="sandbox",
            DATABASE_URL=database_url,
            ORGANISME_API_PARTICULIER_TOKEN=f"jeton-banc-{k}",
        )
        organisme = [
            "--id",
            f"banc-{k}",
            "--nom",
            f"Banc {k}",
            "--siret",
            SIRET_DEMO,
            "--reglement",
            "demo.yaml",
        ]
        subprocess.run(  # noqa: S603 - our own interpreter, fixed arguments
            [PYTHON, "-m", "app", "organisme", "create", *organisme, "--remplacer"],
            cwd=ROOT,
            env=env,
            check=True,
            capture_output=True,
        )
        client = ["--id", f"banc-{k}-logiciel", "--scopes", "eligibilite"]
        sortie = subprocess.run(  # noqa: S603 - our own interpreter, fixed arguments
            [PYTHON, "-m", "app", "client", "create", "--organisme", f"banc-{k}", *client],
            cwd=ROOT,
            env=env,
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        paires.append((sortie.strip().splitlines()[-1], f"jeton-direct-{k}"))
    return paires


async def _serie(
    gw: str, sim: str, n: int, cles: list[tuple[str, str]], *, pause: float, premier: int
) -> tuple[list[float], list[float], dict[str, Any]]:
    """n cold requests (identities unknown upstream: a miss and a call each), each followed by the
    same upstream call made directly; organismes in turn, so that no token nears its quota."""
    passerelle_s: list[float] = []
    amont_s: list[float] = []
    derniere: dict[str, Any] = {}
    async with (
        httpx.AsyncClient(base_url=gw, timeout=30) as http,
        httpx.AsyncClient(base_url=sim, timeout=30) as direct,
    ):
        # Connections warmed up, for every organisme.
        for cle, _ in cles:
            entetes = {"Authorization": f"Bearer {cle}"}
            await http.post("/v1/eligibilite", json=demande(inconnu(premier + 99_999)), headers=entetes)
        for i in range(n):
            cle, jeton = cles[i % len(cles)]
            identite = inconnu(premier + i)
            debut = time.perf_counter()
            reponse = await http.post(
                "/v1/eligibilite", json=demande(identite), headers={"Authorization": f"Bearer {cle}"}
            )
            passerelle_s.append(time.perf_counter() - debut)
            assert reponse.status_code == 200, reponse.text
            derniere = reponse.json()
            # The same upstream call, made directly (another token: its own quota).
            params = [("recipient", SIRET_DEMO), *parametres_identite(Demandeur.model_validate(identite))]
            debut = time.perf_counter()
            await direct.get(
                "/v3/dss/quotient_familial/identite",
                params=tuple(params),
                headers={"Authorization": f"Bearer {jeton}"},
            )
            amont_s.append(time.perf_counter() - debut)
            await asyncio.sleep(pause)
    return passerelle_s, amont_s, derniere


async def _chemin_froid_au_rythme(
    gw: str, sim: str, database_url: str, n: int, cles: list[tuple[str, str]], *, pause: float, premier: int
) -> dict[str, Any]:
    passerelle_s, amont_s, decision = await _serie(gw, sim, n, cles, pause=pause, premier=premier)
    surcout = _ms([g - a for g, a in zip(passerelle_s, amont_s, strict=True)])
    http_nu = _ms(await _plancher_http(n, pause))
    journal = _ms(await _plancher_journal(database_url, decision, n, pause))
    return {
        "passerelle_ms": _ms(passerelle_s),
        "amont_direct_ms": _ms(amont_s),
        "surcout_ms": surcout,
        "planchers_ms": {
            "aller_retour_http_fastapi_nu": http_nu,
            "commit_durable_du_journal": journal,
        },
        "surcout_hors_planchers_p50_ms": round(surcout["p50"] - http_nu["p50"] - journal["p50"], 2),
    }


async def chemin_froid(gw: str, sim: str, database_url: str, n: int = 60) -> dict[str, Any]:
    await _vider_redis()
    await _controle(sim, "POST", "/__simulateur/reinitialiser")
    espace = await _chemin_froid_au_rythme(
        gw, sim, database_url, n, [(API_KEY, "jeton-mesure-directe")], pause=0.06, premier=0
    )
    # Back to back: 8 organismes (8 tokens) in turn keep each token under 20 calls/s.
    cles = await asyncio.to_thread(_organismes_de_banc, database_url, 8)
    enchaine = await _chemin_froid_au_rythme(gw, sim, database_url, n, cles, pause=0.0, premier=1000)
    return {
        "requetes": n,
        "cible_surcout_p50_ms": 2.0,
        "espacees_de_60_ms": espace,
        "enchainees": enchaine,
        "note": "requête d'éligibilité complète à froid : validation, cache (absent), limiteur et verrou "
        "Redis, appel, règles, écriture du journal PostgreSQL, réponse ; surcoût = passerelle moins le "
        "même appel fait directement au simulateur. Deux rythmes : requêtes espacées de 60 ms (trafic "
        "d'un guichet : chaque processus se réveille) et enchaînées (8 organismes à tour de rôle pour "
        "rester sous le quota de chaque jeton). Les planchers sont mesurés au même rythme : un "
        "aller-retour HTTP vers un point FastAPI nu servi comme la passerelle, et le commit durable de "
        "la même décision par le journal.",
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
