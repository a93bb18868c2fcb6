"""Benchmark of the documents (issue 16): a 5-aid fiche de décision rendered to a tagged PDF.

Run with `.venv/bin/python bench/bench_documents.py`; prints and writes bench/results/documents.json.

What is measured, on one core (the process is pinned to one CPU where the system allows it):
- `fiche_pdf`: the whole path the endpoint takes once the journal has answered: the view built from
  the journaled record (bench/decision_documents.json, the demo decision: 5 aids, certified and
  declared data, a missing datum, a barème), the verification code and its QR code, the Jinja2
  page, then WeasyPrint's PDF/UA-1 — target p50 ≤ 300 ms;
- `fiche_html`: the same without the PDF (what `format=html` costs);
- `plancher_page_vide`: WeasyPrint rendering an empty page with the same reused style sheet and
  font configuration: the floor no document can go under on this machine;
- `fiche_pdf_sans_reglage_gc`: the fiche again, with CPython's default collector settings;
- `instructions_fiche_pdf`: the instructions one fiche's PDF takes, counted by callgrind when
  valgrind is installed (independent of the machine's load, which the times are not): the run with
  one render after the warm-up minus the same run without it (≈ 8 CPU minutes). `--instructions`
  prints only that; `--sans-instructions` leaves it out (null), for the times alone;
  `--instructions-pdf` counts the PDF step alone (the page made beforehand), in one quicker run.
The garbage collector is set as the gateway sets it while serving (`gc_tuning`, app/main.py:
start-up objects frozen, young collections every 10 000 allocations): with the defaults, a full
collection during a render walks every object of the process, and the median render paid for one
(a quarter of its time) — a cost the server does not have, measured apart for comparison.
Each is measured in ROUNDS rounds after a warm-up, each render timed twice: wall clock and the
process's CPU time (`time.process_time`, what one core spent on it — on a machine shared with other
work, the wall clock also counts the time the process waited for a core). The headline is the CPU
p50 of the round with the best median; the wall-clock p50, the share of a core the process got and
the load average are reported beside it.
"""

from __future__ import annotations

import functools
import io
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pypdf import PdfReader

from app.main import _garbage_collector_tuned_for_serving as reglage_gc_du_service
from app.services.documents import vues
from app.services.documents.rendu import Moteur
from app.services.documents.verification import code_court, empreinte_contenu, qr_png

BENCH = Path(__file__).resolve().parent
RESULTATS = BENCH / "results" / "documents.json"
DECISION = BENCH / "decision_documents.json"
CIBLE_P50_MS = 300
ROUNDS = 3
ITERATIONS = 15
ECHAUFFEMENT = 3


def _epingler() -> str:
    try:
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
        return "un cœur (sched_setaffinity)"
    except (AttributeError, OSError):
        return "non épinglé"


def _mesurer(action: Callable[[], Any]) -> dict[str, Any]:
    for _ in range(ECHAUFFEMENT):
        action()
    tours: list[dict[str, float]] = []
    for _ in range(ROUNDS):
        murs, cpus = [], []
        cpu_debut, mur_debut = time.process_time(), time.perf_counter()
        for _ in range(ITERATIONS):
            debut, debut_cpu = time.perf_counter(), time.process_time()
            action()
            murs.append((time.perf_counter() - debut) * 1000)
            cpus.append((time.process_time() - debut_cpu) * 1000)
        cpu, mur = time.process_time() - cpu_debut, time.perf_counter() - mur_debut
        tours.append(
            {
                "p50_cpu_ms": round(statistics.median(cpus), 1),
                "p50_mur_ms": round(statistics.median(murs), 1),
                "max_mur_ms": round(max(murs), 1),
                "part_cpu": round(cpu / mur, 2) if mur else 0.0,
            }
        )
    meilleur = min(tours, key=lambda t: t["p50_cpu_ms"])
    return {"p50_ms": meilleur["p50_cpu_ms"], "p50_mur_ms": meilleur["p50_mur_ms"], "tours": tours}


def _fabrique_de_page(moteur: Moteur, contenu: dict[str, Any]) -> Callable[[], str]:
    """The fiche's page as the endpoint makes it from the journaled record, for the PDF."""

    def page() -> str:
        empreinte = empreinte_contenu(contenu)
        code = code_court(empreinte)
        url = f"http://127.0.0.1:8000/v1/decisions/{contenu['id']}/verification?code={code}"
        contexte = vues.fiche(
            contenu,
            organisme="CCAS de Démoville (fictif)",
            consultation_id="00000000-0000-0000-0000-000000000000",
            code=code,
            empreinte_contenu=empreinte,
            url_verification=url,
            qr=qr_png(url),
        )
        return moteur.html("fiche.html", contexte, pour_pdf=True)

    return page


def compter(rendus: int) -> None:
    """Run under callgrind by `_instructions`: the warm-up, then `rendus` fiches in PDF, the
    collector set as the service sets it (as `fiche_pdf` is timed)."""
    moteur = Moteur()
    page = _fabrique_de_page(moteur, json.loads(DECISION.read_text(encoding="utf-8")))
    moteur.pdf(page())
    with reglage_gc_du_service():
        for _ in range(ECHAUFFEMENT - 1 + rendus):
            moteur.pdf(page())


def compter_pdf() -> None:
    """Run under callgrind by `_instructions_pdf`: the warm-up, then one PDF of the page made
    beforehand inside `functools.reduce`, the only call of it in the run (callgrind counts only
    there: `--toggle-collect`)."""
    moteur = Moteur()
    html = _fabrique_de_page(moteur, json.loads(DECISION.read_text(encoding="utf-8")))()
    moteur.pdf(html)
    with reglage_gc_du_service():
        for _ in range(ECHAUFFEMENT - 1):
            moteur.pdf(html)
        functools.reduce(lambda _, __: moteur.pdf(html), [b"", b""])


def _instructions_pdf() -> int | None:
    """Instructions of the PDF step alone (WeasyPrint, the page already made), in one run: quicker
    than `_instructions` (≈ 3 CPU minutes), for comparing two versions of the templates or styles."""
    valgrind = shutil.which("valgrind")
    if valgrind is None:
        return None
    fini = subprocess.run(  # noqa: S603 - our own script under valgrind
        [valgrind, "--tool=callgrind", "--callgrind-out-file=/dev/null", "--collect-atstart=no",
         "--toggle-collect=functools_reduce", sys.executable, __file__, "--compter-pdf"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, check=False,
    )  # fmt: skip
    if fini.returncode != 0:
        raise RuntimeError(f"callgrind : code {fini.returncode}\n{fini.stderr[-2000:]}")
    return int(next(li for li in fini.stderr.splitlines() if "Collected" in li).split()[-1])


def _instructions() -> int | None:
    """Instructions of one fiche's PDF: callgrind's total with one render after the warm-up, minus
    the same run without it (both in parallel). None without valgrind."""
    valgrind = shutil.which("valgrind")
    if valgrind is None:
        return None

    def total(rendus: int) -> subprocess.Popen[str]:
        return subprocess.Popen(  # noqa: S603 - our own script under valgrind
            [valgrind, "--tool=callgrind", "--callgrind-out-file=/dev/null", sys.executable,
             __file__, "--compter", str(rendus)],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip

    def collectees(processus: subprocess.Popen[str]) -> int:
        _, erreurs = processus.communicate()
        if processus.returncode != 0:
            raise RuntimeError(f"callgrind : code {processus.returncode}\n{erreurs[-2000:]}")
        return int(next(li for li in erreurs.splitlines() if "Collected" in li).split()[-1])

    avec, sans = total(1), total(0)
    return collectees(avec) - collectees(sans)


def main() -> int:
    if len(sys.argv) == 3 and sys.argv[1] == "--compter":
        compter(int(sys.argv[2]))
        return 0
    if sys.argv[1:] == ["--instructions"]:
        print(f"instructions par fiche PDF : {_instructions()}")
        return 0
    if sys.argv[1:] == ["--compter-pdf"]:
        compter_pdf()
        return 0
    if sys.argv[1:] == ["--instructions-pdf"]:
        print(f"instructions du seul PDF d'une fiche : {_instructions_pdf()}")
        return 0
    if sys.argv[1:] not in ([], ["--sans-instructions"]):
        print(
            "usage : bench_documents.py [--sans-instructions | --instructions | --instructions-pdf]",
            file=sys.stderr,
        )
        return 2
    epinglage = _epingler()
    contenu = json.loads(DECISION.read_text(encoding="utf-8"))
    moteur = Moteur()
    page = _fabrique_de_page(moteur, contenu)

    vide = '<!DOCTYPE html><html lang="fr"><head><title>vide</title></head><body></body></html>'
    pdf = moteur.pdf(page())
    with reglage_gc_du_service():
        resultats = {
            "fiche_pdf": _mesurer(lambda: moteur.pdf(page())),
            "fiche_html": _mesurer(page),
            "plancher_page_vide": _mesurer(lambda: moteur.pdf(vide)),
        }
    resultats["fiche_pdf_sans_reglage_gc"] = _mesurer(lambda: moteur.pdf(page()))
    instructions = None if "--sans-instructions" in sys.argv else _instructions()
    p50 = resultats["fiche_pdf"]["p50_ms"]
    rapport = {
        "banc": "documents",
        "cible": f"fiche de 5 aides en PDF, p50 ≤ {CIBLE_P50_MS} ms sur un cœur",
        "cible_atteinte": p50 <= CIBLE_P50_MS,
        "fiche_pdf_p50_ms": p50,
        "fiche_pdf_p50_mur_ms": resultats["fiche_pdf"]["p50_mur_ms"],
        "fiche_html_p50_ms": resultats["fiche_html"]["p50_ms"],
        "plancher_page_vide_p50_ms": resultats["plancher_page_vide"]["p50_ms"],
        "fiche_pdf_sans_reglage_gc_p50_ms": resultats["fiche_pdf_sans_reglage_gc"]["p50_ms"],
        "instructions_fiche_pdf": instructions,
        "ramasse_miettes": "réglé comme le service (gc_tuning) ; sans_reglage_gc : défauts de CPython",
        "pages_pdf": len(PdfReader(io.BytesIO(pdf)).pages),
        "octets_pdf": len(pdf),
        "aides": len(contenu["resultats"]),
        "details": resultats,
        "epinglage": epinglage,
        "charge_moyenne": os.getloadavg() if hasattr(os, "getloadavg") else None,
        "machine": {
            "python": platform.python_version(),
            "processeur": platform.processor() or platform.machine(),
        },
    }
    RESULTATS.parent.mkdir(exist_ok=True)
    RESULTATS.write_text(json.dumps(rapport, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(
        f"fiche PDF (5 aides) p50 {p50} ms CPU, {rapport['fiche_pdf_p50_mur_ms']} ms horloge "
        f"(cible {CIBLE_P50_MS} ms) ; HTML seul {rapport['fiche_html_p50_ms']} ms ; "
        f"plancher (page vide) {rapport['plancher_page_vide_p50_ms']} ms ; "
        f"{instructions} instructions par fiche PDF"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
