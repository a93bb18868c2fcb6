"""The direct explanation of an order leaf on a base number (`lecteurs.explication_directe`)
against the general path (the fact's presentation, then the leaf's explainer): the same fields, to
the type and the digit, or None for anything out of the ordinary."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest

from app.rules import compile_plan, lecteurs
from app.rules.comparison import Resolveur
from app.rules.derived import Foyer
from app.rules.engine import evaluer_interprete
from app.rules.facts import Fait, FaitIndisponible, Faits, Source
from app.rules.loader import charger_reglement, lire_reglement
from app.rules.model import Reglement

RACINE = Path(__file__).resolve().parents[2] / "reglements"
JOUR = date(2026, 5, 15)

#: Every order operator, thresholds with and without decimals, a declared fact (no period) and a
#: whole-number fact, besides the QF and the RFR under their freshness rules.
_ORDRES = lire_reglement(
    'reglement: {id: o, version: "1", libelle: O, organisme: {nom: X}}\n'
    "fraicheur:\n  quotient_familial_caf: {mois: 3}\n  revenu_fiscal_de_reference: {annees: 2}\n"
    "faits_declares:\n  ressources_mensuelles:\n    libelle: les ressources mensuelles du foyer\n"
    '    type: nombre\n    unite: "€"\n    min: 0\n    max: 50000\n    piece: justificatifs\n'
    "dispositifs:\n  - id: aide\n    libelle: Aide\n    conditions:\n"
    "      - {fait: quotient_familial_caf, operateur: '>=', valeur: 450.5}\n"
    "      - {fait: quotient_familial_caf, operateur: '>', valeur: 600}\n"
    "      - {fait: quotient_familial_caf, operateur: '<', valeur: 600.00}\n"
    "      - {fait: revenu_fiscal_de_reference, operateur: '<=', valeur: 15000}\n"
    "      - {fait: nombre_personnes_a_charge, operateur: '>=', valeur: 2}\n"
    "      - {fait: nombre_personnes_a_charge, operateur: '<', valeur: 2.5}\n"
    "      - {fait: ressources_mensuelles, operateur: '<=', valeur: 1000.5}\n",
    "o.yaml",
)
REGLEMENTS = {
    "ordres": _ORDRES,
    "intercommunal": charger_reglement(RACINE / "exemples" / "ccas-intercommunal.yaml"),
    "montants": charger_reglement(Path(__file__).parent / "donnees" / "montants.yaml"),
}

# Values on, beside and around the thresholds, with other exponents (`600.0` is not `600`: its
# margin is not either), and values the direct path leaves to the general one.
VALEURS: tuple[Any, ...] = (
    Decimal("600"), Decimal("600.0"), Decimal("600.00"), Decimal("599.99"), Decimal("600.01"),
    Decimal("450.5"), Decimal("450.50"), Decimal("0"), Decimal("0.00"), Decimal("1E+3"),
    Decimal("15000"), Decimal("15000.5"), Decimal("1000.5"), Decimal("1234567.891"), 0, 2, 3, 600,
    15000, True, False, Fraction(1000, 3), Fraction(1201, 2), Fraction(600),
)  # fmt: skip
_OBTENU = datetime(2026, 5, 1, 12, tzinfo=UTC)
SOURCES = (
    Source("CNAF", True, "2026-04"),
    Source("CNAF", False, "2026-04"),
    Source("CNAF", False, "2026-02"),
    Source("CNAF", True, None),
    Source("MSA", True, None),
    Source("declaratif", True, None),
    Source("DGFIP", True, "2025", depuis_cache=True, request_id="req-1"),
    Source("DGFIP", True, "2024"),  # an older tax year, accepted with a remark
    Source("DGFIP", True, "2023"),  # too old a tax year
    Source("CNAF", True, "2026-01"),  # too old a month
    Source("CNAF", True, "2026-06"),  # after the reference date
    Source("CNAF", True, "2026-04", perime=True, obtenu_le=_OBTENU),  # a stale answer, with its day
    Source("CNAF", True, "2026-04", perime=True),
)


def _exact(champs: Any) -> tuple[Any, ...]:
    """The fields told apart by type and text (`Decimal("2.0")` == `Decimal("2")`, `True` == 1)."""
    return tuple((type(c), repr(c)) for c in champs)


def _feuilles_nombre(reglement: Reglement) -> list[Any]:
    """The leaves of a compiled plan that have a direct explanation and compare in order."""
    compile = compile_plan(reglement, JOUR)._compile
    return [e for e in compile._explications if e.directe is not None and e.feuille.sens]


def _general(reglement: Reglement, explication: Any, faits: Faits, connus: Foyer) -> Any:
    presentations = compile_plan(reglement, JOUR)._compile._compile.presentations
    resolveur = Resolveur(faits, JOUR, presentations, reglement.catalogue, connus)
    presentation = explication.presenter(connus, resolveur, explication.feuille)
    return explication.expliquer(presentation), presentation


@pytest.mark.parametrize("nom", sorted(REGLEMENTS))
def test_a_number_leaf_explained_directly_reads_as_the_general_path(nom: str) -> None:
    reglement = REGLEMENTS[nom]
    feuilles = _feuilles_nombre(reglement)
    assert feuilles, "no order leaf on a base number in this règlement"
    directes = 0
    for explication in feuilles:
        fait = explication.feuille.comparaison.fait.nom
        # Each value twice from one plan (whatever it keeps from one household to the next), then
        # the fact unknown: missing, or unavailable with a reason.
        sans: dict[str, FaitIndisponible] = {}
        cas = [({fait: Fait(v, s)}, sans) for s in SOURCES for v in VALEURS] * 2
        cas += [({}, {}), ({}, {fait: FaitIndisponible("x", "fournisseur indisponible")})]
        for connus_, indisponibles in cas:
            faits = Faits(connus_, indisponibles)
            connus = Foyer(faits.connus, JOUR)
            attendu, presentation = _general(reglement, explication, faits, connus)
            obtenu = explication.directe(connus)
            resolution = presentation.resolution
            ordinaire = (
                resolution.inconnu is None
                and resolution.note is None
                and type(resolution.bas) in (Decimal, int)
                and not (resolution.source.perime and resolution.source.obtenu_le is not None)
            )
            if not ordinaire:
                assert obtenu is None, (explication.feuille.critere, connus_)
                continue
            directes += 1
            assert obtenu is not None, (explication.feuille.critere, connus_)
            assert obtenu[9] == attendu[9]  # the sentence first, for a readable failure
            assert _exact(obtenu) == _exact(attendu)
            assert obtenu[6] is attendu[6]  # the household's own source
    assert directes >= len(feuilles) * 100


def test_awkward_values_and_sources_are_left_to_the_general_path() -> None:
    """What the direct path must not write: noted, stale or after-the-date periods, a stale
    answer with its day, a ratio, yes/no, an unknown fact."""
    (qf, *_), rfr = _feuilles_nombre(_ORDRES)[:3], _feuilles_nombre(_ORDRES)[3]
    assert qf.feuille.comparaison.fait.nom == "quotient_familial_caf"
    assert rfr.feuille.comparaison.fait.nom == "revenu_fiscal_de_reference"

    def direct(explication: Any, valeur: Any, source: Source) -> Any:
        nom = explication.feuille.comparaison.fait.nom
        return explication.directe(Foyer({nom: Fait(valeur, source)}, JOUR))

    assert direct(qf, Decimal("500"), Source("CNAF", True, "2026-04")) is not None
    assert direct(rfr, Decimal("500"), Source("DGFIP", True, "2025")) is not None
    assert direct(rfr, Decimal("500"), Source("DGFIP", True, "2024")) is None  # noted
    assert direct(rfr, Decimal("500"), Source("DGFIP", True, "2023")) is None  # stale
    assert direct(qf, Decimal("500"), Source("CNAF", True, "2026-01")) is None  # stale
    assert direct(qf, Decimal("500"), Source("CNAF", True, "2026-06")) is None  # after the date
    assert direct(qf, Decimal("500"), Source("CNAF", True, "2026-04", perime=True, obtenu_le=_OBTENU)) is None
    assert direct(qf, Fraction(1001, 2), Source("CNAF", True, "2026-04")) is None
    assert direct(qf, True, Source("CNAF", True, "2026-04")) is None
    assert qf.directe(Foyer({}, JOUR)) is None


def test_a_margin_keeps_the_exponent_of_the_value() -> None:
    """`600.0` and `600` read the same in a sentence, but the margin and the value shown keep their
    own exponent, as the general path gives them."""
    qf = _feuilles_nombre(_ORDRES)[0]  # >= 450.5
    source = Source("CNAF", True, "2026-04")
    entier = qf.directe(Foyer({"quotient_familial_caf": Fait(Decimal("600"), source)}, JOUR))
    decimal = qf.directe(Foyer({"quotient_familial_caf": Fait(Decimal("600.00"), source)}, JOUR))
    assert entier[9] == decimal[9]
    assert (repr(entier[3]), repr(entier[5])) == ("Decimal('600')", "Decimal('149.5')")
    assert (repr(decimal[3]), repr(decimal[5])) == ("Decimal('600.00')", "Decimal('149.50')")


@pytest.mark.parametrize("qf", ["600", "600.0", "499.99", "800", "800.00", "1E+3", "0"])
@pytest.mark.parametrize("periode", ["2026-04", "2026-01", None])
def test_evaluations_with_direct_number_leaves_are_the_interpreted_ones(qf: str, periode: str | None) -> None:
    """The whole evaluation, amounts included (they may read the QF the direct path did not
    present), to the type and the digit of every value."""
    reglement = REGLEMENTS["intercommunal"]
    source = Source("CNAF", True, periode)
    faits = Faits(
        {
            "quotient_familial_caf": Fait(Decimal(qf), source),
            "revenu_fiscal_de_reference": Fait(Decimal(qf) * 20, Source("DGFIP", True, "2025")),
            "commune_residence": Fait("08105", Source("declaratif", True)),
            "beneficiaire_aah": Fait(False, Source("CNAF", True, "2026-04")),
            "statut_occupation_logement": Fait("locataire", Source("declaratif", True)),
        }
    )
    attendue = evaluer_interprete(reglement, faits, JOUR)
    plan = compile_plan(reglement, JOUR)
    for _ in range(2):
        assert repr(plan.evaluer(faits)) == repr(attendue)


@pytest.mark.parametrize("distinctes", [3, 40])
def test_the_memo_of_a_number_leaf_starts_afresh_or_turns_itself_off(
    monkeypatch: pytest.MonkeyPatch, distinctes: int
) -> None:
    """A small memo filled by values that recur (afresh) or seldom do (off for good): every
    explanation stays the general path's."""
    monkeypatch.setattr(lecteurs, "NOMBRES_EN_MEMO", 8)
    qf = _feuilles_nombre(_ORDRES)[0]
    source = Source("CNAF", True, "2026-04")
    for n in range(400):
        # Three values recurring with a new one every tenth call, or values that seldom recur.
        nouvelle = n % 10 == 0 if distinctes == 3 else n % 40 < 39
        valeur = Decimal(f"{500 + n}.{n % 7}") if nouvelle else Decimal(450 + n % distinctes)
        faits = Faits({"quotient_familial_caf": Fait(valeur, source)})
        connus = Foyer(faits.connus, JOUR)
        attendu, _ = _general(_ORDRES, qf, faits, connus)
        assert _exact(qf.directe(connus)) == _exact(attendu)
