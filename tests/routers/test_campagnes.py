"""`/v1/campagnes` on the embedded default (in-process queue, SQLite journal)."""

from __future__ import annotations

import asyncio
import csv
import io
import json
from pathlib import Path
from typing import Any

import httpx

from tests.conftest import AUTH, gateway_settings, open_gateway, upstream_calls
from tests.organismes import SIRET_A, OrganismeDeTest, bearer, provisionner

MARTIN_AXELLE: dict[str, Any] = {
    "nom_naissance": "MARTIN",
    "prenoms": ["AXELLE"],
    "sexe": "F",
    "date_naissance": "1989-12-03",
    "code_cog_insee_commune_naissance": "35238",
    "code_cog_insee_pays_naissance": "99100",
}
EN_TETE = (
    "dossier_ref;nom_naissance;prenoms;sexe;date_naissance;code_cog_insee_commune_naissance;"
    "code_cog_insee_pays_naissance;commune_residence"
)
CSV_HEADERS = {**AUTH, "Content-Type": "text/csv"}


def inconnu(n: int) -> str:
    """A valid name unknown to the sandbox: one upstream call (a 404) per line."""
    return "INCONNU" + "".join(chr(ord("A") + int(c)) for c in f"{n:05d}")


def ligne_csv(n: int, *, nom: str | None = None, sexe: str = "F") -> str:
    return f"D-{n};{nom or inconnu(n)};AXELLE;{sexe};1989-12-03;35238;99100;35238"


def fichier_csv(lignes: list[str], *, bom: bool = False, separateur: str = ";") -> bytes:
    texte = "\n".join([EN_TETE, *lignes]) + "\n"
    if separateur != ";":
        texte = texte.replace(";", separateur)
    return (("\ufeff" if bom else "") + texte).encode()


async def lancer(client: httpx.AsyncClient, lignes: int) -> str:
    """Launch a campaign of `lignes` lines (unknown applicants, one upstream call each); its id."""
    fichier = fichier_csv([ligne_csv(n) for n in range(1, lignes + 1)])
    reponse = await client.post("/v1/campagnes", content=fichier, headers=CSV_HEADERS)
    assert reponse.status_code == 202, reponse.text
    return str(reponse.json()["id"])


async def attendre_fin(client: httpx.AsyncClient, campagne_id: str, secondes: float = 60) -> dict[str, Any]:
    for _ in range(int(secondes * 10)):
        etat = (await client.get(f"/v1/campagnes/{campagne_id}", headers=AUTH)).json()
        if etat["etat"] != "en_cours":
            return dict(etat)
        await asyncio.sleep(0.1)
    raise AssertionError(f"campagne non terminée : {etat}")


async def test_the_embedded_default_decides_a_small_campaign_line_by_line(
    gateway: httpx.AsyncClient, simulateur: str
) -> None:
    lignes = [ligne_csv(1, nom="MARTIN"), *(ligne_csv(n) for n in range(2, 6))]

    reponse = await gateway.post(
        "/v1/campagnes?dispositifs=colis-fin-annee",
        content=fichier_csv(lignes, bom=True),
        headers=CSV_HEADERS,
    )

    assert reponse.status_code == 202, reponse.text
    lancee = reponse.json()
    assert (lancee["lignes_valides"], lancee["lignes_invalides"], lancee["erreurs"]) == (5, 0, [])
    etat = await attendre_fin(gateway, lancee["id"])
    assert (etat["etat"], etat["faites"], etat["en_file"], etat["en_echec"]) == ("terminee", 5, 0, 0)
    assert sum(etat["par_dispositif"]["colis-fin-annee"].values()) == 5
    assert await upstream_calls(simulateur) == 5
    # Every line is a journaled decision, under the id the results give.
    resultats = (await gateway.get(f"/v1/campagnes/{lancee['id']}/resultats?format=jsonl", headers=AUTH)).text
    lus = [json.loads(ligne) for ligne in resultats.splitlines()]
    assert [r["ligne"] for r in lus] == [2, 3, 4, 5, 6]
    for r in lus:
        decision = (await gateway.get(f"/v1/decisions/{r['decision_id']}", headers=AUTH)).json()
        assert decision["dossier_ref"] == r["dossier_ref"]
        assert decision["resultats"][0]["statut"] == r["statut"]


async def test_bad_lines_are_listed_with_their_reason_and_never_spend_quota(
    gateway: httpx.AsyncClient, simulateur: str
) -> None:
    lignes = [
        ligne_csv(1),
        ligne_csv(2, sexe="X"),  # not a sex the civil status knows
        "D-3;DUPONT;JEAN;M;1980-01-01;35238",  # a column short
        ligne_csv(4, nom="MART1N"),  # a digit in a name
        "D-5;" + "A" * 5000,  # longer than a line may be
        ligne_csv(6).replace("1989-12-03", "2999-01-01"),  # born in the future
    ]

    reponse = await gateway.post(
        "/v1/campagnes?dispositifs=colis-fin-annee", content=fichier_csv(lignes), headers=CSV_HEADERS
    )

    assert reponse.status_code == 202, reponse.text
    lancee = reponse.json()
    assert (lancee["lignes_valides"], lancee["lignes_invalides"]) == (1, 5)
    erreurs = {(e["ligne"], e["champ"]) for e in lancee["erreurs"]}
    assert erreurs == {
        (3, "demandeur.sexe"),
        (4, "ligne"),
        (5, "demandeur.nom_naissance"),
        (6, "ligne"),
        (7, "demandeur.date_naissance"),
    }
    assert all(e["message"] and "MART1N" not in e["message"] for e in lancee["erreurs"])
    await attendre_fin(gateway, lancee["id"])
    assert await upstream_calls(simulateur) == 1  # the one valid line only


async def test_a_file_with_no_valid_line_is_a_422_and_leaves_nothing(
    gateway: httpx.AsyncClient, simulateur: str
) -> None:
    reponse = await gateway.post(
        "/v1/campagnes", content=fichier_csv([ligne_csv(1, sexe="X")]), headers=CSV_HEADERS
    )
    sans_en_tete = await gateway.post("/v1/campagnes", content=b"a;b\n1;2\n", headers=CSV_HEADERS)
    inconnu = await gateway.post(
        "/v1/campagnes?dispositifs=aide-inexistante", content=fichier_csv([ligne_csv(1)]), headers=CSV_HEADERS
    )
    type_inconnu = await gateway.post(
        "/v1/campagnes", content=b"x", headers={**AUTH, "Content-Type": "application/pdf"}
    )

    assert reponse.status_code == 422
    assert reponse.json()["erreurs"][0]["champ"] == "ligne 2 : demandeur.sexe"
    assert sans_en_tete.status_code == 422
    assert "colonne obligatoire absente : dossier_ref" in sans_en_tete.json()["detail"]
    assert inconnu.status_code == 422
    assert inconnu.json()["erreurs"][0]["champ"] == "dispositifs"
    assert type_inconnu.status_code == 415
    assert (await gateway.get("/v1/campagnes", headers=AUTH)).json() == {"campagnes": []}
    assert await upstream_calls(simulateur) == 0


async def test_json_lines_with_a_comma_csv_and_a_bom_read_alike(gateway: httpx.AsyncClient) -> None:
    jsonl = "\n".join(
        json.dumps(
            {
                "dossier_ref": f"J-{n}",
                "demandeur": {**MARTIN_AXELLE, "nom_naissance": inconnu(n)},
                "declaratif": {"commune_residence": "35238"},
            }
        )
        for n in range(1, 4)
    ).encode()
    csv_virgule = fichier_csv([ligne_csv(n) for n in range(1, 4)], bom=True, separateur=",")

    en_jsonl = await gateway.post(
        "/v1/campagnes", content=jsonl, headers={**AUTH, "Content-Type": "application/x-ndjson"}
    )
    en_csv = await gateway.post("/v1/campagnes", content=csv_virgule, headers=CSV_HEADERS)

    assert (en_jsonl.status_code, en_jsonl.json()["lignes_valides"]) == (202, 3), en_jsonl.text
    assert (en_csv.status_code, en_csv.json()["lignes_valides"]) == (202, 3), en_csv.text
    a = await attendre_fin(gateway, en_jsonl.json()["id"])
    b = await attendre_fin(gateway, en_csv.json()["id"])
    assert a["par_dispositif"] == b["par_dispositif"]


async def test_results_as_csv_for_a_spreadsheet_one_line_per_applicant_and_aid(
    gateway: httpx.AsyncClient,
) -> None:
    reponse = await gateway.post(
        "/v1/campagnes?dispositifs=colis-fin-annee&dispositifs=aide-alimentaire",
        content=fichier_csv([ligne_csv(1, nom="MARTIN"), ligne_csv(2)]),
        headers=CSV_HEADERS,
    )
    campagne_id = reponse.json()["id"]
    await attendre_fin(gateway, campagne_id)

    tableur = await gateway.get(f"/v1/campagnes/{campagne_id}/resultats?tableur=true", headers=AUTH)

    assert tableur.headers["content-type"].startswith("text/csv")
    assert tableur.text.startswith("\ufeffligne;dossier_ref;etat;dispositif;statut")
    lignes = list(csv.DictReader(io.StringIO(tableur.text.removeprefix("\ufeff")), delimiter=";"))
    assert [(r["ligne"], r["dispositif"]) for r in lignes] == [
        ("2", "aide-alimentaire"),
        ("2", "colis-fin-annee"),
        ("3", "aide-alimentaire"),
        ("3", "colis-fin-annee"),
    ] or [(r["ligne"], r["dispositif"]) for r in lignes] == [
        ("2", "colis-fin-annee"),
        ("2", "aide-alimentaire"),
        ("3", "colis-fin-annee"),
        ("3", "aide-alimentaire"),
    ]
    assert all(r["statut"] in ("eligible", "non_eligible", "a_verifier") and r["decision_id"] for r in lignes)
    assert lignes[0]["motif"]


async def test_the_event_stream_follows_the_campaign_to_its_end(gateway: httpx.AsyncClient) -> None:
    campagne_id = await lancer(gateway, 3)

    async with gateway.stream("GET", f"/v1/campagnes/{campagne_id}/evenements", headers=AUTH) as flux:
        assert flux.headers["content-type"].startswith("text/event-stream")
        evenements = [ligne async for ligne in flux.aiter_lines() if ligne.startswith("event:")]

    assert evenements[0] == "event: avancement"
    assert evenements[-1] == "event: fin"


async def test_a_cancelled_campaign_decides_no_more_lines(tmp_path: Path, simulateur: str) -> None:
    # One call a second: the campaign is still at its first lines when it is cancelled.
    settings = gateway_settings(
        tmp_path,
        api_particulier_url=simulateur,
        api_particulier_token="jeton-de-test",
        quota_api_particulier_par_jeton_par_seconde=1,
        campagne_concurrence=1,
    )
    async with open_gateway(settings) as client:
        campagne_id = await lancer(client, 20)
        await asyncio.sleep(0.5)
        annulee = await client.post(f"/v1/campagnes/{campagne_id}/annulation", headers=AUTH)
        await asyncio.sleep(1.5)
        etat = (await client.get(f"/v1/campagnes/{campagne_id}", headers=AUTH)).json()

    assert annulee.status_code == 200
    assert annulee.json()["etat"] == "annulee"
    assert etat["annulees"] >= 15
    assert etat["faites"] + etat["annulees"] + etat["en_file"] == 20
    assert await upstream_calls(simulateur) == etat["faites"] + etat["en_file"]


def lots_en_cours() -> list[asyncio.Task[Any]]:
    """The tasks deciding campaign lines (taskiq's receiver running a lot, the lot's lines)."""
    noms = ("Receiver.callback", "ExecutionCampagnes")
    return [t for t in asyncio.all_tasks() if not t.done() and any(n in repr(t.get_coro()) for n in noms)]


async def test_stopping_the_embedded_gateway_mid_campaign_stops_its_lots_and_loses_no_line(
    tmp_path: Path, simulateur: str
) -> None:
    # Before, the in-process lots ran on after the gateway stopped, past the database's
    # disposal: their connections were left to the garbage collector, their lines half done.
    settings = gateway_settings(
        tmp_path,
        api_particulier_url=simulateur,
        api_particulier_token="jeton-de-test",
        quota_api_particulier_par_jeton_par_seconde=2,
        campagne_concurrence=1,
        # A line stopped mid-way is taken again once its lease ran out, like a killed worker's.
        campagne_bail_seconds=5,
    )
    async with open_gateway(settings) as client:
        campagne_id = await lancer(client, 8)
        await asyncio.sleep(1.2)
        assert lots_en_cours()
        avant = (await client.get(f"/v1/campagnes/{campagne_id}", headers=AUTH)).json()

    assert lots_en_cours() == []
    assert avant["en_file"] > 0
    # Started again on the same journal: the lines left are queued again and decided once each
    # (a call in flight at the stop may be made again: at most one per line being decided).
    async with open_gateway(settings) as client:
        etat = await attendre_fin(client, campagne_id)
    assert (etat["etat"], etat["faites"], etat["en_echec"]) == ("terminee", 8, 0)
    assert 8 <= await upstream_calls(simulateur) <= 8 + settings.campagne_concurrence


async def test_another_organismes_campaign_is_a_404(tmp_path: Path, simulateur: str) -> None:
    settings = gateway_settings(
        tmp_path, api_particulier_url=simulateur, api_particulier_token="jeton-de-test"
    )
    cles = await provisionner(
        settings,
        [OrganismeDeTest("ccas-a", SIRET_A)],
        [("ccas-a", "logiciel-a", ["campagnes"]), ("ccas-a", "guichet-a", ["eligibilite"])],
    )
    async with open_gateway(settings) as client:
        reponse = await client.post("/v1/campagnes", content=fichier_csv([ligne_csv(1)]), headers=CSV_HEADERS)
        campagne_id = reponse.json()["id"]
        autre = bearer(cles["logiciel-a"])
        reponses = [
            await client.get(f"/v1/campagnes/{campagne_id}", headers=autre),
            await client.get(f"/v1/campagnes/{campagne_id}/resultats", headers=autre),
            await client.get(f"/v1/campagnes/{campagne_id}/evenements", headers=autre),
            await client.post(f"/v1/campagnes/{campagne_id}/annulation", headers=autre),
        ]
        liste = (await client.get("/v1/campagnes", headers=autre)).json()
        sans_droit = await client.get("/v1/campagnes", headers=bearer(cles["guichet-a"]))

    assert [r.status_code for r in reponses] == [404, 404, 404, 404]
    assert liste == {"campagnes": []}
    assert sans_droit.status_code == 403


async def test_a_file_sent_as_binary_is_recognised_by_its_first_character(gateway: httpx.AsyncClient) -> None:
    binaire = {**AUTH, "Content-Type": "application/octet-stream"}
    jsonl = json.dumps({"dossier_ref": "J-1", "demandeur": MARTIN_AXELLE}).encode() + b"\n"

    en_csv = await gateway.post(
        "/v1/campagnes", content=fichier_csv([ligne_csv(1)], bom=True), headers=binaire
    )
    en_jsonl = await gateway.post("/v1/campagnes", content=jsonl, headers=binaire)

    assert (en_csv.status_code, en_csv.json()["lignes_valides"]) == (202, 1), en_csv.text
    assert (en_jsonl.status_code, en_jsonl.json()["lignes_valides"]) == (202, 1), en_jsonl.text


async def test_a_misspelt_parameter_is_refused_rather_than_every_aid_run(gateway: httpx.AsyncClient) -> None:
    reponse = await gateway.post(
        "/v1/campagnes?dispositif=colis-fin-annee", content=fichier_csv([ligne_csv(1)]), headers=CSV_HEADERS
    )

    assert reponse.status_code == 422
    assert reponse.json()["erreurs"] == [{"champ": "dispositif", "message": "paramètre inconnu"}]
