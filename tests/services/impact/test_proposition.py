"""A proposal's parameter values reach every place the règlement reads them, the facts it computes
included (before: a parameter read only inside a computed fact's formula kept its old value, so a
board moving it saw no change at all)."""

from __future__ import annotations

from datetime import date
from typing import Any

from app.rules.engine import evaluer
from app.rules.loader import lire_reglement
from app.rules.model import Reglement
from app.rules.simulation import lire_faits
from app.services.impact.proposition import depuis_parametres, depuis_yaml

JOUR = date(2026, 5, 15)
EFFET = date(2026, 9, 1)


def _reglement(forfait: int, seuil: int = 10) -> str:
    return f"""\
reglement: {{id: c, version: "1", libelle: C, organisme: {{nom: CCAS}}}}
parametres:
  forfait_charges:
    {{libelle: le forfait de charges, unite: "€", valeurs: [{{depuis: 2020-01-01, valeur: {forfait}}}]}}
  seuil:
    {{libelle: le seuil de reste à vivre, unite: "€", valeurs: [{{depuis: 2020-01-01, valeur: {seuil}}}]}}
faits_declares:
  ressources: {{libelle: les ressources mensuelles, type: nombre, unite: "€", min: 0, piece: bulletins}}
faits_calcules:
  reste_a_vivre:
    libelle: le reste à vivre journalier par personne
    unite: "€"
    formule: (ressources - forfait_charges) / taille_foyer / 30
dispositifs:
  - id: aide
    libelle: Aide
    conditions:
      - {{fait: reste_a_vivre, operateur: '<=', parametre: seuil}}
"""


def _reste(reglement: Reglement, **faits: Any) -> Any:
    (resultat,) = evaluer(reglement, lire_faits(faits, catalogue=reglement.catalogue), JOUR).resultats
    (condition,) = resultat.conditions
    return resultat.statut, condition.valeur


FOYER = {"ressources": 1300, "allocataires": ["1980"], "enfants": ["2010", "2012", "2014"]}


def test_parameter_mode_equals_the_same_reglement_written_out() -> None:
    actuel = lire_reglement(_reglement(forfait=100), "c.yaml")
    ecrit = lire_reglement(_reglement(forfait=700), "c.yaml")
    proposition = depuis_parametres(actuel, {"forfait_charges": 700}, EFFET).reglement
    assert _reste(actuel, **FOYER) != _reste(ecrit, **FOYER)  # the change matters for this household
    assert _reste(proposition, **FOYER) == _reste(ecrit, **FOYER)
    assert _reste(actuel, **FOYER) == _reste(lire_reglement(_reglement(forfait=100), "c.yaml"), **FOYER)


def test_a_yaml_proposal_applies_its_computed_facts_values_before_its_effective_date() -> None:
    """A decision made before the effective date is replayed with the proposal's values in force,
    in the computed facts as in the conditions."""
    texte = _reglement(forfait=100).replace(
        "valeurs: [{depuis: 2020-01-01, valeur: 100}]",
        "valeurs: [{depuis: 2020-01-01, valeur: 100}, {depuis: 2026-09-01, valeur: 700}]",
    )
    proposition = depuis_yaml(texte, EFFET).reglement
    ecrit = lire_reglement(_reglement(forfait=700), "c.yaml")
    assert _reste(proposition, **FOYER) == _reste(ecrit, **FOYER)


def test_the_catalogue_is_rebuilt_only_when_a_computed_fact_reads_a_parameter() -> None:
    """A règlement whose computed facts read no parameter keeps its catalogue under a proposal (the
    replay reuses an unchanged aid's verdict only under the very same catalogue); one whose computed
    facts read a parameter gets a catalogue reading the proposal's values, and is evaluated in full."""
    sans = _reglement(forfait=100).replace("(ressources - forfait_charges)", "(ressources - 100)")
    actuel = lire_reglement(sans, "c.yaml")
    assert depuis_parametres(actuel, {"seuil": 12}, EFFET).reglement.catalogue is actuel.catalogue
    avec = lire_reglement(_reglement(forfait=100), "c.yaml")
    deplace = depuis_parametres(avec, {"seuil": 12}, EFFET).reglement
    assert deplace.catalogue is not avec.catalogue
    assert _reste(deplace, **FOYER) == _reste(
        lire_reglement(_reglement(forfait=100, seuil=12), "c.yaml"), **FOYER
    )
