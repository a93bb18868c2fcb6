"""The quick paths of the compiled amounts give what the general ones give: a barème's bracket on
integer ratios (`choisir_tranche`, both bound conventions, values exactly on a bound), rounding on
integer ratios (`arrondir`, each direction), `egal`, a `Calcule` built at once; the amount memo
(`memos.memoriser`) keeps a result only for the very values read and switches itself off when it
seldom finds one; result objects built without `__init__` are the dataclasses' own."""

from __future__ import annotations

import itertools
from datetime import date
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_UP, Decimal
from fractions import Fraction
from typing import Any

import pytest

from app.rules import formules, memos
from app.rules.model import Tranche
from app.rules.montants import (
    Calcule,
    arrondi_direct,
    arrondir,
    calcule,
    choisir_tranche,
    egal,
    tranche_entre,
    tranches_entieres,
)
from app.rules.montants_rediges import _modele
from app.rules.results import (
    ConditionEvaluee,
    Evaluation,
    ReferenceReglement,
    ResultatDispositif,
    champs_resultat,
    evaluation,
)

D = Decimal

#: `moins_de` (de ≤ v < moins_de) and `jusqu_a` (plus_de < v ≤ jusqu_a), with decimal bounds.
MOINS_DE = (
    Tranche(None, D(450), D(180), "V1"),
    Tranche(D(450), D("900.5"), D(120), "V2"),
    Tranche(D("900.5"), None, D(40), "plein"),
)
JUSQU_A = (
    Tranche(None, None, D(201), "L1", jusqu_a=D(500)),
    Tranche(None, None, D(121), "L2", jusqu_a=D("800.25"), plus_de=D(500)),
    Tranche(None, None, D(61), "L3", plus_de=D("800.25")),
)
#: A gap (nothing from 10 to 20) and a bracket bounded both ways by both conventions.
TROUEE = (
    Tranche(D(0), D(10), D(1), "A"),
    Tranche(None, None, D(2), "B", jusqu_a=D(30), plus_de=D(20)),
)

BORNES = (D(0), D(10), D(20), D(30), D(450), D("900.5"), D(500), D("800.25"))


def _valeurs() -> list[Any]:
    """On each bound, either side of it (by a cent, by a third), in every type a reader gives."""
    valeurs: list[Any] = []
    for borne in BORNES:
        for ecart in (Fraction(0), Fraction(1, 100), Fraction(-1, 100), Fraction(1, 3), Fraction(-1, 3)):
            exacte = Fraction(borne) + ecart
            valeurs.append(exacte)
            if exacte.denominator == 1:
                valeurs.append(int(exacte))
            if ecart.denominator != 3:
                valeurs.append(Decimal(exacte.numerator) / Decimal(exacte.denominator))
        valeurs.append(borne.quantize(Decimal("0.001")))  # same value, another exponent
    return valeurs


@pytest.mark.parametrize("tranches", [MOINS_DE, JUSQU_A, TROUEE], ids=["moins_de", "jusqu_a", "trouee"])
def test_choisir_tranche_is_tranche_entre(tranches: tuple[Tranche, ...]) -> None:
    entieres = tranches_entieres(tranches)
    valeurs = _valeurs()
    for valeur in valeurs:
        assert choisir_tranche(entieres, tranches, valeur, valeur) is tranche_entre(tranches, valeur, valeur)
    for bas, haut in itertools.product(valeurs[::3], valeurs[::4]):  # intervals, straddling or not
        assert choisir_tranche(entieres, tranches, bas, haut) is tranche_entre(tranches, bas, haut)


def test_choisir_tranche_on_a_bound() -> None:
    moins_de, jusqu_a = tranches_entieres(MOINS_DE), tranches_entieres(JUSQU_A)
    assert choisir_tranche(moins_de, MOINS_DE, D(450), D(450)).libelle == "V2"  # type: ignore[union-attr]
    assert choisir_tranche(moins_de, MOINS_DE, Fraction(1801, 2), Fraction(1801, 2)).libelle == "plein"  # type: ignore[union-attr]
    assert choisir_tranche(jusqu_a, JUSQU_A, 500, 500).libelle == "L1"  # type: ignore[union-attr]
    assert choisir_tranche(jusqu_a, JUSQU_A, Fraction(3201, 4), Fraction(3201, 4)).libelle == "L2"  # type: ignore[union-attr]
    assert choisir_tranche(jusqu_a, JUSQU_A, D("800.26"), D("800.26")).libelle == "L3"  # type: ignore[union-attr]
    # An interval across a bound: no bracket (the caller asks for the proof).
    assert choisir_tranche(jusqu_a, JUSQU_A, D(499), D(501)) is None
    assert choisir_tranche(tranches_entieres(TROUEE), TROUEE, 15, 15) is None  # in the gap


def test_choisir_tranche_without_an_exact_ratio_goes_the_general_way() -> None:
    entieres = tranches_entieres(MOINS_DE)
    infini = Decimal("Infinity")
    assert choisir_tranche(entieres, MOINS_DE, infini, infini) is MOINS_DE[2]
    assert choisir_tranche(entieres, MOINS_DE, -infini, -infini) is MOINS_DE[0]
    with pytest.raises(TypeError):  # what `Tranche.contient` does with a date
        choisir_tranche(entieres, MOINS_DE, date(2026, 1, 1), date(2026, 1, 1))


def _arrondi_par_fraction(valeur: Any, pas: Decimal, sens: str) -> Decimal:
    """The rounding as the engine wrote it with `Fraction` arithmetic (the reference)."""
    multiple = Fraction(valeur) / Fraction(pas)
    if sens == "bas":
        entier = multiple.numerator // multiple.denominator
    elif sens == "haut":
        entier = -(-multiple.numerator // multiple.denominator)
    else:
        demi = multiple + Fraction(1, 2)
        entier = demi.numerator // demi.denominator
    return (Decimal(entier) * pas).quantize(pas) if pas <= 1 else Decimal(entier) * pas


@pytest.mark.parametrize("sens", ["bas", "haut", "plus_proche"])
@pytest.mark.parametrize("pas", [D("0.01"), D("0.1"), D(1), D(5), D("0.5"), D("0.05"), D(10)])
def test_arrondir_a_fraction_on_integer_ratios(pas: Decimal, sens: str) -> None:
    for numerateur in range(-310, 310, 7):
        for denominateur in (1, 2, 3, 4, 7, 10, 30, 100, 300):
            valeur = Fraction(numerateur, denominateur)
            attendu = _arrondi_par_fraction(valeur, pas, sens)
            obtenu = arrondir(valeur, pas, sens)
            assert str(obtenu) == str(attendu), (valeur, pas, sens)


@pytest.mark.parametrize(
    ("sens", "mode"), [("bas", ROUND_FLOOR), ("haut", ROUND_CEILING), ("plus_proche", ROUND_HALF_UP)]
)
def test_arrondir_a_decimal_or_an_int(sens: str, mode: str) -> None:
    assert all(arrondi_direct(pas) for pas in (D("0.01"), D(1), D("0.1")))
    assert not any(arrondi_direct(pas) for pas in (D(5), D("0.05"), D(10)))
    for valeur in (D("12.345"), D("-12.345"), D("12.5"), D("-12.5"), D(7), 7, -7, D("0.005")):
        assert str(arrondir(valeur, D("0.01"), sens)) == str(D(valeur).quantize(D("0.01"), rounding=mode))
        assert str(arrondir(valeur, D(5), sens)) == str((D(valeur) / 5).quantize(D(1), rounding=mode) * 5)


def test_egal() -> None:
    assert egal(D("2.50"), Fraction(5, 2))
    assert not egal(D("2.5"), Fraction(7, 3))
    assert egal(D(3), 3)
    assert egal(D("3.0"), D(3))
    assert not egal(D("3.01"), Fraction(3))


def test_calcule_is_a_decided_calcule() -> None:
    resultat = calcule(D(40), "V1", "Montant : 40 €.")
    attendu = Calcule()
    attendu.montant, attendu.tranche, attendu.phrase = D(40), "V1", "Montant : 40 €."
    for champ in Calcule.__slots__:
        assert getattr(resultat, champ) == getattr(attendu, champ)
    assert not resultat.vide
    assert not resultat.pieces


def test_a_formula_model_writes_what_its_pieces_say() -> None:
    """`_modele`: one `str.format` model whose fields take the text (item 2) of each name's reading
    by the rank it is read in, fixed texts kept to the brace; the same text as joining the pieces."""
    a, b = formules.Nom("a"), formules.Nom("b", 3, 17)
    gabarit = ("min({", a, "} × ", b, " ; ", a, ") {0[2]} }", b)
    rangs = {id(a): 1, id(b): 0}
    lus = ((D(2), D(2), "2 (les enfants {x})", None), (D(5), D(5), "5,50 € (le QF)", "€"))
    attendu = "".join(m if isinstance(m, str) else lus[rangs[id(m)]][2] for m in gabarit)
    assert _modele(gabarit, rangs).format(*lus) == attendu
    assert _modele(gabarit, rangs).format(*list(lus)) == attendu  # the readings on intervals: a list


# -- the amount memo ---------------------------------------------------------------------------------


class _Compteur:
    """A computation that counts its calls and returns a new object each time."""

    def __init__(self) -> None:
        self.appels = 0

    def __call__(self, connus: Any) -> object:
        self.appels += 1
        return ("résultat", connus["x"], self.appels)


def _lire(nom: str) -> Any:
    def lire(connus: Any) -> tuple[Any, Any] | None:
        valeur = connus.get(nom)
        if valeur is None:
            return None
        return valeur if isinstance(valeur, tuple) else (valeur, valeur)

    return lire


def test_memoriser_keeps_by_the_exact_values_read() -> None:
    calculer = _Compteur()
    memorise: Any = memos.memoriser((_lire("x"), _lire("y")), calculer)
    premier = memorise({"x": D(2), "y": 1})
    assert memorise({"x": D(2), "y": 1}) is premier
    assert calculer.appels == 1
    # Equal values of another type or exponent are other values: their own result.
    for x, y in ((D("2.0"), 1), (2, 1), (Fraction(2), 1), (D(2), True), (D(2), D(1)), (D(2), Fraction(1))):
        assert memorise({"x": x, "y": y}) is not premier
    assert calculer.appels == 7
    # An interval is one part of the key: (1, 2) then 3 is not 1 then (2, 3).
    a = memorise({"x": (1, 2), "y": 3})
    b = memorise({"x": 1, "y": (2, 3)})
    assert a is not b


def test_memoriser_does_not_keep_unknown_dates_or_texts() -> None:
    calculer = _Compteur()
    memorise: Any = memos.memoriser((_lire("x"), _lire("y")), calculer)
    for connus in ({"x": D(2)}, {"x": date(2020, 1, 1), "y": 1}, {"x": "texte", "y": 1}, {"x": 2, "y": [1]}):
        memorise(connus)
        memorise(connus)
    assert calculer.appels == 8  # each computed, none kept


def test_memoriser_of_a_rule_without_inputs() -> None:
    calculer = _Compteur()
    memorise: Any = memos.memoriser((), calculer)
    premier = memorise({"x": 1})
    assert all(memorise({"x": n}) is premier for n in range(500))
    assert calculer.appels == 1


def test_memoriser_switches_itself_off_when_it_seldom_finds() -> None:
    calculer = _Compteur()
    memorise: Any = memos.memoriser((_lire("x"),), calculer)
    # One in five found over the first ESSAIS_MEMO calls: below one in four, off for good.
    for n in range(memos.ESSAIS_MEMO):
        memorise({"x": n - n % 5 if n % 5 == 1 else n})
    appels = calculer.appels
    assert memorise({"x": 0}) is not memorise({"x": 0})  # computed each time now
    assert calculer.appels == appels + 2


def test_memoriser_stays_on_when_it_finds_often() -> None:
    calculer = _Compteur()
    memorise: Any = memos.memoriser((_lire("x"),), calculer)
    for n in range(memos.ESSAIS_MEMO * 2):
        memorise({"x": n % 4})  # 4 computed, every other found
    assert calculer.appels == 4
    assert memorise({"x": 1}) is memorise({"x": 1})


def _seldom_found(n: int) -> dict[str, Any]:
    """The n-th household of a run where one in five is found (below one in four: the memo goes off)."""
    return {"x": n - n % 5 if n % 5 == 1 else n}


def test_memoriser_hands_over_its_computation_when_it_switches_off() -> None:
    """With `remplacer`, the caller's slot holds the bare computation once the memo is off: calling
    it from then on gives what the memo (still called) gives without `remplacer`, call for call."""
    sans, avec = _Compteur(), _Compteur()
    memorise: Any = memos.memoriser((_lire("x"),), sans)
    place: list[Any] = []
    fente: Any = memos.memoriser((_lire("x"),), avec, place.append)
    for n in range(memos.ESSAIS_MEMO + 50):
        if n == memos.ESSAIS_MEMO - 1:
            assert place == []  # not before it switches off
        if place:
            fente = place[-1]
        assert fente(_seldom_found(n)) == memorise(_seldom_found(n))
    assert place == [avec]  # handed over once, the computation itself
    assert sans.appels == avec.appels


def test_memoriser_that_stays_on_hands_nothing_over() -> None:
    place: list[Any] = []
    calculer = _Compteur()
    memorise: Any = memos.memoriser((_lire("x"),), calculer, place.append)
    for n in range(memos.ESSAIS_MEMO * 2):
        memorise({"x": n % 4})
    assert place == []
    assert calculer.appels == 4


def test_memoriser_of_a_rule_without_inputs_hands_over_its_first_result() -> None:
    place: list[Any] = []
    calculer = _Compteur()
    premier_appel: Any = memos.memoriser((), calculer, place.append)
    premier = premier_appel({"x": 1})
    assert len(place) == 1
    assert all(place[0]({"x": n}) is premier for n in range(50))
    assert calculer.appels == 1


def test_memoriser_of_a_rule_without_inputs_that_raises_keeps_nothing() -> None:
    place: list[Any] = []
    appels = []

    def refuser(connus: Any) -> object:
        appels.append(connus)
        raise ValueError("repli")

    premier_appel: Any = memos.memoriser((), refuser, place.append)
    for _ in range(3):
        with pytest.raises(ValueError, match="repli"):
            premier_appel({})
    assert place == []
    assert len(appels) == 3


def test_memoriser_starts_afresh_past_its_bound(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(memos, "MONTANTS_EN_MEMO", 8)
    calculer = _Compteur()
    memorise: Any = memos.memoriser((_lire("x"),), calculer)
    premier = memorise({"x": 0})
    for n in range(1, 9):
        memorise({"x": n})
    assert memorise({"x": 0}) is not premier  # the memo was emptied, then refilled
    assert calculer.appels == 10


# -- result objects built without __init__ -----------------------------------------------------------


def test_evaluation_is_the_dataclass() -> None:
    reference = ReferenceReglement("r", "1", "sha256:0")
    condition = ConditionEvaluee("qf", "<=", D(1), D(1), True, D(0), None, None, None, "x.", None, "qf")
    resultat = ResultatDispositif("a", "A", "eligible", "m", (condition,))  # type: ignore[arg-type]
    construite = evaluation(reference, date(2026, 5, 15), (resultat,), (), ("qf",), ())
    attendue = Evaluation(reference, date(2026, 5, 15), (resultat,), (), ("qf",), ())
    assert construite == attendue
    assert hash(construite) == hash(attendue)
    assert repr(construite) == repr(attendue)
    assert champs_resultat(Evaluation) == (
        "reglement", "date_reference", "resultats", "parametres_appliques", "faits_utilises",
        "baremes_appliques",
    )  # fmt: skip
    assert champs_resultat(ConditionEvaluee)[-1] == "code"  # the generated code sets it last
