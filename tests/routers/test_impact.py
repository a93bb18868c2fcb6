"""`POST /v1/simulations/impact` through the app: the summary in JSON, the changed decisions as a
streamed CSV (plain, or for French spreadsheets), and the refusals before any reading."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from app.container import trousseau_journal
from app.db.engine import create_engine_from_url
from app.schemas.impact import ImpactReglement
from app.services.organismes.administration import DEMO_ORGANISME_ID
from tests.conftest import AUTH, gateway_settings, open_gateway
from tests.services.impact.journal_exemple import FICHIER_DEMO, foyers, journaliser

FOYERS = foyers(60, graine=4)
ENTRE = [f for f in FOYERS if 600 < f.qf <= 650]
DEMANDE: dict[str, Any] = {
    "parametres": {"plafond_qf_alimentaire": 650},
    "date_effet": "2027-01-01",
    "du": "2026-01-01",
    "au": "2026-11-30",
}


@pytest.fixture
async def passerelle(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    settings = gateway_settings(tmp_path)
    async with open_gateway(settings) as client:
        engine = create_engine_from_url(settings.database_url)
        try:
            await journaliser(engine, FOYERS, DEMO_ORGANISME_ID, trousseau=trousseau_journal(settings))
        finally:
            await engine.dispose()
        yield client


async def test_summary_in_json(passerelle: httpx.AsyncClient) -> None:
    assert ENTRE
    reponse = await passerelle.post("/v1/simulations/impact", json=DEMANDE, headers=AUTH)
    assert reponse.status_code == 200, reponse.text
    bilan = ImpactReglement.model_validate(reponse.json())
    assert bilan.decisions == len(FOYERS)
    assert bilan.alertes_integrite == 0
    assert bilan.reglement_propose.version == "2026.1+proposition"
    [alimentaire] = [d for d in bilan.dispositifs if d.dispositif == "aide-alimentaire"]
    assert [(t.de, t.vers, t.nombre) for t in alimentaire.transitions] == [
        ("non_eligible", "eligible", len(ENTRE))
    ]
    assert bilan.total.changements == len(ENTRE)


async def test_whole_yaml_proposal(passerelle: httpx.AsyncClient) -> None:
    texte = FICHIER_DEMO.read_text(encoding="utf-8")
    demande = {"reglement": texte, "du": "2026-01-01", "au": "2026-11-30", "dispositifs": ["aide-energie"]}
    reponse = await passerelle.post("/v1/simulations/impact", json=demande, headers=AUTH)
    assert reponse.status_code == 200, reponse.text
    corps = reponse.json()
    assert [d["dispositif"] for d in corps["dispositifs"]] == ["aide-energie"]
    assert corps["total"]["changements"] == 0
    assert corps["total"]["rejoues"] == len(FOYERS)


@pytest.mark.parametrize(
    ("parametres", "entetes", "separateur", "bom"),
    [
        ({"format": "csv"}, {}, ",", False),
        ({}, {"Accept": "text/csv"}, ",", False),
        ({"tableur": "true"}, {}, ";", True),
    ],
)
async def test_changed_decisions_as_streamed_csv(
    passerelle: httpx.AsyncClient,
    parametres: dict[str, str],
    entetes: dict[str, str],
    separateur: str,
    bom: bool,
) -> None:
    async with passerelle.stream(
        "POST", "/v1/simulations/impact", json=DEMANDE, params=parametres, headers={**AUTH, **entetes}
    ) as reponse:
        assert reponse.status_code == 200
        assert reponse.headers["content-type"].startswith("text/csv")
        assert "impact.csv" in reponse.headers["content-disposition"]
        texte = "".join([morceau async for morceau in reponse.aiter_text()])
    assert texte.startswith("\ufeff") is bom
    lignes = list(csv.DictReader(io.StringIO(texte.removeprefix("\ufeff")), delimiter=separateur))
    assert len(lignes) == len(ENTRE)
    assert {(c["dispositif"], c["type"], c["statut_avant"], c["statut_apres"]) for c in lignes} == {
        ("aide-alimentaire", "changement", "non_eligible", "eligible")
    }
    # Applicants appear only through their dossier reference.
    assert set(lignes[0]) == {
        "decision_id", "dossier_ref", "dispositif", "type", "statut_avant", "montant_avant", "tranche_avant",
        "statut_apres", "montant_apres", "tranche_apres", "raison",
    }  # fmt: skip


@pytest.mark.parametrize(
    ("changement", "champ"),
    [
        ({"reglement": "reglement: {}"}, "corps"),  # both a text and parameters
        ({"date_effet": None}, "corps"),  # parameters without their effective date
        ({"du": "2026-12-01"}, "du"),  # a period ending before it starts
        ({"du": "2020-01-01"}, "au"),  # a period too long
        ({"parametres": {"plafond_inconnu": 3}}, "parametres.plafond_inconnu"),
        ({"dispositifs": ["aide-inconnue"]}, "dispositifs"),
    ],
)
async def test_refusals_name_the_field(
    passerelle: httpx.AsyncClient, changement: dict[str, Any], champ: str
) -> None:
    reponse = await passerelle.post("/v1/simulations/impact", json={**DEMANDE, **changement}, headers=AUTH)
    assert reponse.status_code == 422, reponse.text
    assert reponse.headers["content-type"].startswith("application/problem+json")
    champs = [e["champ"] for e in reponse.json()["erreurs"]]
    assert any(c.startswith(champ) for c in champs), champs


async def test_a_broken_yaml_proposal_is_a_422_naming_its_line(passerelle: httpx.AsyncClient) -> None:
    demande = {"reglement": "reglement:\n  id: [", "du": "2026-01-01", "au": "2026-11-30"}
    reponse = await passerelle.post("/v1/simulations/impact", json=demande, headers=AUTH)
    assert reponse.status_code == 422
    assert reponse.json()["erreurs"][0]["message"].startswith("reglement-propose.yaml:3:")
