"""An aid's amount compiled for verdicts: what `montants.Calculateur(…, rediger=False)` works out
(amount, tranche, or undecided), as closures made once per (règlement, date, amount rule), reading
the facts through the plan's compiled readers, with the parameters, barème versions, readers and
bounds in force at the date already looked up. No sentence is written; no `Resolution` is built.

It follows `Calculateur` step by step (tested against it: tests/rules/test_compiled.py), including
its corners: a barème's tranche kept when a later read is unknown and the règlement gives an amount
for unknown data, a decision table read row by row and stopped at the first row that holds.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date
from decimal import Decimal
from typing import Any

from app.rules import calcules, explain, formules
from app.rules.derived import Incalculable
from app.rules.facts import Fait, RefFait
from app.rules.lecteurs import Lecture, lecture
from app.rules.logic import COMPARATEURS
from app.rules.memos import memoriser
from app.rules.model import EnVigueur, Montant, Reglement
from app.rules.montants import (
    SENS_ARRONDI,
    arrondi_direct,
    arrondir,
    choisir_tranche,
    multiple,
    tranches_entieres,
    valeur_borne,
)
from app.rules.plan import Regles

Connus = Mapping[str, Fait]


class _Inconnu(Exception):
    """An input of the amount is unknown (what, is of no use to a verdict)."""


_INCONNU = _Inconnu()


class Resultat:
    """What a verdict reads of an amount: as `montants.Calcule` (`vide` true when undecided)."""

    __slots__ = ("montant", "tranche", "vide")

    def __init__(self, montant: Decimal | None, tranche: str | None, vide: bool) -> None:
        self.montant = montant
        self.tranche = tranche
        self.vide = vide


Montant_ = Callable[[Connus], Resultat]
_Valeur = Callable[[Connus], tuple[Any, Any]]


class AMontant:
    """What compiling one amount rule for a date starts from (here and in montants_rediges.py)."""

    def __init__(
        self, reglement: Reglement, vigueur: EnVigueur, regles: Mapping[RefFait, Regles], jour: date
    ) -> None:
        self.reglement = reglement
        self.vigueur = vigueur
        self.regles = regles  # the freshness rules of what the amount reads
        self.jour = jour
        #: The reader of every fact the rule may read, by fact: the key of its memo (`memoriser`).
        self.lectures: dict[RefFait, Lecture] = {}

    def _limite(self, borne: Decimal | str) -> Decimal:
        return valeur_borne(borne, self.vigueur)

    def valeur_fixe(self, regle: Montant) -> Decimal | None:
        """The rule's fixed amount: its own value, or its parameter's value in force."""
        if regle.parametre is None:
            return regle.valeur
        valeur = self.vigueur.parametre(regle.parametre).valeur
        if not isinstance(valeur, Decimal):  # pragma: no cover - the loader checks the type
            raise TypeError(regle.parametre)
        return valeur


class _Compilateur(AMontant):
    def lire(self, ref: RefFait) -> Lecture:
        """The reader of a fact as `Calculateur.resoudre` reads it (the amount's freshness rules)."""
        lire = lecture(ref, self.regles.get(ref, ()), self.reglement, self.jour)
        self.lectures.setdefault(ref, lire)
        return lire

    def bareme(self, nom: str) -> Callable[[Connus], tuple[Decimal | None, str | None]]:
        bareme = self.reglement.baremes[nom]
        tranches = self.vigueur.bareme(nom).tranches
        lire = self.lire(bareme.fait)
        defaut = (
            None if bareme.si_inconnu is None else next(t for t in tranches if t.libelle == bareme.si_inconnu)
        )
        colonnes = bareme.colonnes
        # Each column's rank by identity (`choisir_tranche` gives one of them): no dataclass `==`.
        rangs = {} if colonnes is None else {id(c): r for r, c in enumerate(colonnes.classes)}
        lire_colonne = self.lire(colonnes.fait) if colonnes is not None else None
        entieres = tranches_entieres(tranches)
        classes = () if colonnes is None else colonnes.classes
        classes_entieres = tranches_entieres(classes)

        def calculer(connus: Connus) -> tuple[Decimal | None, str | None]:
            valeurs = lire(connus)
            tranche = None if valeurs is None else choisir_tranche(entieres, tranches, valeurs[0], valeurs[1])
            if tranche is None:
                if defaut is None:
                    raise _INCONNU
                tranche = defaut
            montant = tranche.montant
            if colonnes is not None and tranche.montants is not None:
                assert lire_colonne is not None  # noqa: S101 - set with `colonnes`
                colonne = lire_colonne(connus)
                if colonne is None:
                    raise _INCONNU
                classe = choisir_tranche(classes_entieres, classes, colonne[0], colonne[1])
                if classe is None:
                    raise _INCONNU
                rang = rangs.get(id(classe))
                montant = tranche.montants[colonnes.classes.index(classe) if rang is None else rang]
            return montant, tranche.libelle

        return calculer

    def table(self, nom: str) -> Callable[[Connus], tuple[Decimal | None, str | None]]:
        lignes = []
        for ligne in self.reglement.tables[nom].lignes:
            tests = tuple((self.lire(t.fait), COMPARATEURS[t.operateur], t.valeur) for t in ligne.tests)
            lignes.append((ligne.autre, tests, ligne.montant, ligne.libelle))

        def calculer(connus: Connus) -> tuple[Decimal | None, str | None]:
            for autre, tests, montant, libelle in lignes:
                if autre:
                    return montant, libelle
                for lire, comparer, valeur in tests:
                    valeurs = lire(connus)
                    if valeurs is None:
                        raise _INCONNU
                    issue = comparer(valeurs[0], valeurs[1], valeur)
                    if issue is None:
                        raise _INCONNU
                    if not issue:
                        break
                else:
                    return montant, libelle
            raise AssertionError(nom)  # pragma: no cover - the loader requires a last row « autre »

        return calculer

    def nom(self, nom: formules.Nom) -> _Valeur:
        """(low, high) of a name in an amount formula (as `Calculateur.nom`)."""
        reglement = self.reglement
        if nom.nom in reglement.parametres:
            valeur = self.vigueur.parametre(nom.nom).valeur
            constante = (valeur, valeur)
            return lambda connus: constante
        if nom.nom in reglement.baremes or nom.nom in reglement.tables:
            lire_montant = self.bareme(nom.nom) if nom.nom in reglement.baremes else self.table(nom.nom)

            def montant(connus: Connus) -> tuple[Any, Any]:
                valeur = lire_montant(connus)[0]
                if valeur is None:
                    raise _INCONNU
                return valeur, valeur

            return montant
        lire = self.lire(RefFait(nom.nom, nom.age_min, nom.age_max))

        def fait(connus: Connus) -> tuple[Any, Any]:
            valeurs = lire(connus)
            if valeurs is None:
                raise _INCONNU
            bas, haut = valeurs
            if isinstance(bas, bool):
                bas = haut = int(bas)
            return bas, haut

        return fait

    def bornes(self, regle: Montant) -> Callable[[Any], Decimal]:
        """Floor, cap, then rounding (as `Calculateur._bornes`, without its words)."""
        plancher = None if regle.plancher is None else self._limite(regle.plancher)
        plafond = None if regle.plafond is None else self._limite(regle.plafond)
        pas, sens = regle.arrondi, regle.sens_arrondi
        inferieur = formules.inferieur
        # 0.01, 0.1, 1: a Decimal is quantized directly (as `arrondir` does, without its checks);
        # any other step (5, 0.5) by `multiple`.
        direct = arrondi_direct(pas)
        mode = SENS_ARRONDI[sens]

        def borner(valeur: Any) -> Decimal:
            if plancher is not None and inferieur(valeur, plancher):
                valeur = plancher
            if plafond is not None and inferieur(plafond, valeur):
                valeur = plafond
            if type(valeur) is Decimal:
                return valeur.quantize(pas, rounding=mode) if direct else multiple(valeur, pas, mode)
            return arrondir(valeur, pas, sens)

        return borner

    def montant(self, regle: Montant) -> Montant_:
        si_inconnu = regle.si_inconnu
        borner = self.bornes(regle)
        if regle.formule is not None:
            calcul = self._formule(regle, borner)
        elif regle.table is not None:
            calcul = self._table(regle.table, borner)
        else:
            calcul = self._historique(regle, borner)

        nouveau = object.__new__

        def calculer(connus: Connus) -> Resultat:
            resultat = nouveau(Resultat)  # no `__init__` frame: each field set here
            resultat.montant = resultat.tranche = None
            resultat.vide = False
            try:
                calcul(connus, resultat)
            except _Inconnu:
                if si_inconnu is not None:
                    resultat.montant = si_inconnu
                else:
                    resultat.vide = True
            return resultat

        return calculer

    def _table(self, nom: str, borner: Callable[[Any], Decimal]) -> Callable[[Connus, Resultat], None]:
        lire = self.table(nom)

        def calculer(connus: Connus, resultat: Resultat) -> None:
            montant, resultat.tranche = lire(connus)
            if montant is not None:
                resultat.montant = borner(montant)

        return calculer

    def _historique(
        self, regle: Montant, borner: Callable[[Any], Decimal]
    ) -> Callable[[Connus, Resultat], None]:
        fixe = self.valeur_fixe(regle)
        lire_bareme = None if regle.bareme is None else self.bareme(regle.bareme)
        lire_facteur = None if regle.multiplie_par is None else self.lire(regle.multiplie_par)

        def calculer(connus: Connus, resultat: Resultat) -> None:
            base = fixe
            if lire_bareme is not None:
                base, resultat.tranche = lire_bareme(connus)
            if base is None:
                return
            if lire_facteur is not None:
                facteur = lire_facteur(connus)
                if facteur is None or facteur[0] != facteur[1]:
                    raise _INCONNU
                base = base * explain.vers_decimal(facteur[0])
            resultat.montant = borner(base)

        return calculer

    def _formule(
        self, regle: Montant, borner: Callable[[Any], Decimal]
    ) -> Callable[[Connus, Resultat], None]:
        expression = regle.formule
        assert expression is not None  # noqa: S101 - the caller checks it
        valeurs = {n: self.nom(n) for n in dict.fromkeys(formules.noms(expression))}
        calculer_formule = formules.compiler(expression)
        genere = calcules.generer(expression, self._lecture_du_nom(valeurs))[0]
        jour = self.jour

        def calculer(connus: Connus, resultat: Resultat) -> None:
            try:
                try:
                    resultat.montant = borner(genere(connus, jour)[0])
                    return
                except formules.NonPonctuel:  # an interval (a partial birth date): as `Calculateur`
                    lus: dict[formules.Nom, tuple[Any, Any]] = {}

                    def valeur(nom: formules.Nom) -> tuple[Any, Any]:
                        lu = lus.get(nom)
                        if lu is None:
                            lu = lus[nom] = valeurs[nom](connus)
                        return lu

                    bas, haut = calculer_formule(valeur)
            except Incalculable as exc:
                raise _INCONNU from exc
            final = borner(bas)
            if final != borner(haut):
                raise _INCONNU
            resultat.montant = final

        return calculer

    def _lecture_du_nom(
        self, valeurs: Mapping[formules.Nom, _Valeur]
    ) -> Callable[[formules.Nom], calcules.Lecture]:
        """How the generated formula reads a name: a parameter's value in force, bound; anything
        else through its compiled reader (`nom`)."""
        reglement = self.reglement

        def lecture_du_nom(nom: formules.Nom) -> calcules.Lecture:
            if nom.nom in reglement.parametres:
                valeur = self.vigueur.parametre(nom.nom).valeur
                if type(valeur) is Decimal:
                    return ("constante", None, valeur)
            return ("valeurs", valeurs[nom], None)

        return lecture_du_nom


def compiler_montant(
    regle: Montant,
    reglement: Reglement,
    vigueur: EnVigueur,
    regles: Mapping[RefFait, Regles],
    jour: date,
    *,
    remplacer: Callable[[Montant_], object] | None = None,
) -> Montant_:
    """The amount rule `regle` of an aid (`regles`: the freshness rules of what it reads), compiled
    for the date whose dated values are `vigueur`, kept by the values it reads (`memos.memoriser`,
    which may hand `remplacer` a cheaper equivalent)."""
    compilateur = _Compilateur(reglement, vigueur, regles, jour)
    calculer = compilateur.montant(regle)
    return memoriser(tuple(compilateur.lectures.values()), calculer, remplacer)
