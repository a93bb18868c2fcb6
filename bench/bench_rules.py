"""Benchmark of the rules engine: a 10-aid règlement evaluated for one household, full explanations.

Two règlements: a typical one (3 conditions per aid, an amount from a barème) and a heavier one
(5 conditions per aid, with an "any" group and an income-per-consumption-unit ratio).

Run with `.venv/bin/python bench/bench_rules.py`; prints and writes bench/results/rules.json
(median and p99 in µs, evaluations per second on one core).
"""

from __future__ import annotations

import json
import platform
import statistics
import sys
import time
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app.rules.engine import evaluer
from app.rules.loader import lire_reglement
from app.rules.simulation import lire_faits

RESULTATS = Path(__file__).resolve().parent / "results" / "rules.json"
ITERATIONS = 20_000
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


def mesurer(nom: str, modele: str) -> dict[str, object]:
    reglement = lire_reglement(reglement_de_mesure(modele), f"{nom}.yaml")
    assert len(reglement.dispositifs) == 10
    faits = lire_faits(
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
    jour = date(2026, 11, 26)
    evaluation = evaluer(reglement, faits, jour)
    conditions = sum(len(r.conditions) for r in evaluation.resultats)
    for _ in range(ECHAUFFEMENT):
        evaluer(reglement, faits, jour)
    durees: list[float] = []
    horloge = time.perf_counter_ns
    for _ in range(ITERATIONS):
        debut = horloge()
        evaluer(reglement, faits, jour)
        durees.append((horloge() - debut) / 1000)
    durees.sort()
    mediane = statistics.median(durees)
    p99 = durees[int(len(durees) * 0.99) - 1]
    return {
        "reglement": nom,
        "dispositifs": len(evaluation.resultats),
        "conditions_evaluees": conditions,
        "iterations": ITERATIONS,
        "median_us": round(mediane, 1),
        "p99_us": round(p99, 1),
        "mean_us": round(statistics.fmean(durees), 1),
        "evaluations_per_second_one_core": round(1_000_000 / statistics.fmean(durees)),
    }


def main() -> None:
    resultat = {
        "benchmark": "rules engine: 10-aid règlement, one household, every condition explained",
        "target_median_us": 100,
        "python": platform.python_version(),
        "machine": platform.machine(),
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
