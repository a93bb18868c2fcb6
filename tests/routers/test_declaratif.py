"""`declaratif` checked against the caller's règlement: the facts it declares, typed and bounded."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.conftest import AUTH, gateway_settings, open_gateway
from tests.routers.test_eligibilite import MARTIN_AXELLE, demande

INTERCOMMUNAL = "exemples/ccas-intercommunal.yaml"


async def _post(tmp_path: Path, declaratif: dict[str, Any]) -> Any:
    settings = gateway_settings(tmp_path, demo_reglement_file=INTERCOMMUNAL)
    async with open_gateway(settings) as client:
        return await client.post(
            "/v1/eligibilite", json=demande(MARTIN_AXELLE, declaratif=declaratif), headers=AUTH
        )


@pytest.mark.parametrize(
    ("declaratif", "champ", "message"),
    [
        (
            {"ressources_mensuelles": "beaucoup"},
            "declaratif.ressources_mensuelles",
            "doit être un nombre (les ressources mensuelles du foyer : un nombre en € attendu)",
        ),
        (
            {"charges_logement": -5},
            "declaratif.charges_logement",
            "doit être compris entre 0 et 10000 € "
            "(les charges mensuelles de logement : un nombre en € attendu)",
        ),
        (
            {"situation_emploi": "chomage"},
            "declaratif.situation_emploi",
            "valeur non admise (valeurs admises : en_emploi, demandeur_emploi, formation, retraite, autre) "
            "(la situation au regard de l'emploi : l'une des valeurs en_emploi, demandeur_emploi, formation, "
            "retraite, autre attendu)",
        ),
        (
            {"revenu_fiscal_de_reference": 1000},
            "declaratif.revenu_fiscal_de_reference",
            "fait non déclaré par le règlement (faits déclarables : charges_logement, commune_residence, "
            "handicap_reconnu, ressources_mensuelles, situation_emploi, statut_occupation_logement)",
        ),
    ],
)
async def test_a_declared_fact_is_checked_against_the_reglement(
    tmp_path: Path, declaratif: dict[str, Any], champ: str, message: str
) -> None:
    response = await _post(tmp_path, declaratif)

    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    erreurs = response.json()["erreurs"]
    assert erreurs == [{"champ": champ, "message": message}]


async def test_declared_facts_are_used_and_marked_not_certified(tmp_path: Path) -> None:
    response = await _post(
        tmp_path,
        {
            "commune_residence": "08480",
            "ressources_mensuelles": 1300,
            "charges_logement": 550.5,
            "situation_emploi": "demandeur_emploi",
            "handicap_reconnu": None,  # null: not given, as for the built-in declared facts
        },
    )

    assert response.status_code == 200, response.text
    resultats = {r["dispositif"]: r for r in response.json()["resultats"]}
    (situation,) = [c for c in resultats["retour-emploi"]["conditions"] if c["code"] == "situation"]
    assert situation["satisfaite"] is True
    assert situation["source"]["fournisseur"] == "declaratif"
    assert situation["source"]["certifie"] is False
    assert "déclaré par l'agent, non certifié" in situation["explication"]
    (commune,) = [c for c in resultats["aide-alimentaire"]["conditions"] if c["code"] == "commune"]
    assert commune["satisfaite"] is True
    assert "décisives" not in resultats["aide-alimentaire"]
    assert resultats["aide-alimentaire"]["decisives"]
