"""Facts supplied for simulations: validated against the catalogue, never certified."""

from __future__ import annotations

from decimal import Decimal

import pytest

from app.rules.dates import DatePartielle
from app.rules.simulation import FaitsInvalides, lire_faits_simules


def test_simulated_facts_are_typed_and_uncertified() -> None:
    faits = lire_faits_simules(
        {
            "quotient_familial_caf": 550,
            "nombre_de_parts": 2.2,
            "enfants": [{"date_naissance": "2015-03"}],
            "commune_residence": "08480",
            "beneficiaire_rsa": True,
        }
    )
    qf = faits.connus["quotient_familial_caf"]
    assert qf.valeur == Decimal(550)
    assert qf.source.fournisseur == "simulation"
    assert qf.source.certifie is False
    assert faits.connus["nombre_de_parts"].valeur == Decimal("2.2")
    enfants = faits.connus["enfants"].valeur
    assert isinstance(enfants, tuple)
    assert enfants[0].date_naissance == DatePartielle(2015, 3)


def test_a_period_may_be_given() -> None:
    faits = lire_faits_simules({"quotient_familial_caf": {"valeur": "550", "periode": "2026-10"}})
    assert faits.connus["quotient_familial_caf"].source.periode == "2026-10"


def test_all_errors_are_reported_together() -> None:
    with pytest.raises(FaitsInvalides) as info:
        lire_faits_simules(
            {
                "quotient_familial_caf": "beaucoup",
                "nombre_enfants": 2,
                "inconnu": 1,
                "situation_familiale": "Z",
                "nombre_personnes_a_charge": 1.5,
                "beneficiaire_rsa": "oui",
                "enfants": [{"date_naissance": "2015-13"}],
                "date_naissance_demandeur": {"valeur": "1980", "periode": "hier"},
            }
        )
    erreurs = dict(info.value.erreurs)
    assert erreurs == {
        "quotient_familial_caf": "doit être un nombre",
        "nombre_enfants": "fait calculé par le moteur : fournissez les faits dont il dépend",
        "inconnu": "fait inconnu du catalogue",
        "situation_familiale": "valeur non admise (valeurs admises : M, O, C, D, V)",
        "nombre_personnes_a_charge": "doit être un nombre entier positif",
        "beneficiaire_rsa": "doit être vrai ou faux (true / false)",
        "enfants": "le mois doit être compris entre 01 et 12",
        "date_naissance_demandeur.periode": "doit s'écrire AAAA ou AAAA-MM",
    }


def test_booleans_are_not_numbers() -> None:
    with pytest.raises(FaitsInvalides):
        lire_faits_simules({"quotient_familial_caf": True})
