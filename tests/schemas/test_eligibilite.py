"""The agent's declared facts are the catalogue's: same names, same admitted values."""

from __future__ import annotations

from typing import get_args

from app.rules.facts import CATALOGUE_FAITS, FAITS_DECLARATIFS
from app.schemas.eligibilite import Declaratif


def test_declared_fields_are_the_declarative_facts_of_the_catalogue() -> None:
    assert set(Declaratif.model_fields) == FAITS_DECLARATIFS


def test_housing_statuses_are_the_catalogue_s() -> None:
    annotation = Declaratif.model_fields["statut_occupation_logement"].annotation
    litteral = next(a for a in get_args(annotation) if a is not type(None))
    assert set(get_args(litteral)) == set(CATALOGUE_FAITS["statut_occupation_logement"].valeurs_admises or ())
