"""The conditions of a yes/no or text leaf kept with its sentence (`lecteurs.explication_directe`
with `construire`), and those of an order leaf on a whole value from a presentation (a count, an
age: `comparison.expliquer_une_fois`): a household whose value and source equal a kept one's gets
the same objects, its results equal to the interpreted evaluation's, to the type of every field; a
source that is not plain (a request, the cache, the day it was obtained, staleness, a certification
that is not a bool, a subclass) keeps the household's own objects; one household's results stay
what they were whatever the next ones are."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest

from app.rules import compile_plan
from app.rules.engine import evaluer_interprete
from app.rules.facts import Fait, Faits, Source
from app.rules.loader import charger_reglement, lire_reglement
from app.rules.results import Evaluation, champs_resultat
from app.rules.simulation import lire_faits

RACINE = Path(__file__).resolve().parents[2] / "reglements"
REGLEMENT = charger_reglement(RACINE / "exemples" / "ccas-intercommunal.yaml")
JOUR = date(2026, 5, 15)
#: The yes/no and text facts the intercommunal règlement's leaves test directly.
DIRECTS = (
    "beneficiaire_rsa", "beneficiaire_asf", "beneficiaire_aah", "beneficiaire_c2s", "handicap_reconnu",
    "beneficiaire_prime_activite", "commune_residence", "statut_occupation_logement", "situation_emploi",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class _SourceDerivee(Source):
    """A subclass: equal to a plain `Source` by its fields, but not the same kind of value."""


def _donnees(oui: bool, commune: str) -> dict[str, Any]:
    return {
        "quotient_familial_caf": {"valeur": "500", "periode": "2026-04", "fournisseur": "CNAF"},
        "allocataires": ["1950-01-01"],
        "enfants": ["2015-06-01"],
        "date_naissance_demandeur": "1950-01-01",
        "beneficiaire_rsa": oui, "beneficiaire_asf": not oui, "beneficiaire_aah": oui,
        "beneficiaire_c2s": oui, "beneficiaire_prime_activite": oui, "handicap_reconnu": not oui,
        "revenu_fiscal_de_reference": {"valeur": "9000", "periode": "2025", "fournisseur": "DGFIP"},
        "situation_familiale": {"valeur": "C", "periode": "2025", "fournisseur": "DGFIP"},
        "nombre_personnes_a_charge": {"valeur": 1, "periode": "2025", "fournisseur": "DGFIP"},
        "commune_residence": commune,
        "statut_occupation_logement": "locataire",
        "ressources_mensuelles": "800",
        "charges_logement": "300",
        "situation_emploi": "demandeur_emploi",
    }  # fmt: skip


def _foyer(oui: bool = True, commune: str = "08105", sources: dict[str, Source] | None = None) -> Faits:
    faits = lire_faits(_donnees(oui, commune), catalogue=REGLEMENT.catalogue)
    connus = dict(faits.connus)
    for nom, source in (sources or {}).items():
        connus[nom] = Fait(connus[nom].valeur, source)
    return Faits(connus, faits.indisponibles)


def _exacte(evaluation: Evaluation) -> list[Any]:
    """Every field of every condition by type and text (`True` == 1, `Decimal("2.0")` == 2)."""
    return [
        [(type(getattr(c, champ)), repr(getattr(c, champ))) for champ in champs_resultat(type(c))]
        for r in evaluation.resultats
        for c in r.conditions
    ]


def _conditions(evaluation: Evaluation) -> dict[tuple[str, str | None], Any]:
    return {(r.dispositif, c.code): c for r in evaluation.resultats for c in r.conditions}


def _comme_interpretee(faits: Faits, obtenue: Evaluation) -> None:
    attendue = evaluer_interprete(REGLEMENT, faits, JOUR)
    assert obtenue == attendue
    assert _exacte(obtenue) == _exacte(attendue)


def test_equal_values_and_plain_sources_share_their_conditions() -> None:
    plan = compile_plan(REGLEMENT, JOUR)
    premier, second, autre = _foyer(), _foyer(), _foyer(oui=False, commune="75056")
    e1, e2, e3 = plan.evaluer(premier), plan.evaluer(second), plan.evaluer(autre)
    for faits, evaluation in ((premier, e1), (second, e2), (autre, e3)):
        _comme_interpretee(faits, evaluation)
    partagees = 0
    for cle, condition in _conditions(e2).items():
        if condition.critere in DIRECTS:
            # The first household's objects, its source equal to the second's.
            assert condition is _conditions(e1)[cle]
            assert condition.source == second.connus[condition.critere].source
            partagees += 1
    assert partagees >= 10
    # Whole values from a presentation (a count, an age), made once too.
    entiers = [
        (cle, c) for cle, c in _conditions(e2).items() if c.critere in ("nombre_enfants", "age_demandeur")
    ]
    assert len(entiers) >= 4
    assert all(c is _conditions(e1)[cle] for cle, c in entiers)
    # Other values (every yes/no and the commune): other objects; the first household's results
    # are still its own.
    changes = [c for c in _conditions(e3).values() if c.critere in DIRECTS[:7]]
    assert changes
    assert not set(map(id, changes)) & set(map(id, _conditions(e1).values()))
    _comme_interpretee(premier, e1)
    assert e1 == e2


_SIMULATION = Source("simulation", False)


@pytest.mark.parametrize(
    "source",
    [
        replace(_SIMULATION, request_id="req-1"),
        replace(_SIMULATION, depuis_cache=True),
        replace(_SIMULATION, obtenu_le=datetime(2026, 5, 1, 12, tzinfo=UTC)),
        replace(_SIMULATION, perime=True),
        replace(_SIMULATION, perime=True, obtenu_le=datetime(2026, 5, 1, 12, tzinfo=UTC)),
        replace(_SIMULATION, certifie=1),  # type: ignore[arg-type]
        _SourceDerivee("simulation", False),
    ],
    ids=["requete", "cache", "obtenu", "perime", "perime-obtenu", "certifie-entier", "sous-classe"],
)
def test_a_source_that_is_not_plain_keeps_the_households_own_conditions(source: Source) -> None:
    plan = compile_plan(REGLEMENT, JOUR)
    noms = (*DIRECTS, "enfants", "date_naissance_demandeur", "allocataires")
    # Plain sources first (what is kept then), then the same values from this source, twice (each
    # household its own, equal, objects).
    foyers = [_foyer(), *(_foyer(sources={nom: replace(source) for nom in noms}) for _ in range(2)), _foyer()]
    evaluations = [plan.evaluer(faits) for faits in foyers]
    for faits, evaluation in zip(foyers, evaluations, strict=True):
        _comme_interpretee(faits, evaluation)
    for faits, evaluation in zip(foyers[1:3], evaluations[1:3], strict=True):
        for condition in _conditions(evaluation).values():
            if condition.critere in DIRECTS:
                assert condition.source is faits.connus[condition.critere].source
    # Nothing made for one serves the other (counts and ages from a presentation included).
    lues = (*DIRECTS, "nombre_enfants", "age_demandeur")
    deux = list(zip(_conditions(evaluations[1]).values(), _conditions(evaluations[2]).values(), strict=True))
    assert all(a is not b for a, b in deux if a.critere in lues)
    assert sum(a.critere in ("nombre_enfants", "age_demandeur") for a, _ in deux) >= 4
    # The plain household after them still finds the first one's objects.
    assert (
        _conditions(evaluations[3])[("aide-alimentaire", "commune")]
        is _conditions(evaluations[0])[("aide-alimentaire", "commune")]
    )


#: One yes/no leaf and one text leaf taken by three aids under other codes each (in another order
#: in the second aid): each condition must carry its own aid's code.
_CODES = lire_reglement(
    'reglement: {id: c, version: "1", libelle: C, organisme: {nom: X}}\n'
    "dispositifs:\n"
    "  - id: a\n    libelle: A\n    conditions:\n"
    "      - {fait: beneficiaire_rsa, operateur: '==', valeur: true, code: rsa-a}\n"
    "      - {fait: statut_occupation_logement, operateur: '==', valeur: locataire, code: logement-a}\n"
    "  - id: b\n    libelle: B\n    conditions:\n"
    "      - {fait: statut_occupation_logement, operateur: '==', valeur: locataire, code: logement-b}\n"
    "      - {fait: beneficiaire_rsa, operateur: '==', valeur: true, code: rsa-b}\n"
    "  - id: c\n    libelle: C\n    conditions:\n"
    "      - {fait: beneficiaire_rsa, operateur: '==', valeur: true, code: rsa-c}\n",
    "c.yaml",
)


@pytest.mark.parametrize("rsa", [True, False])
def test_a_leaf_taken_by_several_aids_gives_each_its_own_code(rsa: bool) -> None:
    plan = compile_plan(_CODES, JOUR)
    donnees = {"beneficiaire_rsa": rsa, "statut_occupation_logement": "locataire"}
    for _ in range(2):  # made, then kept
        faits = lire_faits(donnees, catalogue=_CODES.catalogue)
        obtenue = plan.evaluer(faits)
        attendue = evaluer_interprete(_CODES, faits, JOUR)
        assert [[c.code for c in r.conditions] for r in obtenue.resultats] == [
            ["rsa-a", "logement-a"], ["logement-b", "rsa-b"], ["rsa-c"],
        ]  # fmt: skip
        assert obtenue == attendue
        assert _exacte(obtenue) == _exacte(attendue)
