"""Benchmark of the rules engine: a 10-aid règlement evaluated for one household, full explanations.

Two règlements: a typical one (3 conditions per aid, an amount from a barème) and a heavier one
(5 conditions per aid, with an "any" group and an income-per-consumption-unit ratio).

Run with `.venv/bin/python bench/bench_rules.py`; prints and writes bench/results/rules.json.

How it measures, so the figures can be trusted on a shared machine:
- the process is pinned to one CPU (where the system allows it) and the garbage collector stays
  on, as in the service;
- each règlement is measured in ROUNDS rounds after a warm-up; in each round, ITERATIONS
  evaluations are timed one by one (median, p99), then ITERATIONS more run back to back: divided
  by the CPU time they took, they give the evaluations per second one core sustains (divided by
  the wall time, what the process actually got, reported beside it);
- other work on the machine only ever makes a round slower, so the headline figures are those of
  the round with the best median (all rounds are listed beside them, with the share of the CPU
  the process got and the load average, to show how noisy the machine was).
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import sys
import time
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app.rules.engine import evaluer
from app.rules.facts import Faits
from app.rules.loader import lire_reglement
from app.rules.model import Reglement
from app.rules.simulation import lire_faits

RESULTATS = Path(__file__).resolve().parent / "results" / "rules.json"
CIBLE_MEDIANE_US = 100
ROUNDS = 5
ITERATIONS = 10_000
ECHAUFFEMENT = 2_000

_ENTETE = """
reglement:
  id: bench
  version: "1"
  libelle: Règlement de mesure (10 aides)
  organisme: {nom: CCAS de Mesureville}
deliberations:
  D1: {numero: "2025-01", date: 2025-01-15}
  D2: {numero: "2025-30", date: 2025-11-20}
fraicheur:
  quotient_familial_caf: {mois: 3}
  revenu_fiscal_de_reference: {annees: 2}
parametres:
  plafond:
    libelle: le plafond de quotient familial
    unite: "€"
    valeurs:
      - {depuis: 2025-01-01, valeur: 700, deliberation: D1}
      - {depuis: 2026-01-01, valeur: 750, deliberation: D2}
  communes:
    libelle: les communes du CCAS
    type: liste
    valeurs: [{depuis: 2025-01-01, valeur: ["08480", "08105", "08409", "51108"], deliberation: D1}]
baremes:
  grille:
    libelle: grille selon le quotient familial
    fait: quotient_familial_caf
    versions:
      - depuis: 2025-01-01
        deliberation: D1
        tranches:
          - {moins_de: 300, montant: 120, libelle: A}
          - {de: 300, moins_de: 600, montant: 80, libelle: B}
          - {de: 600, moins_de: 900, montant: 40, libelle: C}
          - {de: 900, montant: 0, libelle: D}
dispositifs:
"""

_AIDE_TYPIQUE = """
  - id: aide-{n}
    libelle: Aide numéro {n}
    deliberation: D1
    conditions:
      - fait: quotient_familial_caf
        operateur: "<="
        parametre: plafond
      - fait: nombre_enfants
        age_max: 17
        operateur: ">="
        valeur: {enfants}
      - fait: commune_residence
        operateur: in
        parametre: communes
    montant:
      bareme: grille
"""

_AIDE_CHARGEE = """
  - id: aide-{n}
    libelle: Aide numéro {n}
    deliberation: D1
    conditions:
      - fait: quotient_familial_caf
        operateur: "<="
        parametre: plafond
      - fait: nombre_enfants
        age_max: 17
        operateur: ">="
        valeur: {enfants}
      - au_moins_une:
          - fait: commune_residence
            operateur: in
            parametre: communes
          - fait: revenu_par_unite_de_consommation
            operateur: "<"
            valeur: {rfr_uc}
      - fait: age_demandeur
        operateur: ">="
        valeur: 18
    montant:
      bareme: grille
"""


def reglement_de_mesure(modele: str) -> str:
    aides = "".join(modele.format(n=n, enfants=n % 3, rfr_uc=8000 + 500 * n) for n in range(10))
    return _ENTETE + aides


def _faits() -> Faits:
    return lire_faits(
        {
            "quotient_familial_caf": {"valeur": 550, "periode": "2026-10", "fournisseur": "CNAF"},
            "allocataires": [{"date_naissance": "1985-04-02"}, {"date_naissance": "1987-06"}],
            "enfants": [{"date_naissance": "2012-02-28"}, {"date_naissance": "2016-09"}],
            "date_naissance_demandeur": "1985-04-02",
            "commune_residence": "08480",
            "revenu_fiscal_de_reference": {"valeur": 21000, "periode": "2025"},
            "situation_familiale": "M",
            "nombre_personnes_a_charge": 2,
        }
    )


def _round(reglement: Reglement, faits: Faits, jour: date) -> dict[str, float]:
    horloge, cpu = time.perf_counter_ns, time.process_time_ns
    durees: list[float] = []
    for _ in range(ITERATIONS):
        debut = horloge()
        evaluer(reglement, faits, jour)
        durees.append((horloge() - debut) / 1000)
    debut, debut_cpu = horloge(), cpu()
    for _ in range(ITERATIONS):
        evaluer(reglement, faits, jour)
    mur, temps_cpu = horloge() - debut, cpu() - debut_cpu
    durees.sort()
    return {
        "median_us": round(statistics.median(durees), 1),
        "p99_us": round(durees[int(len(durees) * 0.99) - 1], 1),
        "mean_us": round(statistics.fmean(durees), 1),
        # Back to back, per second of CPU the process got: what one core sustains …
        "evaluations_per_second_one_core": round(ITERATIONS / (temps_cpu / 1e9)),
        # … and per second of wall time, lower when other processes took the CPU.
        "evaluations_per_second_wall": round(ITERATIONS / (mur / 1e9)),
        "cpu_share": round(temps_cpu / mur, 2),
    }


def mesurer(nom: str, modele: str) -> dict[str, object]:
    reglement = lire_reglement(reglement_de_mesure(modele), f"{nom}.yaml")
    assert len(reglement.dispositifs) == 10
    faits = _faits()
    jour = date(2026, 11, 26)
    evaluation = evaluer(reglement, faits, jour)
    conditions = sum(len(r.conditions) for r in evaluation.resultats)
    assert all(c.explication for r in evaluation.resultats for c in r.conditions)
    for _ in range(ECHAUFFEMENT):
        evaluer(reglement, faits, jour)
    rounds = [_round(reglement, faits, jour) for _ in range(ROUNDS)]
    meilleur = min(rounds, key=lambda r: r["median_us"])
    return {
        "reglement": nom,
        "dispositifs": len(evaluation.resultats),
        "conditions_evaluees": conditions,
        "iterations": ITERATIONS,
        # The round with the best median (see the module docstring); every round below.
        "median_us": meilleur["median_us"],
        "p99_us": meilleur["p99_us"],
        "mean_us": meilleur["mean_us"],
        "evaluations_per_second_one_core": meilleur["evaluations_per_second_one_core"],
        "median_us_worst_round": max(r["median_us"] for r in rounds),
        "meets_target": meilleur["median_us"] < CIBLE_MEDIANE_US,
        "rounds": rounds,
    }


def _un_coeur() -> int | None:
    """Pin the process to one CPU (the last it may use); None where the system does not allow it."""
    if not hasattr(os, "sched_setaffinity"):
        return None
    coeur = max(os.sched_getaffinity(0))
    os.sched_setaffinity(0, {coeur})
    return coeur


def main() -> None:
    coeur = _un_coeur()
    charge = os.getloadavg() if hasattr(os, "getloadavg") else None
    resultat = {
        "benchmark": "rules engine: 10-aid règlement, one household, every condition explained",
        "target_median_us": CIBLE_MEDIANE_US,
        "method": f"best median of {ROUNDS} rounds of {ITERATIONS} timed evaluations, pinned to one CPU",
        "python": platform.python_version(),
        "machine": platform.machine(),
        "cpu": coeur,
        "cpus_on_machine": os.cpu_count(),
        "load_average_1_5_15_min": [round(c, 2) for c in charge] if charge else None,
        "resultats": [
            mesurer("typique-3-conditions-par-aide", _AIDE_TYPIQUE),
            mesurer("charge-5-conditions-par-aide", _AIDE_CHARGEE),
        ],
    }
    RESULTATS.parent.mkdir(parents=True, exist_ok=True)
    RESULTATS.write_text(json.dumps(resultat, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(json.dumps(resultat, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
