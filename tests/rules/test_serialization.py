"""Facts and evaluations as JSON: exact round-trip, and a decision replayed gives the same result."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from app.rules.dates import DatePartielle
from app.rules.engine import evaluer
from app.rules.facts import Fait, FaitIndisponible, Faits, MembreFoyer, Source
from app.rules.loader import charger_reglement
from app.rules.serialization import evaluation_vers_dict, faits_depuis_dict, faits_vers_dict
from app.rules.testcases import fichiers_reglements

REGLEMENTS = Path(__file__).resolve().parents[2] / "reglements"


def _faits() -> Faits:
    cnaf = Source("CNAF", True, "2026-10", datetime(2026, 11, 26, 9, 30, tzinfo=UTC), True, "req-1")
    return Faits(
        connus={
            "quotient_familial_caf": Fait(Decimal("550.10"), cnaf),
            "enfants": Fait((MembreFoyer(DatePartielle(2015, 3)), MembreFoyer(None, "F")), cnaf),
            "allocataires": Fait((MembreFoyer(DatePartielle(1985, 4, 2), "M"),), cnaf),
            "nombre_de_parts": Fait(Decimal("2.5"), Source("DGFIP", True, "2025")),
            "nombre_personnes_a_charge": Fait(2, Source("DGFIP", True, "2025")),
            "beneficiaire_rsa": Fait(False, cnaf),
            "commune_residence": Fait("08480", Source("declaratif", False)),
            "date_naissance_demandeur": Fait(DatePartielle(1985, 4), Source("demande", False)),
        },
        indisponibles={"revenu_fiscal_de_reference": FaitIndisponible("fournisseur-indisponible", "panne")},
    )


def test_facts_round_trip_through_json() -> None:
    faits = _faits()
    texte = json.dumps(faits_vers_dict(faits))
    relu = faits_depuis_dict(json.loads(texte))
    assert relu == faits
    assert json.loads(texte)["connus"]["quotient_familial_caf"]["valeur"] == "550.10"


def test_unknown_fact_in_a_record_is_refused() -> None:
    with pytest.raises(ValueError, match="fait inconnu"):
        faits_depuis_dict({"connus": {"revenu_mystere": {"valeur": 1, "source": None}}})


@pytest.mark.parametrize("chemin", fichiers_reglements(REGLEMENTS), ids=lambda p: p.name)
def test_replaying_a_decision_from_its_record_gives_the_same_evaluation(chemin: Path) -> None:
    reglement = charger_reglement(chemin)
    for cas in reglement.cas_de_test:
        evaluation = evaluer(reglement, cas.faits, cas.date_reference)
        enregistre = json.dumps(
            {"faits": faits_vers_dict(cas.faits), "evaluation": evaluation_vers_dict(evaluation)},
            ensure_ascii=False,
        )
        relu = json.loads(enregistre)
        rejoue = evaluer(
            charger_reglement(chemin),
            faits_depuis_dict(relu["faits"], reglement.catalogue),
            date.fromisoformat(relu["evaluation"]["date_reference"]),
        )
        assert rejoue == evaluation
        assert evaluation_vers_dict(rejoue) == relu["evaluation"]
        assert relu["evaluation"]["reglement"]["empreinte"] == reglement.empreinte
