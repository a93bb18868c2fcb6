"""The work budget of one evaluation on supplied facts (`POST /v1/simulations`), checked before
any evaluation starts.

An evaluation's work grows with the conditions of the règlement times the persons of the
household (each age band of `nombre_enfants` walks every child): within the règlement caps, a
proposed règlement of 1 100 age-banded aids on 30 000 children took 74 s of one worker's CPU.
`travail` is an upper bound of that work in condition-person steps, computed from the règlement
and the facts alone (pure, deterministic: no clock); above `BUDGET_TRAVAIL` the simulation is
refused with a 422 that names the budget. bench/bench_robustesse.py measures what the budget
costs in time on the machine at hand.
"""

from __future__ import annotations

from app.rules.facts import Faits
from app.rules.model import AuMoins, AuMoinsUne, Comparaison, Condition, Non, Reglement, Toutes

#: Condition-person steps an evaluation on supplied facts may take (the demo règlement on a
#: household of six: ~200).
BUDGET_TRAVAIL = 200_000


def _conditions(condition: Condition) -> int:
    match condition:
        case Comparaison():
            return 1
        case Non(condition=enfant):
            return 1 + _conditions(enfant)
        case Toutes(conditions=enfants) | AuMoinsUne(conditions=enfants) | AuMoins(conditions=enfants):
            return 1 + sum(_conditions(c) for c in enfants)
    return 1  # pragma: no cover - Condition is exhaustive


def travail(reglement: Reglement, faits: Faits) -> int:
    """Upper bound of the steps `evaluer(reglement, faits, …)` takes over every aid."""
    conditions = sum(_conditions(d.conditions) + 1 for d in reglement.dispositifs)
    personnes = sum(len(f.valeur) for f in faits.connus.values() if isinstance(f.valeur, tuple))
    return conditions * (1 + personnes)
