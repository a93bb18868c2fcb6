"""bench/decomposition.py: the knock-out of the règlement bench replays each part faithfully and
finds every kind of work the generated evaluation calls (a renamed kind would otherwise be
reported as costing nothing). No time is asserted: only what the diagnostic relies on."""

from __future__ import annotations

import random

import pytest

from app.rules import compile_plan
from app.rules.loader import charger_reglement
from bench import bench_reglement as banc
from bench import decomposition


@pytest.fixture(scope="module")
def plan_et_foyers() -> tuple[object, list[object]]:
    reglement = charger_reglement(banc.REGLEMENT)
    plan = compile_plan(reglement, banc.JOUR)
    alea = random.Random(banc.GRAINE)  # noqa: S311 - the bench's households, not a secret
    faits = [banc.faits_moteur(banc.foyer(alea)[0], reglement) for _ in range(60)]
    for f in faits[:30]:
        plan.evaluer(f)
    return plan, faits[30:]


def test_every_kind_of_work_is_found_and_replayed(
    plan_et_foyers: tuple[object, list[object]], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(decomposition, "REPETITIONS", 1)
    plan, faits = plan_et_foyers
    resultat = decomposition.decomposer(plan, faits)
    appels = resultat["appels_par_foyer"]
    assert set(appels) == set(decomposition.PARTIES)
    # The bench's règlement: 23 leaves, each explained either directly or from a presentation.
    assert appels["explications"] + appels["explications_directes"] == 23
    assert appels["presentations"] > 0
    assert appels["montants"] > 0
    assert set(resultat["us_par_foyer"]) == {*decomposition.PARTIES, "fonction_generee_et_objets"}
    assert resultat["foyers"] == len(faits)


def test_an_unfaithful_replay_is_caught(
    plan_et_foyers: tuple[object, list[object]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every household replayed with the first one's answers: the evaluations differ, and the
    diagnostic refuses to time them."""
    monkeypatch.setattr(decomposition, "REPETITIONS", 1)
    monkeypatch.setattr(decomposition, "foyer_rejoue", lambda foyer: 0)
    plan, faits = plan_et_foyers
    with pytest.raises(AssertionError, match="rejeu infidèle sans presentations"):
        decomposition.decomposer(plan, faits)
