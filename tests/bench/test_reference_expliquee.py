"""bench/reference_expliquee.py, (e) of the règlement bench: the hand-written evaluation gives the
engine's, field for field and sentence for sentence, on the bench's households; the bench's
comparison catches a single changed character or a `Decimal` written otherwise; and a household
outside what it covers is refused, never evaluated wrongly."""

from __future__ import annotations

import dataclasses
import random
from decimal import Decimal
from typing import Any

import pytest

from app.rules import compile_plan
from app.rules.dates import DatePartielle
from app.rules.facts import Fait, Faits
from app.rules.loader import charger_reglement
from bench import bench_reglement as banc
from bench.reference_expliquee import Entete, preparer, reference_expliquee

FOYERS = 300


@pytest.fixture(scope="module")
def banc_prepare() -> tuple[Any, Entete, list[tuple[bool, Faits]]]:
    """The engine's plan, (e)'s header and the bench's first households (30 % on a threshold)."""
    reglement = charger_reglement(banc.REGLEMENT)
    alea = random.Random(banc.GRAINE)  # noqa: S311 - the bench's households, not a secret
    foyers = [banc.foyer(alea) for _ in range(FOYERS)]
    faits = [(pile, banc.faits_moteur(x, reglement)) for x, pile in foyers]
    return compile_plan(reglement, banc.JOUR), preparer(reglement), faits


def test_gives_the_engines_evaluation_on_the_bench_households(
    banc_prepare: tuple[Any, Entete, list[tuple[bool, Faits]]],
) -> None:
    plan, entete, foyers = banc_prepare
    differents = [
        i
        for i, (_, faits) in enumerate(foyers)
        if banc._differe(banc.aplatir(reference_expliquee(faits, entete)), banc.aplatir(plan.evaluer(faits)))
    ]
    assert differents == []
    # The households compared take every road: on a threshold, eligible to each aid and not.
    assert sum(pile for pile, _ in foyers) > FOYERS // 5
    statuts = {
        (r.dispositif, r.statut) for _, faits in foyers for r in reference_expliquee(faits, entete).resultats
    }
    assert len(statuts) == 2 * len(banc.AIDES)


def test_the_comparison_catches_one_character_or_a_decimal_written_otherwise(
    banc_prepare: tuple[Any, Entete, list[tuple[bool, Faits]]],
) -> None:
    plan, entete, foyers = banc_prepare
    faits = next(f for _, f in foyers if plan.evaluer(f).resultats[0].montant is not None)
    attendu = banc.aplatir(plan.evaluer(faits))
    assert not banc._differe(banc.aplatir(reference_expliquee(faits, entete)), attendu)

    evaluation = reference_expliquee(faits, entete)
    condition = evaluation.resultats[0].conditions[1]
    condition.explication = condition.explication.replace(" : condition", "  : condition")
    assert banc._differe(banc.aplatir(evaluation), attendu)

    evaluation = reference_expliquee(faits, entete)
    montant = evaluation.resultats[0].montant
    assert montant is not None
    evaluation.resultats[0].montant = Decimal(int(montant))  # equal, yet « 50 » and not « 50.00 »
    assert banc._differe(banc.aplatir(evaluation), attendu)


def test_another_household_is_not_taken_for_this_one(
    banc_prepare: tuple[Any, Entete, list[tuple[bool, Faits]]],
) -> None:
    """The QF one euro higher: (e) follows it, in the value, the margin and the sentences."""
    plan, entete, foyers = banc_prepare
    for _, faits in foyers[:20]:
        qf = faits.connus["quotient_familial_caf"]
        assert isinstance(qf.valeur, Decimal)
        autre = Faits(
            {**faits.connus, "quotient_familial_caf": Fait(qf.valeur + 1, qf.source)}, faits.indisponibles
        )
        obtenu = banc.aplatir(reference_expliquee(autre, entete))
        assert banc._differe(obtenu, banc.aplatir(plan.evaluer(faits)))
        assert not banc._differe(obtenu, banc.aplatir(plan.evaluer(autre)))


@pytest.mark.parametrize(
    "changement",
    [
        pytest.param({"quotient_familial_caf": "2026-01"}, id="qf-trop-ancien"),
        pytest.param({"revenu_fiscal_de_reference": "2023"}, id="rfr-ancien"),
        pytest.param({"date_naissance_demandeur": DatePartielle(1950)}, id="date-partielle"),
        pytest.param({"ressources_mensuelles": "source-differente"}, id="sources-differentes"),
        pytest.param({"commune_residence": None}, id="fait-manquant"),
    ],
)
def test_a_household_outside_the_bench_is_refused(
    banc_prepare: tuple[Any, Entete, list[tuple[bool, Faits]]], changement: dict[str, Any]
) -> None:
    _, entete, foyers = banc_prepare
    connus = dict(foyers[0][1].connus)
    for nom, quoi in changement.items():
        fait = connus[nom]
        if quoi is None:
            del connus[nom]
        elif isinstance(quoi, DatePartielle):
            connus[nom] = Fait(quoi, fait.source)
        elif quoi == "source-differente":
            connus[nom] = Fait(fait.valeur, dataclasses.replace(fait.source, fournisseur="declaratif"))
        else:
            connus[nom] = Fait(fait.valeur, dataclasses.replace(fait.source, periode=quoi))
    with pytest.raises(NotImplementedError):
        reference_expliquee(Faits(connus, {}), entete)
