"""Facts a règlement computes with a formula (« reste à vivre » = (ressources − charges) / UC / 30):
exact, undecided (`a_verifier`) on a missing operand or a division by zero, explained with their inputs.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date
from decimal import Decimal
from typing import Any

from app.rules import formules
from app.rules.derived import DefinitionDerivee, Incalculable, Intervalle
from app.rules.facts import Fait, MembreFoyer, RefFait, TypeFait
from app.rules.formules import Expression, Nom, Nombre
from app.rules.model import Parametre

#: How a number reads in French (explain.nombre), given by the caller to keep this module light.
Ecrire = Callable[[Nombre, str | None], str]


class Calcul:
    """The computation of one fact: its formula, the names it reads, and the catalogue it reads them in."""

    def __init__(
        self,
        nom: str,
        expression: Expression,
        *,
        parametres: Mapping[str, Parametre],
        derives: Mapping[str, DefinitionDerivee],
        unites: Callable[[str], str | None],
        ecrire: Ecrire,
    ) -> None:
        self.nom = nom
        self.expression = expression
        self.parametres = parametres
        self.derives = derives  # filled once the whole catalogue is known
        self.unites = unites
        self.ecrire = ecrire
        # Each name of the formula (by identity: the expression keeps them) with its derived
        # definition and reference, or None for a base fact; once the catalogue is complete.
        self._derives: dict[int, tuple[Nom, tuple[DefinitionDerivee, RefFait] | None]] = {}
        self._formule = formules.compiler(expression)
        self._ponctuelle = formules.ponctuel(expression)
        self._gabarit: tuple[str | tuple[Nom, str | None], ...] | None = None  # the detail's fixed text

    def valeur(self, nom: Nom, faits: Mapping[str, Fait], jour: date) -> Intervalle:
        parametre = self.parametres.get(nom.nom)
        if parametre is not None:
            en_vigueur = parametre.en_vigueur(jour)
            if en_vigueur is None or not isinstance(en_vigueur.valeur, Decimal):
                raise Incalculable(f"le paramètre « {nom.nom} » n'a pas de valeur à cette date")
            return en_vigueur.valeur, en_vigueur.valeur
        entree = self._derives.get(id(nom))
        if entree is None or entree[0] is not nom:
            definition = self.derives.get(nom.nom)
            derive = None if definition is None else (definition, RefFait(nom.nom, nom.age_min, nom.age_max))
            entree = (nom, derive)
            if self.derives:  # the catalogue is complete: the answer will not change
                self._derives[id(nom)] = entree
        derive = entree[1]
        if derive is not None:
            return derive[0].calcul(faits, jour, derive[1])
        valeur = faits[nom.nom].valeur
        if type(valeur) is Decimal or type(valeur) is int:  # the usual case, without the ABC checks
            return valeur, valeur
        if isinstance(valeur, bool):
            return int(valeur), int(valeur)
        if isinstance(valeur, Decimal | int):
            return valeur, valeur
        if isinstance(valeur, tuple) and all(isinstance(m, MembreFoyer) for m in valeur):
            return len(valeur), len(valeur)
        raise Incalculable(f"la donnée « {nom.nom} » n'est pas un nombre")

    def parametres_lus(self) -> frozenset[str]:
        """The parameters its formula reads."""
        return frozenset(n.nom for n in formules.noms(self.expression) if n.nom in self.parametres)

    def avec_parametres(
        self, parametres: Mapping[str, Parametre], derives: Mapping[str, DefinitionDerivee]
    ) -> Calcul:
        """The same computation reading `parametres` (a proposal's values) and `derives`."""
        return Calcul(
            self.nom,
            self.expression,
            parametres=parametres,
            derives=derives,
            unites=self.unites,
            ecrire=self.ecrire,
        )

    def calcul(self, faits: Mapping[str, Fait], jour: date, ref: RefFait) -> Intervalle:
        valeur = self.valeur
        return self._intervalle(lambda n: valeur(n, faits, jour))

    def _intervalle(self, lire: Callable[[Nom], Intervalle]) -> Intervalle:
        """The formula on exact values when they all are, else on intervals."""
        try:
            exacte = self._ponctuelle(lire)
        except formules.NonPonctuel:
            return self._formule(lire)
        return exacte, exacte

    def detail(self, faits: Mapping[str, Fait], jour: date) -> str:
        """« calculé : (1 200 € − 450 €) / 1,5 / 30 »"""
        return self._detail(lambda nom: self.valeur(nom, faits, jour))

    def calcul_detaille(self, faits: Mapping[str, Fait], jour: date, ref: RefFait) -> tuple[Any, Any, str]:
        """`calcul` and `detail` in one pass: each name of the formula read once."""
        lues: dict[int, Intervalle] = {}
        valeur = self.valeur

        def lire(nom: Nom) -> Intervalle:
            lue = lues.get(id(nom))
            if lue is None:
                lue = lues[id(nom)] = valeur(nom, faits, jour)
            return lue

        bas, haut = self._intervalle(lire)
        return bas, haut, self._detail(lire)

    def _detail(self, lire: Callable[[Nom], Intervalle]) -> str:
        gabarit = self._gabarit
        if gabarit is None:  # on first use: the units of the names are known by then
            rendu = formules.Rendu(str, lambda n: self.unites(n.nom), self.ecrire)
            gabarit = self._gabarit = tuple(
                m if isinstance(m, str) else (m, self.unites(m.nom))
                for m in rendu.gabarit(self.expression, None)
            )
        ecrire = self.ecrire
        morceaux = ["calculé : "]
        for morceau in gabarit:
            if isinstance(morceau, str):
                morceaux.append(morceau)
                continue
            nom, unite = morceau
            bas, haut = lire(nom)
            if bas == haut:
                morceaux.append(ecrire(bas, unite))
            else:
                morceaux.append(f"[{ecrire(bas, unite)} ; {ecrire(haut, unite)}]")
        return "".join(morceaux)


def definition(
    nom: str, libelle: str, unite: str | None, bases: tuple[str, ...], calcul: Calcul
) -> DefinitionDerivee:
    def relier(parametres: Mapping[str, Any], derives: Mapping[str, DefinitionDerivee]) -> DefinitionDerivee:
        return definition(nom, libelle, unite, bases, calcul.avec_parametres(parametres, derives))

    return DefinitionDerivee(
        nom, TypeFait.NOMBRE, libelle, bases, calcul.calcul, unite, detail=calcul.detail,
        calcul_detaille=calcul.calcul_detaille,
        formule=formules.ecrire(calcul.expression),
        parametres_lus={nom_lu: calcul.parametres[nom_lu] for nom_lu in calcul.parametres_lus()},
        relier=relier,
    )  # fmt: skip
