"""An aid's amount with its sentence, compiled for full evaluations: what `montants.Calculateur`
writes when every value it reads is known and decides (the usual case), as closures made once per
(règlement, date, amount rule), reading the facts through the plan's compiled readers, with the
labels, units, parameters' texts and barème versions in force at the date worked out once.

Anything else (an unknown or stale value, an interval straddling two tranches, a division by zero,
an amount the règlement gives for unknown data) raises `Repli`: the caller then asks `Calculateur`,
whose sentences say what is missing and which proof to ask for. Every sentence is the one
`Calculateur` writes, byte for byte (tests/rules/test_compiled.py compares them).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date
from decimal import Decimal
from fractions import Fraction
from typing import Any

from app.rules import calcules, explain, formules
from app.rules.derived import Incalculable, libelle_du_fait
from app.rules.facts import Fait, RefFait
from app.rules.lecteurs import Lecture, lecture
from app.rules.logic import COMPARATEURS
from app.rules.memos import memoriser
from app.rules.model import EnVigueur, Montant, Reglement
from app.rules.montants import (
    SENS_ARRONDI,
    Calcule,
    arrondi_direct,
    arrondir,
    calcule,
    choisir_tranche,
    egal,
    tranches_entieres,
)
from app.rules.montants_compiles import AMontant
from app.rules.plan import Regles

Connus = Mapping[str, Fait]


class Repli(Exception):
    """The amount needs `Calculateur`: a value it reads is unknown or does not decide."""


_REPLI = Repli()
#: (low, high, French text with value, unit) of a name in a formula, as `Calculateur.nom`.
_Nom = Callable[[Connus], tuple[Any, Any, str, str | None]]
#: (amount, tranche or row label, French detail) of a barème or a table.
_Lu = Callable[[Connus], tuple[Decimal | None, str | None, str]]


class _Fait:
    """A fact as an amount reads it: its reader (the amount's freshness rules), label and unit."""

    __slots__ = ("libelle", "lire", "unite")

    def __init__(
        self, ref: RefFait, regles: Mapping[RefFait, Regles], reglement: Reglement, jour: date
    ) -> None:
        catalogue = reglement.catalogue
        self.lire: Lecture = lecture(ref, regles.get(ref, ()), reglement, jour)
        self.libelle = libelle_du_fait(ref, catalogue)
        self.unite = catalogue.unite(ref.nom)

    def valeurs(self, connus: Connus) -> tuple[Any, Any]:
        valeurs = self.lire(connus)
        if valeurs is None:
            raise _REPLI
        return valeurs


class _Redacteur(AMontant):
    def fait(self, ref: RefFait) -> _Fait:
        fait = _Fait(ref, self.regles, self.reglement, self.jour)
        self.lectures.setdefault(ref, fait.lire)
        return fait

    def bareme(self, nom: str) -> _Lu:
        """As `Calculateur.bareme` when the value and the column are known and decide."""
        bareme = self.reglement.baremes[nom]
        tranches = self.vigueur.bareme(nom).tranches
        fait = self.fait(bareme.fait)
        colonnes = bareme.colonnes
        # Each column's rank by identity (`choisir_tranche` gives one of them): no dataclass `==`.
        rangs = {} if colonnes is None else {id(c): r for r, c in enumerate(colonnes.classes)}
        colonne = self.fait(colonnes.fait) if colonnes is not None else None
        entieres = tranches_entieres(tranches)
        classes = () if colonnes is None else colonnes.classes
        classes_entieres = tranches_entieres(classes)
        nombre = explain.nombre
        debut_pour = f"pour {fait.libelle} de "
        libelle = bareme.libelle
        lire, unite = fait.lire, fait.unite

        def calculer(connus: Connus) -> tuple[Decimal | None, str | None, str]:
            valeurs = lire(connus)  # as `_Fait.valeurs`, without its frame (each household)
            if valeurs is None:
                raise _REPLI
            bas, haut = valeurs
            tranche = choisir_tranche(entieres, tranches, bas, haut)
            if tranche is None:
                raise _REPLI
            pour = debut_pour + nombre(bas, unite)
            montant = tranche.montant
            if colonnes is not None and tranche.montants is not None:
                assert colonne is not None  # noqa: S101 - set with `colonnes`
                col_bas, col_haut = colonne.valeurs(connus)
                classe = choisir_tranche(classes_entieres, classes, col_bas, col_haut)
                if classe is None:
                    raise _REPLI
                rang = rangs.get(id(classe))
                montant = tranche.montants[colonnes.classes.index(classe) if rang is None else rang]
                nom_classe = f"colonne {classe.libelle}" if classe.libelle else "colonne"
                pour += f", {nom_classe} pour {colonne.libelle} de {nombre(col_bas, colonne.unite)}"
            nom_tranche = f"tranche {tranche.libelle}" if tranche.libelle else "tranche"
            return montant, tranche.libelle, f"{nom_tranche} du barème « {libelle} » {pour}"

        return calculer

    def table(self, nom: str) -> _Lu:
        """As `Calculateur.table` when every value tested is known and decides."""
        table = self.reglement.tables[nom]
        afficher, avec = explain.afficher, explain.avec
        lignes = []
        for rang, ligne in enumerate(table.lignes, start=1):
            tests = []
            for t in ligne.tests:
                fait = self.fait(t.fait)
                # The words after the value, written once: with a number's verb, with a text's.
                seuil = afficher(t.valeur, fait.unite)
                nombre = explain.VERBES[t.operateur]
                texte = explain.VERBES_TEXTE.get(t.operateur, nombre)
                suites = (f" {nombre[0]} {avec(nombre[2], seuil)}", f" {texte[0]} {avec(texte[2], seuil)}")
                tests.append(
                    (fait.lire, fait.unite, COMPARATEURS[t.operateur], t.valeur, f"{fait.libelle} (", suites)
                )
            if ligne.autre:
                detail = f"ligne {rang} (autre cas) de la table « {table.libelle} »"
            else:
                detail = f"ligne {rang} de la table « {table.libelle} » : "
            lignes.append((ligne.autre, tuple(tests), ligne.montant, ligne.libelle, detail))
        nombres = (int, Decimal, Fraction)

        def calculer(connus: Connus) -> tuple[Decimal | None, str | None, str]:
            for autre, tests, montant, libelle, detail in lignes:
                if autre:
                    return montant, libelle, detail
                raisons = []
                for lire, unite, comparer, valeur, debut, suites in tests:
                    valeurs = lire(connus)  # as `_Fait.valeurs`, without its frame (each household)
                    if valeurs is None:
                        raise _REPLI
                    bas, haut = valeurs
                    issue = comparer(bas, haut, valeur)
                    if issue is None:
                        raise _REPLI
                    if not issue:
                        break
                    suite = suites[0] if type(bas) in nombres else suites[1]  # bool is not in `nombres`
                    raisons.append(f"{debut}{afficher(bas, unite)}){suite}")
                else:
                    return montant, libelle, detail + " et ".join(raisons)
            raise AssertionError(nom)  # pragma: no cover - the loader requires a last row « autre »

        return calculer

    def nom(self, nom: formules.Nom) -> _Nom:
        """As `Calculateur.nom`."""
        reglement = self.reglement
        if nom.nom in reglement.parametres:
            parametre = reglement.parametres[nom.nom]
            valeur = self.vigueur.parametre(nom.nom).valeur
            constante = (valeur, valeur, explain.afficher(valeur, parametre.unite), parametre.unite)
            return lambda connus: constante
        if nom.nom in reglement.baremes or nom.nom in reglement.tables:
            lire = self.bareme(nom.nom) if nom.nom in reglement.baremes else self.table(nom.nom)
            unite = (reglement.baremes[nom.nom].unite if nom.nom in reglement.baremes else None) or "€"
            nombre = explain.nombre

            def montant(connus: Connus) -> tuple[Any, Any, str, str | None]:
                valeur, _, detail = lire(connus)
                if valeur is None:
                    raise _REPLI
                return valeur, valeur, f"{nombre(valeur, unite)} ({detail})", unite

            return montant
        fait = self.fait(RefFait(nom.nom, nom.age_min, nom.age_max))
        suite = f" ({fait.libelle})"
        lire_fait, unite_fait, nombre = fait.lire, fait.unite, explain.nombre

        def lu(connus: Connus) -> tuple[Any, Any, str, str | None]:
            valeurs = lire_fait(connus)  # as `_Fait.valeurs`, without its frame (each household)
            if valeurs is None:
                raise _REPLI
            bas, haut = valeurs
            if type(bas) is bool:  # no subclass of bool
                bas = haut = int(bas)
            if bas == haut:
                return bas, haut, nombre(bas, unite_fait) + suite, unite_fait
            return bas, haut, f"entre {bas} et {haut}{suite}", unite_fait

        return lu

    def bornes(self, regle: Montant) -> Callable[[Any], tuple[Decimal, str]]:
        """As `Calculateur._bornes`: floor, cap, then rounding, and the words for what changed."""
        nombre, inferieur = explain.nombre, formules.inferieur
        plancher = None if regle.plancher is None else self._limite(regle.plancher)
        plafond = None if regle.plafond is None else self._limite(regle.plafond)
        au_plancher = None if plancher is None else f", porté au plancher de {nombre(plancher, regle.unite)}"
        plafonne = None if plafond is None else f", plafonné à {nombre(plafond, regle.unite)}"
        pas, sens = regle.arrondi, regle.sens_arrondi
        arrondi = ""
        if sens != "plus_proche":
            texte_pas = "à l'euro" if pas == 1 else f"au multiple de {nombre(pas)}"
            arrondi = f", arrondi {texte_pas} {'inférieur' if sens == 'bas' else 'supérieur'}"
        direct, mode = arrondi_direct(pas), SENS_ARRONDI[sens]

        def borner(valeur: Any) -> tuple[Decimal, str]:
            suite = ""
            if plancher is not None and inferieur(valeur, plancher):
                valeur = plancher
                suite += au_plancher  # type: ignore[operator]
            if plafond is not None and inferieur(plafond, valeur):
                valeur = plafond
                suite += plafonne  # type: ignore[operator]
            if direct and type(valeur) is Decimal:  # 0.01, 0.1, 1 on a Decimal: as `arrondir` does
                final = valeur.quantize(pas, rounding=mode)
                if final != valeur:
                    suite += arrondi
            else:
                final = arrondir(valeur, pas, sens)
                if not egal(final, valeur):
                    suite += arrondi
            return final, suite

        return borner

    def montant(self, regle: Montant) -> Callable[[Connus], Calcule]:
        borner = self.bornes(regle)
        if regle.formule is not None:
            return self._formule(regle, borner)
        if regle.table is not None:
            return self._table(regle, borner)
        return self._historique(regle, borner)

    def _table(
        self, regle: Montant, borner: Callable[[Any], tuple[Decimal, str]]
    ) -> Callable[[Connus], Calcule]:
        assert regle.table is not None  # noqa: S101 - the caller checks it
        lire, unite = self.table(regle.table), regle.unite

        def calculer(connus: Connus) -> Calcule:
            montant, tranche, detail = lire(connus)
            if montant is None:  # as `Calculateur._fixe`
                return calcule(None, tranche, f"Tarif : {tranche} ({detail})." if tranche else None)
            final, suite = borner(montant)
            return calcule(final, tranche, f"Montant : {explain.nombre(final, unite)}{suite} ({detail}).")

        return calculer

    def _historique(
        self, regle: Montant, borner: Callable[[Any], tuple[Decimal, str]]
    ) -> Callable[[Connus], Calcule]:
        fixe = self.valeur_fixe(regle)
        lire_bareme = None if regle.bareme is None else self.bareme(regle.bareme)
        facteur_lu = None if regle.multiplie_par is None else self.fait(regle.multiplie_par)
        unite, nombre = regle.unite, explain.nombre

        def calculer(connus: Connus) -> Calcule:
            base, detail, tranche = fixe, "", None
            if lire_bareme is not None:
                base, tranche, texte = lire_bareme(connus)
                detail = f" ({texte})"
            if base is None:
                return calcule(None, tranche, f"Tarif : {tranche}{detail}." if tranche else None)
            facteur = ""
            if facteur_lu is not None:
                bas, haut = facteur_lu.valeurs(connus)
                if bas != haut:
                    raise _REPLI
                facteur = f" = {nombre(base, unite)} × {nombre(bas)} ({facteur_lu.libelle})"
                base = base * explain.vers_decimal(bas)
            final, suite = borner(base)
            return calcule(final, tranche, f"Montant : {nombre(final, unite)}{facteur}{suite}{detail}.")

        return calculer

    def _formule(
        self, regle: Montant, borner: Callable[[Any], tuple[Decimal, str]]
    ) -> Callable[[Connus], Calcule]:
        expression = regle.formule
        assert expression is not None  # noqa: S101 - the caller checks it
        # By identity: the compiled formula and the template hand over the expression's own names.
        noms = {id(n): self.nom(n) for n in formules.noms(expression)}
        rangs = {id(n): r for r, n in enumerate(formules.noms(expression))}  # in the order it reads them
        calculer_formule = formules.compiler(expression)
        # On exact values (the usual case), each name's reading handed back whole (value, text, unit).
        genere = calcules.generer(expression, lambda nom: ("lu", noms[id(nom)], None))[0]
        unite, nombre, jour = regle.unite, explain.nombre, self.jour
        # The formula's model (its fixed texts, a field per name), made on the first household (the
        # names' units are known then).
        gabarit: list[str] = []

        def calculer(connus: Connus) -> Calcule:
            lus: Any
            try:
                try:
                    bas, lus = genere(connus, jour)
                    haut = bas
                except formules.NonPonctuel:  # an interval (a partial birth date)
                    bas, haut, lus = sur_intervalles(connus)
            except Incalculable as exc:
                raise _REPLI from exc
            final, suite = borner(bas)
            if haut is not bas and final != borner(haut)[0]:
                raise _REPLI
            if not gabarit:
                rendu = formules.Rendu(str, lambda nom: lus[rangs[id(nom)]][3], explain.nombre)
                gabarit.append(_modele(rendu.gabarit(expression, unite), rangs))
            texte = gabarit[0].format(*lus)
            if not suite and egal(final, bas):
                return calcule(final, None, f"Montant : {nombre(final, unite)} = {texte}.")
            brut = nombre(bas, unite) if haut is bas or bas == haut else "…"
            return calcule(final, None, f"Montant : {nombre(final, unite)} = {texte} = {brut}{suite}.")

        def sur_intervalles(connus: Connus) -> tuple[Any, Any, list[Any]]:
            lus: dict[int, tuple[Any, Any, str, str | None]] = {}

            def valeur(nom: formules.Nom) -> tuple[Any, Any]:
                lu = lus.get(id(nom))
                if lu is None:
                    lu = lus[id(nom)] = noms[id(nom)](connus)
                return lu[0], lu[1]

            bas, haut = calculer_formule(valeur)
            par_rang: list[Any] = [None] * len(rangs)
            for cle, lu in lus.items():
                par_rang[rangs[cle]] = lu
            return bas, haut, par_rang

        return calculer


def _modele(gabarit: formules.Gabarit, rangs: Mapping[int, int]) -> str:
    """A formula's template as one `str.format` model: its fixed texts, braces doubled, and for
    each name the field « {r[2]} », the text of the name read r-th (the readings `lus` hold, in the
    order the formula reads them, each (low, high, text, unit)): the text of a household's formula
    is then `modele.format(*lus)`, one call."""
    morceaux = []
    for morceau in gabarit:
        if isinstance(morceau, str):
            morceaux.append(morceau.replace("{", "{{").replace("}", "}}"))
        else:
            morceaux.append(f"{{{rangs[id(morceau)]}[2]}}")
    return "".join(morceaux)


def rediger_montant(
    regle: Montant,
    reglement: Reglement,
    vigueur: EnVigueur,
    regles: Mapping[RefFait, Regles],
    jour: date,
    *,
    remplacer: Callable[[Callable[[Connus], Calcule]], object] | None = None,
) -> Callable[[Connus], Calcule]:
    """The amount rule `regle` with its sentence, compiled for the date whose dated values are
    `vigueur` (`regles`: the freshness rules of what it reads), kept by the values it reads
    (`memos.memoriser`, which may hand `remplacer` a cheaper equivalent); raises `Repli` when
    `Calculateur` must write it."""
    redacteur = _Redacteur(reglement, vigueur, regles, jour)
    calculer = redacteur.montant(regle)
    return memoriser(tuple(redacteur.lectures.values()), calculer, remplacer)
