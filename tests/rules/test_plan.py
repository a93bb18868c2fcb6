"""The compiled règlement: shared leaves, combinations over precomputed outcomes, cached preparations."""

from __future__ import annotations

import gc
import json
import weakref
from datetime import date
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from app.rules.engine import evaluer
from app.rules.loader import lire_reglement
from app.rules.results import Statut
from app.rules.simulation import lire_faits

JOUR = date(2026, 11, 26)
BOOLEENS = ("beneficiaire_rsa", "beneficiaire_aah", "beneficiaire_asf", "beneficiaire_c2s")
ENTETE = """
reglement: {id: t, version: "1", libelle: T, organisme: {nom: CCAS}}
deliberations:
  D1: {numero: "2025-01", date: 2025-01-15}
  D2: {numero: "2026-02", date: 2026-02-02}
fraicheur:
  quotient_familial_caf: {mois: 3}
parametres:
  plafond:
    libelle: le plafond
    unite: "€"
    valeurs:
      - {depuis: 2025-01-01, valeur: 700, deliberation: D1}
      - {depuis: 2026-03-01, valeur: 750, deliberation: D2}
dispositifs:
"""
QF = '{fait: quotient_familial_caf, operateur: "<=", parametre: plafond}'
DEUX_AIDES = (
    ENTETE
    + f"""
  - id: large
    libelle: Aide à la fraîcheur du règlement
    conditions: [{QF}, {{fait: nombre_enfants, operateur: ">=", valeur: 1}}]
  - id: stricte
    libelle: Aide à la fraîcheur propre
    fraicheur: {{quotient_familial_caf: {{mois: 1}}}}
    conditions: [{QF}, {{fait: nombre_enfants, operateur: ">=", valeur: 1}}]
  - id: meme
    libelle: Même condition que la première
    conditions: [{{fait: nombre_enfants, operateur: ">=", valeur: 1}}, {QF}]
"""
)
FAITS = {
    "quotient_familial_caf": {"valeur": 650, "periode": "2026-09", "fournisseur": "CNAF"},
    "enfants": [{"date_naissance": "2015-05-05"}],
}


def test_a_condition_written_in_several_aids_is_explained_alike_in_each() -> None:
    evaluation = evaluer(lire_reglement(DEUX_AIDES, "t.yaml"), lire_faits(FAITS), JOUR)
    large, _, meme = evaluation.resultats
    assert large.statut is meme.statut is Statut.ELIGIBLE
    assert large.conditions[0] == meme.conditions[1]
    assert large.conditions[1] == meme.conditions[0]
    # Equal values, but each aid has its own objects.
    assert large.conditions[0] is not meme.conditions[1]


def test_an_aid_freshness_rule_keeps_the_same_condition_apart() -> None:
    evaluation = evaluer(lire_reglement(DEUX_AIDES, "t.yaml"), lire_faits(FAITS), JOUR)
    large, stricte, _ = evaluation.resultats
    assert large.conditions[0].satisfaite is True
    assert stricte.conditions[0].satisfaite is None
    assert "a plus de 1 mois" in stricte.conditions[0].explication
    assert stricte.statut is Statut.A_VERIFIER


def test_dates_and_choices_of_aids_prepared_before_do_not_leak_into_later_evaluations() -> None:
    reglement = lire_reglement(DEUX_AIDES, "t.yaml")
    faits = lire_faits(FAITS)
    avant, apres = date(2026, 2, 1), date(2026, 11, 26)
    sequence = [
        (avant, ["meme"]),
        (apres, None),
        (avant, None),
        (apres, ["stricte", "large"]),
        (avant, ["meme"]),
    ]
    obtenues = [evaluer(reglement, faits, jour, choix) for jour, choix in sequence]
    attendues = [
        evaluer(lire_reglement(DEUX_AIDES, "t.yaml"), faits, jour, choix) for jour, choix in sequence
    ]
    assert obtenues == attendues
    assert obtenues[1].resultats[0].conditions[0].seuil == 750
    assert obtenues[2].resultats[0].conditions[0].seuil == 700
    assert [r.dispositif for r in obtenues[3].resultats] == ["large", "stricte"]


def test_results_are_values_with_a_hash() -> None:
    reglement = lire_reglement(DEUX_AIDES, "t.yaml")
    premiere = evaluer(reglement, lire_faits(FAITS), JOUR)
    seconde = evaluer(reglement, lire_faits(FAITS), JOUR)
    assert premiere == seconde
    assert hash(premiere) == hash(seconde)


def test_a_compiled_reglement_goes_with_its_reglement() -> None:
    reglement = lire_reglement(DEUX_AIDES, "t.yaml")
    evaluer(reglement, lire_faits(FAITS), JOUR)
    reference = weakref.ref(reglement)
    del reglement
    gc.collect()
    assert reference() is None


# Random condition trees over yes/no facts, against a direct reading of three-valued logic.

#: ("fait", name) | ("toutes" | "au_moins_une", [Arbre]) | ("non", Arbre) | ("au_moins", n, [Arbre])
Arbre = Any

feuilles = st.sampled_from(BOOLEENS).map(lambda nom: ("fait", nom))


def _combinaisons(enfants: st.SearchStrategy[Arbre]) -> st.SearchStrategy[Arbre]:
    groupes = st.lists(enfants, min_size=1, max_size=4)
    return st.one_of(
        st.tuples(st.sampled_from(["toutes", "au_moins_une"]), groupes),
        st.tuples(st.just("non"), enfants),
        groupes.flatmap(lambda g: st.tuples(st.just("au_moins"), st.integers(1, len(g)), st.just(g))),
    )


arbres = st.recursive(feuilles, _combinaisons, max_leaves=10)


def _yaml(arbre: Arbre) -> Any:
    match arbre:
        case ("fait", nom):
            return {"fait": nom, "operateur": "==", "valeur": True}
        case ("non", enfant):
            return {"non": _yaml(enfant)}
        case ("au_moins", nombre, enfants):
            return {"au_moins": {"nombre": nombre, "parmi": [_yaml(e) for e in enfants]}}
        case (genre, enfants):
            return {genre: [_yaml(e) for e in enfants]}
    raise AssertionError(arbre)


def _attendu(arbre: Arbre, valeurs: dict[str, bool | None]) -> bool | None:
    match arbre:
        case ("fait", nom):
            return valeurs[nom]
        case ("non", enfant):
            valeur = _attendu(enfant, valeurs)
            return None if valeur is None else not valeur
        case ("au_moins", nombre, enfants):
            issues = [_attendu(e, valeurs) for e in enfants]
            vrais, inconnus = issues.count(True), issues.count(None)
            return True if vrais >= nombre else None if vrais + inconnus >= nombre else False
        case ("toutes", enfants):
            issues = [_attendu(e, valeurs) for e in enfants]
            return False if False in issues else None if None in issues else True
        case ("au_moins_une", enfants):
            issues = [_attendu(e, valeurs) for e in enfants]
            return True if True in issues else None if None in issues else False
    raise AssertionError(arbre)


def _sens(arbre: Arbre, contraire: bool = False) -> list[bool]:
    """For each leaf, whether it sits under an odd number of `non` (the plan then negates it)."""
    match arbre:
        case ("fait", _):
            return [contraire]
        case ("non", enfant):
            return _sens(enfant, not contraire)
        case ("au_moins", _, enfants) | (_, enfants):
            return [s for e in enfants for s in _sens(e, contraire)]
    raise AssertionError(arbre)


def _feuilles(arbre: Arbre) -> list[str]:
    match arbre:
        case ("fait", nom):
            return [nom]
        case ("non", enfant):
            return _feuilles(enfant)
        case ("au_moins", _, enfants) | (_, enfants):
            return [nom for e in enfants for nom in _feuilles(e)]
    raise AssertionError(arbre)


@given(
    conditions=st.lists(arbres, min_size=1, max_size=4),
    autre=st.lists(arbres, min_size=1, max_size=2),
    valeurs=st.fixed_dictionaries({nom: st.sampled_from([True, False, None]) for nom in BOOLEENS}),
)
def test_combinations_follow_three_valued_logic(
    conditions: list[Arbre], autre: list[Arbre], valeurs: dict[str, bool | None]
) -> None:
    # Two aids, so that leaves shared between them are shared in the compiled règlement.
    dispositifs = [
        {"id": "aide", "libelle": "Aide", "conditions": [_yaml(c) for c in conditions]},
        {"id": "autre", "libelle": "Autre", "conditions": [_yaml(c) for c in autre]},
    ]
    texte = ENTETE.replace("dispositifs:\n", "dispositifs: " + json.dumps(dispositifs) + "\n")
    faits = lire_faits({nom: v for nom, v in valeurs.items() if v is not None})
    evaluation = evaluer(lire_reglement(texte, "t.yaml"), faits, JOUR)
    statuts = {True: Statut.ELIGIBLE, False: Statut.NON_ELIGIBLE, None: Statut.A_VERIFIER}
    for resultat, arbres_aide in zip(evaluation.resultats, (conditions, autre), strict=True):
        racine = ("toutes", arbres_aide)
        assert resultat.statut is statuts[_attendu(racine, valeurs)]
        assert [c.critere for c in resultat.conditions] == _feuilles(racine)
        # Each leaf is evaluated in the sense the aid needs it: under a `non`, « the household is not
        # on the RSA » holds when the RSA is false.
        assert [c.satisfaite for c in resultat.conditions] == [
            None if valeurs[n] is None else valeurs[n] != contraire
            for n, contraire in zip(_feuilles(racine), _sens(racine), strict=True)
        ]
