"""The compiled presenters of derived facts (`lecteurs._presentation_derivee`) against the general
path: the same results to the last sentence, one plan evaluating household after household so that
what the presenters keep (contexts by value and source) is read back for others, on awkward data
(unknown, stale, noted, after the date, partial birth dates, sources that differ in one field)."""

from __future__ import annotations

from dataclasses import fields, replace
from datetime import UTC, date, datetime
from itertools import product
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.rules import compile_plan, lecteurs
from app.rules.comparison import Presentation, Resolution, source_commune
from app.rules.compiled import CompiledPlan
from app.rules.engine import evaluer_interprete
from app.rules.facts import Fait, Faits, Source
from app.rules.model import Reglement
from app.rules.simulation import lire_faits
from tests.rules.test_compiled import JOURS, REGLEMENTS, foyers

_LE_1ER_MAI = datetime(2026, 5, 1, 12, tzinfo=UTC)
_LE_2_MAI = datetime(2026, 5, 2, 12, tzinfo=UTC)
_BASE = Source("CNAF", certifie=True, periode="2026-04", request_id="req-1")
#: Equal to `_BASE` but another object, and sources differing from it in one field each.
_SOURCES = (
    _BASE,
    Source("CNAF", certifie=True, periode="2026-04", request_id="req-1"),
    replace(_BASE, fournisseur="MSA"),
    replace(_BASE, certifie=False),
    replace(_BASE, periode="2026-03"),
    replace(_BASE, periode=None),
    replace(_BASE, obtenu_le=_LE_1ER_MAI),
    replace(_BASE, obtenu_le=_LE_2_MAI),
    replace(_BASE, depuis_cache=True),
    replace(_BASE, request_id="req-2"),
    replace(_BASE, perime=True, obtenu_le=_LE_1ER_MAI),
)


@given(st.lists(st.sampled_from(_SOURCES), min_size=1, max_size=4))
def test_bases_of_one_provenance_give_it_as_is(sources: list[Source]) -> None:
    """What the presenters take without calling `source_commune` when every base's source equals
    the first: the first, as `source_commune` gives it."""
    noms = [(f"base_{n}", s) for n, s in enumerate(sources)]
    if all(s == sources[0] for s in sources):
        assert source_commune(noms) == sources[0]


def test_the_presenters_compare_every_field_of_a_source() -> None:
    """The presenters compare two sources field by field: these, and no other."""
    compares = ("fournisseur", "certifie", "periode", "obtenu_le", "depuis_cache", "request_id", "perime")
    assert tuple(f.name for f in fields(Source)) == compares


_PLANS: dict[tuple[str, date], CompiledPlan] = {}


def _plan(nom: str, jour: date) -> CompiledPlan:
    """One plan per règlement and day for the whole test run: its presenters keep what they saw."""
    plan = _PLANS.get((nom, jour))
    if plan is None:
        plan = _PLANS[nom, jour] = compile_plan(REGLEMENTS[nom], jour)
    return plan


@st.composite
def _cas(draw: st.DrawFn) -> tuple[str, date, Faits]:
    nom = draw(st.sampled_from(["demo", "intercommunal", "petite-commune", "syndicat"]))
    jour = draw(st.sampled_from(JOURS))
    return nom, jour, draw(foyers(REGLEMENTS[nom], jour))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_cas())
def test_one_plan_over_many_households_gives_the_interpreted_evaluation(cas: tuple[str, date, Faits]) -> None:
    nom, jour, faits = cas
    attendue = evaluer_interprete(REGLEMENTS[nom], faits, jour)
    obtenue = _plan(nom, jour).evaluer(faits)
    for a, b in zip(obtenue.resultats, attendue.resultats, strict=True):
        assert [c.explication for c in a.conditions] == [c.explication for c in b.conditions]
    assert obtenue == attendue


_JOUR = date(2026, 5, 15)
_FOYER: dict[str, Any] = {
    "quotient_familial_caf": {"valeur": "640", "periode": "2026-04", "fournisseur": "CNAF"},
    "revenu_fiscal_de_reference": {"valeur": "9000", "periode": "2025", "fournisseur": "DGFIP"},
    "situation_familiale": {"valeur": "M", "periode": "2025", "fournisseur": "DGFIP"},
    "nombre_personnes_a_charge": {"valeur": 2, "periode": "2025", "fournisseur": "DGFIP"},
    "beneficiaire_rsa": True,
    "handicap_reconnu": True,
    "commune_residence": "08105",
    "statut_occupation_logement": "locataire",
    "situation_emploi": "demandeur_emploi",
    "allocataires": ["1980-02-03"],
    "enfants": ["2015-06-01", "2010-05-16", "2008-05-15"],
    "date_naissance_demandeur": "1980-02-03",
    "ressources_mensuelles": "1450.50",
    "charges_logement": "610",
}
#: Partial birth dates: a count or an age undecided between two values (an interval).
_PARTIELLES: dict[str, Any] = {
    "enfants": ["2015", "2010-05", "2008-05-15"],
    "date_naissance_demandeur": "1980",
}
#: Each fact's source as given, or changed in one field.
_VARIANTES: tuple[dict[str, Any], ...] = (
    {},
    {"certifie": True},
    {"periode": "2026-04"},
    {"periode": "2026-06"},  # after the reference date: unknown
    {"periode": "2025-12"},
    {"fournisseur": "MSA"},
    {"request_id": "req-1"},
    {"depuis_cache": True},
    {"obtenu_le": _LE_1ER_MAI},
    {"perime": True, "obtenu_le": _LE_1ER_MAI},
    {"perime": True, "obtenu_le": _LE_2_MAI},
    {"perime": True},
    {"fournisseur": "".join(("simu", "lation"))},  # the same provider's name, another text object
)
_BASES = ("enfants", "date_naissance_demandeur", "revenu_fiscal_de_reference", "ressources_mensuelles",
          "charges_logement", "allocataires")  # fmt: skip


def _faits(donnees: dict[str, Any], changees: dict[str, dict[str, Any]], absents: tuple[str, ...]) -> Faits:
    donnees = {n: v for n, v in donnees.items() if n not in absents}
    faits = lire_faits(donnees, catalogue=_reglement().catalogue)
    connus = {
        nom: Fait(fait.valeur, replace(fait.source, **changees[nom])) if nom in changees else fait
        for nom, fait in faits.connus.items()
    }
    return Faits(connus, faits.indisponibles)


def _reglement() -> Reglement:
    return REGLEMENTS["intercommunal"]


def test_kept_contexts_follow_the_value_and_the_source() -> None:
    """Counts, ages, the reste à vivre and the revenu par UC, from full and partial dates, each base
    with each source variant in turn (and all of them at once), then missing: read back by one plan
    after other households filled what it keeps, each as the interpreted evaluation gives it."""
    plan = compile_plan(_reglement(), _JOUR)
    evaluees = 0
    for donnees, base, variante, absent in product(
        (_FOYER, {**_FOYER, **_PARTIELLES}), _BASES, _VARIANTES, ((), ("enfants",), ("charges_logement",))
    ):
        for changees in ({base: variante}, dict.fromkeys(_BASES, variante)):
            faits = _faits(donnees, changees, absent)
            attendue = evaluer_interprete(_reglement(), faits, _JOUR)
            assert plan.evaluer(faits) == attendue, (base, variante, absent)
            evaluees += 1
    assert evaluees == 2 * len(_BASES) * len(_VARIANTES) * 3 * 2


#: Resources and charges around the reste à vivre's thresholds (12 € and 15 € a day and person):
#: on them to the cent, a hair either side (a margin rounding to zero), on a half cent, negative,
#: zero, huge; households of 1 to 5 people, or none (a division by zero: undecided).
_RESSOURCES = ("1450.50", "610", "2050", "2049.99", "2050.01", "0", "1050.45", "49999.99", "50000")
_CHARGES = ("610", "0", "1450.50", "0.01", "9999.99")
_ENFANTS: tuple[list[str], ...] = ([], ["2015-06-01"], ["2015", "2010-05", "2008-05-15"], ["2015-06-01"] * 4)
_ALLOCATAIRES: tuple[list[str], ...] = ([], ["1980-02-03"])


def test_the_reste_a_vivre_and_its_leaves_read_as_the_general_path() -> None:
    """The reste à vivre's presentation and the leaves comparing it with their thresholds (its cents
    taken once for both), on awkward values and households, the bases from one provenance or
    another, as the interpreted evaluation gives them."""
    plan = compile_plan(_reglement(), _JOUR)
    provenances: tuple[dict[str, dict[str, Any]], ...] = (
        {},
        {"ressources_mensuelles": {"fournisseur": "MSA"}},
        {"ressources_mensuelles": {"periode": "2026-04"}, "charges_logement": {"periode": "2026-04"}},
        {"charges_logement": {"perime": True, "obtenu_le": _LE_1ER_MAI}},
    )
    for ressources, charges, enfants, allocataires, changees in product(
        _RESSOURCES, _CHARGES, _ENFANTS, _ALLOCATAIRES, provenances
    ):
        donnees = {**_FOYER, "ressources_mensuelles": ressources, "charges_logement": charges}
        donnees |= {"enfants": enfants, "allocataires": allocataires}
        for _ in range(2):  # the second time, from what the plan kept
            faits = _faits(donnees, changees, ())
            attendue = evaluer_interprete(_reglement(), faits, _JOUR)
            assert plan.evaluer(faits) == attendue, (ressources, charges, enfants, allocataires, changees)


def test_the_presenters_build_every_field_of_a_resolution_and_a_presentation() -> None:
    """The presenters of derived facts build these two without `__init__`, assigning these fields:
    these, and no other (a field added and not assigned would be missing from their objects)."""
    assert tuple(f.name for f in fields(Resolution)) == lecteurs.RESOLUTION
    assert tuple(f.name for f in fields(Presentation)) == lecteurs.PRESENTATION
