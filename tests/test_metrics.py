"""Prometheus metrics: what an eligibility request records, with labels that name no one, and the
multi-process exposition used with several uvicorn workers."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import httpx

from tests.conftest import AUTH

ROOT = Path(__file__).resolve().parents[1]
MARTIN_AXELLE = {
    "nom_naissance": "MARTIN",
    "prenoms": ["AXELLE"],
    "sexe": "F",
    "date_naissance": "1989-12-03",
    "code_cog_insee_commune_naissance": "35238",
    "code_cog_insee_pays_naissance": "99100",
}


def valeur(texte: str, prefixe: str) -> float:
    """The value of the first sample line starting with `prefixe` (0 when absent)."""
    for ligne in texte.splitlines():
        if ligne.startswith(prefixe):
            return float(ligne.rsplit(" ", 1)[1])
    return 0.0


async def test_a_request_records_cache_upstream_and_breaker_metrics(gateway: httpx.AsyncClient) -> None:
    avant = (await gateway.get("/metrics")).text
    for _ in range(2):
        response = await gateway.post("/v1/eligibilite", json={"demandeur": MARTIN_AXELLE}, headers=AUTH)
        assert response.status_code == 200
    apres = (await gateway.get("/metrics")).text

    succes = (
        'eg_appels_fournisseur_total{endpoint="quotient_familial/identite",'
        'fournisseur="API Particulier",issue="succes"}'
    )
    assert valeur(apres, succes) == valeur(avant, succes) + 1  # the second one came from the cache
    present = 'eg_cache_lectures_total{espace="api_particulier.quotient_familial",resultat="present"}'
    assert valeur(apres, present) >= valeur(avant, present) + 1
    assert 'eg_disjoncteur_etat{fournisseur="API Particulier"} 0.0' in apres
    assert "eg_latence_fournisseur_seconds_bucket" in apres
    # Names, labels and help texts, without the samples' values: a number such as the process start
    # time (1.7963352382…e+09) may contain any digits, a commune code among them.
    series = [ligne.rsplit(" ", 1)[0] if not ligne.startswith("#") else ligne for ligne in apres.splitlines()]
    for donnee_personnelle in ("MARTIN", "AXELLE", "1989-12-03", "35238"):
        assert not [s for s in series if donnee_personnelle in s], donnee_personnelle


def test_multiprocess_mode_aggregates_the_workers_files(tmp_path: Path) -> None:
    # A fresh interpreter: prometheus_client picks its storage when it is first imported.
    script = (
        "from app import metrics\n"
        "metrics.COALESCENCE.labels('workers').inc(3)\n"
        "print(metrics.exposition().decode())\n"
    )
    sortie = subprocess.run(  # noqa: S603 - our own interpreter and a fixed script
        [sys.executable, "-c", script],
        cwd=ROOT,
        env={"PROMETHEUS_MULTIPROC_DIR": str(tmp_path), "PATH": ""},
        capture_output=True,
        text=True,
        check=True,
    ).stdout

    assert list(tmp_path.glob("*.db")), "the worker wrote its samples to the shared directory"
    assert 'eg_coalescence_total{portee="workers"} 3.0' in sortie
