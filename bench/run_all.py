"""Run every benchmark, one after the other, each in its own process: `make bench`.

Each writes its figures to bench/results/<name>.json; this prints a one-line status per benchmark
and exits non-zero if one of them failed.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
BANCS = (
    "bench_rules.py",
    "bench_reglement.py",
    "bench_storage.py",
    "bench_protection.py",
    "bench_debit.py",
    "bench_robustesse.py",
    "bench_documents.py",
    "bench_impact.py",
    "bench_relecture.py",
    "bench_campagnes.py",
)


def main() -> int:
    echecs = 0
    for banc in BANCS:
        debut = time.perf_counter()
        resultat = subprocess.run([sys.executable, str(BENCH / banc)], cwd=BENCH.parent, check=False)  # noqa: S603
        statut = "ok" if resultat.returncode == 0 else f"échec (code {resultat.returncode})"
        print(f"== {banc} : {statut} en {time.perf_counter() - debut:.0f} s", flush=True)
        echecs += resultat.returncode != 0
    print(f"Résultats dans {BENCH / 'results'}")
    return 1 if echecs else 0


if __name__ == "__main__":
    sys.exit(main())
