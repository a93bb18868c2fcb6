"""The engine: statuses, three-valued combinations, dated parameters, freshness, amounts, explanations."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from app.rules.dates import DatePartielle
from app.rules.engine import DispositifInconnu, ParametreSansValeur, evaluer
from app.rules.facts import Fait, Faits, MembreFoyer, Source
from app.rules.loader import charger_reglement, lire_reglement
from app.rules.model import Reglement
from app.rules.results import Statut
from app.rules.simulation import lire_faits

DEMO = Path(__file__).resolve().parents[2] / "reglements" / "demo.yaml"
JOUR = date(2026, 11, 26)


@pytest.fixture(scope="module")
def demo() -> Reglement:
    return charger_reglement(DEMO)


def _qf(valeur: int | str, periode: str = "2026-10", fournisseur: str = "CNAF") -> Fait:
    return Fait(Decimal(valeur), Source(fournisseur=fournisseur, certifie=True, periode=periode))


def test_the_explanation_carries_the_numbers_source_and_deliberation(demo: Reglement) -> None:
    faits = Faits(connus={"quotient_familial_caf": _qf(550)})
    resultat = evaluer(demo, faits, JOUR, ["aide-alimentaire"]).resultats[0]
    (condition,) = resultat.conditions
    assert condition.satisfaite is True
    assert condition.ecart == Decimal(50)
    assert condition.seuil == Decimal(600)
    assert condition.valeur == Decimal(550)
    assert condition.deliberation == "délibération n° 2025-14 du 12 mars 2025"
    assert condition.parametre == "plafond_qf_alimentaire"
    assert condition.explication == (
        "Le quotient familial CAF/MSA (550 €, octobre 2026, CNAF) est inférieur ou égal au plafond de "
        "quotient familial de l'aide alimentaire (600 €, délibération n° 2025-14 du 12 mars 2025) : "
        "condition remplie, marge de 50 €."
    )


def test_a_failed_condition_gives_the_overshoot(demo: Reglement) -> None:
    faits = Faits(connus={"quotient_familial_caf": _qf(647)})
    resultat = evaluer(demo, faits, JOUR, ["aide-alimentaire"]).resultats[0]
    assert resultat.statut is Statut.NON_ELIGIBLE
    assert resultat.conditions[0].ecart == Decimal(-47)
    assert "condition non remplie, dépassement de 47 €" in resultat.conditions[0].explication
    assert resultat.motif == "Non éligible : condition non remplie sur le quotient familial CAF/MSA."
    assert resultat.montant is None


def test_every_aid_is_evaluated_in_order(demo: Reglement) -> None:
    evaluation = evaluer(demo, Faits(), JOUR)
    assert [r.dispositif for r in evaluation.resultats] == [d.id for d in demo.dispositifs]
    assert evaluation.reglement == demo.reference()


def test_missing_data_makes_the_aid_a_verifier_with_the_proof(demo: Reglement) -> None:
    resultat = evaluer(demo, Faits(), JOUR, ["aide-alimentaire"]).resultats[0]
    assert resultat.statut is Statut.A_VERIFIER
    assert resultat.conditions[0].satisfaite is None
    piece = "attestation de quotient familial CAF ou MSA datant de moins de trois mois"
    assert resultat.conditions[0].piece_justificative == piece
    assert resultat.pieces_justificatives == (piece,)
    assert piece in resultat.motif


def test_a_stale_qf_is_a_verifier(demo: Reglement) -> None:
    faits = Faits(connus={"quotient_familial_caf": _qf(150, periode="2026-07")})
    resultat = evaluer(demo, faits, JOUR, ["aide-energie"]).resultats[0]
    assert resultat.statut is Statut.A_VERIFIER
    assert "la donnée connue (juillet 2026) a plus de 3 mois" in resultat.conditions[0].explication
    # Three months back is still accepted.
    faits = Faits(connus={"quotient_familial_caf": _qf(150, periode="2026-08")})
    assert evaluer(demo, faits, JOUR, ["aide-energie"]).resultats[0].statut is Statut.ELIGIBLE


def test_a_datum_later_than_the_reference_date_is_never_used(demo: Reglement) -> None:
    """The QF of December judged at a June reference date: no certified evidence for June (issue 12)."""
    reglement = demo
    juin = date(2025, 6, 1)
    faits = Faits(connus={"quotient_familial_caf": _qf(150, periode="2026-12")})
    resultat = evaluer(reglement, faits, juin, ["aide-energie"]).resultats[0]
    assert resultat.statut is Statut.A_VERIFIER
    assert (
        "la donnée connue (décembre 2026) est postérieure à la date de référence (1er juin 2025)"
        in resultat.conditions[0].explication
    )
    # The month of the reference date itself is that date's evidence.
    faits = Faits(connus={"quotient_familial_caf": _qf(150, periode="2025-06")})
    assert evaluer(reglement, faits, juin, ["aide-energie"]).resultats[0].statut is Statut.ELIGIBLE


def test_dated_parameters_follow_the_reference_date(demo: Reglement) -> None:
    foyer = Fait((MembreFoyer(DatePartielle(1980)),), Source("CNAF", certifie=True, periode="2025-12"))
    faits = Faits(
        connus={"quotient_familial_caf": _qf(580, periode="2025-12"), "allocataires": foyer, "enfants": foyer}
    )
    avant = evaluer(demo, faits, date(2025, 12, 31), ["aide-alimentaire"])
    apres = evaluer(demo, faits, date(2026, 1, 1), ["aide-alimentaire"])
    assert avant.resultats[0].statut is Statut.NON_ELIGIBLE
    assert apres.resultats[0].statut is Statut.ELIGIBLE
    (avant_p,) = [p for p in avant.parametres_appliques if p.nom == "plafond_qf_alimentaire"]
    (apres_p,) = [p for p in apres.parametres_appliques if p.nom == "plafond_qf_alimentaire"]
    assert (avant_p.valeur, avant_p.depuis) == (Decimal(550), date(2024, 7, 1))
    assert (apres_p.valeur, apres_p.depuis) == (Decimal(600), date(2026, 1, 1))


def test_a_date_before_the_first_value_is_refused(demo: Reglement) -> None:
    with pytest.raises(
        ParametreSansValeur, match=r"n'a pas de valeur au 30 juin 2024 \(première valeur en vigueur"
    ):
        evaluer(demo, Faits(), date(2024, 6, 30), ["aide-alimentaire"])
    with pytest.raises(
        ParametreSansValeur, match="le barème « tarif_cantine » n'a pas de version au 30 septembre 2025"
    ):
        evaluer(demo, Faits(), date(2025, 9, 30), ["tarif-cantine"])


def test_unknown_dispositif(demo: Reglement) -> None:
    with pytest.raises(DispositifInconnu, match="« aide-inexistante »"):
        evaluer(demo, Faits(), JOUR, ["aide-inexistante"])


def test_amount_from_a_parameter_times_a_household_count(demo: Reglement) -> None:
    membres = (MembreFoyer(DatePartielle(1980)), MembreFoyer(DatePartielle(2015, 3)))
    source = Source("CNAF", certifie=True, periode="2026-10")
    faits = Faits(
        connus={
            "quotient_familial_caf": _qf(150),
            "allocataires": Fait(membres[:1], source),
            "enfants": Fait(membres[1:], source),
        }
    )
    resultat = evaluer(demo, faits, JOUR, ["aide-alimentaire"]).resultats[0]
    assert resultat.montant == Decimal("70.00")
    assert "Montant : 70 € = 35 € × 2" in resultat.motif


def test_amount_from_a_bareme_gives_the_bracket(demo: Reglement) -> None:
    faits = Faits(connus={"quotient_familial_caf": _qf(400)})
    resultat = evaluer(demo, faits, JOUR, ["aide-energie"]).resultats[0]
    assert (resultat.statut, resultat.montant, resultat.tranche) == (Statut.ELIGIBLE, Decimal(100), "2")
    assert len(evaluer(demo, faits, JOUR, ["aide-energie"]).baremes_appliques) == 1


def test_known_part_decides_despite_unknowns(demo: Reglement) -> None:
    # Commune unknown, but neither age nor the number of children qualifies: the "all" already fails.
    faits = lire_faits({"date_naissance_demandeur": "1990-01-01", "enfants": []})
    resultat = evaluer(demo, faits, JOUR, ["colis-fin-annee"]).resultats[0]
    assert resultat.statut is Statut.NON_ELIGIBLE
    assert [c.satisfaite for c in resultat.conditions] == [None, False, False]
    assert resultat.pieces_justificatives == ()


def test_partial_birth_date_straddling_a_threshold_is_undecidable(demo: Reglement) -> None:
    # Born in 1956, month unknown: 69 or 70 on 26 November 2026 → cannot decide ">= 70".
    faits = lire_faits({"date_naissance_demandeur": "1956", "commune_residence": "08480", "enfants": []})
    resultat = evaluer(demo, faits, JOUR, ["colis-fin-annee"]).resultats[0]
    age = resultat.conditions[1]
    assert age.satisfaite is None
    assert age.valeur is None
    assert "entre 69 ans et 70 ans" in age.explication
    assert resultat.statut is Statut.A_VERIFIER
    assert resultat.pieces_justificatives == ("pièce d'identité",)


def test_unavailable_fact_gives_its_reason(demo: Reglement) -> None:
    faits = lire_faits(
        {}, indisponibles={"quotient_familial_caf": "le fournisseur de données n'a pas répondu"}
    )
    condition = evaluer(demo, faits, JOUR, ["aide-alimentaire"]).resultats[0].conditions[0]
    assert "le fournisseur de données n'a pas répondu" in condition.explication


def test_facts_used_and_parameters_are_pinned(demo: Reglement) -> None:
    faits = Faits(
        connus={
            "quotient_familial_caf": _qf(550),
            "commune_residence": Fait("x", Source("declaratif", False)),
        }
    )
    evaluation = evaluer(demo, faits, JOUR, ["aide-alimentaire"])
    assert evaluation.faits_utilises == ("quotient_familial_caf",)
    assert [p.nom for p in evaluation.parametres_appliques] == [
        "montant_alimentaire_par_personne",
        "plafond_qf_alimentaire",
    ]


REGLEMENT_LOGIQUE = """\
reglement: {id: l, version: "1", libelle: Logique, organisme: {nom: X}}
dispositifs:
  - id: au-moins-deux
    libelle: Au moins deux
    conditions:
      - au_moins:
          nombre: 2
          parmi:
            - {fait: beneficiaire_rsa, operateur: "==", valeur: true}
            - {fait: beneficiaire_aah, operateur: "==", valeur: true}
            - {fait: beneficiaire_asf, operateur: "==", valeur: true}
  - id: non-proprietaire
    libelle: Non propriétaire
    conditions:
      - non: {fait: statut_occupation_logement, operateur: "==", valeur: proprietaire}
  - id: une-parmi
    libelle: Une parmi
    conditions:
      - au_moins_une:
          - {fait: beneficiaire_rsa, operateur: "==", valeur: true}
          - {fait: beneficiaire_aah, operateur: "==", valeur: true}
"""


@pytest.mark.parametrize(
    ("faits", "attendus"),
    [
        ({"beneficiaire_rsa": True, "beneficiaire_aah": True}, ["eligible", "a_verifier", "eligible"]),
        ({"beneficiaire_rsa": True}, ["a_verifier", "a_verifier", "eligible"]),
        (
            {"beneficiaire_rsa": False, "beneficiaire_aah": False},
            ["non_eligible", "a_verifier", "non_eligible"],
        ),
        ({"beneficiaire_rsa": False}, ["a_verifier", "a_verifier", "a_verifier"]),
        ({"statut_occupation_logement": "proprietaire"}, ["a_verifier", "non_eligible", "a_verifier"]),
        ({"statut_occupation_logement": "locataire"}, ["a_verifier", "eligible", "a_verifier"]),
    ],
)
def test_three_valued_combinations(faits: dict[str, object], attendus: list[str]) -> None:
    reglement = lire_reglement(REGLEMENT_LOGIQUE, "logique.yaml")
    evaluation = evaluer(reglement, lire_faits(faits), JOUR)
    assert [r.statut.value for r in evaluation.resultats] == attendus


def test_tax_year_n_minus_2_is_accepted_with_a_mark() -> None:
    reglement = lire_reglement(
        """\
reglement: {id: f, version: "1", libelle: Fiscal, organisme: {nom: X}}
fraicheur: {revenu_fiscal_de_reference: {annees: 2}}
dispositifs:
  - id: aide
    libelle: Aide
    conditions: [{fait: quotient_familial_fiscal, operateur: "<=", valeur: 10000}]
""",
        "fiscal.yaml",
    )

    def statut(annee: str) -> tuple[Statut, str]:
        faits = lire_faits(
            {
                "revenu_fiscal_de_reference": {"valeur": 15000, "periode": annee},
                "nombre_de_parts": {"valeur": "2.5", "periode": annee},
            }
        )
        resultat = evaluer(reglement, faits, date(2026, 3, 1)).resultats[0]
        return resultat.statut, resultat.conditions[0].explication

    assert statut("2025")[0] is Statut.ELIGIBLE
    eligible, explication = statut("2024")
    assert eligible is Statut.ELIGIBLE
    assert "revenus 2024 acceptés à défaut de revenus plus récents" in explication
    assert statut("2023")[0] is Statut.A_VERIFIER


def test_amount_rounding_is_half_up_to_the_cent() -> None:
    reglement = lire_reglement(
        """\
reglement: {id: r, version: "1", libelle: Arrondi, organisme: {nom: X}}
dispositifs:
  - id: aide
    libelle: Aide
    conditions: [{fait: nombre_enfants, operateur: ">=", valeur: 1}]
    montant: {valeur: 10.125, multiplie_par: nombre_enfants}
  - id: aide-arrondie
    libelle: Aide à l'euro
    conditions: [{fait: nombre_enfants, operateur: ">=", valeur: 1}]
    montant: {valeur: 10.5, multiplie_par: nombre_enfants, arrondi: 1}
""",
        "arrondi.yaml",
    )
    faits = lire_faits({"enfants": ["2015"]})
    montants = [r.montant for r in evaluer(reglement, faits, JOUR).resultats]
    assert montants == [Decimal("10.13"), Decimal("11")]
