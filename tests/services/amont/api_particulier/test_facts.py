"""Facts drawn from the answers, with their source; and the pre-filling view."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from pydantic import BaseModel

from app.rules.dates import DatePartielle
from app.rules.facts import CATALOGUE_FAITS, MembreFoyer, Source
from app.services.amont.api_particulier import (
    PrestationAah,
    PrestationAsf,
    PrestationC2s,
    PrestationPrimeActivite,
    PrestationRsa,
    Provenance,
    QuotientFamilial,
    Reponse,
    donnees_pre_remplissage,
    faits_allocation_adulte_handicape,
    faits_allocation_soutien_familial,
    faits_complementaire_sante_solidaire,
    faits_prime_activite,
    faits_quotient_familial,
    faits_revenu_solidarite_active,
)

from .conftest import fixture

# 23:30 UTC on 30 November is already December in Paris: periods are French civil months.
OBTENU_LE = datetime(2026, 11, 30, 23, 30, tzinfo=UTC)


def reponse(model: type[BaseModel], data: dict[str, Any]) -> Reponse[Any]:
    provenance = Provenance(
        endpoint="x/identite",
        request_id="rid-7",
        depuis_cache_fournisseur=False,
        obtenu_le=OBTENU_LE,
        statut_http=200,
    )
    return Reponse(donnees=model.model_validate(data), provenance=provenance)


def qf(name: str) -> Reponse[QuotientFamilial]:
    return reponse(QuotientFamilial, fixture(name)["data"])


def test_quotient_familial_facts() -> None:
    faits = faits_quotient_familial(
        qf("v3_qf_france_connect_200_date_naissance_partielle.json"), depuis_cache=True
    )

    assert set(faits) == {"quotient_familial_caf", "allocataires", "enfants", "code_postal_caf"}
    assert set(faits) <= set(CATALOGUE_FAITS)
    assert faits["quotient_familial_caf"].valeur == Decimal(2550)
    assert faits["quotient_familial_caf"].source == Source(
        fournisseur="CNAF",
        certifie=True,
        periode="2024-02",
        obtenu_le=OBTENU_LE,
        depuis_cache=True,
        request_id="rid-7",
    )
    # the household is the current month's, whatever month the QF is for
    assert faits["enfants"].source.periode == "2026-12"
    assert faits["enfants"].valeur == (
        MembreFoyer(DatePartielle(2015, 7, 10), "F"),
        MembreFoyer(DatePartielle(2012, 9, 9), "M"),
        MembreFoyer(DatePartielle(2020), "M"),
    )
    assert len(faits["allocataires"].valeur) == 2  # type: ignore[arg-type]
    assert faits["code_postal_caf"].valeur == "44109"


def test_household_facts_carry_no_name() -> None:
    faits = faits_quotient_familial(qf("v3_qf_identite_200_cnaf_famille_4_enfants.json"))
    text = repr(faits)
    for name in ("DUPONT", "SOPHIE", "LOUISE", "MARSEILLE", "COURS JULIEN"):
        assert name not in text


def test_msa_is_the_source_of_an_msa_qf() -> None:
    faits = faits_quotient_familial(qf("v3_qf_identite_200_msa_couple_2_enfants.json"))
    assert faits["quotient_familial_caf"].source.fournisseur == "MSA"
    assert faits["allocataires"].source.fournisseur == "MSA"


def test_missing_scopes_give_no_fact() -> None:
    faits = faits_quotient_familial(qf("v3_qf_identite_200_scope_quotient_familial_only.json"))
    assert set(faits) == {"quotient_familial_caf"}

    no_qf = faits_quotient_familial(reponse(QuotientFamilial, {"enfants": []}))
    assert set(no_qf) == {"enfants"}
    assert no_qf["enfants"].valeur == ()
    assert no_qf["enfants"].source.fournisseur == "CNAF/MSA"


@pytest.mark.parametrize(
    ("code_postal_ville", "expected"),
    [("75002 PARIS", "75002"), ("2A004 AJACCIO", None), ("PARIS", None), (None, None), ("", None)],
)
def test_code_postal(code_postal_ville: str | None, expected: str | None) -> None:
    faits = faits_quotient_familial(
        reponse(QuotientFamilial, {"adresse": {"code_postal_ville": code_postal_ville}})
    )
    fait = faits.get("code_postal_caf")
    assert (fait.valeur if fait is not None else None) == expected


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (
            {"est_beneficiaire": True, "avec_majoration": True, "date_debut_droit": "1992-11-20"},
            {"beneficiaire_rsa": True, "rsa_avec_majoration": True},
        ),
        (
            {"est_beneficiaire": True, "avec_majoration": False, "date_debut_droit": "1992-11-20"},
            {"beneficiaire_rsa": True, "rsa_avec_majoration": False},
        ),
        (
            {"est_beneficiaire": False, "avec_majoration": None, "date_debut_droit": None},
            {"beneficiaire_rsa": False, "rsa_avec_majoration": False},
        ),
        ({"est_beneficiaire": True, "avec_majoration": None}, {"beneficiaire_rsa": True}),
        ({"est_beneficiaire": True, "date_debut_droit": "1992-11-20"}, {"beneficiaire_rsa": True}),
        ({"avec_majoration": True}, {"rsa_avec_majoration": True}),
    ],
)
def test_rsa_facts(data: dict[str, Any], expected: dict[str, bool]) -> None:
    faits = faits_revenu_solidarite_active(reponse(PrestationRsa, data))
    assert {nom: fait.valeur for nom, fait in faits.items()} == expected
    for fait in faits.values():
        assert fait.source.fournisseur == "Sécurité sociale"
        assert fait.source.certifie
        assert fait.source.periode == "2026-12"


@pytest.mark.parametrize(
    ("model", "function", "fact"),
    [
        (PrestationPrimeActivite, faits_prime_activite, "beneficiaire_prime_activite"),
        (PrestationAah, faits_allocation_adulte_handicape, "beneficiaire_aah"),
        (PrestationAsf, faits_allocation_soutien_familial, "beneficiaire_asf"),
        (PrestationC2s, faits_complementaire_sante_solidaire, "beneficiaire_c2s"),
    ],
)
@pytest.mark.parametrize("beneficiaire", [True, False])
def test_benefit_facts(model: type[BaseModel], function: Any, fact: str, beneficiaire: bool) -> None:
    faits = function(reponse(model, {"est_beneficiaire": beneficiaire, "date_debut_droit": None}))
    assert fact in CATALOGUE_FAITS
    assert {nom: f.valeur for nom, f in faits.items()} == {fact: beneficiaire}
    assert function(reponse(model, {})) == {}


def test_pre_remplissage_of_a_quotient_familial() -> None:
    vue = donnees_pre_remplissage(qf("v3_qf_france_connect_200_date_naissance_partielle.json"))

    assert vue["quotient_familial"] == {
        "fournisseur": "CNAF",
        "valeur": 2550,
        "annee": 2024,
        "mois": 2,
        "annee_calcul": 2024,
        "mois_calcul": 12,
    }
    assert vue["allocataires"][0] == {
        "nom_naissance": "YOGO",
        "nom_usage": "BOBO",
        "prenoms": "Sophie Suzanne",
        "date_naissance": "1981-11-01",
        "sexe": "F",
    }
    assert vue["enfants"][2]["date_naissance"] == "2020"
    assert vue["adresse"]["code_postal_ville"] == "44109 NANTES"
    assert vue["adresse"]["lieu_dit"] is None
    assert json.loads(json.dumps(vue)) == vue


def test_pre_remplissage_keeps_absent_keys_absent() -> None:
    vue = donnees_pre_remplissage(qf("v3_qf_identite_200_scope_quotient_familial_only.json"))
    assert set(vue) == {"quotient_familial"}


def test_pre_remplissage_of_a_benefit() -> None:
    vue = donnees_pre_remplissage(
        reponse(PrestationC2s, fixture("v3_css_identite_200_avec_participation.json")["data"])
    )
    assert vue == {
        "complementaire_sante_solidaire": {
            "est_beneficiaire": True,
            "avec_participation": True,
            "date_debut_droit": "2023-06-01",
        }
    }
