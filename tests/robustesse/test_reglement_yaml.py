"""Issue 13, point 2: a 599-byte règlement of nested YAML aliases took 6.7 s and +310 MB per
`POST /v1/simulations`. Anchors and aliases are refused; size, nodes and depth are capped (422
naming the limit); the work of one simulation is budgeted before it starts."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import httpx
import pytest

from app.rules.budget import BUDGET_TRAVAIL
from app.rules.loader import ReglementInvalide, charger_reglement, lire_reglement
from app.rules.yaml_nodes import NOEUDS_MAX, PROFONDEUR_MAX, TAILLE_MAX
from bench.bench_robustesse import bombe_yaml, reglement_lourd
from tests.conftest import gateway_settings, open_gateway
from tests.robustesse.conftest import AUTH

ENTETE = "reglement: {id: r, version: '1', libelle: R, organisme: {nom: X}}\n"


async def _simuler(
    client: httpx.AsyncClient, reglement: str, faits: dict[str, object] | None = None
) -> httpx.Response:
    return await client.post(
        "/v1/simulations",
        json={
            "faits": faits or {"quotient_familial_caf": 500},
            "reglement": reglement,
            "date_reference": "2026-11-26",
        },
        headers=AUTH,
    )


async def test_the_alias_bomb_is_refused_at_once_naming_aliases(passerelle: httpx.AsyncClient) -> None:
    bombe = bombe_yaml(eventail=10, profondeur=5)
    assert len(bombe) < 600
    response = await _simuler(passerelle, bombe)
    assert response.status_code == 422, response.text
    assert response.json()["erreurs"][0]["champ"] == "reglement"
    assert "alias" in response.json()["detail"]


def test_a_single_anchor_is_refused_too() -> None:
    texte = (
        ENTETE
        + "dispositifs:\n"
        + "- &d {id: d, libelle: D,"
        + " conditions: [{fait: quotient_familial_caf, operateur: '<=', valeur: 1}]}\n"
    )
    with pytest.raises(ReglementInvalide, match="ancres et alias") as refus:
        lire_reglement(texte, "r.yaml")
    assert refus.value.ligne == 3


def test_size_cap_names_the_limit() -> None:
    with pytest.raises(ReglementInvalide, match=f"taille maximale \\({TAILLE_MAX} caractères\\)"):
        lire_reglement(ENTETE + "#" * TAILLE_MAX, "r.yaml")


def test_node_cap_names_the_limit() -> None:
    texte = ENTETE + "dispositifs: [" + "1, " * NOEUDS_MAX + "]\n"
    with pytest.raises(ReglementInvalide, match=f"nombre maximal de nœuds \\({NOEUDS_MAX}\\)"):
        lire_reglement(texte, "r.yaml")


@pytest.mark.parametrize("style", ["bloc", "flux"])
def test_depth_cap_names_the_limit(style: str) -> None:
    niveaux = PROFONDEUR_MAX + 1
    if style == "flux":
        texte = ENTETE + "dispositifs: " + "[" * niveaux + "]" * niveaux + "\n"
    else:
        texte = (
            ENTETE
            + "dispositifs:\n"
            + "".join("  " * i + "- \n" for i in range(niveaux))
            + "  " * niveaux
            + "- 1\n"
        )
    with pytest.raises(ReglementInvalide, match=f"profondeur maximale d'imbrication \\({PROFONDEUR_MAX}\\)"):
        lire_reglement(texte, "r.yaml")


def test_a_deep_flow_sequence_is_refused_without_recursion() -> None:
    # 100 000 levels: would overflow a recursive composer; refused by the parser's events.
    with pytest.raises(ReglementInvalide):
        lire_reglement(ENTETE + "dispositifs: " + "[" * 100_000, "r.yaml")


def test_the_shipped_reglements_are_far_within_the_caps() -> None:
    for chemin in (Path(__file__).resolve().parents[2] / "reglements").rglob("*.yaml"):
        if not chemin.name.endswith(".cas.yaml"):
            charger_reglement(chemin)  # raises if a cap bit


async def test_a_simulation_over_the_work_budget_is_a_422_naming_it(passerelle: httpx.AsyncClient) -> None:
    # Within every cap, 1 100 age-banded aids on 50 children: 168 000 steps, accepted;
    # the same on more persons than PERSONNES_MAX is refused before any evaluation.
    texte = reglement_lourd(1100)
    accepte = await _simuler(passerelle, texte, {"enfants": ["2016-05"] * 50})
    assert accepte.status_code == 200, accepte.text
    refuse = await _simuler(passerelle, texte, {"enfants": ["2016-05"] * 51})
    assert refuse.status_code == 422
    assert refuse.json()["erreurs"][0]["champ"] == "faits.enfants"
    # 50 children and 50 allocataires: 3 300 conditions × 101 persons.
    budget = await _simuler(
        passerelle, texte, {"enfants": ["2016-05"] * 50, "allocataires": ["1980-01-01"] * 50}
    )
    assert budget.status_code == 422, budget.text
    assert f"pour {BUDGET_TRAVAIL} admises" in budget.json()["detail"]


async def test_a_proposed_reglement_over_the_body_limit_is_a_413(passerelle: httpx.AsyncClient) -> None:
    response = await passerelle.post(
        "/v1/simulations",
        content=json.dumps({"faits": {}, "reglement": "#" * 600_000}),
        headers={**AUTH, "Content-Type": "application/json"},
    )
    assert response.status_code == 413


async def test_a_simulation_over_its_time_budget_is_a_503(tmp_path: Path) -> None:
    settings = gateway_settings(tmp_path, simulation_timeout_seconds=0.01)
    async with open_gateway(settings) as client:
        response = await _simuler(client, reglement_lourd(1100), {"enfants": ["2016-05"] * 50})
    assert response.status_code == 503
    assert response.json()["code"] == "calcul-trop-long"


async def test_a_heavy_simulation_does_not_hold_other_callers(passerelle: httpx.AsyncClient) -> None:
    # The evaluation runs in a worker thread: the event loop serves others meanwhile.
    lourde = asyncio.create_task(_simuler(passerelle, reglement_lourd(1100), {"enfants": ["2016-05"] * 50}))
    await asyncio.sleep(0.05)
    sante = await passerelle.get("/healthz")
    assert sante.status_code == 200
    assert not lourde.done()
    assert (await lourde).status_code == 200
