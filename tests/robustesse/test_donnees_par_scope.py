"""Issue 13, point 6: the certified data in `POST /v1/eligibilite` only for a client holding the
`donnees` scope. Before: an eligibility-only client got the household's names, birth dates,
address, fiscal address, RFR and tax in `donnees`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.conftest import gateway_settings, open_gateway
from tests.organismes import SIRET_A, OrganismeDeTest, bearer, provisionner

MARTIN_AXELLE: dict[str, Any] = {
    "nom_naissance": "MARTIN",
    "prenoms": ["AXELLE"],
    "sexe": "F",
    "date_naissance": "1989-12-03",
    "code_cog_insee_commune_naissance": "35238",
    "code_cog_insee_pays_naissance": "99100",
}
DEMANDE = {"demandeur": MARTIN_AXELLE, "dispositifs": ["aide-alimentaire"], "dossier_ref": "D-1"}


@pytest.mark.parametrize(
    ("scopes", "donnees_rendues"),
    [
        (["eligibilite"], False),
        (["eligibilite", "journal:lecture", "simulations"], False),
        (["eligibilite", "donnees"], True),
    ],
)
async def test_certified_data_only_for_the_donnees_scope(
    tmp_path: Path, simulateur: str, scopes: list[str], donnees_rendues: bool
) -> None:
    settings = gateway_settings(tmp_path, api_particulier_url=simulateur, api_particulier_token="jeton")
    cles = await provisionner(
        settings, [OrganismeDeTest("ccas-a", SIRET_A)], [("ccas-a", "logiciel", scopes)]
    )
    async with open_gateway(settings) as gw:
        reponse = await gw.post("/v1/eligibilite", json=DEMANDE, headers=bearer(cles["logiciel"]))
        assert reponse.status_code == 200, reponse.text
        decision = reponse.json()
        rejouee = (await gw.get(f"/v1/decisions/{decision['id']}", headers=bearer(cles["logiciel"]))).json()
    # The decision itself is the same for both: it quotes the facts it needed (the QF).
    conditions = [c for r in decision["resultats"] for c in r.get("conditions", [])]
    assert any(c.get("valeur") == 150 for c in conditions)
    if donnees_rendues:
        assert decision["donnees"]
        assert "MARTIN" in reponse.text
    else:
        assert decision["donnees"] is None
        assert "MARTIN" not in reponse.text
        assert "1989-12-03" not in reponse.text
    assert rejouee.get("donnees") is None
