"""Every shipped sandbox case through the simulator over HTTP: its status and its payload."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from app.simulators.api_particulier import FixtureCase, load_fixtures, load_france_connect_identities
from app.simulators.api_particulier.catalogue import ENDPOINTS
from app.simulators.api_particulier.fixtures import SIMULATOR_TOKEN_PREFIX, cle_parametres

from .conftest import LUNDI, QF, QF_FC, RECIPIENT, Factory, Params, query

CASES = load_fixtures()
REACHABLE = [c for c in CASES if c.raison_inatteignable is None]
UNREACHABLE = [
    c
    for c in CASES
    if c.raison_inatteignable is not None and not c.is_fallback and c.endpoint.endswith("/identite")
]
RSA_FC = "/v3/dss/revenu_solidarite_active/france_connect"


def _id(case: FixtureCase) -> str:
    return f"{case.endpoint.removeprefix('/v3/dss/')}:{case.fichier}"


def _fallback(endpoint: str) -> FixtureCase:
    return next(c for c in CASES if c.endpoint == endpoint and c.is_fallback)


def _expected_production(case: FixtureCase) -> Any:
    """What the real production does: the QF period is the requested (or current) month."""
    payload = copy.deepcopy(case.payload)
    quotient = payload.get("data", {}).get("quotient_familial") if case.status == 200 else None
    if quotient is not None:
        quotient["annee"] = case.params.get("annee", LUNDI.year)
        quotient["mois"] = case.params.get("mois", LUNDI.month)
    return payload


def _request(case: FixtureCase) -> tuple[str | None, Params]:
    token = case.france_connect_tokens[0] if case.france_connect_tokens else "jeton-bac-a-sable"
    return token, [("recipient", RECIPIENT), *case.query_params()]


def test_every_endpoint_has_cases_and_a_fallback() -> None:
    for endpoint in ENDPOINTS:
        mine = [c for c in CASES if c.endpoint == endpoint.path]
        assert len(mine) >= 2, endpoint.path
        assert sum(c.is_fallback for c in mine) == 1, endpoint.path
        assert _fallback(endpoint.path).status == 404
    assert len(CASES) == 112
    assert len(REACHABLE) == 103


@pytest.mark.parametrize("case", REACHABLE, ids=_id)
async def test_case_answers_its_status_and_payload_in_production_mode(
    make_client: Factory, case: FixtureCase
) -> None:
    token, params = _request(case)
    response = await make_client(token=token).get(case.endpoint, params=params)
    assert response.status_code == case.status
    assert response.json() == _expected_production(case)


@pytest.mark.parametrize("case", [c for c in REACHABLE if c.endpoint in (QF, QF_FC)], ids=_id)
async def test_case_payload_is_verbatim_in_static_mode(make_client: Factory, case: FixtureCase) -> None:
    token, params = _request(case)
    response = await make_client(token=token, period_mode="static").get(case.endpoint, params=params)
    assert response.status_code == case.status
    assert response.json() == case.payload


@pytest.mark.parametrize("case", UNREACHABLE, ids=_id)
async def test_unreachable_case_falls_back_to_the_404_case(make_client: Factory, case: FixtureCase) -> None:
    """Upstream files with misspelled keys cannot be selected: a client copying them gets the 404 case."""
    params: Params = [("recipient", RECIPIENT), *case.query_params()]
    if "codeCogInseePaysNaissance" not in case.params:
        params.append(("codeCogInseePaysNaissance", "99100"))
    response = await make_client().get(case.endpoint, params=params)
    assert response.status_code == 404
    assert response.json() == _fallback(case.endpoint).payload


@pytest.mark.parametrize(("token", "endpoint"), [("cnaf_qfv2", QF_FC), ("all_fc", QF_FC), ("all_fc", RSA_FC)])
async def test_official_fake_tokens_get_the_404_case(make_client: Factory, token: str, endpoint: str) -> None:
    response = await make_client(token=token).get(endpoint, params={"recipient": RECIPIENT})
    assert response.status_code == 404
    assert response.json() == _fallback(endpoint).payload


async def test_production_period_echoes_the_requested_month(make_client: Factory) -> None:
    client = make_client()
    params = query(annee="2025", mois="3")
    body = (await client.get(QF, params=params)).json()
    assert body["data"]["quotient_familial"] == {
        "fournisseur": "CNAF",
        "valeur": 2550,
        "annee": 2025,
        "mois": 3,
        "annee_calcul": 2024,
        "mois_calcul": 12,
    }


async def test_static_mode_matches_the_period_exactly_like_the_real_sandbox(make_client: Factory) -> None:
    response = await make_client(period_mode="static").get(QF, params=query(annee="2025", mois="3"))
    assert response.status_code == 404
    assert response.json() == _fallback(QF).payload


async def test_the_fallback_404_case_answers_any_unknown_person(make_client: Factory) -> None:
    response = await make_client().get(QF, params=query(nomNaissance="INCONNU"))
    assert response.status_code == 404
    assert response.json() == _fallback(QF).payload
    assert response.json()["errors"][0]["code"] == "37003"


def test_simulator_tokens_reach_every_france_connect_200_case() -> None:
    for case in CASES:
        if (
            case.endpoint.endswith("/france_connect")
            and case.status == 200
            and case.raison_inatteignable is None
        ):
            assert case.france_connect_tokens
            assert all(t.startswith(SIMULATOR_TOKEN_PREFIX) for t in case.france_connect_tokens)


def test_official_fake_tokens_miss_the_cases_expecting_a_nom_usage() -> None:
    """Observed upstream inconsistency, kept: `cnaf_qfv2` carries no preferred_username."""
    official = {i.token: i for i in load_france_connect_identities() if i.origine == "bac_a_sable"}
    assert {"cnaf_qfv2", "all_fc"} <= set(official)
    case = next(c for c in CASES if c.endpoint == QF_FC and c.fichier == "fake_france_connect_cnaf.yml")
    assert cle_parametres(official["cnaf_qfv2"].parametres_appel()) != case.cle
    assert "cnaf_qfv2" not in case.france_connect_tokens
