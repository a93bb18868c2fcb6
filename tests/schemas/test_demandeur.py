"""The identité pivot is validated like API Particulier does, without echoing the value."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from app.schemas.demandeur import Demandeur

VALIDE: dict[str, Any] = {
    "nom_naissance": "LEFEBVRE",
    "prenoms": ["ALEXIS", "GÉRÔME", "JEAN-PHILIPPE"],
    "sexe": "f",
    "date_naissance": "1982-12-27",
    "code_cog_insee_commune_naissance": "08480",
    "code_cog_insee_pays_naissance": "99100",
}


def test_a_valid_identity_is_normalised() -> None:
    demandeur = Demandeur.model_validate(VALIDE)

    assert demandeur.sexe == "F"
    assert demandeur.date_naissance_partielle is not None
    assert demandeur.date_naissance_partielle.jour == 27


@pytest.mark.parametrize(
    ("change", "champ"),
    [
        ({"sexe": "X"}, "sexe"),
        ({"code_cog_insee_pays_naissance": "99 10"}, "code_cog_insee_pays_naissance"),
        ({"code_cog_insee_pays_naissance": "9920٠"}, "code_cog_insee_pays_naissance"),  # Arabic digit
        ({"prenoms": ["A", "B", "C", "D"]}, "prenoms"),
        ({"date_naissance": "1899-12-31"}, "date_naissance"),
        ({"date_naissance": "2999"}, "date_naissance"),
        ({"date_naissance": "1982-02-30"}, "date_naissance"),
        ({"code_cog_insee_commune_naissance": None}, "demandeur"),
        ({"numero_fiscal": "12345"}, "numero_fiscal"),
        ({"inconnu": 1}, "inconnu"),
    ],
)
def test_invalid_identities_are_refused(change: dict[str, Any], champ: str) -> None:
    with pytest.raises(ValidationError) as caught:
        Demandeur.model_validate({**VALIDE, **change})

    locations = [".".join(str(p) for p in e["loc"]) or "demandeur" for e in caught.value.errors()]
    assert champ in locations


def test_born_abroad_needs_no_commune_and_drops_one() -> None:
    demandeur = Demandeur.model_validate({**VALIDE, "code_cog_insee_pays_naissance": "99404"})

    assert demandeur.code_cog_insee_commune_naissance is None


def test_second_birth_place_option_is_accepted() -> None:
    demandeur = Demandeur.model_validate(
        {
            **VALIDE,
            "code_cog_insee_commune_naissance": None,
            "nom_commune_naissance": "Vrigne-aux-Bois",
            "code_cog_insee_departement_naissance": "08",
        }
    )

    assert demandeur.code_cog_insee_departement_naissance == "08"


def _messages(nom: str) -> set[str]:
    try:
        Demandeur.model_validate({**VALIDE, "nom_naissance": nom})
    except ValidationError as e:
        return {str(err["msg"]) for err in e.errors()}
    return set()


MESSAGES_CONNUS = _messages(" ") | _messages("!")


@given(st.text(min_size=1, max_size=30))
def test_error_messages_never_depend_on_the_submitted_name(nom: str) -> None:
    # Whatever the name, the message is one of two fixed sentences: it cannot echo personal data.
    assert _messages(nom) <= MESSAGES_CONNUS


def test_a_lone_surrogate_is_refused_not_journaled() -> None:
    """`"\\ud800"` in JSON is not a character: it could not be hashed into a pseudonym nor stored."""
    identite = {
        "nom_naissance": "MARTIN",
        "prenoms": ["AXELLE"],
        "sexe": "F",
        "code_cog_insee_pays_naissance": "99100",
        "nom_commune_naissance": "RENNES\ud800",
        "code_cog_insee_departement_naissance": "35",
        "date_naissance": "1989-12-03",
    }
    with pytest.raises(ValidationError, match="caractère invalide"):
        Demandeur.model_validate(identite)
