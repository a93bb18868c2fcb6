"""Justifications that are true, as a property: for generated règlements (nested « toutes »,
« au moins une », « au moins N », « non ») and households (facts true, false, on a threshold or
missing), every claim of the motif and of each condition's explanation is checked against an
independent three-valued evaluation of the tree.

- the status is the tree's outcome;
- each condition's `satisfaite` is its outcome in the sense the aid needs it (under a `non`, negated),
  and its sentence states a comparison that is true of the value and concludes accordingly;
- the motif names (`decisives`) only conditions in the claimed state, and all that decide: for a
  non-eligible aid, making the named conditions hold would lift the refusal; for an aid to verify,
  deciding the named conditions decides the aid; groups are named with « k remplie(s) sur m »;
- no fact is named in the motif unless it belongs to a condition the motif names;
- proofs are asked only for undecided conditions that decide.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.rules.derived import libelle_du_fait
from app.rules.engine import evaluer
from app.rules.explain import VERBES, VERBES_TEXTE
from app.rules.loader import ReglementInvalide, lire_reglement
from app.rules.model import RefFait
from app.rules.results import ResultatDispositif, Statut
from app.rules.simulation import lire_faits

JOUR = date(2026, 11, 26)
BOOLEENS = (
    "beneficiaire_rsa",
    "rsa_avec_majoration",
    "beneficiaire_prime_activite",
    "beneficiaire_aah",
    "beneficiaire_asf",
    "beneficiaire_c2s",
)
NOMBRES = ("quotient_familial_caf", "revenu_fiscal_de_reference", "impot_sur_le_revenu", "nombre_de_parts")
FAITS = BOOLEENS + NOMBRES
SEUIL = Decimal(500)
ENTETE = 'reglement: {id: j, version: "1", libelle: J, organisme: {nom: X}}\n'


@dataclass(frozen=True)
class Feuille:
    fait: str
    operateur: str
    valeur: bool | Decimal
    si_inconnu: str | None = None  # the règlement's reading of an unknown fact, if any


@dataclass(frozen=True)
class Groupe:
    genre: str  # toutes, au_moins_une, au_moins, non
    enfants: tuple[Arbre, ...]
    nombre: int = 1


Arbre = Feuille | Groupe


@st.composite
def formes(draw: st.DrawFn, profondeur: int = 0) -> Any:
    """A tree shape whose leaves are placeholders (None), at most 3 levels deep."""
    if profondeur >= 3 or draw(st.integers(0, 2)) == 0:
        return None
    genre = draw(st.sampled_from(["toutes", "au_moins_une", "au_moins", "non"]))
    if genre == "non":
        return ("non", [draw(formes(profondeur + 1))])
    enfants = draw(st.lists(formes(profondeur + 1), min_size=1, max_size=4))
    nombre = draw(st.integers(1, len(enfants))) if genre == "au_moins" else 1
    return (genre, enfants, nombre)


def _compter(forme: Any) -> int:
    return 1 if forme is None else sum(_compter(e) for e in forme[1])


@st.composite
def aides(draw: st.DrawFn) -> tuple[Arbre, ...]:
    """Top-level conditions using each fact at most once (so that labels identify leaves)."""
    racine = draw(st.lists(formes(), min_size=1, max_size=4).filter(lambda f: sum(map(_compter, f)) <= 10))
    faits = iter(draw(st.permutations(FAITS)))

    def batir(forme: Any) -> Arbre:
        if forme is None:
            fait = next(faits)
            si_inconnu = draw(st.sampled_from([None, None, None, "remplie", "non_remplie"]))
            if fait in BOOLEENS:
                return Feuille(fait, draw(st.sampled_from(["==", "!="])), draw(st.booleans()), si_inconnu)
            return Feuille(fait, draw(st.sampled_from(["<=", "<", ">=", ">", "==", "!="])), SEUIL, si_inconnu)
        if forme[0] == "non":
            return Groupe("non", (batir(forme[1][0]),))
        return Groupe(forme[0], tuple(batir(e) for e in forme[1]), forme[2])

    return tuple(batir(f) for f in racine)


valeurs_faits = st.fixed_dictionaries(
    {
        **{n: st.sampled_from([True, False, None]) for n in BOOLEENS},
        # On the threshold in a third of the cases.
        **{n: st.sampled_from([Decimal(499), SEUIL, Decimal(501), None]) for n in NOMBRES},
    }
)


class Codes:
    def __init__(self) -> None:
        self.n = 0

    def suivant(self, prefixe: str) -> str:
        self.n += 1
        return f"{prefixe}{self.n}"


def _yaml(arbre: Arbre, codes: dict[int, str], compteur: Codes) -> dict[str, Any]:
    code = codes.setdefault(id(arbre), compteur.suivant("c"))
    if isinstance(arbre, Feuille):
        valeur = arbre.valeur if isinstance(arbre.valeur, bool) else int(arbre.valeur)
        feuille = {"fait": arbre.fait, "operateur": arbre.operateur, "valeur": valeur, "code": code}
        return feuille if arbre.si_inconnu is None else {**feuille, "si_inconnu": arbre.si_inconnu}
    enfants = [_yaml(e, codes, compteur) for e in arbre.enfants]
    if arbre.genre == "non":
        return {"non": enfants[0], "code": code}
    if arbre.genre == "au_moins":
        return {"au_moins": {"nombre": arbre.nombre, "parmi": enfants}, "code": code}
    return {arbre.genre: enfants, "code": code}


_OPERATIONS = {
    "<=": lambda v, s: v <= s,
    "<": lambda v, s: v < s,
    ">=": lambda v, s: v >= s,
    ">": lambda v, s: v > s,
    "==": lambda v, s: v == s,
    "!=": lambda v, s: v != s,
}


class Reference:
    """An independent, classical evaluation of the written tree (`non` negates its child's outcome),
    which also records each node's outcome in the sense the aid needs it, by the code the compiled
    node carries (under a `non`: the `non`'s code, deeper `non-<code>`)."""

    def __init__(self, faits: Mapping[str, bool | Decimal | None], codes: dict[int, str]) -> None:
        self.faits = faits
        self.codes = codes
        self.valeurs: dict[str, bool | None] = {}  # compiled code → outcome in the aid's sense
        self.feuilles: dict[str, tuple[Feuille, bool]] = {}  # compiled leaf code → (leaf, negated)
        self.sous: dict[str, list[str]] = {}  # compiled code → compiled leaf codes beneath
        self.enfants: dict[str, list[str]] = {}  # compiled group code → compiled child codes

    def evaluer(self, racine: Arbre, forces: Mapping[str, bool | None] | None = None) -> bool | None:
        """The root's outcome; `forces` sets some compiled nodes' outcomes (in the aid's sense)."""
        return self._brut(racine, False, None, forces)[0]

    def _brut(
        self, arbre: Arbre, contraire: bool, code: str | None, forces: Mapping[str, bool | None] | None
    ) -> tuple[bool | None, str]:
        """(outcome as written, compiled code)."""
        propre = self.codes[id(arbre)]
        code = code or (f"non-{propre}" if contraire else propre)
        if isinstance(arbre, Groupe) and arbre.genre == "non":
            enfant, code = self._brut(arbre.enfants[0], not contraire, code, forces)
            return (None if enfant is None else not enfant), code
        if forces is not None and code in forces:
            force = forces[code]
            return (None if force is None else force != contraire), code
        if isinstance(arbre, Feuille):
            brut = self.faits[arbre.fait]
            if brut is not None:
                issue = _OPERATIONS[arbre.operateur](brut, arbre.valeur)
            else:  # unknown: as the règlement says, else undecided
                issue = None if arbre.si_inconnu is None else arbre.si_inconnu == "remplie"
            if forces is None:
                self.feuilles[code] = (arbre, contraire)
                self.sous[code] = [code]
        else:
            resultats = [self._brut(e, contraire, None, forces) for e in arbre.enfants]
            issues = [r[0] for r in resultats]
            vrais, inconnus = issues.count(True), issues.count(None)
            nombre = {"toutes": len(issues), "au_moins_une": 1, "au_moins": arbre.nombre}[arbre.genre]
            issue = True if vrais >= nombre else None if vrais + inconnus >= nombre else False
            if forces is None:
                self.enfants[code] = [r[1] for r in resultats]
                self.sous[code] = [f for r in resultats for f in self.sous[r[1]]]
        if forces is None:
            self.valeurs[code] = None if issue is None else issue != contraire
        return issue, code


def _racine(conditions: tuple[Arbre, ...]) -> Groupe:
    return Groupe("toutes", conditions)


def _verifier_phrase(resultat: ResultatDispositif, reference: Reference) -> None:
    for condition in resultat.conditions:
        assert condition.code is not None
        feuille, contraire = reference.feuilles[condition.code]
        assert condition.satisfaite is reference.valeurs[condition.code]
        texte = condition.explication
        if condition.satisfaite is None:
            assert texte.endswith("condition à vérifier.") or "condition à vérifier ;" in texte
            assert "condition remplie" not in texte
            assert "condition non remplie" not in texte
            continue
        # The sentence states « value OP threshold » (or its negative) for the operator it shows,
        # which is the written one or, under a `non`, its opposite …
        brut = reference.faits[feuille.fait]
        if brut is None:  # decided by the règlement's reading of an unknown fact
            assert feuille.si_inconnu is not None
            conclusion = "condition remplie" if condition.satisfaite else "condition non remplie"
            assert texte.endswith(
                f" : {conclusion}, comme le prévoit le règlement quand la donnée est inconnue."
            )
            assert condition.piece_justificative is None
            continue
        attendu_op = {"<=": ">", ">": "<=", "<": ">=", ">=": "<", "==": "!=", "!=": "=="}[feuille.operateur]
        assert condition.operateur == (attendu_op if contraire else feuille.operateur)
        vrai = _OPERATIONS[condition.operateur](brut, feuille.valeur)
        # … which is true of the value exactly when the condition is said to hold …
        assert vrai is condition.satisfaite
        verbes = VERBES_TEXTE.get(condition.operateur, VERBES[condition.operateur])
        if feuille.fait in NOMBRES:
            verbes = VERBES[condition.operateur]
        verbe = verbes[0] if vrai else verbes[1]
        assert f") {verbe} " in texte
        # … and concludes accordingly.
        conclusion = "condition remplie" if condition.satisfaite else "condition non remplie"
        assert f" : {conclusion}" in texte
        montre = ("oui" if brut else "non") if isinstance(brut, bool) else f"{brut:,}".replace(",", " ")
        libelle = libelle_du_fait(RefFait(feuille.fait))
        assert texte.startswith(f"{libelle[:1].upper()}{libelle[1:]} ({montre}")
        assert texte[len(libelle) + 2 + len(montre)] in ", "


def _verifier_motif(
    resultat: ResultatDispositif, racine: Groupe, reference: Reference, verdict: bool | None
) -> None:
    decisives = resultat.decisives
    assert decisives, resultat.motif
    assert len(set(decisives)) == len(decisives)
    for code in decisives:
        assert reference.valeurs[code] is verdict, (code, resultat.motif)
    if verdict is False:
        # Complete: were the named conditions met, the aid would no longer be refused.
        assert reference.evaluer(racine, forces=dict.fromkeys(decisives, True)) is not False
        assert resultat.motif.startswith("Non éligible : ")
    elif verdict is None:
        # Exactly what is left to decide: deciding them decides the aid, either way.
        assert reference.evaluer(racine, forces=dict.fromkeys(decisives, True)) is True
        assert reference.evaluer(racine, forces=dict.fromkeys(decisives, False)) is False
        assert resultat.motif.startswith("À vérifier : ")
    else:
        assert resultat.motif.startswith("Éligible : ")
    # No fact is named unless one of the named conditions reads it.
    nommees = {f for code in decisives for f in reference.sous[code]}
    for code, (feuille, _) in reference.feuilles.items():
        libelle = libelle_du_fait(RefFait(feuille.fait))
        if code not in nommees:
            assert libelle not in resultat.motif, (libelle, resultat.motif)
    # Groups are named with how many of how many held.
    for code in decisives:
        if code in reference.feuilles:
            continue
        enfants = [reference.valeurs[c] for c in reference.enfants[code]]
        vrais, inconnus = enfants.count(True), enfants.count(None)
        compte = f"{vrais} {'remplies' if vrais > 1 else 'remplie'} sur {len(enfants)}"
        if inconnus:
            compte += f", {inconnus} {'indéterminées' if inconnus > 1 else 'indéterminée'}"
        assert compte in resultat.motif, (compte, resultat.motif)
    # Proofs only for undecided leaves that decide.
    pieces = {
        c.piece_justificative for c in resultat.conditions if c.code in nommees and c.satisfaite is None
    }
    assert set(resultat.pieces_justificatives) <= pieces
    if verdict is not None:
        assert resultat.pieces_justificatives == ()


@settings(max_examples=300, deadline=None)
@given(conditions=aides(), faits=valeurs_faits)
def test_every_claim_of_the_justification_agrees_with_the_tree(
    conditions: tuple[Arbre, ...], faits: dict[str, bool | Decimal | None]
) -> None:
    codes: dict[int, str] = {}
    compteur = Codes()
    yaml_conditions = [_yaml(c, codes, compteur) for c in conditions]
    texte = (
        ENTETE
        + "dispositifs: "
        + json.dumps([{"id": "aide", "libelle": "Aide", "conditions": yaml_conditions}])
    )
    reglement = lire_reglement(texte, "j.yaml")
    donnees = {n: (v if isinstance(v, bool) else str(v)) for n, v in faits.items() if v is not None}
    (resultat,) = evaluer(reglement, lire_faits(donnees), JOUR).resultats

    racine = _racine(conditions)
    codes[id(racine)] = "racine"
    reference = Reference(faits, codes)
    verdict = reference.evaluer(racine)

    statuts = {True: Statut.ELIGIBLE, False: Statut.NON_ELIGIBLE, None: Statut.A_VERIFIER}
    assert resultat.statut is statuts[verdict]
    assert [c.code for c in resultat.conditions] == list(reference.feuilles)
    _verifier_phrase(resultat, reference)
    _verifier_motif(resultat, racine, reference, verdict)


_EXEMPLE = (
    ENTETE
    + """dispositifs:
  - id: aide
    libelle: Aide
    conditions:
      - {fait: quotient_familial_caf, operateur: "<=", valeur: 600, code: plafond-qf}
      - non: {fait: beneficiaire_rsa, operateur: "==", valeur: true}
      - au_moins:
          nombre: 2
          parmi:
            - {fait: beneficiaire_aah, operateur: "==", valeur: true}
            - {fait: beneficiaire_asf, operateur: "==", valeur: true}
            - {fait: beneficiaire_c2s, operateur: "==", valeur: true}
            - {fait: nombre_enfants, age_max: 17, operateur: ">=", valeur: 3}
"""
)


def _resultat(**faits: Any) -> ResultatDispositif:
    (resultat,) = evaluer(lire_reglement(_EXEMPLE, "e.yaml"), lire_faits(faits), JOUR).resultats
    return resultat


def test_codes_are_given_or_derived_and_exposed() -> None:
    resultat = _resultat(quotient_familial_caf=500)
    assert [c.code for c in resultat.conditions] == [
        "plafond-qf",
        "non-beneficiaire_rsa",
        "beneficiaire_aah",
        "beneficiaire_asf",
        "beneficiaire_c2s",
        "nombre_enfants-0-17",
    ]


def test_a_code_written_twice_in_an_aid_is_refused() -> None:
    double = "{fait: beneficiaire_aah, operateur: '==', valeur: true, code: plafond-qf}"
    texte = _EXEMPLE.replace("      - non:", f"      - {double}\n      - non:")
    with pytest.raises(ReglementInvalide) as erreur:
        lire_reglement(texte, "e.yaml")
    assert erreur.value.message == "code de condition « plafond-qf » en double dans l'aide"


def test_a_failed_at_least_group_is_stated_with_its_count() -> None:
    resultat = _resultat(
        quotient_familial_caf=500, beneficiaire_rsa=False, beneficiaire_aah=True,
        beneficiaire_asf=False, beneficiaire_c2s=False, enfants=[],
    )  # fmt: skip
    assert resultat.statut is Statut.NON_ELIGIBLE
    assert resultat.decisives == ("au_moins_2",)
    assert resultat.motif == (
        "Non éligible : condition non remplie : « au moins 2 des 4 conditions » (le bénéfice de "
        "l'allocation aux adultes handicapés, le bénéfice de l'allocation de soutien familial, le "
        "bénéfice de la complémentaire santé solidaire, le nombre d'enfants à charge âgés de 17 ans au "
        "plus) : 1 remplie sur 4."
    )


def test_non_is_explained_in_the_sense_the_aid_needs() -> None:
    resultat = _resultat(quotient_familial_caf=500, beneficiaire_rsa=False)
    condition = resultat.conditions[1]
    assert condition.satisfaite is True
    assert condition.operateur == "!="
    assert condition.explication.startswith("Le bénéfice du RSA (non, ")
    assert condition.explication.endswith(" ne vaut pas oui : condition remplie.")
    refuse = _resultat(quotient_familial_caf=500, beneficiaire_rsa=True)
    assert refuse.conditions[1].satisfaite is False
    assert refuse.conditions[1].explication.endswith(" vaut oui : condition non remplie.")
    assert refuse.motif == (
        "Non éligible : condition non remplie sur le bénéfice du RSA (condition « non »)."
    )


def test_an_undecided_condition_inside_a_decided_group_asks_for_nothing() -> None:
    resultat = _resultat(
        quotient_familial_caf=500, beneficiaire_rsa=False, beneficiaire_aah=True, beneficiaire_asf=True
    )
    assert resultat.statut is Statut.ELIGIBLE
    assert resultat.pieces_justificatives == ()
    assert "2 remplies sur 4, 2 indéterminées" in resultat.motif
    incertain = _resultat(beneficiaire_rsa=False, beneficiaire_aah=True, beneficiaire_asf=True)
    assert incertain.statut is Statut.A_VERIFIER
    assert incertain.decisives == ("plafond-qf",)
    assert incertain.pieces_justificatives == (
        "attestation de quotient familial CAF ou MSA datant de moins de trois mois",
    )
