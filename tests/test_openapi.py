"""The OpenAPI document as an integrator's generated client needs it (app/openapi.py)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema_rs  # schemathesis's validator (dev dependency)
import pytest

import app.main  # noqa: F401 - every error class of the tree is imported with the app
from app.errors import PROBLEM_CONTENT_TYPE, codes_stables
from app.main import create_app
from tests.conftest import AUTH, gateway_settings, open_gateway
from tests.routers.test_eligibilite import MARTIN_AXELLE

METHODES = ("get", "post", "put", "patch", "delete")


@pytest.fixture(scope="module")
def contrat(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    document: dict[str, Any] = create_app(gateway_settings(tmp_path_factory.mktemp("oa"))).openapi()
    return document


def _operations(contrat: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for chemin, methodes in contrat["paths"].items():
        for methode, operation in methodes.items():
            if methode in METHODES:
                yield chemin, methode, operation


def test_every_operation_has_a_stable_french_snake_case_id_and_an_ascii_tag(contrat: dict[str, Any]) -> None:
    ids = {op["operationId"] for _, _, op in _operations(contrat)}

    assert {"evaluer_eligibilite", "relire_decision", "obtenir_donnees", "lire_journal"} <= ids
    assert all(re.fullmatch(r"[a-z]+(_[a-z]+)+", i) for i in ids), ids
    assert all(t.isascii() for _, _, op in _operations(contrat) for t in op["tags"])
    assert len(ids) == len(list(_operations(contrat)))


def test_every_error_answer_is_a_problem_with_its_examples(contrat: dict[str, Any]) -> None:
    erreurs = 0
    for _, _, operation in _operations(contrat):
        for statut, reponse in operation["responses"].items():
            if int(statut) < 400 or (operation["operationId"] == "verifier_preparation" and statut == "503"):
                continue
            erreurs += 1
            assert list(reponse["content"]) == [PROBLEM_CONTENT_TYPE], (operation["operationId"], statut)
            assert reponse["content"][PROBLEM_CONTENT_TYPE]["schema"] == {
                "$ref": "#/components/schemas/Probleme"
            }
            assert "X-Request-Id" in reponse["headers"]
    eligibilite = contrat["paths"]["/v1/eligibilite"]["post"]["responses"]
    exemples = eligibilite["422"]["content"][PROBLEM_CONTENT_TYPE]["examples"]

    assert erreurs > 40
    assert {"donnees-invalides", "cle-idempotence-reutilisee", "parametres-refuses"} <= set(exemples)
    assert "WWW-Authenticate" in eligibilite["401"]["headers"]
    assert "Retry-After" in eligibilite["503"]["headers"]
    assert "Retry-After" in eligibilite["409"]["headers"]  # a duplicate still running
    assert "415" in eligibilite
    assert "HTTPValidationError" not in contrat["components"]["schemas"]


def test_the_problem_code_is_the_closed_list_of_the_exception_tree(contrat: dict[str, Any]) -> None:
    code = contrat["components"]["schemas"]["Probleme"]["properties"]["code"]

    assert code["enum"] == [c.code for c in codes_stables()]
    assert {
        "personne-introuvable",
        "methode-non-autorisee",
        "type-de-contenu-non-supporte",
        "limiteur-indisponible",
        "cle-idempotence-reutilisee",
    } <= set(code["enum"])
    assert len(code["enum"]) == len(set(code["enum"])) >= 20


#: Operations that answer a document (HTML or PDF) rather than JSON.
DOCUMENTS = {"imprimer_fiche_decision", "imprimer_lettre_demandeur", "publier_reglement"}


#: Operations whose answer is not JSON, and its media types.
NON_JSON = {
    "exporter_journal_csv": ["text/csv"],  # one media type: what generated clients expect
    "exporter_resultats_campagne": ["text/csv", "application/x-ndjson"],
    "suivre_campagne_en_direct": ["text/event-stream"],
}


def _succes(operation: dict[str, Any]) -> dict[str, Any]:
    """The operation's success answer (200, or 202 for an accepted campaign)."""
    [statut] = [s for s in operation["responses"] if s in ("200", "202")]
    reponse: dict[str, Any] = operation["responses"][statut]
    return reponse


def test_every_json_answer_is_typed(contrat: dict[str, Any]) -> None:
    for _, _, operation in _operations(contrat):
        contenu = _succes(operation)["content"]
        if operation["operationId"] in NON_JSON:
            assert list(contenu) == NON_JSON[operation["operationId"]]
            continue
        if operation["operationId"] in DOCUMENTS:
            # Documents people read (issue 16): HTML or PDF, never JSON.
            assert sorted(contenu) == ["application/pdf", "text/html"], operation["operationId"]
            assert contenu["application/pdf"]["schema"]["format"] == "binary"
            continue
        assert "$ref" in contenu["application/json"]["schema"], operation["operationId"]
    decision = contrat["components"]["schemas"]["Decision"]["properties"]["donnees"]

    assert {"$ref": "#/components/schemas/DonneesPreRemplissage"} in decision["anyOf"]
    assert "relire_decision" in contrat["paths"]["/v1/eligibilite"]["post"]["responses"]["200"]["links"]


def test_the_journal_declares_its_csv_and_its_headers(contrat: dict[str, Any]) -> None:
    reponse = contrat["paths"]["/v1/journal"]["get"]["responses"]["200"]
    parametres = {p["name"]: p for p in contrat["paths"]["/v1/journal"]["get"]["parameters"]}

    assert reponse["content"]["text/csv"]["schema"]["type"] == "string"
    assert "X-Curseur-Suivant" in reponse["headers"]
    assert "tableur" in parametres
    assert "pattern" in str(parametres["curseur"]["schema"])


def _proprietes(schema: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    yield from schema.get("properties", {}).items()


def test_every_property_is_described_in_french(contrat: dict[str, Any]) -> None:
    sans = [
        f"{nom_schema}.{nom}"
        for nom_schema, schema in contrat["components"]["schemas"].items()
        for nom, propriete in _proprietes(schema)
        if not propriete.get("description")
    ]
    anglais = [
        nom
        for nom, schema in contrat["components"]["schemas"].items()
        if re.search(r"\b(the|of|as|which|and)\b", schema.get("description", ""))
    ]

    assert sans == []
    assert anglais == []
    assert sum(len(s.get("properties", {})) for s in contrat["components"]["schemas"].values()) > 150


def test_every_request_body_has_an_example(contrat: dict[str, Any]) -> None:
    for _, _, operation in _operations(contrat):
        if "requestBody" in operation and "application/json" not in operation["requestBody"]["content"]:
            # A file (a campaign's CSV or JSON Lines): an example for each media type.
            assert all(c.get("example") for c in operation["requestBody"]["content"].values())
            continue
        if "requestBody" in operation:
            reference = operation["requestBody"]["content"]["application/json"]["schema"]["$ref"]
            schema = contrat["components"]["schemas"][reference.rsplit("/", 1)[1]]
            assert schema.get("examples"), operation["operationId"]


def test_the_idempotency_key_is_declared_on_both_consultations(contrat: dict[str, Any]) -> None:
    for chemin in ("/v1/eligibilite", "/v1/donnees"):
        parametres = {p["name"]: p for p in contrat["paths"][chemin]["post"]["parameters"]}
        assert parametres["Idempotency-Key"]["in"] == "header"
        assert "Idempotency-Replayed" in contrat["paths"][chemin]["post"]["responses"]["200"]["headers"]


def test_the_served_document_is_the_completed_one(tmp_path: Path) -> None:
    application = create_app(gateway_settings(tmp_path))

    assert application.openapi() is application.openapi()  # built once
    assert "Probleme" in application.openapi()["components"]["schemas"]


def test_every_json_answer_has_an_example_its_model_accepts(contrat: dict[str, Any]) -> None:
    from app.schemas import (  # noqa: PLC0415
        campagnes,
        documents,
        donnees,
        eligibilite,
        exploitation,
        impact,
        journal,
        reglement,
        simulation,
    )

    modeles = {
        m.__name__: m
        for m in (
            eligibilite.Decision,
            eligibilite.DecisionJournalisee,
            donnees.ReponseDonnees,
            journal.PageJournal,
            reglement.ReglementPublie,
            simulation.ResultatSimulation,
            impact.ImpactReglement,
            exploitation.Preparation,
            exploitation.Vivacite,
            documents.VerificationDocument,
            campagnes.CampagneLancee,
            campagnes.EtatCampagne,
            campagnes.ListeCampagnes,
        )
    }
    for _, _, operation in _operations(contrat):
        if "application/json" not in _succes(operation)["content"]:
            continue
        reference = _succes(operation)["content"]["application/json"]["schema"]["$ref"]
        nom = reference.rsplit("/", 1)[1]
        [exemple] = contrat["components"]["schemas"][nom]["examples"]
        modeles[nom].model_validate(exemple)  # the example is a valid answer


# What `make fuzz` found once the bounds of issues 13 and 14 landed: the contract said less than the
# validation. Each case is judged by the contract (jsonschema) and by the gateway; both must agree.
CAS_LIMITES = [
    # (method, path, query, body)
    ("get", "/v1/journal", {"du": "9426-07-12"}, None),
    ("get", "/v1/journal", {"du": "2026-07-12"}, None),
    ("get", "/v1/journal", {"agent_id": "0" * 65}, None),
    ("get", "/v1/journal", {"agent_id": "agent-7"}, None),
    ("get", "/v1/journal", {"dossier_ref": "D 42"}, None),
    ("post", "/v1/donnees", None, {"date_reference": 0}),
    ("post", "/v1/donnees", None, {"date_reference": "2026-11-02"}),
    ("post", "/v1/simulations", None, {"faits": {"impot_sur_le_revenu": -1.5e259}}),
    ("post", "/v1/simulations", None, {"faits": {"impot_sur_le_revenu": 1200.5}}),
    ("post", "/v1/simulations", None, {"faits": {"nombre_personnes_a_charge": 10**13}}),
]


def _valide_selon_le_contrat(contrat: dict[str, Any], cas: tuple[Any, ...], corps: Any) -> bool:
    methode, chemin, requete, _ = cas
    operation = contrat["paths"][chemin][methode]
    composants = {"components": contrat["components"]}
    if requete is not None:
        parametres = {p["name"]: p["schema"] for p in operation.get("parameters", []) if p["in"] == "query"}
        return all(
            jsonschema_rs.Draft202012Validator({**parametres[nom], **composants}).is_valid(valeur)
            for nom, valeur in requete.items()
        )
    schema = operation["requestBody"]["content"]["application/json"]["schema"]
    return bool(jsonschema_rs.Draft202012Validator({**schema, **composants}).is_valid(corps))


@pytest.mark.parametrize("cas", CAS_LIMITES)
async def test_the_contract_and_the_validation_agree_at_the_bounds(
    tmp_path: Path, simulateur: str, cas: tuple[Any, ...]
) -> None:
    methode, chemin, requete, extrait = cas
    settings = gateway_settings(tmp_path, api_particulier_url=simulateur)
    async with open_gateway(settings) as gw:
        contrat = (await gw.get("/openapi.json")).json()
        corps = None
        if extrait is not None:
            corps = {"demandeur": MARTIN_AXELLE, **extrait} if chemin == "/v1/donnees" else extrait
        attendu = _valide_selon_le_contrat(contrat, cas, corps)
        reponse = await gw.request(methode.upper(), chemin, params=requete, json=corps, headers=AUTH)
    assert (reponse.status_code < 400) is attendu, (reponse.status_code, reponse.text)
