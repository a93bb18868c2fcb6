"""`POST /v1/eligibilite` end to end: identity in → simulator over HTTP → cache → règlement → journal."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import AUTH, gateway_settings, open_gateway, upstream_calls

MARTIN_AXELLE: dict[str, Any] = {
    "nom_naissance": "MARTIN",
    "prenoms": ["AXELLE"],
    "sexe": "F",
    "date_naissance": "1989-12-03",
    "code_cog_insee_commune_naissance": "35238",
    "code_cog_insee_pays_naissance": "99100",
}
LEFEBVRE: dict[str, Any] = {
    "nom_naissance": "LEFEBVRE",
    "nom_usage": None,
    "prenoms": ["ALEXIS", "GÉRÔME", "JEAN-PHILIPPE"],
    "sexe": "F",
    "date_naissance": "1982-12-27",
    "code_cog_insee_commune_naissance": "08480",
    "code_cog_insee_pays_naissance": "99100",
    "numero_fiscal": None,
}


def demande(demandeur: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"demandeur": demandeur, "dossier_ref": "D-2026-00042", **extra}


def indisponibilite(body: dict[str, Any], donnee: str) -> str:
    """The code saying why `donnee` could not be used."""
    return str(next(d["code"] for d in body["donnees_indisponibles"] if d["donnee"] == donnee))


async def test_eligibilite_returns_a_journaled_decision_per_aid(gateway: httpx.AsyncClient) -> None:
    response = await gateway.post("/v1/eligibilite", json=demande(MARTIN_AXELLE), headers=AUTH)

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["id"]
    assert body["reglement"]["empreinte"].startswith("sha256:")
    assert len(body["resultats"]) >= 3
    assert {r["statut"] for r in body["resultats"]} <= {"eligible", "non_eligible", "a_verifier"}
    qf_conditions = [
        c for r in body["resultats"] for c in r["conditions"] if c["critere"] == "quotient_familial_caf"
    ]
    assert qf_conditions, "the demo règlement uses the CAF/MSA quotient familial"
    condition = qf_conditions[0]
    assert condition["valeur"] == 150  # MARTIN AXELLE's QF in the official sandbox data
    assert condition["source"]["fournisseur"] == "CNAF"
    assert condition["source"]["request_id"]
    assert condition["source"]["certifie"] is True
    assert condition["explication"]
    assert body["mention"]
    assert body["donnees"]["quotient_familial"]["valeur"] == 150

    replay = await gateway.get(f"/v1/decisions/{body['id']}", headers=AUTH)
    assert replay.status_code == 200
    stored = replay.json()
    assert stored["resultats"] == body["resultats"]
    assert "donnees" not in stored or stored["donnees"] is None
    assert "MARTIN" not in replay.text
    assert "AXELLE" not in replay.text


async def test_unknown_person_makes_every_aid_needing_caf_data_a_verifier(
    gateway: httpx.AsyncClient,
) -> None:
    inconnu = {**MARTIN_AXELLE, "nom_naissance": "INCONNU"}
    response = await gateway.post("/v1/eligibilite", json=demande(inconnu), headers=AUTH)

    assert response.status_code == 200, response.text
    body = response.json()
    assert indisponibilite(body, "quotient_familial") == "personne-introuvable"
    for resultat in body["resultats"]:
        if any(c["critere"] == "quotient_familial_caf" for c in resultat["conditions"]):
            assert resultat["statut"] == "a_verifier"
            assert resultat["pieces_justificatives"]


async def test_second_identical_request_is_served_from_the_cache(
    gateway: httpx.AsyncClient, simulateur: str
) -> None:
    first = await gateway.post("/v1/eligibilite", json=demande(MARTIN_AXELLE), headers=AUTH)
    second = await gateway.post("/v1/eligibilite", json=demande(MARTIN_AXELLE), headers=AUTH)

    assert first.status_code == second.status_code == 200
    assert await upstream_calls(simulateur) == 1
    sources = [c["source"] for r in second.json()["resultats"] for c in r["conditions"] if c["source"]]
    assert any(s["depuis_cache"] for s in sources)


async def test_upstream_outage_degrades_to_a_verifier(gateway: httpx.AsyncClient, simulateur: str) -> None:
    async with httpx.AsyncClient(base_url=simulateur) as control:
        await control.put("/__simulateur/pannes", json={"mode": "erreur_serveur", "status": 502})
    response = await gateway.post("/v1/eligibilite", json=demande(MARTIN_AXELLE), headers=AUTH)

    assert response.status_code == 200, response.text
    assert indisponibilite(response.json(), "quotient_familial") == "fournisseur-indisponible"


@pytest.mark.parametrize(
    ("change", "champ"),
    [
        ({"nom_naissance": None}, "demandeur.nom_naissance"),
        ({"sexe": "X"}, "demandeur.sexe"),
        ({"code_cog_insee_pays_naissance": "991"}, "demandeur.code_cog_insee_pays_naissance"),
        ({"prenoms": []}, "demandeur.prenoms"),
        ({"date_naissance": "1989-13-01"}, "demandeur.date_naissance"),
        ({"nom_naissance": "MARTIN<script>"}, "demandeur.nom_naissance"),
    ],
)
async def test_bad_identity_is_a_422_problem_without_upstream_call(
    gateway: httpx.AsyncClient, simulateur: str, change: dict[str, Any], champ: str
) -> None:
    demandeur = {**MARTIN_AXELLE, **change}
    demandeur = {k: v for k, v in demandeur.items() if v is not None}
    response = await gateway.post("/v1/eligibilite", json=demande(demandeur), headers=AUTH)

    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["code"] == "donnees-invalides"
    assert champ in [e["champ"] for e in problem["erreurs"]]
    assert champ in problem["detail"]
    assert await upstream_calls(simulateur) == 0


async def test_invalid_siret_of_the_organisme_is_a_422_without_upstream_call(
    tmp_path: Path, simulateur: str
) -> None:
    settings = gateway_settings(
        tmp_path,
        api_particulier_url=simulateur,
        api_particulier_token="jeton-de-test",
        gateway_demo_siret="26999000800007",  # checksum broken
    )
    async with open_gateway(settings) as client:
        response = await client.post("/v1/eligibilite", json=demande(MARTIN_AXELLE), headers=AUTH)

    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert "recipient" in response.text or "SIRET" in response.text
    assert await upstream_calls(simulateur) == 0


async def test_unknown_dispositif_is_a_422_without_upstream_call(
    gateway: httpx.AsyncClient, simulateur: str
) -> None:
    response = await gateway.post(
        "/v1/eligibilite", json=demande(MARTIN_AXELLE, dispositifs=["n-existe-pas"]), headers=AUTH
    )

    assert response.status_code == 422
    assert response.json()["erreurs"][0]["champ"] == "dispositifs"
    assert await upstream_calls(simulateur) == 0


@pytest.mark.parametrize(
    "headers", [{}, {"Authorization": "Bearer mauvaise-cle"}, {"Authorization": "Basic abc"}]
)
async def test_missing_or_unknown_key_is_a_401_problem(
    gateway: httpx.AsyncClient, simulateur: str, headers: dict[str, str]
) -> None:
    response = await gateway.post("/v1/eligibilite", json=demande(MARTIN_AXELLE), headers=headers)

    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"
    assert await upstream_calls(simulateur) == 0


async def test_malformed_json_body_is_a_422_problem(gateway: httpx.AsyncClient) -> None:
    response = await gateway.post(
        "/v1/eligibilite",
        content=b"{pas du json",
        headers={**AUTH, "Content-Type": "application/json"},
    )

    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"


async def test_embedded_default_serves_the_product_example(tmp_path: Path) -> None:
    """No URL configured: the built-in simulator, served on its own loopback port, answers."""
    async with open_gateway(gateway_settings(tmp_path)) as client:
        response = await client.post(
            "/v1/eligibilite",
            json=demande(LEFEBVRE, declaratif={"commune_residence": "08480"}),
            headers=AUTH,
        )
        ready = await client.get("/readyz")

    assert response.status_code == 200, response.text
    qf = response.json()["donnees"]["quotient_familial"]
    assert qf["valeur"] == 2550
    assert ready.status_code == 200
    assert ready.json()["verifications"]["api_particulier"] == "ok"


@pytest.mark.parametrize(
    "corps",
    [
        pytest.param(demande(MARTIN_AXELLE, declaratif={"commune_residence": "08480"}), id="connue"),
        pytest.param(demande({**MARTIN_AXELLE, "nom_naissance": "INCONNUE"}), id="inconnue"),
        pytest.param(demande(LEFEBVRE, date_reference="2026-01-15"), id="date-passee"),
    ],
)
async def test_answer_is_a_decision_and_the_journal_holds_the_same(
    gateway: httpx.AsyncClient, corps: dict[str, Any]
) -> None:
    from app.schemas.eligibilite import Decision  # noqa: PLC0415 - only this test needs the schema

    for _ in range(2):  # from upstream, then from the cache
        response = await gateway.post("/v1/eligibilite", json=corps, headers=AUTH)
        assert response.status_code == 200, response.text
        assert response.headers["content-type"] == "application/json"
        # The pre-encoded answer is a valid `Decision` (tests/services/test_eligibilite.py shows it
        # is the schema's own encoding), and the journal holds the same decision.
        Decision.model_validate_json(response.content)
        body = response.json()
        stored = (await gateway.get(f"/v1/decisions/{body['id']}", headers=AUTH)).json()
        assert {k: v for k, v in stored.items() if k != "faits"} == {
            k: v for k, v in body.items() if k != "donnees"
        }


async def test_an_optional_field_sent_as_null_means_absent(gateway: httpx.AsyncClient) -> None:
    response = await gateway.post(
        "/v1/eligibilite",
        json={**demande(MARTIN_AXELLE), "declaratif": None, "dispositifs": None, "date_reference": None},
        headers=AUTH,
    )

    assert response.status_code == 200, response.text


async def test_a_date_reference_is_a_calendar_date_not_a_number(gateway: httpx.AsyncClient) -> None:
    response = await gateway.post(
        "/v1/eligibilite", json={**demande(MARTIN_AXELLE), "date_reference": 0}, headers=AUTH
    )

    assert response.status_code == 422
    assert response.json()["erreurs"][0]["champ"] == "date_reference"


async def test_a_lone_surrogate_is_a_422_not_a_journal_failure(gateway: httpx.AsyncClient) -> None:
    # Found by `make fuzz`: `"\ud800"` reached the pseudonym's UTF-8 encoding and failed as a 503.
    corps = (
        b'{"demandeur": {"nom_naissance": "MARTIN", "prenoms": ["AXELLE"], "sexe": "F",'
        b' "code_cog_insee_pays_naissance": "99100", "nom_commune_naissance": "RENNES\\ud800",'
        b' "code_cog_insee_departement_naissance": "35", "date_naissance": "1989-12-03"}}'
    )
    response = await gateway.post(
        "/v1/eligibilite", content=corps, headers={**AUTH, "Content-Type": "application/json"}
    )

    assert response.status_code == 422, response.text
    assert response.json()["erreurs"][0]["champ"] == "demandeur.nom_commune_naissance"
