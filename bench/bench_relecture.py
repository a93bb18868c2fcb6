"""Reading a replay's rows back from the journal (issue 17), in instructions per decision.

The impact bench (bench/bench_impact.py) times the replay's floors on 100 000 decisions; on a shared
machine its times move with the load. This counts instead, with callgrind, what the process spends
per decision read by `RelectureJournal`, on PostgreSQL and on SQLite:

- `lignes`: the rows fetched only (`RelectureJournal.pages`);
- `dechiffrees`: and each compact copy decrypted (`RelectureJournal.dechiffrer_copie`);
- `ouvertes`: and each row opened into a `DecisionRelue` (`RelectureJournal.ouvrir`, what a replay
  reads: the copy decrypted and split into its segments).

The decisions are those of the impact bench (the intercommunal règlement's households, written by
`Journal.enregistrer`, encrypted, with a few of another organisme), DECISIONS of them. Each count
is what callgrind collects in a fresh process while it reads the period — instrumentation started
and stopped around the reading only (`--instr-atstart=no` and callgrind's client requests, through
a few lines of C compiled here: start-up and imports run uninstrumented, minutes quicker) — minus
the same for an empty period (the connection and the queries' fixed cost cancel out), divided by
DECISIONS; every thread of the process is counted (aiosqlite's), the PostgreSQL server is not.

Run with `.venv/bin/python bench/bench_relecture.py` (`make bench` runs it too; valgrind needed);
writes bench/results/relecture.json. `EG_BENCH_RELECTURE_RESULTATS` to write elsewhere.
"""

from __future__ import annotations

import argparse
import asyncio
import ctypes
import json
import os
import platform
import secrets
import shutil
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

#: Decisions read in a counted run (the impact bench's generator writes that many, each household once).
DECISIONS = 2000
os.environ["EG_BENCH_IMPACT_DECISIONS"] = str(DECISIONS)

from app.db.engine import create_engine_from_url  # noqa: E402
from app.db.migrate import upgrade_database  # noqa: E402
from app.services.journal.relecture import RelectureJournal  # noqa: E402
from bench import bench_impact  # noqa: E402

RACINE = Path(__file__).resolve().parent.parent
RESULTATS = Path(
    os.environ.get(
        "EG_BENCH_RELECTURE_RESULTATS", Path(__file__).resolve().parent / "results" / "relecture.json"
    )
)
MODES = ("lignes", "dechiffrees", "ouvertes")
#: The period holding the decisions, and one holding none (the run that is subtracted).
PERIODE = (datetime(2026, 1, 1, tzinfo=UTC), datetime(2027, 1, 1, tzinfo=UTC))
VIDE = (datetime(2020, 1, 1, tzinfo=UTC), datetime(2020, 2, 1, tzinfo=UTC))


#: Callgrind's client requests, callable from Python (ctypes): the macros are inline assembly.
_REQUETES_C = """#include <valgrind/callgrind.h>
void eg_debut(void) { CALLGRIND_START_INSTRUMENTATION; }
void eg_fin(void) { CALLGRIND_STOP_INSTRUMENTATION; }
"""


def _bibliotheque(dossier: Path) -> Path:
    source, bibliotheque = dossier / "requetes.c", dossier / "requetes.so"
    source.write_text(_REQUETES_C, encoding="ascii")
    subprocess.run(["cc", "-shared", "-fPIC", "-O1", "-o", str(bibliotheque), str(source)], check=True)  # noqa: S603, S607
    return bibliotheque


async def _lire(url: str, mode: str, vide: bool) -> int:
    """Run under callgrind by `_total`: the period read in `mode`, instrumented; returns the
    decisions read."""
    requetes = ctypes.CDLL(os.environ["EG_BENCH_RELECTURE_REQUETES"])
    engine = create_engine_from_url(url)
    relecture = RelectureJournal(engine, bench_impact.TROUSSEAU)
    du, au = VIDE if vide else PERIODE
    lues = 0
    requetes.eg_debut()
    try:
        async for page in relecture.pages(bench_impact.ORGANISME, du, au):
            if mode == "lignes":
                lues += len(page)
            elif mode == "dechiffrees":
                lues += sum(relecture.dechiffrer_copie(ligne) is not None for ligne in page)
            else:
                lues += sum(decision.rejeu is not None for decision in relecture.ouvrir(page))
    finally:
        requetes.eg_fin()
        await engine.dispose()
    return lues


def _total(url: str, mode: str, vide: bool, bibliotheque: Path) -> int:
    """Callgrind's instruction total for one fresh process reading the period (or the empty one)."""
    valgrind = shutil.which("valgrind")
    assert valgrind is not None
    commande = [valgrind, "--tool=callgrind", "--callgrind-out-file=/dev/null", "--instr-atstart=no",
                sys.executable, __file__, "--lire", url, "--mode", mode]  # fmt: skip
    if vide:
        commande.append("--vide")
    fini = subprocess.run(  # noqa: S603 - our own script under valgrind
        commande,
        capture_output=True,
        text=True,
        check=False,
        cwd=RACINE,
        env={**os.environ, "PYTHONHASHSEED": "0", "EG_BENCH_RELECTURE_REQUETES": str(bibliotheque)},
    )
    if fini.returncode != 0:
        raise RuntimeError(f"callgrind : code {fini.returncode}\n{fini.stderr[-2000:]}")
    lues = int(fini.stdout.strip().splitlines()[-1])
    if lues != (0 if vide else DECISIONS):
        raise RuntimeError(f"{mode} : {lues} décisions lues au lieu de {DECISIONS}")
    return int(next(li for li in fini.stderr.splitlines() if "Collected" in li).split()[-1])


def _compter(url: str) -> dict[str, int]:
    """Instructions per decision of each mode, and of the empty period (subtracted), two runs at once."""
    with tempfile.TemporaryDirectory() as dossier, ThreadPoolExecutor(max_workers=2) as executeur:
        bibliotheque = _bibliotheque(Path(dossier))
        vide = executeur.submit(_total, url, MODES[0], True, bibliotheque)
        totaux = {mode: executeur.submit(_total, url, mode, False, bibliotheque) for mode in MODES}
        return {mode: (totaux[mode].result() - vide.result()) // DECISIONS for mode in MODES}


def _base(url: str, modeles: list[Any]) -> dict[str, int]:
    upgrade_database(url)
    asyncio.run(bench_impact._ecrire(url, modeles))
    return _compter(url)


def main(bases: tuple[str, ...]) -> int:
    if shutil.which("valgrind") is None:
        print("valgrind absent : rien à compter", file=sys.stderr)
        return 1
    print(f"Génération de {DECISIONS} décisions (règlement à 10 aides)…", flush=True)
    modeles = bench_impact._enregistrements()
    resultats: dict[str, Any] = {}
    if "sqlite" in bases:
        with tempfile.TemporaryDirectory() as dossier:
            resultats["sqlite"] = _base(f"sqlite:///{dossier}/journal.db", modeles)
            print(f"SQLite : {resultats['sqlite']}", flush=True)
    if "postgresql" in bases:
        nom = f"eg_bench_relecture_{secrets.token_hex(4)}"
        asyncio.run(bench_impact._admin(f'CREATE DATABASE "{nom}"'))
        try:
            resultats["postgresql"] = _base(f"{bench_impact.PG}/{nom}", modeles)
            print(f"PostgreSQL : {resultats['postgresql']}", flush=True)
        finally:
            asyncio.run(bench_impact._admin(f'DROP DATABASE IF EXISTS "{nom}" WITH (FORCE)'))
    precedent = json.loads(RESULTATS.read_text(encoding="utf-8")) if RESULTATS.is_file() else {}
    sortie = {
        "decisions": DECISIONS,
        "methode": "instructions par décision (callgrind, instrumenté pendant la lecture seulement) : "
        "celles d'un processus neuf lisant la période moins celles d'un processus lisant une période "
        "vide, divisé par le nombre de décisions ; tous les fils du processus comptés (aiosqlite), "
        "pas le serveur PostgreSQL",
        "modes": {
            "lignes": "RelectureJournal.pages seules",
            "dechiffrees": "+ copie compacte déchiffrée (dechiffrer_copie)",
            "ouvertes": "+ ligne ouverte en DecisionRelue (ouvrir)",
        },
        "instructions_par_decision": {**precedent.get("instructions_par_decision", {}), **resultats},
        "machine": {
            "python": platform.python_version(),
            "processeur": platform.processor() or platform.machine(),
        },
    }
    RESULTATS.parent.mkdir(exist_ok=True)
    RESULTATS.write_text(json.dumps(sortie, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(json.dumps(sortie["instructions_par_decision"], indent=2))
    return 0


if __name__ == "__main__":
    arguments = argparse.ArgumentParser()
    arguments.add_argument("--lire", default=None)
    arguments.add_argument("--mode", choices=MODES, default="lignes")
    arguments.add_argument("--vide", action="store_true")
    arguments.add_argument("--bases", default="sqlite,postgresql", help="bases comptées (sqlite, postgresql)")
    lus = arguments.parse_args()
    if lus.lire:
        print(asyncio.run(_lire(lus.lire, lus.mode, lus.vide)))
        sys.exit(0)
    sys.exit(main(tuple(lus.bases.split(","))))
