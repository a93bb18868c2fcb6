"""Issue 13, point 8: `dossier_ref "D-0001\\n"` was accepted (`$` matches before a final newline);
legitimate names typed in NFD or with « Œ » were refused. Patterns end in `\\Z`; names are checked
on NFC with the letters of French civil status, and sent to API Particulier in the form its
contract accepts (Latin-1 letters: Œ → OE, Ÿ → Y; Æ is Latin-1)."""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import ValidationError

from app.schemas.demandeur import Demandeur, nom_pour_api_particulier
from app.services.amont.api_particulier.params import parametres_identite
from app.services.amont.impot_particulier.identite import normaliser_nom
from tests.conftest import upstream_calls
from tests.robustesse.conftest import AUTH
from tests.routers.test_eligibilite import LEFEBVRE, demande

APP = Path(__file__).resolve().parents[2] / "app"


def test_no_validating_pattern_ends_with_a_dollar() -> None:
    # `^…$` validates "valeur\n": every anchored pattern of the app ends with `\Z`.
    fautifs = []
    for fichier in APP.rglob("*.py"):
        for numero, ligne in enumerate(fichier.read_text(encoding="utf-8").splitlines(), 1):
            if re.search(r're\.compile\(r"\^.*\$"', ligne):
                fautifs.append(f"{fichier.relative_to(APP.parent)}:{numero}")
    assert fautifs == []


@pytest.mark.parametrize("reference", ["D-0001\n", "D-0001\r\n", "D-0001\x00", "D 0001"])
async def test_a_dossier_ref_with_a_final_newline_is_refused(
    passerelle: httpx.AsyncClient, reference: str
) -> None:
    response = await passerelle.post(
        "/v1/eligibilite", json=demande(LEFEBVRE, dossier_ref=reference), headers=AUTH
    )
    assert response.status_code == 422, response.text
    assert response.json()["erreurs"][0]["champ"] == "dossier_ref"


def _demandeur(**champs: Any) -> Demandeur:
    return Demandeur.model_validate({**LEFEBVRE, **champs})


@pytest.mark.parametrize(
    "nom",
    ["CŒUR", "Cœur", "LÆTITIA", "læticia", "L'HAŸ", "DE LA FONTAINE-ÉVÊQUE", "D’ARTAGNAN", "Zoë", "NOËL"],
)
def test_names_of_french_civil_status_are_accepted(nom: str) -> None:
    for forme in ("NFC", "NFD"):
        demandeur = _demandeur(
            nom_naissance=unicodedata.normalize(forme, nom), prenoms=[unicodedata.normalize(forme, nom)]
        )
        attendu = unicodedata.normalize("NFC", nom).replace("’", "'")
        assert demandeur.nom_naissance == attendu
        assert demandeur.prenoms == [attendu]


@pytest.mark.parametrize("nom", ["DUP\nONT", "DUP0NT", "DUPONT;", "ДЮПОН", "DUPONT\u200b", "A\x00B"])
def test_other_characters_are_still_refused(nom: str) -> None:
    with pytest.raises(ValidationError):
        _demandeur(nom_naissance=nom)


def test_names_go_upstream_in_latin_1() -> None:
    demandeur = _demandeur(nom_naissance="CŒUR", nom_usage="L'HAŸ", prenoms=["ŒDIPE", "LÆTITIA"])
    parametres = dict(parametres_identite(demandeur))
    assert parametres["nomNaissance"] == "COEUR"
    assert parametres["nomUsage"] == "L'HAY"
    envoyes = [v for k, v in parametres_identite(demandeur) if k == "prenoms[]"]
    assert envoyes == ["OEDIPE", "LÆTITIA"]
    assert all(ord(c) < 256 for c in "".join(v for _, v in parametres_identite(demandeur)))
    assert nom_pour_api_particulier("sœur") == "soeur"


def test_the_dgfip_identity_guard_reads_ligatures_as_dgfip_writes_them() -> None:
    assert normaliser_nom("CŒUR-LÆTITIA") == normaliser_nom("COEUR LAETITIA") == "COEUR LAETITIA"


async def test_an_nfd_name_finds_the_person(gateway: httpx.AsyncClient) -> None:
    # LEFEBVRE ALEXIS GÉRÔME JEAN-PHILIPPE, typed in NFD (É = E + U+0301): was a 422.
    personne = {**LEFEBVRE, "prenoms": [unicodedata.normalize("NFD", p) for p in LEFEBVRE["prenoms"]]}
    response = await gateway.post("/v1/eligibilite", json=demande(personne), headers=AUTH)
    assert response.status_code == 200, response.text
    assert "quotient_familial_caf" not in [d["donnee"] for d in response.json()["donnees_indisponibles"]]


async def test_a_name_with_oe_reaches_the_provider_which_accepts_it(
    gateway: httpx.AsyncClient, simulateur: str
) -> None:
    avant = await upstream_calls(simulateur)
    response = await gateway.post(
        "/v1/eligibilite", json=demande({**LEFEBVRE, "nom_naissance": "CŒUR"}), headers=AUTH
    )
    # The simulator refuses what the real API refuses (a non-Latin-1 letter is its 422, then ours).
    assert response.status_code == 200, response.text
    assert await upstream_calls(simulateur) > avant
