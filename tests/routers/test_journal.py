"""`GET /v1/journal` and the isolation of organismes: B's key reads nothing of A's, by any endpoint or
guessed id (404, never 403); the journal's filters, pagination and CSV export."""

from __future__ import annotations

import csv
import io
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from app.config import Settings
from app.db.engine import create_engine_from_url
from app.db.tables import ConsultationRow, DecisionRow
from app.routers import journal as journal_router
from tests.conftest import gateway_settings, open_gateway
from tests.organismes import SIRET_A, SIRET_B, OrganismeDeTest, bearer, provisionner
from tests.routers.test_eligibilite import MARTIN_AXELLE, demande

TOUS = ("eligibilite", "donnees", "simulations", "journal:lecture")


@pytest.fixture
def settings(tmp_path: Path, simulateur: str) -> Settings:
    return gateway_settings(
        tmp_path,
        api_particulier_url=simulateur,
        api_particulier_token="jeton-de-test",
        api_key_cache_ttl_seconds=0,
    )


@pytest.fixture
async def keys(settings: Settings) -> dict[str, str]:
    return await provisionner(
        settings,
        [
            OrganismeDeTest("ccas-a", SIRET_A),
            OrganismeDeTest("ccas-b", SIRET_B, reglement="exemples/petite-commune.yaml"),
        ],
        [
            ("ccas-a", "logiciel-a", TOUS),
            ("ccas-b", "logiciel-b", TOUS),
            ("ccas-a", "sans-journal", ["eligibilite"]),
        ],
    )


async def _decision(client: httpx.AsyncClient, key: str, dossier: str, agent: str = "agent-1") -> str:
    response = await client.post(
        "/v1/eligibilite",
        json={**demande(MARTIN_AXELLE), "dossier_ref": dossier},
        headers=bearer(key, **{"X-Agent-Id": agent}),
    )
    assert response.status_code == 200, response.text
    return str(response.json()["id"])


async def _journal(client: httpx.AsyncClient, key: str, **params: Any) -> dict[str, Any]:
    response = await client.get("/v1/journal", params=params, headers=bearer(key))
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_organisme_b_reads_nothing_of_organisme_a(settings: Settings, keys: dict[str, str]) -> None:
    a, b = keys["logiciel-a"], keys["logiciel-b"]
    async with open_gateway(settings) as client:
        decision_a = await _decision(client, a, "A-0001")
        donnees_a = await client.post(
            "/v1/donnees", json={"demandeur": MARTIN_AXELLE, "dossier_ref": "A-0002"}, headers=bearer(a)
        )
        assert donnees_a.status_code == 200, donnees_a.text
        decision_b = await _decision(client, b, "B-0001")

        # A's decision by its id: 404 for B, exactly like an id that does not exist.
        own = await client.get(f"/v1/decisions/{decision_a}", headers=bearer(a))
        theirs = await client.get(f"/v1/decisions/{decision_a}", headers=bearer(b))
        unknown = await client.get(f"/v1/decisions/{uuid.uuid4()}", headers=bearer(b))
        assert own.status_code == 200
        assert theirs.status_code == unknown.status_code == 404
        assert theirs.headers["content-type"] == "application/problem+json"
        assert {k: v for k, v in theirs.json().items() if k != "instance"} == {
            k: v for k, v in unknown.json().items() if k != "instance"
        }
        # The consultation id of A's pre-filling, tried as a decision id: nothing either.
        consultation_a = donnees_a.json()["id"]
        assert (await client.get(f"/v1/decisions/{consultation_a}", headers=bearer(b))).status_code == 404

        journal_b = await _journal(client, b)
        assert [e["decision_id"] for e in journal_b["entrees"]] == [decision_b]
        assert (await _journal(client, b, dossier_ref="A-0001"))["entrees"] == []
        assert (await _journal(client, b, agent_id="agent-1"))["entrees"] != []  # only B's own
        assert all(e["dossier_ref"].startswith("B-") for e in (await _journal(client, b))["entrees"])
        csv_b = (await client.get("/v1/journal", params={"format": "csv"}, headers=bearer(b))).text
        assert decision_a not in csv_b
        assert consultation_a not in csv_b

        journal_a = await _journal(client, a)
        assert {e["dossier_ref"] for e in journal_a["entrees"]} == {"A-0001", "A-0002"}
        assert decision_b not in str(journal_a)

        # A cursor built from A's newest entry, replayed by B, still only pages through B's rows.
        page_a = await _journal(client, a, limite=1)
        assert page_a["curseur_suivant"]
        replay = await _journal(client, b, curseur=page_a["curseur_suivant"])
        assert all(e["dossier_ref"].startswith("B-") for e in replay["entrees"])

        # Each sees its own règlement.
        reglement_a = (await client.get("/v1/reglement", headers=bearer(a))).json()["id"]
        reglement_b = (await client.get("/v1/reglement", headers=bearer(b))).json()["id"]
        assert reglement_a != reglement_b


async def test_journal_entry_traces_the_consultation_without_identity(
    settings: Settings, keys: dict[str, str]
) -> None:
    async with open_gateway(settings) as client:
        decision = await _decision(client, keys["logiciel-a"], "D-42", agent="guichet-3")
        entree = (await _journal(client, keys["logiciel-a"]))["entrees"][0]
        text = str(entree)

    assert entree["decision_id"] == decision
    assert entree["type"] == "eligibilite"
    assert entree["statut"] == "succes"
    assert entree["client_id"] == "logiciel-a"
    assert entree["agent_id"] == "guichet-3"
    assert entree["dossier_ref"] == "D-42"
    assert entree["reglement_empreinte"].startswith("sha256:")
    assert entree["resultats"]
    assert len(entree["demandeur_pseudonyme"]) == 64
    [appel] = entree["appels_fournisseurs"]
    assert appel["endpoint"] == "quotient_familial/identite"
    assert appel["request_id"]
    for identite in ("MARTIN", "AXELLE", "1989-12-03", "35238"):
        assert identite.lower() not in text.lower()


async def test_journal_pages_with_a_cursor_and_exports_csv(settings: Settings, keys: dict[str, str]) -> None:
    key = keys["logiciel-a"]
    async with open_gateway(settings) as client:
        decisions = [await _decision(client, key, f"D-{n}") for n in range(5)]
        seen: list[str] = []
        params: dict[str, Any] = {"limite": 2}
        pages = 0
        while True:
            page = await _journal(client, key, **params)
            pages += 1
            seen += [e["decision_id"] for e in page["entrees"]]
            if page["curseur_suivant"] is None:
                break
            params["curseur"] = page["curseur_suivant"]

        by_param = await client.get("/v1/journal", params={"format": "csv", "limite": 3}, headers=bearer(key))
        by_accept = await client.get("/v1/journal", headers=bearer(key, Accept="text/csv"))

    assert pages == 3
    assert seen == list(reversed(decisions))  # newest first, each once
    assert by_param.status_code == 200
    assert by_param.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(by_param.text)))
    assert [r["decision_id"] for r in rows] == list(reversed(decisions))[:3]
    assert by_param.headers["x-curseur-suivant"]
    assert rows[0]["appels_fournisseurs"].startswith("API Particulier quotient_familial/identite ")
    assert "=" in rows[0]["resultats"]
    assert [r["decision_id"] for r in csv.DictReader(io.StringIO(by_accept.text))] == list(
        reversed(decisions)
    )
    assert "x-curseur-suivant" not in by_accept.headers


async def test_the_complete_csv_export_streams_every_entry_of_the_filter(
    settings: Settings, keys: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(journal_router, "PAGE_EXPORT", 2)  # 5 entries: 3 queries
    key = keys["logiciel-a"]
    async with open_gateway(settings) as client:
        decisions = [await _decision(client, key, f"D-{n}") for n in range(5)]
        tout = await client.get("/v1/journal", params={"format": "csv", "tout": "true"}, headers=bearer(key))
        implicite = await client.get("/v1/journal", params={"tout": "true"}, headers=bearer(key))
        autre = await client.get(
            "/v1/journal", params={"format": "csv", "tout": "true"}, headers=bearer(keys["logiciel-b"])
        )

    assert tout.status_code == 200
    assert tout.headers["content-type"].startswith("text/csv")
    assert "x-curseur-suivant" not in tout.headers
    rows = list(csv.DictReader(io.StringIO(tout.text)))
    assert [r["decision_id"] for r in rows] == list(reversed(decisions))  # each once, newest first
    assert tout.text.count("consultation_id,cree_le") == 1  # one header for the whole document
    # `tout` exists only in CSV: asking for it is asking for CSV (schema-valid data is accepted).
    assert implicite.status_code == 200
    assert implicite.text == tout.text
    assert list(csv.DictReader(io.StringIO(autre.text))) == []  # another organisme's export: empty


async def test_journal_filters_by_agent_dossier_and_period(settings: Settings, keys: dict[str, str]) -> None:
    key = keys["logiciel-a"]
    async with open_gateway(settings) as client:
        await _decision(client, key, "D-1", agent="agent-1")
        await _decision(client, key, "D-2", agent="agent-2")
        by_agent = await _journal(client, key, agent_id="agent-2")
        by_dossier = await _journal(client, key, dossier_ref="D-1")
        today = (await _journal(client, key))["entrees"][0]["cree_le"][:10]
        in_period = await _journal(client, key, du="2000-01-01", au="2999-12-31")
        before = await _journal(client, key, au="2000-01-01")
        by_type = await _journal(client, key, type="donnees")

    assert [e["dossier_ref"] for e in by_agent["entrees"]] == ["D-2"]
    assert [e["agent_id"] for e in by_dossier["entrees"]] == ["agent-1"]
    assert today
    assert len(in_period["entrees"]) == 2
    assert before["entrees"] == []
    assert by_type["entrees"] == []


@pytest.mark.parametrize(
    ("params", "champ"),
    [
        ({"du": "2026-02-01", "au": "2026-01-01"}, "du"),
        ({"curseur": "pas-un-curseur"}, "curseur"),
        ({"limite": "0"}, "limite"),
        ({"du": "01/02/2026"}, "du"),
        ({"type": "autre"}, "type"),
        ({"tout": "peut-etre", "format": "csv"}, "tout"),
    ],
)
async def test_bad_journal_query_is_a_french_422(
    settings: Settings, keys: dict[str, str], params: dict[str, str], champ: str
) -> None:
    async with open_gateway(settings) as client:
        response = await client.get("/v1/journal", params=params, headers=bearer(keys["logiciel-a"]))

    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert champ in [e["champ"] for e in response.json()["erreurs"]]


async def test_journal_needs_its_scope(settings: Settings, keys: dict[str, str]) -> None:
    async with open_gateway(settings) as client:
        response = await client.get("/v1/journal", headers=bearer(keys["sans-journal"]))

    assert response.status_code == 403
    assert "journal:lecture" in response.json()["detail"]


async def test_journal_write_failure_is_a_503_and_no_decision(
    settings: Settings, keys: dict[str, str]
) -> None:
    engine = create_engine_from_url(settings.database_url)
    try:
        async with open_gateway(settings) as client:
            # The decision insert fails inside the transaction that also holds the consultation.
            async with engine.begin() as connection:
                await connection.exec_driver_sql(
                    "CREATE TRIGGER refuser_decisions BEFORE INSERT ON decisions "
                    "BEGIN SELECT RAISE(ABORT, 'disque plein'); END"
                )
            response = await client.post(
                "/v1/eligibilite", json=demande(MARTIN_AXELLE), headers=bearer(keys["logiciel-a"])
            )
            async with engine.connect() as connection:
                consultations = (
                    await connection.execute(select(func.count()).select_from(ConsultationRow))
                ).scalar()
                decisions = (await connection.execute(select(func.count()).select_from(DecisionRow))).scalar()
    finally:
        await engine.dispose()

    assert response.status_code == 503
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == "journal-indisponible"
    assert "id" not in response.json()
    assert "resultats" not in response.json()
    assert (consultations, decisions) == (0, 0)  # all or nothing: no orphan consultation either


async def test_the_spreadsheet_csv_is_semicolon_separated_with_a_bom_and_no_formula(
    settings: Settings, keys: dict[str, str]
) -> None:
    key = keys["logiciel-a"]
    async with open_gateway(settings) as client:
        await _decision(client, key, "-2-3", agent="@SOMME")
        tableur = await client.get(
            "/v1/journal", params={"format": "csv", "tableur": "true"}, headers=bearer(key)
        )
        tout = await client.get(
            "/v1/journal", params={"tout": "true", "tableur": "true"}, headers=bearer(key)
        )
        simple = await client.get("/v1/journal", params={"format": "csv"}, headers=bearer(key))

    assert tableur.status_code == tout.status_code == 200
    assert tableur.content.startswith("\ufeff".encode())  # UTF-8 BOM: Excel reads the accents right
    assert tout.content.startswith("\ufeff".encode())
    assert not simple.content.startswith("\ufeff".encode())
    lignes = list(csv.reader(io.StringIO(tableur.content.decode("utf-8-sig")), delimiter=";"))
    assert lignes[0][:3] == ["consultation_id", "cree_le", "type"]
    ligne = dict(zip(lignes[0], lignes[1], strict=True))
    assert ligne["dossier_ref"] == "'-2-3"  # a spreadsheet would compute -2-3
    assert ligne["agent_id"] == "'@SOMME"
    assert ";" not in simple.text.splitlines()[0]
