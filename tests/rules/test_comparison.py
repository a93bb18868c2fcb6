"""A compiled plan's leaf explanation (`expliquer_feuille`) against the general one
(`evaluer_feuille`): the same fields, to the last character of the sentence, on values on, near and
far from the threshold (exact decimals, counts, ratios without finite decimal form, intervals,
unknown data)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from fractions import Fraction
from itertools import product
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from app.rules.comparison import Resolution, evaluer_feuille, expliquer_feuille, presenter
from app.rules.facts import RefFait, Source
from app.rules.model import Comparaison, EnVigueur
from app.rules.plan import Feuille

_SOURCE = Source(fournisseur="CNAF", certifie=True, periode="2026-04")
_SEUILS = st.sampled_from(
    [Decimal(0), Decimal(12), Decimal("650"), Decimal("11000"), Decimal("0.5"), Decimal("2.25")]
)


def _valeurs(seuil: Decimal) -> st.SearchStrategy[Any]:
    """Values on the threshold, a hair either side (ratios whose margin rounds to 0 at the cent),
    and anywhere."""
    return st.one_of(
        st.just(seuil),
        st.just(seuil + Decimal("0.001")),
        st.just(Fraction(seuil) + Fraction(1, 3000)),
        st.just(Fraction(seuil) - Fraction(1, 3000)),
        st.integers(-3, 15),  # counts and ages: the same values recur
        st.integers(-5, 20_000),
        st.decimals(min_value=-100, max_value=20_000, places=3, allow_nan=False, allow_infinity=False),
        st.fractions(min_value=-100, max_value=20_000, max_denominator=97),
    )


@st.composite
def _cas(draw: st.DrawFn) -> tuple[Feuille, Any, Resolution]:
    operateur = draw(st.sampled_from(["<=", "<", ">=", ">"]))
    seuil = draw(_SEUILS)
    nom = draw(st.sampled_from(["quotient_familial_caf", "nombre_personnes_a_charge", "age_demandeur"]))
    comparaison = Comparaison(RefFait(nom), operateur, seuil, None, None)
    feuille = Feuille(comparaison, (), None, 0)
    unite = draw(st.sampled_from(["€", "ans", None]))
    genre = draw(st.sampled_from(["exacte", "exacte", "exacte", "intervalle", "inconnue"]))
    if genre == "inconnue":
        resolution = Resolution("le fait", unite, inconnu="donnée non fournie", pieces=("avis",))
    else:
        bas = draw(_valeurs(seuil))
        haut = bas if genre == "exacte" else bas + draw(st.integers(1, 3))
        resolution = Resolution("le fait", unite, bas, haut, _SOURCE)
    return feuille, feuille.seuil(date(2026, 5, 15), EnVigueur({}, {})), resolution


_EXPLICATIONS: dict[tuple[str, str, str], Any] = {}


@given(_cas())
def test_a_number_leaf_is_explained_as_the_general_path_does(cas: tuple[Feuille, Any, Resolution]) -> None:
    feuille, seuil, resolution = cas
    presentation = presenter(resolution)
    attendu = evaluer_feuille(feuille, seuil, presentation)
    # One explanation per leaf for the whole run, as a plan keeps it: what it keeps from earlier
    # examples (sentence ends by whole value) must give what the general path gives.
    cle = (feuille.critere, feuille.operateur, repr(seuil.valeur))
    expliquer = _EXPLICATIONS.setdefault(cle, expliquer_feuille(feuille, seuil))
    for _ in range(2):
        obtenu = expliquer(presentation)
        assert obtenu == attendu
        assert repr(obtenu) == repr(attendu)  # the margin's exponent and sign too (« 0 », not « -0 »)


def test_what_a_number_leaf_keeps_by_whole_value_is_what_the_general_path_writes() -> None:
    """Counts and ages recur: the same values, under the fact's unit or another, on one leaf."""
    for operateur in ("<=", "<", ">=", ">"):
        comparaison = Comparaison(RefFait("age_demandeur"), operateur, Decimal(12), None, None)
        feuille = Feuille(comparaison, (), None, 0)
        seuil = feuille.seuil(date(2026, 5, 15), EnVigueur({}, {}))
        expliquer = expliquer_feuille(feuille, seuil)
        for unite in ("ans", None, "ans", "€"):
            for valeur in range(-3, 30):
                presentation = presenter(Resolution("l'âge", unite, valeur, valeur, _SOURCE))
                attendu = evaluer_feuille(feuille, seuil, presentation)
                assert repr(expliquer(presentation)) == repr(attendu)


_SEUILS_AU_CENTIME = [
    Decimal(12), Decimal("12.5"), Decimal("12.50"), Decimal("12.05"), Decimal("12.005"),
    Decimal("1E+3"), Decimal("-3.5"), Decimal(0), Decimal("0.00"), Decimal("11000"), Decimal("1E+17"),
    Decimal("99999999999999999.99"),
]  # fmt: skip
_RAPPORTS = [
    Fraction(911, 90), Fraction(-911, 90), Fraction(2530, 3), Fraction(1, 3), Fraction(-1, 3),
    Fraction(1, 300), Fraction(-1, 300), Fraction(3601, 300), Fraction(3599, 300),
    Fraction(1201, 100) + Fraction(1, 300), Fraction(1201, 100) - Fraction(1, 300),
    Fraction(2401, 200) + Fraction(1, 3 * 10**6),
    Fraction(2401, 200) - Fraction(1, 3 * 10**6), Fraction(10**19, 3), Fraction(2 * 10**17, 3),
    Fraction(10**16 + 1, 3), Fraction(1, 499_999 * 3), Fraction(12 * 499_999 + 1, 499_999),
    Fraction(12 * 500_001 + 1, 500_001), Fraction(1, 5 * 10**7 + 1), Fraction(-10**18, 7),
]  # fmt: skip


def test_a_ratio_margin_taken_from_its_cents_is_the_general_one() -> None:
    """A ratio's presentation carries its whole cents, and the leaves take their margin from them
    (`_explication_nombre`): on thresholds with other exponents (« 12.50 », « 12.005 », « 1E+3 »),
    negative, huge or beyond the bounds, ratios whose margin rounds to zero, on either side of a
    half cent, with a denominator at and beyond the bound, each as `evaluer_feuille` writes it."""
    for seuil_decimal, rapport, operateur, unite in product(
        _SEUILS_AU_CENTIME, _RAPPORTS, ("<=", "<", ">=", ">"), ("€", "ans", None)
    ):
        comparaison = Comparaison(RefFait("quotient_familial_caf"), operateur, seuil_decimal, None, None)
        feuille = Feuille(comparaison, (), None, 0)
        seuil = feuille.seuil(date(2026, 5, 15), EnVigueur({}, {}))
        for bas in (rapport, rapport + Fraction(seuil_decimal), Fraction(seuil_decimal) - rapport):
            if type(bas) is not Fraction or bas.denominator == 1:
                continue
            presentation = presenter(Resolution("le reste à vivre", unite, bas, bas, _SOURCE))
            attendu = evaluer_feuille(feuille, seuil, presentation)
            assert repr(expliquer_feuille(feuille, seuil)(presentation)) == repr(attendu), (
                bas,
                seuil_decimal,
            )
