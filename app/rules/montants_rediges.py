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
from typing import Any, TypeVar

from app.rules import calcules, explain, formules
from app.rules.derived import Incalculable, libelle_du_fait
from app.rules.facts import Fait, RefFait
from app.rules.lecteurs import Lecture, lecture
from app.rules.logic import COMPARATEURS
from app.rules.memos import memoriser
from app.rules.model import Bareme, Comparaison, EnVigueur, Montant, Reglement, Tranche
from app.rules.montants import (
    SENS_ARRONDI,
    Calcule,
    arrondi_direct,
    arrondir,
    calcule,
    choisir_tranche,
    egal,
    multiple,
    premiere_du_rapport,
    tranches_entieres,
)
from app.rules.montants_compiles import AMontant
from app.rules.plan import Regles

Connus = Mapping[str, Fait]


class Repli(Exception):
    """The amount needs `Calculateur`: a value it reads is unknown or does not decide."""


_REPLI = Repli()
_AUCUNE: Any = object()  # no entry looked up yet
#: Readings of an int kept per name of a formula (`_Redacteur.nom`).
_ENTIERS_EN_MEMO = 256
#: (low, high, French text with value, unit) of a name in a formula, as `Calculateur.nom`.
_Nom = Callable[[Connus], tuple[Any, Any, str, str | None]]
#: A row's or a tranche's (amount, label) → the words before and after its detail in the sentence,
#: and what `finir` is handed with the detail (see `_Redacteur.bareme`), worked out once per row.
_Habiller = Callable[[Decimal | None, str | None], tuple[str, str, Any]]
R = TypeVar("R")


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


#: A tranche's fixed words and data (before the value, after it, `finir`'s data), or, in a
#: two-entry barème, those of each column (before the value, before the column's value, after it,
#: data).
_Entree = tuple[tuple[str, str, Any] | None, tuple[tuple[str, str, str, Any], ...]]


def _par_tranche(
    bareme: Bareme, tranches: tuple[Tranche, ...], libelle: str, colonne: _Fait | None, habiller: _Habiller
) -> dict[int, _Entree]:
    """Each tranche's entry (by identity), as `Calculateur.bareme` words it around the values."""
    par_tranche: dict[int, _Entree] = {}
    for tranche in tranches:
        nom_tranche = f"tranche {tranche.libelle}" if tranche.libelle else "tranche"
        tete = f"{nom_tranche} du barème « {bareme.libelle} » pour {libelle} de "
        if colonne is not None and bareme.colonnes is not None and tranche.montants is not None:
            par_classe = []
            for rang, classe in enumerate(bareme.colonnes.classes):
                avant, apres, donnee = habiller(tranche.montants[rang], tranche.libelle)
                nom_classe = f"colonne {classe.libelle}" if classe.libelle else "colonne"
                milieu = f", {nom_classe} pour {colonne.libelle} de "
                par_classe.append((avant + tete, milieu, apres, donnee))
            par_tranche[id(tranche)] = (None, tuple(par_classe))
        else:
            avant, apres, donnee = habiller(tranche.montant, tranche.libelle)
            par_tranche[id(tranche)] = ((avant + tete, apres, donnee), ())
    return par_tranche


class _Redacteur(AMontant):
    def fait(self, ref: RefFait) -> _Fait:
        fait = _Fait(ref, self.regles, self.reglement, self.jour)
        self.lectures.setdefault(ref, fait.lire)
        return fait

    def bareme(self, nom: str, habiller: _Habiller, finir: Callable[[Any, str], R]) -> Callable[[Connus], R]:
        """As `Calculateur.bareme` when the value and the column are known and decide: each tranche's
        (and column's) amount, its label and the words around the values, worked out once
        (`habiller`), then `finir(data, detail)` on each household's detail."""
        bareme = self.reglement.baremes[nom]
        tranches = self.vigueur.bareme(nom).tranches
        fait = self.fait(bareme.fait)
        colonnes = bareme.colonnes
        colonne = self.fait(colonnes.fait) if colonnes is not None else None
        classes = () if colonnes is None else colonnes.classes
        # Each column's rank by identity (`choisir_tranche` gives one of them): no dataclass `==`.
        rangs = {id(c): r for r, c in enumerate(classes)}
        entieres, classes_entieres = tranches_entieres(tranches), tranches_entieres(classes)
        par_tranche = _par_tranche(bareme, tranches, fait.libelle, colonne, habiller)
        # The bounds with each tranche's entry in its place: an exact value finds its entry at once.
        entrees = tuple((par_tranche[id(e[0])], *e[1:]) for e in entieres)
        nombre, rapport_au_centime = explain.nombre, explain.rapport_au_centime
        lire, unite = fait.lire, fait.unite

        def calculer(connus: Connus) -> R:
            valeurs = lire(connus)  # as `_Fait.valeurs`, without its frame (each household)
            if valeurs is None:
                raise _REPLI
            bas, haut = valeurs
            entree = _AUCUNE
            if haut is bas:  # an exact value: `choisir_tranche`'s way, without its frame
                try:
                    n, d = bas.as_integer_ratio()
                    entree = premiere_du_rapport(entrees, n, d)
                except (AttributeError, OverflowError, ValueError, TypeError):
                    pass
            if entree is _AUCUNE:  # an interval, or a value without an exact ratio
                tranche = choisir_tranche(entieres, tranches, bas, haut)
                entree = None if tranche is None else par_tranche[id(tranche)]
            if entree is None:
                raise _REPLI
            simple, par_classe = entree
            # The value's text: a ratio (a revenue per unit) by integers, not through `nombre`'s memo.
            texte = nombre(bas, unite) if type(bas) is not Fraction else rapport_au_centime(bas, unite)[1]
            if simple is not None:
                avant, apres, donnee = simple
                return finir(donnee, f"{avant}{texte}{apres}")
            assert colonne is not None  # noqa: S101 - set with `colonnes`
            col_bas, col_haut = colonne.valeurs(connus)
            classe = choisir_tranche(classes_entieres, classes, col_bas, col_haut)
            if classe is None:
                raise _REPLI
            rang = rangs.get(id(classe))
            avant, milieu, apres, donnee = par_classe[classes.index(classe) if rang is None else rang]
            return finir(donnee, f"{avant}{texte}{milieu}{nombre(col_bas, colonne.unite)}{apres}")

        return calculer

    def table(self, nom: str, habiller: _Habiller, finir: Callable[[Any, str], R]) -> Callable[[Connus], R]:
        """As `Calculateur.table` when every value tested is known and decides: each row's amount,
        label and fixed words worked out once (`habiller`), then `finir(data, detail)`. A row whose
        detail depends on no value (« autre cas ») or only on yes/no values gives one shared result
        (`finir` is a pure function of its arguments: results are never mutated)."""
        table = self.reglement.tables[nom]
        afficher = explain.afficher
        lignes: list[tuple[Any, ...]] = []
        for rang, ligne in enumerate(table.lignes, start=1):
            avant, apres, donnee = habiller(ligne.montant, ligne.libelle)
            if ligne.autre:
                detail = f"{avant}ligne {rang} (autre cas) de la table « {table.libelle} »{apres}"
                try:
                    commun: Any = finir(donnee, detail)
                except Repli:
                    commun = _REPLI  # raised on each household that reaches the row
                lignes.append((True, commun, None, "", "", None))
                continue
            tests = tuple(self._test(t) for t in ligne.tests)
            # By the yes/no values read (as bits after a leading 1), the row's shared result.
            communs: dict[int, Any] = {}
            debut_ligne = f"{avant}ligne {rang} de la table « {table.libelle} » : "
            lignes.append((False, tests, donnee, debut_ligne, apres, communs))
        nombres = (int, Decimal, Fraction)

        def calculer(connus: Connus) -> R:
            for autre, tests, donnee, debut_ligne, apres, communs in lignes:
                if autre:
                    if tests is _REPLI:
                        raise _REPLI
                    return tests  # type: ignore[no-any-return]
                raisons = []
                cle = 1  # 0 once a value read is not a yes/no
                for lire, unite, comparer, valeur, debut, suites, oui_non in tests:
                    valeurs = lire(connus)  # as `_Fait.valeurs`, without its frame (each household)
                    if valeurs is None:
                        raise _REPLI
                    bas, haut = valeurs
                    issue = comparer(bas, haut, valeur)
                    if issue is None:
                        raise _REPLI
                    if not issue:
                        break
                    if type(bas) is bool:
                        raisons.append(oui_non[bas])
                        if cle:
                            cle = 2 * cle + bas
                        continue
                    cle = 0
                    suite = suites[0] if type(bas) in nombres else suites[1]
                    raisons.append(f"{debut}{afficher(bas, unite)}){suite}")
                else:
                    if not cle:
                        return finir(donnee, f"{debut_ligne}{' et '.join(raisons)}{apres}")
                    resultat = communs.get(cle)
                    if resultat is None:
                        resultat = communs[cle] = finir(donnee, f"{debut_ligne}{' et '.join(raisons)}{apres}")
                    return resultat  # type: ignore[no-any-return]
            raise AssertionError(nom)  # pragma: no cover - the loader requires a last row « autre »

        return calculer

    def _test(self, test: Comparaison) -> tuple[Any, ...]:
        """A table row's test as `table` runs it: the reader, unit, comparison and value, the words
        around the value (with a number's verb, with a text's), and a yes/no value's whole reason."""
        fait = self.fait(test.fait)
        afficher, avec = explain.afficher, explain.avec
        seuil = afficher(test.valeur, fait.unite)
        nombre = explain.VERBES[test.operateur]
        texte = explain.VERBES_TEXTE.get(test.operateur, nombre)
        suites = (f" {nombre[0]} {avec(nombre[2], seuil)}", f" {texte[0]} {avec(texte[2], seuil)}")
        debut = f"{fait.libelle} ("
        # By the value (bool is not a number here: the text's verb).
        oui_non = tuple(f"{debut}{afficher(v, fait.unite)}){suites[1]}" for v in (False, True))
        return fait.lire, fait.unite, COMPARATEURS[test.operateur], test.valeur, debut, suites, oui_non

    def nom(self, nom: formules.Nom) -> _Nom:
        """As `Calculateur.nom`."""
        reglement = self.reglement
        if nom.nom in reglement.parametres:
            parametre = reglement.parametres[nom.nom]
            valeur = self.vigueur.parametre(nom.nom).valeur
            constante = (valeur, valeur, explain.afficher(valeur, parametre.unite), parametre.unite)
            return lambda connus: constante
        if nom.nom in reglement.baremes or nom.nom in reglement.tables:
            unite = (reglement.baremes[nom.nom].unite if nom.nom in reglement.baremes else None) or "€"
            nombre = explain.nombre

            def habiller(montant: Decimal | None, libelle: str | None) -> tuple[str, str, Any]:
                # « 40 € (…) »: the amount's text written once per row or tranche.
                return ("", "", None) if montant is None else (f"{nombre(montant, unite)} (", ")", montant)

            def finir(montant: Decimal | None, texte: str) -> tuple[Any, Any, str, str | None]:
                if montant is None:
                    raise _REPLI
                return montant, montant, texte, unite

            if nom.nom in reglement.baremes:
                return self.bareme(nom.nom, habiller, finir)
            return self.table(nom.nom, habiller, finir)
        fait = self.fait(RefFait(nom.nom, nom.age_min, nom.age_max))
        suite = f" ({fait.libelle})"
        lire_fait, unite_fait, nombre = fait.lire, fait.unite, explain.nombre
        # An exact int's whole reading (a count: a few recur), by the int, at most `_ENTIERS_EN_MEMO`.
        par_entier: dict[int, tuple[Any, Any, str, str | None]] = {}

        def lu(connus: Connus) -> tuple[Any, Any, str, str | None]:
            valeurs = lire_fait(connus)  # as `_Fait.valeurs`, without its frame (each household)
            if valeurs is None:
                raise _REPLI
            bas, haut = valeurs
            if type(bas) is bool:  # no subclass of bool
                bas = haut = int(bas)
            if type(bas) is int and haut is bas:
                entier = par_entier.get(bas)
                if entier is None:
                    entier = (bas, bas, nombre(bas, unite_fait) + suite, unite_fait)
                    if len(par_entier) < _ENTIERS_EN_MEMO:
                        par_entier[bas] = entier
                return entier
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
            genre = type(valeur)
            if genre is not Decimal:
                if genre is not int:  # a Fraction
                    return borner_rapport(valeur)
                valeur = Decimal(valeur)  # as `arrondir` takes it (an equal value)
            # A Decimal (the usual case), compared and rounded as `inferieur`, `arrondir` and `egal`
            # do on it, without their frames.
            suite = ""
            if plancher is not None and valeur < plancher:
                valeur = plancher
                suite += au_plancher  # type: ignore[operator]
            if plafond is not None and plafond < valeur:
                valeur = plafond
                suite += plafonne  # type: ignore[operator]
            final = valeur.quantize(pas, rounding=mode) if direct else multiple(valeur, pas, mode)
            if final != valeur:
                suite += arrondi
            return final, suite

        def borner_rapport(valeur: Any) -> tuple[Decimal, str]:
            suite = ""
            if plancher is not None and inferieur(valeur, plancher):
                valeur = plancher
                suite += au_plancher  # type: ignore[operator]
            if plafond is not None and inferieur(plafond, valeur):
                valeur = plafond
                suite += plafonne  # type: ignore[operator]
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

    def _habiller(self, regle: Montant, borner: Callable[[Any], tuple[Decimal, str]]) -> _Habiller:
        """The words around a row's or a tranche's detail in the amount's sentence (« Montant :
        3,20 € (…). », « Tarif : C (…). »), with (amount, label, whether there is a sentence): the
        row's amount is fixed, so are its floor, cap and rounding, worked out once."""
        unite, nombre = regle.unite, explain.nombre

        def habiller(montant: Decimal | None, libelle: str | None) -> tuple[str, str, Any]:
            if montant is None:  # as `Calculateur._fixe`
                return (
                    (f"Tarif : {libelle} (", ").", (None, libelle, True))
                    if libelle
                    else ("", "", (None, libelle, False))
                )
            final, suite = borner(montant)
            return f"Montant : {nombre(final, unite)}{suite} (", ").", (final, libelle, True)

        return habiller

    def _table(
        self, regle: Montant, borner: Callable[[Any], tuple[Decimal, str]]
    ) -> Callable[[Connus], Calcule]:
        assert regle.table is not None  # noqa: S101 - the caller checks it
        return self.table(regle.table, self._habiller(regle, borner), _calcule)

    def _historique(
        self, regle: Montant, borner: Callable[[Any], tuple[Decimal, str]]
    ) -> Callable[[Connus], Calcule]:
        if regle.bareme is not None and regle.multiplie_par is None:  # the barème's amount, bounded
            return self.bareme(regle.bareme, self._habiller(regle, borner), _calcule)
        fixe = self.valeur_fixe(regle)
        lire_bareme = None if regle.bareme is None else self.bareme(regle.bareme, _sans_habits, _avec_detail)
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


def _calcule(donnee: tuple[Decimal | None, str | None, bool], detail: str) -> Calcule:
    """The amount of a row or a tranche (`_Redacteur._habiller`'s data) with its sentence."""
    montant, tranche, ecrit = donnee
    return calcule(montant, tranche, detail if ecrit else None)


def _sans_habits(montant: Decimal | None, libelle: str | None) -> tuple[str, str, Any]:
    return "", "", (montant, libelle)


def _avec_detail(
    donnee: tuple[Decimal | None, str | None], detail: str
) -> tuple[Decimal | None, str | None, str]:
    return donnee[0], donnee[1], detail


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
