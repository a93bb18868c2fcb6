"""The amount memo: a result is reused only for the very values (type and digits) it was worked
out from, and the memo starts afresh past its bound."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from fractions import Fraction

import pytest

from app.rules import memos
from app.rules.comparison import Resolution, Resolveur
from app.rules.facts import RefFait
from app.rules.montants import Calcule
from app.rules.plan import Regles

REF = RefFait("ressources_mensuelles")


class _Lecteur(Resolveur):
    """Gives one value for every fact, and counts the reads."""

    __slots__ = ("lectures", "valeur")

    def __init__(self, valeur: object) -> None:
        self.valeur = valeur
        self.lectures = 0
        self.jour = date(2026, 5, 15)

    def resoudre_frais(self, ref: RefFait, regles: Regles) -> Resolution:
        self.lectures += 1
        if self.valeur is None:
            return Resolution("les ressources", "€", inconnu="donnée non fournie", pieces=("bulletins",))
        return Resolution("les ressources", "€", self.valeur, self.valeur)


def _double(lecteur: Resolveur) -> Calcule:
    resultat = Calcule()
    resolution = lecteur.resoudre_frais(REF, ())
    if resolution.inconnu is None:
        resultat.montant = resolution.bas * 2
    else:
        resultat.vide = [resolution.libelle]
    return resultat


def test_a_result_is_reused_for_the_same_value_only() -> None:
    memo = memos.MemoMontant()
    premier = memo.calcule(_Lecteur(Decimal(10)), _double)
    assert premier.montant == Decimal(20)
    lecteur = _Lecteur(Decimal(10))
    assert memo.calcule(lecteur, _double) is premier
    assert lecteur.lectures == 1  # the walk down the memo reads what the computation reads
    # Equal values of another type or another exponent are other values: their own result.
    for autre in (Decimal("10.0"), 10, Fraction(10), True):
        resultat = memo.calcule(_Lecteur(autre), _double)
        assert resultat is not premier
        assert str(resultat.montant) == str(autre * 2)
    inconnu = memo.calcule(_Lecteur(None), _double)
    assert inconnu.montant is None
    assert inconnu.vide == ["les ressources"]
    assert memo.calcule(_Lecteur(None), _double) is inconnu


def test_the_memo_starts_afresh_past_its_bound(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(memos, "MONTANTS_EN_MEMO", 3)
    memo = memos.MemoMontant()
    for n in range(3):
        memo.calcule(_Lecteur(Decimal(n)), _double)
    assert memo.taille == 3
    memo.calcule(_Lecteur(Decimal(7)), _double)
    assert memo.taille == 1
    assert memo.calcule(_Lecteur(Decimal(7)), _double).montant == Decimal(14)


def test_a_computation_reading_a_date_or_a_text_is_not_kept() -> None:
    """Only numbers and yes/no become keys: never a birth date, a name or an address."""
    memo = memos.MemoMontant()
    for valeur in (date(1950, 3, 4), "08105", ("08105", "75056")):
        lecteur = _Lecteur(valeur)
        resultat = memo.calcule(lecteur, _garder)
        assert resultat.tranche == str(valeur)
        assert memo.taille == 0
        assert memo.racine.branches == {}
        assert memo.calcule(_Lecteur(valeur), _garder) is not resultat


def _garder(lecteur: Resolveur) -> Calcule:
    resultat = Calcule()
    resultat.tranche = str(lecteur.resoudre_frais(REF, ()).bas)
    return resultat
