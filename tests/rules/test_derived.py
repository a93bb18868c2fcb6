"""Derived facts: household counts, ages, fiscal QF, consumption units."""

from __future__ import annotations

import random
from datetime import date
from decimal import Decimal
from fractions import Fraction
from math import gcd
from typing import Any

import pytest

from app.rules.dates import DatePartielle
from app.rules.derived import (
    DERIVES,
    Foyer,
    Incalculable,
    decimal_exact,
    exact,
    faits_de_base,
    libelle_du_fait,
    unites_de_consommation,
)
from app.rules.facts import CATALOGUE_FAITS, Fait, MembreFoyer, Source
from app.rules.model import RefFait

SOURCE = Source("DGFIP", certifie=True, periode="2025")
JOUR = date(2026, 11, 26)


def _calcul(nom: str, ref: RefFait | None = None, **faits: object) -> tuple[object, object]:
    connus = {k: Fait(v, SOURCE) for k, v in faits.items()}  # type: ignore[arg-type]
    return DERIVES[nom].calcul(connus, JOUR, ref or RefFait(nom))


@pytest.mark.parametrize(
    ("personnes", "uc"), [(0, "0"), (1, "1"), (2, "1.5"), (3, "1.8"), (4, "2.1"), (6, "2.7")]
)
def test_consumption_units(personnes: int, uc: str) -> None:
    assert unites_de_consommation(personnes) == Decimal(uc)


def test_fiscal_quotient_is_exact() -> None:
    bas, haut = _calcul(
        "quotient_familial_fiscal", revenu_fiscal_de_reference=Decimal(10000), nombre_de_parts=Decimal(3)
    )
    assert bas == haut == Fraction(10000, 3)
    bas, _ = _calcul(
        "quotient_familial_fiscal_mensuel",
        revenu_fiscal_de_reference=Decimal(30000),
        nombre_de_parts=Decimal("2.5"),
    )
    assert bas == Decimal(1000)


def test_zero_parts_cannot_be_divided() -> None:
    with pytest.raises(Incalculable):
        _calcul("quotient_familial_fiscal", revenu_fiscal_de_reference=Decimal(1), nombre_de_parts=Decimal(0))


def test_children_by_age_band_with_partial_dates() -> None:
    enfants = (
        MembreFoyer(DatePartielle(2010, 1, 1)),  # 16
        MembreFoyer(DatePartielle(2009)),  # 16 or 17
        MembreFoyer(DatePartielle(2008)),  # 17 or 18
        MembreFoyer(None),  # unknown
        MembreFoyer(DatePartielle(2000)),  # 25 or 26
    )
    assert _calcul("nombre_enfants", RefFait("nombre_enfants", age_max=17), enfants=enfants) == (2, 4)
    assert _calcul("nombre_enfants", RefFait("nombre_enfants", age_min=18), enfants=enfants) == (1, 3)
    assert _calcul("nombre_enfants", enfants=enfants) == (5, 5)


def test_household_size_and_applicant_age() -> None:
    un = (MembreFoyer(None),)
    assert _calcul("taille_foyer", allocataires=un * 2, enfants=un * 3) == (5, 5)
    assert _calcul("age_demandeur", date_naissance_demandeur=DatePartielle(1956)) == (69, 70)


def test_every_derived_fact_rests_on_catalogue_facts() -> None:
    for nom in DERIVES:
        assert faits_de_base(nom)
        assert all(base in CATALOGUE_FAITS for base in faits_de_base(nom))


def test_labels_name_the_age_band() -> None:
    assert libelle_du_fait(RefFait("nombre_enfants", 3, 17)).endswith("âgés de 3 à 17 ans")
    assert libelle_du_fait(RefFait("nombre_enfants", None, 17)).endswith("âgés de 17 ans au plus")


def test_a_household_works_out_its_children_ages_once_for_every_band() -> None:
    """In a `Foyer`, the ages are worked out once and each band counted on them: the same
    intervals as without it, partial and missing birth dates included."""
    enfants = (
        MembreFoyer(DatePartielle(2010, 1, 1)),
        MembreFoyer(DatePartielle(2009)),
        MembreFoyer(DatePartielle(2008, 11)),
        MembreFoyer(None),
        MembreFoyer(DatePartielle(2000)),
        MembreFoyer(DatePartielle(2020, 11, 26)),  # 6 on the day
        MembreFoyer(DatePartielle(2020, 11, 27)),  # 5 until the next day
    )
    connus = {"enfants": Fait(enfants, SOURCE)}
    foyer = Foyer(connus, JOUR)
    calcul = DERIVES["nombre_enfants"].calcul
    for age_min, age_max in [
        (None, 17),
        (18, None),
        (6, 10),
        (0, 5),
        (16, 17),
        (17, 18),
        (None, None),
        (6, 6),
    ]:
        ref = RefFait("nombre_enfants", age_min=age_min, age_max=age_max)
        assert calcul(foyer, JOUR, ref) == calcul(connus, JOUR, ref)
    assert foyer.ages is not None
    assert len(foyer.ages) == len(enfants)
    # Another day than the household's: worked out as without it.
    ref = RefFait("nombre_enfants", age_min=6, age_max=6)
    assert calcul(foyer, date(2026, 11, 25), ref) == calcul(connus, date(2026, 11, 25), ref) == (0, 1)


def test_a_household_computes_each_derived_fact_once() -> None:
    connus = {
        "revenu_fiscal_de_reference": Fait(Decimal(10000), SOURCE),
        "situation_familiale": Fait("M", SOURCE),
        "nombre_personnes_a_charge": Fait(1, SOURCE),
    }
    foyer = Foyer(connus, JOUR)
    calcul = DERIVES["revenu_par_unite_de_consommation"].calcul
    ref = RefFait("revenu_par_unite_de_consommation")
    premier = calcul(foyer, JOUR, ref)
    assert premier == calcul(connus, JOUR, ref) == (Fraction(100000, 18),) * 2
    assert calcul(foyer, JOUR, ref) is premier  # kept for this household
    assert Foyer(connus, JOUR).valeurs == {}  # and for no other
    with pytest.raises(Incalculable):  # a failure is never kept
        DERIVES["quotient_familial_fiscal"].calcul(
            Foyer({**connus, "nombre_de_parts": Fait(Decimal(0), SOURCE)}, JOUR),
            JOUR,
            RefFait("quotient_familial_fiscal"),
        )


@pytest.mark.parametrize("situation", ["M", "C"])
@pytest.mark.parametrize("a_charge", [-3, -2, -1, 0, 1, 2, 3, 7, True])
@pytest.mark.parametrize(
    "revenu",
    [Decimal(0), Decimal(18171), Decimal("18171.50"), Decimal("-250.01"), Decimal("1E+20"), 9000, "x"],
)
def test_the_revenu_par_uc_is_the_exact_ratio(situation: str, a_charge: Any, revenu: Any) -> None:
    """The revenu par UC (the UC's integer ratio kept by household size) is the exact ratio of the
    revenue to the UC, a Decimal when it has a finite form; an error where that ratio has one."""
    donnees = {"situation_familiale": situation, "nombre_personnes_a_charge": a_charge}
    faits = {n: Fait(v, SOURCE) for n, v in {**donnees, "revenu_fiscal_de_reference": revenu}.items()}
    calcul, ref = (
        DERIVES["revenu_par_unite_de_consommation"].calcul,
        RefFait("revenu_par_unite_de_consommation"),
    )
    personnes = (2 if situation == "M" else 1) + int(a_charge)
    attendu: object
    if type(a_charge) is bool or type(revenu) is str:  # not numbers
        attendu = Incalculable
    else:
        try:
            attendu = exact(Fraction(revenu) / Fraction(unites_de_consommation(personnes)))
        except ZeroDivisionError:
            attendu = ZeroDivisionError
    for _ in range(2):  # the second time, the UC's ratio kept
        if attendu is Incalculable or attendu is ZeroDivisionError:
            with pytest.raises(attendu):
                calcul(faits, JOUR, ref)
            continue
        bas, haut = calcul(faits, JOUR, ref)
        assert (bas, type(bas), repr(bas)) == (attendu, type(attendu), repr(attendu))
        assert haut is bas


class _Membres(tuple[MembreFoyer, ...]):
    """A tuple of members of another type (taken as a tuple, as `_membres` takes it)."""


def test_the_household_size_reads_its_lists_as_before() -> None:
    """Two tuples (or tuples of another type) counted; anything else refused, the allocataires
    first, with the reason `_membres` gives."""
    un = (MembreFoyer(None),)
    assert _calcul("taille_foyer", allocataires=_Membres(un), enfants=un * 2) == (3, 3)
    assert _calcul("taille_foyer", allocataires=(), enfants=_Membres(un * 4)) == (4, 4)
    for allocataires, enfants, fautif in (
        ("x", un, "allocataires"),
        (list(un), "x", "allocataires"),
        (un, [MembreFoyer(None)], "enfants"),
        (un, 3, "enfants"),
    ):
        with pytest.raises(Incalculable, match=f"« {fautif} »"):
            _calcul("taille_foyer", allocataires=allocataires, enfants=enfants)
    with pytest.raises(Incalculable, match="« allocataires »"):  # before the missing enfants
        DERIVES["taille_foyer"].calcul({"allocataires": Fait("x", SOURCE)}, JOUR, RefFait("taille_foyer"))


@pytest.mark.parametrize(
    "naissance",
    [
        DatePartielle(1980, 11, 26),  # the birthday itself
        DatePartielle(1980, 11, 27),  # the day after
        DatePartielle(1980, 11, 25),
        DatePartielle(1980, 12, 1),
        DatePartielle(1980, 1, 1),
        DatePartielle(2026, 11, 26),  # born that day
        DatePartielle(2000, 2, 29),
        DatePartielle(1980, 11),
        DatePartielle(1980),
    ],
)
@pytest.mark.parametrize("jour", [JOUR, date(2027, 2, 28), date(2028, 2, 29), date(2027, 3, 1)])
def test_the_applicants_age_is_that_of_its_birth_date(naissance: DatePartielle, jour: date) -> None:
    """The applicant's age (a full date's worked out without `age_bounds`' call) is what
    `DatePartielle.age_bounds` gives, on and around the birthday."""
    faits = {"date_naissance_demandeur": Fait(naissance, SOURCE)}
    calcul = DERIVES["age_demandeur"].calcul
    assert calcul(faits, jour, RefFait("age_demandeur")) == naissance.age_bounds(jour)


def _decimal_par_division(numerateur: int, denominateur: int) -> Decimal | None:
    # The general way: the context's division, kept only when it is exact.
    decimal = Decimal(numerateur) / Decimal(denominateur)
    return decimal if decimal.as_integer_ratio() == (numerateur, denominateur) else None


def test_decimal_exact_is_the_exact_division_to_the_digit() -> None:
    """The quotient built from its coefficient and exponent is the division's own, digit and
    exponent, on and around the 28-digit coefficient and the table of exponents; None exactly when
    the ratio has no finite decimal form or the division rounds."""
    alea = random.Random(14)  # noqa: S311 - reproducible ratios, no secret
    cas = [(0, 1), (100, 1), (10**30, 1), (-(10**27) + 1, 1), (10**28 - 1, 2), (10**28 + 1, 2), (1, 2**63),
           (1, 2**64), (3, 5**70), (-7, 8), (1297, 20), (7, 3), (1, 6)]  # fmt: skip
    for _ in range(20_000):
        denominateur = 2 ** alea.randrange(70) * 5 ** alea.randrange(40) * alea.choice([1, 1, 1, 3, 7])
        numerateur = alea.randrange(-(10 ** alea.randrange(1, 40)), 10 ** alea.randrange(1, 40))
        commun = gcd(numerateur, denominateur)
        cas.append((numerateur // commun, denominateur // commun))
    for numerateur, denominateur in cas:  # each in lowest terms
        reste = denominateur
        for facteur in (2, 5):
            while reste % facteur == 0:
                reste //= facteur
        attendu = _decimal_par_division(numerateur, denominateur) if reste == 1 else None
        obtenu = decimal_exact(numerateur, denominateur)
        assert str(obtenu) == str(attendu), (numerateur, denominateur)
