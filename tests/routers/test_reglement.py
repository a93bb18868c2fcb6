"""`GET /v1/reglement`: the caller's règlement and the upstream scopes it needs."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from app.config import PROJECT_ROOT
from app.rules.loader import charger_reglement
from app.rules.model import Reglement
from app.rules.needs import besoins, scopes_requis
from app.services.organismes.administration import AdministrationRefusee, verifier_habilitation
from tests.conftest import AUTH, gateway_settings, open_gateway
from tests.organismes import SIRET_A, SIRET_B, OrganismeDeTest, bearer, provisionner
from tests.routers.test_eligibilite import MARTIN_AXELLE


async def test_lists_the_aids_their_dated_parameters_and_the_needed_scopes(
    gateway: httpx.AsyncClient,
) -> None:
    response = await gateway.get("/v1/reglement", headers=AUTH)

    assert response.status_code == 200
    body = response.json()
    assert body["id"] == "ccas-demoville"
    assert {d["id"] for d in body["dispositifs"]} >= {"aide-alimentaire", "aide-energie", "tarif-cantine"}
    assert "cnaf_quotient_familial" in body["scopes_necessaires"]
    assert "quotient_familial" in body["donnees_necessaires"]
    assert "adresse" not in " ".join(body["scopes_necessaires"])  # data minimisation: no address scope


async def test_requires_a_key(gateway: httpx.AsyncClient) -> None:
    response = await gateway.get("/v1/reglement")

    assert response.status_code == 401


async def test_an_organisme_created_with_the_published_scopes_makes_decisions(tmp_path: Path) -> None:
    """One source of truth: what GET /v1/reglement publishes is what `organisme create` accepts
    and what every decision requires — no more, no less."""
    settings = gateway_settings(tmp_path)
    async with open_gateway(settings) as gateway:
        publie = (await gateway.get("/v1/reglement", headers=AUTH)).json()
        scopes = frozenset(publie["scopes_necessaires"])
        assert publie["besoins"]["scopes"] == sorted(scopes)
        # Created without --force: the administration's check accepts exactly these scopes.
        keys = await provisionner(
            settings,
            [
                OrganismeDeTest("ccas-a", SIRET_A, habilitation=scopes),
                OrganismeDeTest("ccas-b", SIRET_B, habilitation=scopes - {"dgfip_rfr"}, forcer=True),
            ],
            [("ccas-a", "logiciel", ["eligibilite"]), ("ccas-b", "autre", ["eligibilite"])],
        )
        demande = {"demandeur": MARTIN_AXELLE, "dossier_ref": "D-1"}
        decision = await gateway.post("/v1/eligibilite", json=demande, headers=bearer(keys["logiciel"]))
        assert decision.status_code == 200, decision.text
        # The organisme speaks for itself: its record's name and SIRET, not the file's header.
        assert "adopté par l'organisme « CCAS ccas-a »" in decision.json()["mention"]
        propre = (await gateway.get("/v1/reglement", headers=bearer(keys["logiciel"]))).json()
        assert propre["organisme"] == {"nom": "CCAS ccas-a", "siret": SIRET_A}
        refus = await gateway.post("/v1/eligibilite", json=demande, headers=bearer(keys["autre"]))
        assert refus.status_code == 403
        assert refus.json()["detail"].endswith("dgfip_rfr. Aucun appel n'a été fait au fournisseur.")
        # One scope fewer and the check at creation and every decision refuse, naming it.
        for manquant in sorted(scopes):
            with pytest.raises(AdministrationRefusee, match=manquant):
                verifier_habilitation(_reglement_demo(), scopes - {manquant}, forcer=False)
    assert scopes == scopes_requis(_reglement_demo())
    # The whole data sets hold more than what the règlement reads: those are not required.
    assert not {"cnaf_adresse", "dgfip_montant_impot"} & scopes
    assert besoins(_reglement_demo()).scopes == scopes


def _reglement_demo() -> Reglement:
    return charger_reglement(PROJECT_ROOT / "reglements" / "demo.yaml")
