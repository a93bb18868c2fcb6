"""Benchmark of warm-cache `POST /v1/eligibilite` throughput, at 1 and 2 uvicorn workers, next to a
bare FastAPI JSON endpoint served the same way in the same run (target: ≥ 50% of its throughput),
and the floor endpoint (bench/plancher.py: only the I/O no implementation can skip) as a third.

The load generator is `wrk` (Debian package `wrk`), another process, on loopback, for a fixed
duration per measurement. Run with `.venv/bin/python bench/bench_debit.py`; writes
bench/results/debit.json. The gateway journals every decision (PostgreSQL, throwaway database).
"""

from __future__ import annotations

import json
import platform
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx

from bench.serveurs import API_KEY, nu, passerelle, plancher, simulateur
from tests.db.postgres import throwaway_database

RESULTATS = Path(__file__).resolve().parent / "results" / "debit.json"
DUREE_S = 8
#: Measurements per server and worker count; the median one is reported, with the range.
TOURS = 3
CONNEXIONS = 32
CORPS = {
    "demandeur": {
        "nom_naissance": "MARTIN",
        "prenoms": ["AXELLE"],
        "sexe": "F",
        "date_naissance": "1989-12-03",
        "code_cog_insee_commune_naissance": "35238",
        "code_cog_insee_pays_naissance": "99100",
    },
    "dossier_ref": "BANC",
    "declaratif": {"commune_residence": "08480"},
}
_UNITES = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def _wrk(url: str, script: Path) -> dict[str, float]:
    wrk = shutil.which("wrk")
    assert wrk, "wrk est requis (paquet Debian `wrk`)"
    sortie = subprocess.run(  # noqa: S603 - the wrk binary, fixed arguments, loopback
        [wrk, "-t2", f"-c{CONNEXIONS}", f"-d{DUREE_S}s", "--latency", "-s", str(script), url],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    debit = float(re.search(r"Requests/sec:\s+([\d.]+)", sortie).group(1))  # type: ignore[union-attr]
    latences = {
        p: float(v) * _UNITES[u]
        for p, v, u in re.findall(r"^\s+(50|99)%\s+([\d.]+)(us|ms|s)\s*$", sortie, re.M)
    }
    non_2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", sortie)
    return {
        "requetes_par_seconde": round(debit, 1),
        "p50_ms": round(latences["50"], 2),
        "p99_ms": round(latences["99"], 2),
        "non_2xx": int(non_2xx.group(1)) if non_2xx else 0,
    }


def _mediane(mesures: list[dict[str, float]]) -> dict[str, Any]:
    """The measurement of median throughput, with the range seen over the rounds."""
    ordonnees = sorted(mesures, key=lambda m: m["requetes_par_seconde"])
    debits = [m["requetes_par_seconde"] for m in ordonnees]
    return {**ordonnees[len(ordonnees) // 2], "tours": len(mesures), "debit_min_max": [debits[0], debits[-1]]}


def _script(dossier: Path) -> Path:
    corps = json.dumps(CORPS).replace("\\", "\\\\").replace('"', '\\"')
    script = dossier / "post.lua"
    script.write_text(
        'wrk.method = "POST"\n'
        f'wrk.body = "{corps}"\n'
        'wrk.headers["Content-Type"] = "application/json"\n'
        f'wrk.headers["Authorization"] = "Bearer {API_KEY}"\n',
        encoding="utf-8",
    )
    return script


def main() -> dict[str, Any]:
    resultats: dict[str, Any] = {"duree_par_mesure_s": DUREE_S, "connexions": CONNEXIONS, "tours": TOURS}
    with tempfile.TemporaryDirectory() as dossier, throwaway_database() as database_url, simulateur() as sim:
        script = _script(Path(dossier))
        for workers in (1, 2):
            # The three servers run side by side and are measured in turn, TOURS times: this
            # (shared, virtual) machine's speed drifts within a minute, and interleaving spreads the
            # drift over all three instead of favouring one.
            with (
                nu(workers=workers) as url_nu,
                plancher(database_url, workers=workers) as url_plancher,
                passerelle(sim, database_url, workers=workers) as url_passerelle,
            ):
                # Warm the cache: the measured requests never reach the simulator.
                chaud = httpx.post(
                    url_passerelle + "/v1/eligibilite",
                    json=CORPS,
                    headers={"Authorization": f"Bearer {API_KEY}"},
                )
                assert chaud.status_code == 200, chaud.text
                tours: dict[str, list[dict[str, float]]] = {"nu": [], "plancher": [], "passerelle": []}
                for _ in range(TOURS):
                    for nom, url in (
                        ("nu", url_nu),
                        ("plancher", url_plancher),
                        ("passerelle", url_passerelle),
                    ):
                        tours[nom].append(_wrk(url + "/v1/eligibilite", script))
            reference, sol, mesure = (_mediane(tours[nom]) for nom in ("nu", "plancher", "passerelle"))
            resultats[f"{workers}_worker{'s' if workers > 1 else ''}"] = {
                "passerelle": mesure,
                "fastapi_nu": reference,
                "ratio_debit": round(mesure["requetes_par_seconde"] / reference["requetes_par_seconde"], 3),
                "cible_ratio": 0.5,
                # Only the I/O a decision cannot skip (validation, one Redis read + decryption, the
                # journal before the answer, a 9.6 kB body): the best ratio any implementation gets.
                "plancher_es_incompressibles": sol,
                "ratio_plancher": round(sol["requetes_par_seconde"] / reference["requetes_par_seconde"], 3),
            }
    return resultats


if __name__ == "__main__":
    resultats = main()
    resultats["machine"] = {"python": platform.python_version(), "processeur": platform.processor() or "?"}
    RESULTATS.parent.mkdir(exist_ok=True)
    RESULTATS.write_text(json.dumps(resultats, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(json.dumps(resultats, indent=2, ensure_ascii=False))
