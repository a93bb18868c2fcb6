"""Base facts from an answer: exact types, provenance, only what is present."""

from __future__ import annotations

from decimal import Decimal

from app.rules.facts import CATALOGUE_FAITS, Origine, TypeFait
from app.services.amont.impot_particulier import faits_impot, libelle_situation_familiale
from tests.services.amont.impot_particulier.exemples import CIS_QUATORZE, OBTENU_LE, reponse

ATTENDUS = {
    "revenu_fiscal_de_reference": Decimal(48583),
    "nombre_de_parts": Decimal("2.0"),
    "situation_familiale": "M",
    "nombre_personnes_a_charge": 0,
    "impot_sur_le_revenu": Decimal(2982),
}


def test_facts_and_their_provenance() -> None:
    faits = faits_impot(reponse(CIS_QUATORZE))
    assert {nom: f.valeur for nom, f in faits.items()} == ATTENDUS
    for fait in faits.values():
        assert fait.source.fournisseur == "DGFIP"
        assert fait.source.certifie is True
        assert fait.source.periode == "2021"
        assert fait.source.obtenu_le == OBTENU_LE
        assert fait.source.request_id == "0b7f3c2e-4d1a-4f6b-9c55-1e2d3f4a5b6c"


def test_every_impot_particulier_fact_of_the_catalogue_is_produced_with_its_type() -> None:
    faits = faits_impot(reponse(CIS_QUATORZE))
    attendus = {n for n, d in CATALOGUE_FAITS.items() if d.origine is Origine.IMPOT_PARTICULIER}
    assert set(faits) == attendus
    python_type = {TypeFait.NOMBRE: Decimal, TypeFait.ENTIER: int, TypeFait.TEXTE: str}
    for nom, fait in faits.items():
        assert type(fait.valeur) is python_type[CATALOGUE_FAITS[nom].type]


def test_negative_tax_is_kept() -> None:
    faits = faits_impot(reponse({"montTotIr": -36}))
    assert faits["impot_sur_le_revenu"].valeur == Decimal(-36)


def test_absent_data_gives_no_fact() -> None:
    assert set(faits_impot(reponse({"rfr": 10000}))) == {"revenu_fiscal_de_reference"}
    assert faits_impot(reponse({})) == {}


def test_unknown_family_situation_is_not_a_fact() -> None:
    assert "situation_familiale" not in faits_impot(reponse({"sitFam": "X"}))


def test_labels() -> None:
    assert libelle_situation_familiale("O") == "Pacsé(e)s"
    assert libelle_situation_familiale("V") == "Veuf(ve)"
    assert libelle_situation_familiale("Z") == "Z"
