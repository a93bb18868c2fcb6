"""Property-based tests: operators at every threshold, partial-date ages, tranches, exact ratios."""

from __future__ import annotations

import operator
from collections.abc import Callable
from datetime import date
from decimal import Decimal
from fractions import Fraction

from hypothesis import given
from hypothesis import strategies as st

from app.rules.dates import DatePartielle
from app.rules.derived import exact, unites_de_consommation
from app.rules.engine import evaluer
from app.rules.loader import lire_reglement
from app.rules.simulation import lire_faits

OPERATEURS: dict[str, Callable[[Decimal, Decimal], bool]] = {
    "<=": operator.le,
    "<": operator.lt,
    ">=": operator.ge,
    ">": operator.gt,
    "==": operator.eq,
    "!=": operator.ne,
}
JOUR = date(2026, 11, 26)

montants = st.decimals(min_value=Decimal(0), max_value=Decimal(100_000), places=2, allow_nan=False)
pas = st.sampled_from([Decimal("0.01"), Decimal(1), Decimal("0.001")])


def _reglement(operateur: str, seuil: Decimal) -> str:
    return (
        'reglement: {id: p, version: "1", libelle: P, organisme: {nom: X}}\n'
        "dispositifs:\n  - id: aide\n    libelle: Aide\n    conditions:\n"
        f"      - {{fait: quotient_familial_caf, operateur: '{operateur}', valeur: {seuil}}}\n"
    )


@given(operateur=st.sampled_from(sorted(OPERATEURS)), seuil=montants, delta=pas)
def test_just_under_at_and_just_over_each_threshold(operateur: str, seuil: Decimal, delta: Decimal) -> None:
    reglement = lire_reglement(_reglement(operateur, seuil), "p.yaml")
    for valeur in (seuil - delta, seuil, seuil + delta):
        faits = lire_faits({"quotient_familial_caf": str(valeur)})
        condition = evaluer(reglement, faits, JOUR).resultats[0].conditions[0]
        assert condition.satisfaite is OPERATEURS[operateur](valeur, seuil)
        conclusion = "condition remplie" if condition.satisfaite else "condition non remplie"
        assert f" : {conclusion}" in condition.explication
        if operateur in ("<=", "<"):
            assert condition.ecart == seuil - valeur
        elif operateur in (">=", ">"):
            assert condition.ecart == valeur - seuil


@st.composite
def dates_partielles(draw: st.DrawFn) -> DatePartielle:
    annee = draw(st.integers(1900, 2026))
    mois = draw(st.none() | st.integers(1, 12))
    jour = None if mois is None else draw(st.none() | st.integers(1, 28))
    return DatePartielle(annee, mois, jour)


@given(
    naissance=dates_partielles(),
    reference=st.dates(date(2000, 1, 1), date(2030, 12, 31)),
    jour=st.integers(0, 30),
)
def test_age_interval_holds_every_possible_birth_date(
    naissance: DatePartielle, reference: date, jour: int
) -> None:
    plus_jeune, plus_vieux = naissance.age_bounds(reference)
    assert plus_jeune <= plus_vieux
    debut = naissance.earliest()
    candidate = date.fromordinal(min(debut.toordinal() + jour * 12, naissance.latest().toordinal()))
    age = DatePartielle(candidate.year, candidate.month, candidate.day).age_bounds(reference)[0]
    assert plus_jeune <= age <= plus_vieux


@given(naissance=dates_partielles(), age_max=st.integers(0, 30))
def test_children_count_is_decided_only_when_certain(naissance: DatePartielle, age_max: int) -> None:
    reglement = lire_reglement(
        'reglement: {id: p, version: "1", libelle: P, organisme: {nom: X}}\n'
        "dispositifs:\n  - id: aide\n    libelle: Aide\n    conditions:\n"
        f"      - {{fait: nombre_enfants, age_max: {age_max}, operateur: '>=', valeur: 1}}\n",
        "p.yaml",
    )
    faits = lire_faits({"enfants": [naissance.isoformat()]})
    satisfaite = evaluer(reglement, faits, JOUR).resultats[0].conditions[0].satisfaite
    plus_jeune, plus_vieux = naissance.age_bounds(JOUR)
    if plus_vieux <= age_max:
        assert satisfaite is True
    elif plus_jeune > age_max:
        assert satisfaite is False
    else:
        assert satisfaite is None


@given(
    bornes=st.lists(st.integers(1, 10_000), min_size=1, max_size=6, unique=True),
    valeur=st.integers(0, 12_000),
)
def test_contiguous_tranches_place_every_value_in_exactly_one_bracket(bornes: list[int], valeur: int) -> None:
    bornes.sort()
    lignes = [f"          - {{moins_de: {bornes[0]}, montant: 0, libelle: t0}}"]
    for i, (de, moins_de) in enumerate(zip(bornes, [*bornes[1:], None], strict=True), start=1):
        fin = f", moins_de: {moins_de}" if moins_de is not None else ""
        lignes.append(f"          - {{de: {de}{fin}, montant: {i}, libelle: t{i}}}")
    texte = (
        'reglement: {id: p, version: "1", libelle: P, organisme: {nom: X}}\n'
        "baremes:\n  g:\n    libelle: g\n    fait: quotient_familial_caf\n    versions:\n"
        "      - depuis: 2020-01-01\n        tranches:\n" + "\n".join(lignes) + "\n"
        "dispositifs:\n  - id: aide\n    libelle: Aide\n    conditions:\n"
        "      - {fait: quotient_familial_caf, operateur: '>=', valeur: 0}\n    montant: {bareme: g}\n"
    )
    resultat = evaluer(
        lire_reglement(texte, "p.yaml"), lire_faits({"quotient_familial_caf": valeur}), JOUR
    ).resultats[0]
    attendu = sum(1 for b in bornes if valeur >= b)
    assert resultat.tranche == f"t{attendu}"
    assert resultat.montant == Decimal(attendu)


def test_ratios_are_exact_where_floats_are_not() -> None:
    assert 396 / 2.2 / 30 != 6  # the binary-float trap the engine must avoid
    assert Fraction(Decimal(396)) / Fraction(Decimal("2.2")) / 30 == 6
    assert exact(Fraction(Decimal(396)) / Fraction(Decimal("2.2")) / 30) == Decimal(6)
    assert exact(Fraction(1000, 3)) == Fraction(1000, 3)


@given(
    rfr=st.integers(0, 200_000),
    conjoint=st.booleans(),
    pac=st.integers(0, 8),
    plafond=st.integers(1_000, 40_000),
)
def test_income_per_consumption_unit_is_compared_exactly(
    rfr: int, conjoint: bool, pac: int, plafond: int
) -> None:
    reglement = lire_reglement(
        'reglement: {id: p, version: "1", libelle: P, organisme: {nom: X}}\n'
        "dispositifs:\n  - id: aide\n    libelle: Aide\n    conditions:\n"
        f"      - {{fait: revenu_par_unite_de_consommation, operateur: '<=', valeur: {plafond}}}\n",
        "p.yaml",
    )
    faits = lire_faits(
        {
            "revenu_fiscal_de_reference": rfr,
            "situation_familiale": "M" if conjoint else "C",
            "nombre_personnes_a_charge": pac,
        }
    )
    uc = unites_de_consommation((2 if conjoint else 1) + pac)
    attendu = Fraction(rfr) / Fraction(uc) <= plafond
    assert evaluer(reglement, faits, JOUR).resultats[0].conditions[0].satisfaite is attendu


def test_a_household_exactly_on_a_ratio_threshold_is_decided_by_the_operator() -> None:
    # 3 persons → 1.8 UC; 10 260 / 1.8 = 5 700 exactly.
    reglement = lire_reglement(
        'reglement: {id: p, version: "1", libelle: P, organisme: {nom: X}}\n'
        "dispositifs:\n  - id: aide\n    libelle: Aide\n    conditions:\n"
        "      - {fait: revenu_par_unite_de_consommation, operateur: '<', valeur: 5700}\n",
        "p.yaml",
    )
    faits = lire_faits(
        {"revenu_fiscal_de_reference": 10260, "situation_familiale": "M", "nombre_personnes_a_charge": 1}
    )
    condition = evaluer(reglement, faits, JOUR).resultats[0].conditions[0]
    assert condition.satisfaite is False
    assert condition.valeur == Decimal(5700)
    assert condition.ecart == Decimal(0)
    assert condition.explication.endswith(
        "n'est pas inférieur à 5 700 € : condition non remplie, valeur exactement égale au seuil."
    )
