"""Identity guard: the applicant must be one of the déclarants of the returned foyer fiscal."""

from __future__ import annotations

from typing import Any

import pytest

from app.schemas.demandeur import Demandeur
from app.services.amont.impot_particulier import identite_fiscale_correspond
from app.services.amont.impot_particulier.identite import normaliser_nom
from tests.services.amont.impot_particulier.exemples import CIS_QUATORZE, DUBIGNOT, reponse


def demandeur(**champs: Any) -> Demandeur:
    valeurs: dict[str, Any] = {
        "nom_naissance": "CIS QUATORZE",
        "prenoms": ["VINCENT"],
        "sexe": "M",
        "date_naissance": "1973-08-02",
        "code_cog_insee_commune_naissance": "94080",
        "code_cog_insee_pays_naissance": "99100",
    }
    return Demandeur.model_validate(valeurs | champs)


@pytest.mark.parametrize(
    "champs",
    [
        {},
        {"nom_naissance": "Cis Quatorze"},
        {"nom_naissance": "CIS-QUATORZE"},
        {"date_naissance": "1973-08"},
        {"date_naissance": "1973"},
        {"prenoms": ["Vincent", "Paul"]},
        # déclarant 2, by her birth name
        {
            "nom_naissance": "CIS TRENTEHUIT",
            "nom_usage": "CIS QUATORZE",
            "prenoms": ["LEA"],
            "sexe": "F",
            "date_naissance": "1973-02-10",
        },
    ],
)
def test_matches(champs: dict[str, Any]) -> None:
    assert identite_fiscale_correspond(demandeur(**champs), reponse(CIS_QUATORZE))


@pytest.mark.parametrize(
    "champs",
    [
        {"nom_naissance": "CIS QUINZE"},
        {"date_naissance": "1973-08-03"},
        {"date_naissance": "1974"},
        {"date_naissance": None, "code_cog_insee_pays_naissance": "99134"},
        {"prenoms": ["LEA"]},
        {"prenoms": ["VINCE"]},
        # her birth date with his name: the guard compares each déclarant as a whole
        {"date_naissance": "1973-02-10"},
        # usage name of déclarant 2 is not a birth name
        {
            "nom_naissance": "DUPONT",
            "nom_usage": "CIS QUATORZE",
            "date_naissance": "1973-02-10",
            "prenoms": ["LEA"],
        },
    ],
)
def test_does_not_match(champs: dict[str, Any]) -> None:
    assert not identite_fiscale_correspond(demandeur(**champs), reponse(CIS_QUATORZE))


def test_unknown_birth_date_on_the_dgfip_side_never_matches() -> None:
    veuf = demandeur(nom_naissance="DUBIGNOT", prenoms=["JEAN"], date_naissance="1943-06-15")
    assert not identite_fiscale_correspond(veuf, reponse(DUBIGNOT))
    avec_date = DUBIGNOT | {"dateNaisDec1": {"jour": "15", "mois": "06", "annee": "1943"}}
    assert identite_fiscale_correspond(veuf, reponse(avec_date))  # mixed-case prénoms tolerated


def test_without_birth_names_the_usage_names_must_agree() -> None:
    sans_nom_naissance = {
        "nmUsaDec1": "MARTIN",
        "dateNaisDec1": {"jour": "01", "mois": "01", "annee": "1980"},
    }
    base = {"nom_naissance": "DURAND", "date_naissance": "1980-01-01", "prenoms": ["ANNE"]}
    assert identite_fiscale_correspond(demandeur(**base, nom_usage="Martin"), reponse(sans_nom_naissance))
    assert not identite_fiscale_correspond(demandeur(**base), reponse(sans_nom_naissance))


def test_no_declarant_never_matches() -> None:
    assert not identite_fiscale_correspond(demandeur(), reponse({"rfr": 1}))


@pytest.mark.parametrize(
    ("texte", "attendu"),
    [
        ("Hélène d'Arc-Étoile", "HELENE D ARC ETOILE"),
        ("  JEAN   PIERRE ", "JEAN PIERRE"),
        ("", None),
        (None, None),
    ],
)
def test_normaliser_nom(texte: str | None, attendu: str | None) -> None:
    assert normaliser_nom(texte) == attendu
