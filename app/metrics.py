"""Prometheus metrics of the gateway: cache, coalescing, upstream calls, limiter, circuit breakers.

Labels take their values from closed sets the code names (provider, endpoint, data set, outcome
code, quota name): never an identity, a token or a cache key. With several uvicorn workers, set
`PROMETHEUS_MULTIPROC_DIR` to an empty directory before they start: `/metrics` then aggregates
every worker's files (prometheus_client's multi-process mode).
"""

from __future__ import annotations

import os
from pathlib import Path

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)

_LATENCES = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

CACHE = Counter(
    "eg_cache_lectures_total",
    "Lectures du cache par espace et résultat (frais, perime, absent, erreur).",
    ["espace", "resultat"],
)
CACHE_PERIME_SERVI = Counter(
    "eg_cache_perime_servi_total",
    "Réponses périmées servies parce que le fournisseur a échoué (stale-if-error).",
    ["donnee"],
)
COALESCENCE = Counter(
    "eg_coalescence_total",
    "Appels qui ont attendu le résultat d'un autre au lieu d'appeler (processus, workers), "
    "ou reçu son échec (echec_partage).",
    ["portee"],
)
APPELS_FOURNISSEUR = Counter(
    "eg_appels_fournisseur_total",
    "Appels aux fournisseurs par point d'accès et issue (succes, ou le code d'erreur).",
    ["fournisseur", "endpoint", "issue"],
)
LATENCE_FOURNISSEUR = Histogram(
    "eg_latence_fournisseur_seconds",
    "Durée des appels aux fournisseurs (une tentative).",
    ["fournisseur", "endpoint"],
    buckets=_LATENCES,
)
REESSAIS = Counter("eg_reessais_total", "Tentatives répétées après un échec transitoire.", ["fournisseur"])
LIMITEUR_ATTENTES = Histogram(
    "eg_limiteur_attente_seconds",
    "Attentes imposées par le limiteur de quotas avant un appel.",
    ["quota"],
    buckets=(0.001, 0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0),
)
IDEMPOTENCE = Counter(
    "eg_idempotence_total",
    "Requêtes portant un Idempotency-Key, par issue (execute, rejoue, cle_reutilisee, attente_expiree).",
    ["operation", "issue"],
)
LIMITEUR_REFUS = Counter(
    "eg_limiteur_refus_total",
    "Appels non faits : attente au-delà de l'échéance, ou limiteur indisponible.",
    ["quota", "raison"],
)
#: 0 fermé, 1 demi-ouvert, 2 ouvert. `liveall`: one sample per live worker in multi-process mode.
DISJONCTEUR = Gauge(
    "eg_disjoncteur_etat",
    "État du disjoncteur par fournisseur (0 fermé, 1 demi-ouvert, 2 ouvert).",
    ["fournisseur"],
    multiprocess_mode="liveall",
)
DISJONCTEUR_TRANSITIONS = Counter(
    "eg_disjoncteur_transitions_total", "Changements d'état des disjoncteurs.", ["fournisseur", "etat"]
)

#: 0 ok, 1 dégradé, 2 indisponible, as `/readyz` last saw it (issue 12).
DEPENDANCE = Gauge(
    "eg_dependance_etat",
    "État de chaque dépendance vu par /readyz (0 ok, 1 dégradé, 2 indisponible : journal seulement).",
    ["dependance"],
    multiprocess_mode="liveall",
)

JOURNAL_LOT = Histogram(
    "eg_journal_lot_enregistrements",
    "Consultations écrites par transaction du journal (écriture groupée des requêtes simultanées).",
    buckets=(1, 2, 4, 8, 16, 32, 64, 128),
)


def preparer_multiprocessus() -> str | None:
    """Before the workers start: create `PROMETHEUS_MULTIPROC_DIR` and empty it of a previous run's
    files (prometheus_client's rule: stale files would add dead workers' counts). Its path, if set."""
    dossier = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if not dossier:
        return None
    chemin = Path(dossier)
    chemin.mkdir(parents=True, exist_ok=True)
    for ancien in chemin.glob("*.db"):
        ancien.unlink(missing_ok=True)
    return dossier


def exposition() -> bytes:
    """The text exposition: this process's registry, or every worker's in multi-process mode."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return generate_latest(registry)
    return generate_latest()
