"""`/v1/campagnes` on the embedded default (in-process queue) and on the real Redis and PostgreSQL."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx

from tests.conftest import AUTH, upstream_calls

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
    lus = [json.loads(l) for l in resultats.splitlines()]
    assert [r["ligne"] for r in lus] == [2, 3, 4, 5, 6]
    for r in lus:
        decision = (await gateway.get(f"/v1/decisions/{r['decision_id']}", headers=AUTH)).json()
        assert decision["dossier_ref"] == r["dossier_ref"]
        assert decision["resultats"][0]["statut"] == r["statut"]
