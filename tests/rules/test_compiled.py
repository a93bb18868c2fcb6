"""The compiled plan against the interpreted evaluation, on random households: the same results to
the last sentence (statuses, amounts, tranches, every explanation, motif and proof), and verdicts
that say exactly what the full evaluation says."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.rules import compile_plan, compiled, memos
from app.rules.compiled import PLANS_EN_CACHE, CompiledPlan, DispositifInconnu, Verdict
from app.rules.engine import evaluer, evaluer_interprete
from app.rules.facts import Fait, FaitIndisponible, Faits, TypeFait
from app.rules.loader import charger_reglement
from app.rules.model import Reglement
from app.rules.plan import plan
from app.rules.results import Evaluation, Statut
from app.rules.simulation import lire_faits

RACINE = Path(__file__).resolve().parents[2] / "reglements"
REGLEMENTS = {
    "demo": charger_reglement(RACINE / "demo.yaml"),
    "intercommunal": charger_reglement(RACINE / "exemples" / "ccas-intercommunal.yaml"),
    "petite-commune": charger_reglement(RACINE / "exemples" / "petite-commune.yaml"),
    "syndicat": charger_reglement(RACINE / "exemples" / "syndicat-intercommunal.yaml"),
    # Every kind of amount (formula with min/max, barème in a formula, two-entry grid, amount for
    # unknown data, barème × fact, table, label-only barème, floor, cap and each rounding).
    "montants": charger_reglement(Path(__file__).parent / "donnees" / "montants.yaml"),
    # Every kind of table row and barème tranche or column the compiled amounts word once, with
    # floors, caps and roundings at their bounds.
    "lignes": charger_reglement(Path(__file__).parent / "donnees" / "montants_par_ligne.yaml"),
}
JOURS = (date(2026, 5, 15), date(2026, 3, 31), date(2026, 11, 26))
PERIODES_MOIS = ("2026-04", "2026-02", "2025-12", "2026-06", "2026-11")  # fresh, stale, after the date
PERIODES_ANNEES = ("2025", "2024", "2023", "2021")

# Values around the thresholds these règlements use, so that many households sit exactly on one.
NOMBRES = st.sampled_from([0, 1, 10, 12, 15, 400, 450, 500, 650, 800, 900, 1500, 5700, 11000, 14000, 15000])
NOMBRES_LIBRES = st.decimals(min_value=0, max_value=40_000, places=2, allow_nan=False, allow_infinity=False)


def _naissance(draw: st.DrawFn, jour: date) -> str:
    age = draw(st.integers(0, 90))
    naissance = date(jour.year - age, jour.month, min(jour.day, 28)) + timedelta(
        days=draw(st.integers(-2, 2))
    )
    precision = draw(st.sampled_from(["jour", "jour", "jour", "mois", "annee"]))
    return naissance.isoformat()[: {"jour": 10, "mois": 7, "annee": 4}[precision]]


def _valeur(draw: st.DrawFn, reglement: Reglement, nom: str, jour: date) -> Any:
    definition = reglement.catalogue.faits[nom]
    match definition.type:
        case TypeFait.NOMBRE:
            valeur = draw(NOMBRES | NOMBRES_LIBRES)
            bas, haut = definition.minimum, definition.maximum
            if bas is not None:
                valeur = max(valeur, bas)
            if haut is not None:
                valeur = min(valeur, haut)
            return str(valeur)
        case TypeFait.ENTIER:
            return draw(st.integers(0, 6))
        case TypeFait.BOOLEEN:
            return draw(st.booleans())
        case TypeFait.TEXTE:
            admises = definition.valeurs_admises or ("08105", "08480", "75056", "M", "O", "C", "locataire")
            return draw(st.sampled_from(admises))
        case TypeFait.DATE:
            return _naissance(draw, jour)
        case TypeFait.MEMBRES:
            return [_naissance(draw, jour) for _ in range(draw(st.integers(0 if nom == "enfants" else 1, 4)))]
    raise AssertionError(nom)  # pragma: no cover


@st.composite
def foyers(draw: st.DrawFn, reglement: Reglement, jour: date) -> Faits:
    """A household: each fact the règlement reads given (sometimes with a period, a provider and a
    certified or stale source), missing, or unavailable with a reason."""
    bases = sorted(set().union(*(p.faits_de_base for p in plan(reglement).dispositifs.values())))
    donnees: dict[str, Any] = {}
    indisponibles: dict[str, str] = {}
    for nom in bases:
        sort = draw(st.sampled_from(["donne"] * 8 + ["absent", "indisponible"]))
        if sort == "absent":
            continue
        if sort == "indisponible":
            indisponibles[nom] = "fournisseur indisponible"
            continue
        valeur = _valeur(draw, reglement, nom, jour)
        type_ = reglement.catalogue.faits[nom].type
        if type_ is TypeFait.MEMBRES or not draw(st.booleans()):
            donnees[nom] = valeur
            continue
        periodes = (
            PERIODES_ANNEES if nom in ("revenu_fiscal_de_reference", "situation_familiale") else PERIODES_MOIS
        )
        donnees[nom] = {"valeur": valeur, "periode": draw(st.sampled_from(periodes)), "fournisseur": "CNAF"}
    faits = lire_faits(donnees, indisponibles=indisponibles, catalogue=reglement.catalogue)
    connus: dict[str, Fait] = {}
    for nom, fait in faits.connus.items():
        if draw(st.booleans()):
            source = replace(
                fait.source,
                certifie=True,
                request_id=draw(st.sampled_from([None, "req-1"])),
                perime=draw(st.booleans()),
                obtenu_le=datetime(2026, 5, 1, 12, tzinfo=UTC),
                depuis_cache=draw(st.booleans()),
            )
            connus[nom] = Fait(fait.valeur, source)
        else:
            connus[nom] = fait
    absents = {
        nom: FaitIndisponible("fournisseur-indisponible", raison) for nom, raison in indisponibles.items()
    }
    return Faits(connus, {**faits.indisponibles, **absents})


def _verdicts_de(evaluation: Evaluation) -> tuple[Verdict, ...]:
    return tuple(
        Verdict(r.dispositif, r.statut, r.montant, r.tranche, r.decisives) for r in evaluation.resultats
    )


@st.composite
def cas(draw: st.DrawFn) -> tuple[Reglement, date, Faits, tuple[str, ...] | None]:
    reglement = REGLEMENTS[draw(st.sampled_from(sorted(REGLEMENTS)))]
    jour = draw(st.sampled_from(JOURS))
    ids = [d.id for d in reglement.dispositifs]
    choix = draw(st.none() | st.lists(st.sampled_from(ids), min_size=1, unique=True).map(tuple))
    return reglement, jour, draw(foyers(reglement, jour)), choix


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cas())
def test_the_compiled_plan_gives_exactly_the_interpreted_evaluation(
    exemple: tuple[Reglement, date, Faits, tuple[str, ...] | None],
) -> None:
    reglement, jour, faits, choix = exemple
    attendue = evaluer_interprete(reglement, faits, jour, choix)
    compile = compile_plan(reglement, jour, choix)
    obtenue = compile.evaluer(faits)
    # Field by field first, for a readable failure; then the whole value.
    for a, b in zip(obtenue.resultats, attendue.resultats, strict=True):
        assert (a.dispositif, a.statut, a.montant, a.tranche) == (
            b.dispositif,
            b.statut,
            b.montant,
            b.tranche,
        )
        assert [c.explication for c in a.conditions] == [c.explication for c in b.conditions]
        assert a.motif == b.motif
        assert a == b
    assert obtenue == attendue
    assert evaluer(reglement, faits, jour, choix) == attendue
    verdicts = _verdicts_de(attendue)
    assert compile.verdicts(faits) == verdicts
    # Again: amounts and justifications now come from the plan's memos.
    assert compile.evaluer(faits) == attendue
    assert compile.verdicts(faits) == verdicts
    # The loop the generated function replaces, kept for plans it cannot be generated for.
    assert compile._compile._verdicts(reglement, faits) == verdicts


def test_households_of_every_status_are_generated() -> None:
    """The generator reaches every status on every aid of the intercommunal règlement (else the
    property above would not test much)."""
    reglement = REGLEMENTS["intercommunal"]
    vus: set[tuple[str, Statut]] = set()

    @settings(max_examples=300, deadline=None, database=None)
    @given(foyers(reglement, JOURS[0]))
    def collecter(faits: Faits) -> None:
        vus.update((v.dispositif, v.statut) for v in compile_plan(reglement, JOURS[0]).verdicts(faits))

    collecter()
    manquants = {(d.id, s) for d in reglement.dispositifs for s in Statut} - vus
    assert len(manquants) <= 3, manquants


def test_a_compiled_plan_is_kept_per_date_and_bounded() -> None:
    reglement = charger_reglement(RACINE / "demo.yaml")
    premier = compile_plan(reglement, JOURS[0])
    assert isinstance(premier, CompiledPlan)
    assert premier.reglement is reglement
    assert premier.date_reference == JOURS[0]
    assert compile_plan(reglement, JOURS[0])._compile is premier._compile
    for i in range(PLANS_EN_CACHE):
        compile_plan(reglement, JOURS[0] + timedelta(days=i + 1))
    assert compile_plan(reglement, JOURS[0])._compile is not premier._compile  # evicted, least recent


def test_compiling_for_an_unknown_aid_fails_as_evaluating_does() -> None:
    with pytest.raises(DispositifInconnu):
        compile_plan(REGLEMENTS["demo"], JOURS[0], ["inexistante"])


def _reglement_fraicheur(regle: str) -> Reglement:
    from app.rules.loader import lire_reglement  # noqa: PLC0415 - only this test writes one

    return lire_reglement(
        'reglement: {id: f, version: "1", libelle: F, organisme: {nom: X}}\n'
        f"fraicheur:\n  revenu_fiscal_de_reference: {regle}\n  quotient_familial_caf: {regle}\n"
        "dispositifs:\n  - id: aide\n    libelle: Aide\n    conditions:\n"
        "      - {fait: revenu_fiscal_de_reference, operateur: '<=', valeur: 15000}\n"
        "      - {fait: quotient_familial_caf, operateur: '<=', valeur: 600}\n"
        "      - {fait: beneficiaire_rsa, operateur: '==', valeur: true}\n",
        "f.yaml",
    )


@pytest.mark.parametrize(
    "regle",
    ["{annees: 0}", "{mois: 0}", "{annees: 1}", "{annees: 2}", "{annees: 3}", "{mois: 1}", "{mois: 3}"],
)
@pytest.mark.parametrize(
    "periode", ["2026-05", "2026-04", "2026-01", "2025", "2024", "2023", "2026-06", "2026"]
)
def test_every_freshness_rule_reads_as_the_interpreted_evaluation(regle: str, periode: str) -> None:
    """Fresh, noted (older tax year accepted), stale and after-the-date data, at each rule's edge."""
    reglement = _reglement_fraicheur(regle)
    jour = date(2026, 5, 15)
    donnees = {
        nom: {"valeur": valeur, "periode": periode, "fournisseur": "DGFIP"}
        for nom, valeur in (("revenu_fiscal_de_reference", 12000), ("quotient_familial_caf", 500),
                            ("beneficiaire_rsa", True))
    }  # fmt: skip
    faits = lire_faits(donnees)
    attendue = evaluer_interprete(reglement, faits, jour)
    assert compile_plan(reglement, jour).evaluer(faits) == attendue
    assert compile_plan(reglement, jour).verdicts(faits) == _verdicts_de(attendue)


_FOYER_MONTANTS = {
    "quotient_familial_caf": {"valeur": "640", "periode": "2026-04", "fournisseur": "CNAF"},
    "revenu_fiscal_de_reference": {"valeur": "9000", "periode": "2025", "fournisseur": "DGFIP"},
    "beneficiaire_rsa": True,
    "handicap_reconnu": True,
    "allocataires": ["1980-02-03"],
    "enfants": ["2015-06-01", "2019"],
    "ressources_mensuelles": "1450.50",
    "charges_logement": "610",
}


def test_verdicts_fall_back_to_the_general_amount_computation(monkeypatch: pytest.MonkeyPatch) -> None:
    """An amount rule the compiler of montants_compiles.py refuses is worked out by `Calculateur`."""
    import app.rules.compiled as module  # noqa: PLC0415 - the function is replaced for this test

    def refuser(*args: object, **kwargs: object) -> object:
        raise ValueError("refusé")

    monkeypatch.setattr(module, "compiler_montant", refuser)
    reglement = charger_reglement(Path(__file__).parent / "donnees" / "montants.yaml")  # a fresh plan
    jour = JOURS[0]
    faits = lire_faits({**_FOYER_MONTANTS, "beneficiaire_rsa": False}, catalogue=reglement.catalogue)
    attendue = _verdicts_de(evaluer_interprete(reglement, faits, jour))
    compile = compile_plan(reglement, jour)
    assert compile.verdicts(faits) == attendue
    assert all(m is False for m in compile._compile._montants_compiles if m is not None)
    assert {v.statut for v in attendue} >= {Statut.ELIGIBLE}


@pytest.mark.parametrize(
    "changes",
    [
        {},  # the table's first row holds on its two tests: « … vaut oui et … vaut oui »
        {"beneficiaire_rsa": False, "enfants": ["2015-06-01", "2019-03-02"]},
        # Unknown or stale values: the amounts written by `Calculateur` (what is missing, proofs).
        {"quotient_familial_caf": {"valeur": "640", "periode": "2025-12", "fournisseur": "CNAF"}},
        {"ressources_mensuelles": None, "handicap_reconnu": None},
        # A birth year straddling 17 years: an interval of children, the formula on intervals.
        {
            "enfants": ["2008"],
            "quotient_familial_caf": {"valeur": "180", "periode": "2026-04", "fournisseur": "CNAF"},
        },
    ],
)
def test_amounts_written_by_the_compiled_rules_are_those_of_the_interpreted_evaluation(
    changes: dict[str, Any],
) -> None:
    donnees = {k: v for k, v in {**_FOYER_MONTANTS, **changes}.items() if v is not None}
    reglement = REGLEMENTS["montants"]
    faits = lire_faits(donnees, catalogue=reglement.catalogue)
    attendue = evaluer_interprete(reglement, faits, JOURS[0])
    obtenue = compile_plan(reglement, JOURS[0]).evaluer(faits)
    assert obtenue == attendue
    assert not changes or any(r.statut is Statut.ELIGIBLE for r in obtenue.resultats)
    if not changes:
        tarif = next(r for r in obtenue.resultats if r.dispositif == "tarif")
        assert " vaut oui et " in tarif.motif


def test_amounts_fall_back_to_the_general_computation_when_they_cannot_be_compiled(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """An amount rule montants_rediges.py refuses is written by `Calculateur`."""
    import app.rules.compiled as module  # noqa: PLC0415 - the function is replaced for this test

    def refuser(*args: object, **kwargs: object) -> object:
        raise ValueError("refusé")

    monkeypatch.setattr(module, "rediger_montant", refuser)
    reglement = charger_reglement(Path(__file__).parent / "donnees" / "montants.yaml")  # a fresh plan
    faits = lire_faits(_FOYER_MONTANTS, catalogue=reglement.catalogue)
    compile = compile_plan(reglement, JOURS[0])
    assert compile.evaluer(faits) == evaluer_interprete(reglement, faits, JOURS[0])
    assert all(m is False for m in compile._compile._montants_rediges if m is not None)


_FOYER_LIGNES = {
    "quotient_familial_caf": {"valeur": "640", "periode": "2026-04", "fournisseur": "CNAF"},
    "revenu_fiscal_de_reference": {"valeur": "5700", "periode": "2025", "fournisseur": "DGFIP"},
    "situation_familiale": "C",
    "nombre_personnes_a_charge": 0,
    "beneficiaire_rsa": True,
    "handicap_reconnu": True,
    "situation_emploi": "en_emploi",
    "enfants": ["2015-06-01", "2019-03-02"],
    "ressources_mensuelles": "1500",
}


def _qf(valeur: str, periode: str = "2026-04") -> dict[str, str]:
    return {"valeur": valeur, "periode": periode, "fournisseur": "CNAF"}


def _rfr(valeur: str) -> dict[str, str]:
    return {"valeur": valeur, "periode": "2025", "fournisseur": "DGFIP"}


#: Households around each row, tranche, column and bound of tests/rules/donnees/montants_par_ligne.yaml
#: (as changes to `_FOYER_LIGNES`; None: the fact is missing).
_CAS_LIGNES: list[dict[str, Any]] = [
    {},  # table row 1 on two yes/no values; grille at its first tranche's bound, first column's bound
    {"handicap_reconnu": False},  # row 1 fails on its second test, row 2 (no label) holds: floor
    {"beneficiaire_rsa": False, "situation_emploi": "formation"},  # a test on a text: rounded up
    {"beneficiaire_rsa": False, "quotient_familial_caf": _qf("399.99")},  # a test on a number
    {"beneficiaire_rsa": False, "quotient_familial_caf": _qf("400")},  # row « B »: no amount, a tariff
    {"beneficiaire_rsa": False, "quotient_familial_caf": _qf("800"), "enfants": ["2015-06-01"]},  # autre: cap
    {"beneficiaire_rsa": False, "quotient_familial_caf": _qf("500")},  # the QF barème at its bound
    {"quotient_familial_caf": _qf("500.01")},  # its tranche without label
    {"quotient_familial_caf": _qf("800.5"), "enfants": []},  # its label-only tranche: « Tarif : Q3 »
    {"quotient_familial_caf": _qf("0"), "enfants": []},  # × 0 children: the floor
    # Unknown or stale values, a partial birth date: `Calculateur` writes what is missing.
    {"handicap_reconnu": None},
    {"beneficiaire_rsa": False, "quotient_familial_caf": _qf("300", "2025-12")},
    {"quotient_familial_caf": None, "revenu_fiscal_de_reference": None, "ressources_mensuelles": None},
    {"enfants": ["2015-06-01", "2009"], "beneficiaire_rsa": False},
    # The grille: tranches, columns (one without label) and their bounds, a ratio per unit.
    {"revenu_fiscal_de_reference": _rfr("5700.01")},
    {"revenu_fiscal_de_reference": _rfr("8550"), "situation_familiale": "M"},  # 5 700 per unit: E1
    {"revenu_fiscal_de_reference": _rfr("8550.04"), "situation_familiale": "M"},  # a ratio: second
    {"revenu_fiscal_de_reference": _rfr("15000"), "situation_familiale": "M", "nombre_personnes_a_charge": 1},
    {"revenu_fiscal_de_reference": _rfr("11000"), "situation_familiale": "M", "nombre_personnes_a_charge": 2},
    {"revenu_fiscal_de_reference": _rfr("40000"), "nombre_personnes_a_charge": 3},
    {"revenu_fiscal_de_reference": _rfr("-10")},
    # Floor, cap and rounding at their bounds, on Decimals (/ 10) and on ratios (/ 3).
    {"ressources_mensuelles": "1500.01"},
    {"ressources_mensuelles": "200", "enfants": ["2015-06-01", "2019-03-02", "2020-01-01"]},
    {"ressources_mensuelles": "190"},
    {"ressources_mensuelles": "245"},
    {"ressources_mensuelles": "250"},
    {"ressources_mensuelles": "100"},
    {"ressources_mensuelles": "1"},
    {"ressources_mensuelles": "451"},
    {"ressources_mensuelles": "0"},
    {"ressources_mensuelles": "49999.99"},
]


def test_amounts_by_row_and_tranche_are_those_of_the_interpreted_evaluation() -> None:
    """Each kind of table row (two yes/no tests, a text, a number, no amount, « autre »), each
    barème tranche and column (with and without label, at a bound, from a ratio), floors, caps and
    roundings at their bounds: the compiled amounts write what `Calculateur` writes, on a fresh plan
    and again once rows and tranches were shared (and their memos filled)."""
    reglement = charger_reglement(Path(__file__).parent / "donnees" / "montants_par_ligne.yaml")
    for jour in JOURS[:2]:
        compile = compile_plan(reglement, jour)
        for tour in range(2):
            for changes in _CAS_LIGNES:
                donnees = {k: v for k, v in {**_FOYER_LIGNES, **changes}.items() if v is not None}
                faits = lire_faits(donnees, catalogue=reglement.catalogue)
                attendue = evaluer_interprete(reglement, faits, jour)
                obtenue = compile.evaluer(faits)
                for a, b in zip(obtenue.resultats, attendue.resultats, strict=True):
                    assert (a.dispositif, a.montant, a.tranche, a.motif) == (
                        b.dispositif, b.montant, b.tranche, b.motif,
                    ), (tour, changes)  # fmt: skip
                assert obtenue == attendue
                assert compile.verdicts(faits) == _verdicts_de(attendue)
    # The cases reach what they are about.
    motifs = " ".join(
        r.motif
        for changes in _CAS_LIGNES
        for r in compile_plan(reglement, JOURS[0])
        .evaluer(
            lire_faits(
                {k: v for k, v in {**_FOYER_LIGNES, **changes}.items() if v is not None},
                catalogue=reglement.catalogue,
            )
        )
        .resultats
    )
    for texte in (
        "vaut oui et la reconnaissance", "ligne 2 de la table", "ligne 3 de la table", "Tarif : B (ligne 5",
        "(autre cas)", "plafonné à 3 €", "porté au plancher de 0,50 €", "arrondi au multiple de 0,5",
        "Tarif : Q3", "tranche du barème", "colonne pour", "colonne 4 personnes ou plus", "plafonné à 150 €",
        "arrondi à l'euro inférieur", "porté au plancher de 50 €", "plafonné à 180 €", "plafonné à 25 €",
        "Tarif : handicap (ligne 1", "Tarif : autre (ligne 2 (autre cas)", "au multiple de 5 inférieur",
        "au multiple de 5 supérieur",
    ):  # fmt: skip
        assert texte in motifs, texte


def _foyer_peu_recurrent(n: int, reglement: Reglement) -> Faits:
    """The n-th of a run of households whose amounts seldom recur (a QF and resources to the unit
    and the cent), one in two awkward: a stale QF, no QF, a birth year alone, no resources."""
    alea = random.Random(n)  # noqa: S311 - reproducible households, no secret
    naissance = f"{alea.randrange(1940, 2000)}-0{alea.randrange(1, 10)}-1{alea.randrange(10)}"
    donnees: dict[str, Any] = {
        "quotient_familial_caf": {
            "valeur": str(alea.randrange(1500)),
            "periode": "2026-04",
            "fournisseur": "CNAF",
        },
        "revenu_fiscal_de_reference": {
            "valeur": str(alea.randrange(20_000)),
            "periode": "2025",
            "fournisseur": "DGFIP",
        },
        "beneficiaire_rsa": alea.random() < 0.3,
        "handicap_reconnu": alea.random() < 0.5,
        "allocataires": [naissance],
        "date_naissance_demandeur": naissance,
        "enfants": [
            f"20{alea.randrange(8, 25):02d}-0{alea.randrange(1, 10)}-0{alea.randrange(1, 10)}"
            for _ in range(alea.randrange(4))
        ],
        "ressources_mensuelles": f"{alea.randrange(3000)}.{alea.randrange(100):02d}",
        "charges_logement": str(alea.randrange(900)),
        "commune_residence": alea.choice(["08105", "08480", "75056"]),
        "statut_occupation_logement": alea.choice(["locataire", "proprietaire"]),
        "situation_emploi": alea.choice(["demandeur_emploi", "formation", "en_emploi"]),
    }
    bizarrerie = n % 8
    if bizarrerie == 1:
        donnees["quotient_familial_caf"]["periode"] = "2025-12"  # stale
    elif bizarrerie == 3:
        del donnees["quotient_familial_caf"]
    elif bizarrerie == 5:
        donnees["enfants"] = [*donnees["enfants"], "2009"]  # 16 or 17: an interval
    elif bizarrerie == 7:
        del donnees["ressources_mensuelles"]
    return lire_faits(
        {k: v for k, v in donnees.items() if k in reglement.catalogue.faits}, catalogue=reglement.catalogue
    )


@pytest.mark.parametrize(
    "fichier",
    [
        "tests/rules/donnees/montants.yaml",
        "tests/rules/donnees/montants_par_ligne.yaml",
        "reglements/exemples/ccas-intercommunal.yaml",
    ],
)
def test_amounts_after_their_memo_switched_off_are_those_of_the_interpreted_evaluation(fichier: str) -> None:
    """Past `memos.ESSAIS_MEMO` households whose values seldom recur, a memo switches itself off
    and the plan calls the bare computation in its place (a rule reading nothing: its first result);
    the amounts and sentences stay those of the interpreted evaluation, awkward households included."""
    reglement = charger_reglement(Path(__file__).parents[2] / fichier)  # a fresh plan: empty memos
    jour = JOURS[0]
    compile = compile_plan(reglement, jour)
    for n in range(2 * memos.ESSAIS_MEMO + 60):
        faits = _foyer_peu_recurrent(n, reglement)
        attendue = evaluer_interprete(reglement, faits, jour)
        assert compile.evaluer(faits) == attendue
        assert compile.verdicts(faits) == _verdicts_de(attendue)
    # Some memos did switch off on both sides, and their slots now hold the computation alone.
    for places in (compile._compile._montants_rediges, compile._compile._montants_compiles):
        assert any(callable(f) and f.__name__ != "memorise" for f in places)


def test_no_text_of_the_reglement_enters_the_generated_source() -> None:
    """Thresholds, codes, ids and lists are bound as values, never written into the source: a
    règlement whose texts look like Python changes nothing but its own results."""
    from app.rules.loader import lire_reglement  # noqa: PLC0415 - only this test writes one

    piege = "x'); __import__('os').system('false'); ('"
    reglement = lire_reglement(
        'reglement: {id: "p", version: "1", libelle: P, organisme: {nom: X}}\n'
        "dispositifs:\n"
        "  - id: aide-piege\n    libelle: Aide\n    conditions:\n"
        f'      - {{fait: commune_residence, operateur: in, valeur: ["{piege}", "75056"], code: commune}}\n'
        "      - {fait: quotient_familial_caf, operateur: '<=', valeur: 600, code: qf}\n"
        "    montant: {valeur: 12}\n",
        "p.yaml",
    )
    jour = JOURS[0]
    for commune, attendu in (
        ("75056", Statut.ELIGIBLE),
        (piege, Statut.ELIGIBLE),
        ("08105", Statut.NON_ELIGIBLE),
    ):
        faits = lire_faits({"commune_residence": commune, "quotient_familial_caf": 500})
        compile = compile_plan(reglement, jour)
        verdicts = compile.verdicts(faits)
        interpretee = evaluer_interprete(reglement, faits, jour)
        assert verdicts == _verdicts_de(interpretee)
        assert verdicts[0].statut is attendu
        assert verdicts[0].dispositif == "aide-piege"
        assert compile.evaluer(faits) == interpretee
    sources = (compile._compile.source_verdicts, compile._compile.source_evaluation)
    assert sources[0].startswith("def verdicts(")
    assert sources[1].startswith("def evaluer(")
    for source in sources:
        for texte in (piege, "aide-piege", "75056", "600", "qf", "commune", "12", "Aide"):
            assert texte not in source


def test_the_base_facts_used_are_those_of_the_interpreted_evaluation_whatever_the_memo_holds(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`faits_utilises` is kept by the names of the known facts: the same names in another order,
    fewer names, a fact known but unused, and the memo full (then worked out each time) give what
    the interpreted evaluation gives."""
    reglement = REGLEMENTS["intercommunal"]
    jour = JOURS[0]
    donnees: dict[str, Any] = {
        "quotient_familial_caf": _qf("550"),
        "revenu_fiscal_de_reference": _rfr("12000"),
        "beneficiaire_rsa": True,
        "enfants": ["2015-06-01"],
        "commune_residence": "08105",
    }
    cas = [
        donnees,
        dict(reversed(donnees.items())),
        {n: v for n, v in donnees.items() if n != "beneficiaire_rsa"},
        {"beneficiaire_rsa": False},
        {},
    ]
    for plein in (False, True):
        if plein:
            monkeypatch.setattr(compiled, "UTILISES_EN_MEMO", 0)
        compile = compile_plan(reglement, jour)
        compile._compile._faits_utilises.clear()
        for deux_fois in (1, 2):
            for d in cas:
                faits = lire_faits(d, catalogue=reglement.catalogue)
                attendus = evaluer_interprete(reglement, faits, jour).faits_utilises
                assert compile.evaluer(faits).faits_utilises == attendus, (d, deux_fois)
        assert len(compile._compile._faits_utilises) == (0 if plein else len(cas))
