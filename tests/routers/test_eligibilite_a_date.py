"""As-of evaluation: a decision at a past `date_reference` uses the data in force then — that
month's QF from API Particulier (the simulator's month-specific sandbox cases included), the income
year DGFiP served on that date — and never a datum later than the date (issue 12)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import AUTH, gateway_settings, open_gateway
from tests.routers.test_eligibilite import MARTIN_AXELLE
from tests.routers.test_eligibilite_fiscale import DUPONT_SOPHIE, NUMERO_FISCAL

#: Recorded upstream for May 2026 only (`annee=2026&mois=5`): reachable by asking that month.
ROUX_JEANNE_STEPHANIE: dict[str, Any] = {
    "nom_naissance": "ROUX",
    "prenoms": ["JEANNE", "STEPHANIE"],
    "sexe": "F",
    "date_naissance": "1987-06",
    "code_cog_insee_commune_naissance": "08480",
    "code_cog_insee_pays_naissance": "99100",
}


#: The gateway's and the simulators' clock: the real one (a past month must be within N-2).
AUJOURD_HUI = datetime.now(UTC).date()


def _mois_avant(jour: date, mois: int) -> date:
    total = jour.year * 12 + jour.month - 1 - mois
    return date(total // 12, total % 12 + 1, 15)


def _conditions_qf(body: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        c
        for r in body["resultats"]
        for c in r["conditions"]
        if c["source"] is not None and c["critere"] == "quotient_familial_caf"
    ]


@pytest.fixture
async def gateway(tmp_path: Path) -> Any:
    async with open_gateway(gateway_settings(tmp_path)) as client:  # sandbox: both simulators
        yield client


async def test_a_decision_at_a_past_date_uses_that_months_qf(gateway: httpx.AsyncClient) -> None:
    reference = _mois_avant(AUJOURD_HUI, 7)
    response = await gateway.post(
        "/v1/eligibilite",
        json={"demandeur": MARTIN_AXELLE, "date_reference": reference.isoformat()},
        headers=AUTH,
    )
    assert response.status_code == 200, response.text
    conditions = _conditions_qf(response.json())
    assert conditions
    for condition in conditions:
        assert condition["source"]["periode"] == f"{reference:%Y-%m}"
    # Today's QF is another question (another cache entry), answered for today's month.
    today = await gateway.post("/v1/eligibilite", json={"demandeur": MARTIN_AXELLE}, headers=AUTH)
    assert {c["source"]["periode"] for c in _conditions_qf(today.json())} == {f"{AUJOURD_HUI:%Y-%m}"}


async def test_the_month_specific_sandbox_case_is_reached(gateway: httpx.AsyncClient) -> None:
    """ROUX JEANNE STEPHANIE exists upstream for May 2026 only: a decision at 15 May 2026 finds it."""
    response = await gateway.post(
        "/v1/eligibilite",
        json={"demandeur": ROUX_JEANNE_STEPHANIE, "date_reference": "2026-05-15"},
        headers=AUTH,
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["donnees"]["quotient_familial"]["valeur"] == 150
    [periode] = {c["source"]["periode"] for c in _conditions_qf(body)}
    assert periode == "2026-05"
    assert {c["source"]["fournisseur"] for c in _conditions_qf(body)} == {"MSA"}
    # `POST /v1/donnees` takes the same date.
    donnees = await gateway.post(
        "/v1/donnees",
        json={
            "demandeur": ROUX_JEANNE_STEPHANIE,
            "donnees": ["quotient_familial"],
            "date_reference": "2026-05-15",
        },
        headers=AUTH,
    )
    assert donnees.status_code == 200, donnees.text
    assert donnees.json()["donnees"]["quotient_familial"]["mois"] == 5
    # Without the month, the person is not found (today's month was not recorded).
    aujourd_hui = await gateway.post(
        "/v1/donnees",
        json={"demandeur": ROUX_JEANNE_STEPHANIE, "donnees": ["quotient_familial"]},
        headers=AUTH,
    )
    assert aujourd_hui.status_code == 404


async def test_a_month_the_provider_no_longer_serves_is_unavailable_with_a_french_reason(
    gateway: httpx.AsyncClient,
) -> None:
    """Older than N-2: no call is made; the data set is unavailable (its aids `a_verifier`), and why."""
    reference = date(AUJOURD_HUI.year - 3, 6, 1)
    response = await gateway.post(
        "/v1/donnees",
        json={
            "demandeur": MARTIN_AXELLE,
            "donnees": ["quotient_familial", "revenu_solidarite_active"],
            "date_reference": reference.isoformat(),
        },
        headers=AUTH,
    )
    assert response.status_code == 200, response.text
    body = response.json()
    indisponibles = {d["donnee"]: d for d in body["donnees_indisponibles"]}
    qf = indisponibles["quotient_familial"]
    assert qf["code"] == "periode-non-disponible"
    assert f"juin {reference.year} ne peut plus être demandé" in qf["raison"]
    assert indisponibles["revenu_solidarite_active"]["code"] == "periode-non-disponible"
    assert body["donnees"] == {}


@pytest.mark.parametrize(
    ("reference", "annee"),
    [
        # Before 22 July of N, DGFiP serves the revenus of N-2; from 22 July, those of N-1.
        pytest.param(date(AUJOURD_HUI.year - 1, 3, 10), AUJOURD_HUI.year - 3, id="avant-le-22-juillet"),
        pytest.param(date(AUJOURD_HUI.year - 1, 8, 10), AUJOURD_HUI.year - 2, id="apres-le-22-juillet"),
    ],
)
async def test_the_income_year_is_the_one_served_on_the_reference_date(
    gateway: httpx.AsyncClient, reference: date, annee: int
) -> None:
    response = await gateway.post(
        "/v1/eligibilite",
        json={
            "demandeur": {**DUPONT_SOPHIE, "numero_fiscal": NUMERO_FISCAL},
            "date_reference": reference.isoformat(),
            "dispositifs": ["supplement-energie"],
        },
        headers=AUTH,
    )
    assert response.status_code == 200, response.text
    periodes = {
        c["source"]["periode"]
        for r in response.json()["resultats"]
        for c in r["conditions"]
        if c["source"] is not None and c["source"]["fournisseur"] == "DGFIP"
    }
    assert periodes == {str(annee)}


async def test_a_current_benefit_status_is_not_used_for_a_past_date(gateway: httpx.AsyncClient) -> None:
    """A benefit's status is known only as it is today: never evidence for a past month."""
    from app.services.amont.donnees import AuMois  # noqa: PLC0415 - the unit under test

    assert AuMois.de(None, date(2026, 12, 3)) is None
    assert AuMois.de(date(2026, 12, 1), date(2026, 12, 3)) is None  # this month: today's data
    assert AuMois.de(date(2027, 1, 1), date(2026, 12, 3)) is None  # later: today's are earlier
    passe = AuMois.de(date(2026, 11, 30), date(2026, 12, 3))
    assert passe is not None
    assert (passe.annee, passe.mois, passe.libelle) == (2026, 11, "novembre 2026")
    response = await gateway.post(
        "/v1/donnees",
        json={
            "demandeur": MARTIN_AXELLE,
            "donnees": ["quotient_familial", "revenu_solidarite_active"],
            "date_reference": _mois_avant(AUJOURD_HUI, 2).isoformat(),
        },
        headers=AUTH,
    )
    assert response.status_code == 200, response.text
    [rsa] = [d for d in response.json()["donnees_indisponibles"] if d["donnee"] == "revenu_solidarite_active"]
    assert rsa["code"] == "periode-non-disponible"
    assert "postérieure à la date de référence" in rsa["raison"]
