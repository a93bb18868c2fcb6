"""Pre-filling data: fiscal address (both sources), déclarants, provenance, exact amounts."""

from __future__ import annotations

from decimal import Decimal

from app.services.amont.impot_particulier import donnees_pre_remplissage
from tests.services.amont.impot_particulier.exemples import CIS_QUATORZE, DUBIGNOT, reponse


def test_full_answer() -> None:
    donnees = donnees_pre_remplissage(reponse(CIS_QUATORZE))
    assert donnees["annee_des_revenus"] == 2021
    assert donnees["source"] == {
        "fournisseur": "DGFIP",
        "periode": "2021",
        "obtenu_le": "2026-03-01T09:30:00+00:00",
        "request_id": "0b7f3c2e-4d1a-4f6b-9c55-1e2d3f4a5b6c",
    }
    assert donnees["nombre_de_parts"] == Decimal("2.0")
    assert donnees["situation_familiale"] == {"code": "M", "libelle": "Marié(e)s"}
    assert donnees["date_mise_en_recouvrement"] == "2022-07-31"
    assert donnees["adresse_fiscale"] == {
        "ligne": "18 RUE DU COMMANDANT MOWAT 94300 VINCENNES",
        "complement": None,
        "voie": "18 RUE DU COMMANDANT MOWAT",
        "code_postal": "94300",
        "ville": "VINCENNES",
        "bureau_distributeur": None,
    }
    assert donnees["declarants"][1] == {
        "nom_naissance": "CIS TRENTEHUIT",
        "nom_usage": "CIS QUATORZE",
        "prenoms": "PNM LEA",
        "date_naissance": "1973-02-10",
    }


def test_address_from_the_one_line_aft_when_no_detail() -> None:
    adresse = donnees_pre_remplissage(reponse({"aft": "55 BOULEVARD MARCELLIN BERTHELOT 13200 ARLES"}))[
        "adresse_fiscale"
    ]
    assert (adresse["code_postal"], adresse["ville"], adresse["voie"]) == ("13200", "ARLES", None)


def test_spec_spelling_of_the_address() -> None:
    body = {"aftDetail": {"voie": "1 RUE A", "getcodePostal": "75001 PARIS", "getcommune": "CEDEX"}}
    adresse = donnees_pre_remplissage(reponse(body))["adresse_fiscale"]
    assert (adresse["code_postal"], adresse["ville"], adresse["bureau_distributeur"]) == (
        "75001",
        "PARIS",
        "CEDEX",
    )


def test_missing_parts_are_none() -> None:
    donnees = donnees_pre_remplissage(reponse(DUBIGNOT))
    assert donnees["adresse_fiscale"] is None
    assert donnees["impot_sur_le_revenu"] is None
    assert donnees["declarants"][0]["date_naissance"] is None
    assert donnees_pre_remplissage(reponse({}))["situation_familiale"] is None
