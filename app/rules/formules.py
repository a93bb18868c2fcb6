"""Formulas of a règlement: `100 + 20 * nombre_enfants`, `(ressources - charges) / uc / 30`,
`min(50 + 25 * nombre_enfants[0-17], plafond_aide)`, in exact arithmetic, explained with their values.

A formula is read once at load time (every name checked: a fact, a parameter, a barème or a fact the
règlement defines) and evaluated on intervals, as the facts are (an age from a partial birth date is
an interval): each operation gives the smallest interval holding every possible result. A division
by zero, or by an interval holding zero, cannot be computed: the result is undecided (`a_verifier`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from typing import Any, cast

from app.rules.derived import Incalculable, rapport, rationnel

Nombre = int | Decimal | Fraction
Intervalle = tuple[Nombre, Nombre]


class FormuleInvalide(ValueError):
    """A formula that cannot be read; the message is French."""


@dataclass(frozen=True, slots=True)
class Constante:
    valeur: Decimal


@dataclass(frozen=True, slots=True)
class Nom:
    """A name in a formula: a fact (with an optional age band), a parameter or a barème."""

    nom: str
    age_min: int | None = None
    age_max: int | None = None


@dataclass(frozen=True, slots=True)
class Operation:
    operateur: str  # "+", "-", "*", "/"
    gauche: Expression
    droite: Expression


@dataclass(frozen=True, slots=True)
class Fonction:
    nom: str  # "min", "max"
    arguments: tuple[Expression, ...]


Expression = Constante | Nom | Operation | Fonction

_JETONS = re.compile(
    r"\s*(?:(?P<nombre>\d+(?:\.\d+)?)|(?P<nom>[a-z_][a-z0-9_]*)(?:\[(?P<bande>[0-9]*-[0-9]*)\])?"
    r"|(?P<signe>[-+*/×÷(),]))"
)
_SIGNES = {"×": "*", "÷": "/"}


def lire_formule(texte: str) -> Expression:
    """Parse a formula; `FormuleInvalide` with a French message."""
    jetons: list[tuple[str, Any]] = []
    position = 0
    texte = texte.strip()
    while position < len(texte):
        trouve = _JETONS.match(texte, position)
        if trouve is None or trouve.end() == position:
            reste = texte[position:].strip()
            if re.match(r"\d+,\d", reste):
                raise FormuleInvalide(f"« {reste.split()[0]} » : écrivez les décimales avec un point")
            raise FormuleInvalide(f"caractère inattendu « {reste[:1]} » dans la formule « {texte} »")
        position = trouve.end()
        if trouve["nombre"]:
            jetons.append(("nombre", Decimal(trouve["nombre"])))
        elif trouve["nom"]:
            jetons.append(("nom", _nom(trouve["nom"], trouve["bande"])))
        elif trouve["signe"]:
            jetons.append(("signe", _SIGNES.get(trouve["signe"], trouve["signe"])))
    if not jetons:
        raise FormuleInvalide("formule vide")
    lecteur = _Analyse(jetons, texte)
    expression = lecteur.somme()
    if lecteur.position != len(jetons):
        inattendu = jetons[lecteur.position][1]
        conseil = " (les décimales s'écrivent avec un point : 650.5)" if inattendu == "," else ""
        raise FormuleInvalide(f"formule « {texte} » : « {inattendu} » inattendu{conseil}")
    return expression


def _nom(nom: str, bande: str | None) -> Nom:
    if bande is None:
        return Nom(nom)
    bas, _, haut = bande.partition("-")
    age_min = int(bas) if bas else None
    age_max = int(haut) if haut else None
    if age_min is not None and age_max is not None and age_min > age_max:
        raise FormuleInvalide(f"tranche d'âge « {bande} » : l'âge minimal dépasse l'âge maximal")
    return Nom(nom, age_min, age_max)


class _Analyse:
    def __init__(self, jetons: list[tuple[str, Any]], texte: str) -> None:
        self.jetons = jetons
        self.texte = texte
        self.position = 0

    def _voir(self) -> tuple[str, Any] | None:
        return self.jetons[self.position] if self.position < len(self.jetons) else None

    def _signe(self, *signes: str) -> str | None:
        jeton = self._voir()
        if jeton is not None and jeton[0] == "signe" and jeton[1] in signes:
            self.position += 1
            return str(jeton[1])
        return None

    def somme(self) -> Expression:
        expression = self.produit()
        while (signe := self._signe("+", "-")) is not None:
            expression = Operation(signe, expression, self.produit())
        return expression

    def produit(self) -> Expression:
        expression = self.terme()
        while (signe := self._signe("*", "/")) is not None:
            expression = Operation(signe, expression, self.terme())
        return expression

    def terme(self) -> Expression:
        jeton = self._voir()
        if jeton is None:
            raise FormuleInvalide(f"formule « {self.texte} » incomplète")
        self.position += 1
        genre, valeur = jeton
        if genre == "nombre":
            return Constante(valeur)
        if genre == "nom":
            if valeur.nom in ("min", "max") and self._signe("("):
                arguments = [self.somme()]
                while self._signe(","):
                    arguments.append(self.somme())
                if not self._signe(")"):
                    raise FormuleInvalide(f"formule « {self.texte} » : « ) » attendu")
                return Fonction(valeur.nom, tuple(arguments))
            return cast("Nom", valeur)
        if valeur == "(":
            expression = self.somme()
            if not self._signe(")"):
                raise FormuleInvalide(f"formule « {self.texte} » : « ) » attendu")
            return expression
        if valeur == "-":
            return Operation("-", Constante(Decimal(0)), self.terme())
        raise FormuleInvalide(f"formule « {self.texte} » : « {valeur} » inattendu")


def noms(expression: Expression) -> list[Nom]:
    """The names a formula reads, in order."""
    match expression:
        case Nom():
            return [expression]
        case Operation(gauche=g, droite=d):
            return [*noms(g), *noms(d)]
        case Fonction(arguments=arguments):
            return [n for a in arguments for n in noms(a)]
    return []


# Exact arithmetic on int, Decimal and Fraction (Decimal and Fraction do not mix: go through Fraction).


# With a Fraction, on the integer ratios: `exact(Fraction(a) + Fraction(b))`… without building the
# intermediate Fractions (the same value, the same type: a Decimal when it has a finite form).


def ajouter(a: Nombre, b: Nombre) -> Nombre:
    if type(a) is Fraction or type(b) is Fraction:
        n1, d1 = a.as_integer_ratio()
        n2, d2 = b.as_integer_ratio()
        return rationnel(n1 * d2 + n2 * d1, d1 * d2)
    return a + b  # type: ignore[operator]


def soustraire(a: Nombre, b: Nombre) -> Nombre:
    if type(a) is Fraction or type(b) is Fraction:
        n1, d1 = a.as_integer_ratio()
        n2, d2 = b.as_integer_ratio()
        return rationnel(n1 * d2 - n2 * d1, d1 * d2)
    return a - b  # type: ignore[operator]


def multiplier(a: Nombre, b: Nombre) -> Nombre:
    if type(a) is Fraction or type(b) is Fraction:
        n1, d1 = a.as_integer_ratio()
        n2, d2 = b.as_integer_ratio()
        return rationnel(n1 * n2, d1 * d2)
    return a * b  # type: ignore[operator]


def diviser(a: Nombre, b: Nombre) -> Nombre:
    if not b:
        raise Incalculable("division par zéro")
    return rapport(a, b)


def diviser_produit(a: Nombre, b: Nombre, c: Nombre, rapport_c: tuple[int, int] | None = None) -> Nombre:
    """(a / b) / c, b and c not zero: `diviser(diviser(a, b), c)` as one ratio of integers (the
    same exact value, so the same type and digits), without the intermediate ratio; `rapport_c`:
    c's integer ratio when known beforehand (a constant of the formula)."""
    n1, d1 = a.as_integer_ratio()
    n2, d2 = b.as_integer_ratio()
    n3, d3 = c.as_integer_ratio() if rapport_c is None else rapport_c
    numerateur, denominateur = n1 * d2 * d3, d1 * n2 * n3
    if denominateur < 0:
        return rationnel(-numerateur, -denominateur)
    return rationnel(numerateur, denominateur)


_OPERATIONS: dict[str, Callable[[Nombre, Nombre], Nombre]] = {
    "+": ajouter,
    "-": soustraire,
    "*": multiplier,
    "/": diviser,
}


def inferieur(a: Nombre, b: Nombre) -> bool:
    """a < b, exactly (with a Fraction: on the integer ratios, as `Fraction(a) < Fraction(b)`)."""
    if type(a) is Fraction or type(b) is Fraction:
        n1, d1 = a.as_integer_ratio()
        n2, d2 = b.as_integer_ratio()
        return n1 * d2 < n2 * d1  # denominators are positive
    return a < b


def bornes(valeurs: list[Nombre]) -> Intervalle:
    """The least and the greatest of `valeurs` (exact comparisons)."""
    bas = haut = valeurs[0]
    for v in valeurs[1:]:
        if inferieur(v, bas):
            bas = v
        if inferieur(haut, v):
            haut = v
    return bas, haut


def calculer(expression: Expression, valeur_de: Callable[[Nom], Intervalle]) -> Intervalle:
    """The interval of the formula's values; `Incalculable` on a division by (possibly) zero."""
    entree = _COMPILEES.get(id(expression))
    if entree is None or entree[0] is not expression:
        if len(_COMPILEES) >= _COMPILEES_MAX:
            _COMPILEES.clear()
        entree = _COMPILEES[id(expression)] = (expression, compiler(expression))
    return entree[1](valeur_de)


FormuleCompilee = Callable[[Callable[[Nom], Intervalle]], Intervalle]
#: Formulas compiled to closures, by identity (the expression is kept, so its id is not reused).
_COMPILEES: dict[int, tuple[Expression, FormuleCompilee]] = {}
_COMPILEES_MAX = 4096


def compiler(expression: Expression) -> FormuleCompilee:
    """The formula as nested closures: what `calculer` does, without walking the tree each time."""
    match expression:
        case Constante(valeur=v):
            constante = (v, v)
            return lambda valeur_de: constante
        case Nom():
            nom = expression
            return lambda valeur_de: valeur_de(nom)
        case Fonction(nom=fonction, arguments=arguments):
            calculs = [compiler(a) for a in arguments]
            minimum = fonction == "min"

            def appliquer(valeur_de: Callable[[Nom], Intervalle]) -> Intervalle:
                intervalles = [c(valeur_de) for c in calculs]
                bas = bornes([i[0] for i in intervalles])
                haut = bornes([i[1] for i in intervalles])
                return (bas[0], haut[0]) if minimum else (bas[1], haut[1])

            return appliquer
        case Operation(operateur=op, gauche=g, droite=d):
            gauche, droite = compiler(g), compiler(d)
            if op == "+":

                def somme(valeur_de: Callable[[Nom], Intervalle]) -> Intervalle:
                    a, b = gauche(valeur_de), droite(valeur_de)
                    return ajouter(a[0], b[0]), ajouter(a[1], b[1])

                return somme
            if op == "-":

                def difference(valeur_de: Callable[[Nom], Intervalle]) -> Intervalle:
                    a, b = gauche(valeur_de), droite(valeur_de)
                    return soustraire(a[0], b[1]), soustraire(a[1], b[0])

                return difference
            return lambda valeur_de: _operation(op, gauche(valeur_de), droite(valeur_de))
    raise TypeError(expression)  # pragma: no cover - Expression is a closed union


class NonPonctuel(Exception):
    """A name's value is an interval (a partial birth date): the formula is worked out on intervals."""


_NON_PONCTUEL = NonPonctuel()
FormulePonctuelle = Callable[[Callable[[Nom], Intervalle]], Nombre]


def ponctuel(expression: Expression) -> FormulePonctuelle:
    """The formula on exact values (the usual case): what `compiler` gives when every name's interval
    is a single value, with half the arithmetic; `NonPonctuel` when a name's is not."""
    match expression:
        case Constante(valeur=v):
            return lambda valeur_de: v
        case Nom():
            nom = expression

            def lire(valeur_de: Callable[[Nom], Intervalle]) -> Nombre:
                bas, haut = valeur_de(nom)
                # The same object, or equal ints: `compiler` would then give one value too.
                if bas is haut or (type(bas) is int and type(haut) is int and bas == haut):
                    return bas
                raise _NON_PONCTUEL

            return lire
        case Fonction(nom=fonction, arguments=arguments):
            calculs = [ponctuel(a) for a in arguments]
            minimum = fonction == "min"

            def appliquer(valeur_de: Callable[[Nom], Intervalle]) -> Nombre:
                bas, haut = bornes([c(valeur_de) for c in calculs])
                return bas if minimum else haut

            return appliquer
        case Operation(operateur=op, gauche=g, droite=d):
            gauche, droite, operation = ponctuel(g), ponctuel(d), _OPERATIONS[op]
            return lambda valeur_de: operation(gauche(valeur_de), droite(valeur_de))
    raise TypeError(expression)  # pragma: no cover - Expression is a closed union


def _operation(op: str, a: Intervalle, b: Intervalle) -> Intervalle:
    exacts = a[0] == a[1] and b[0] == b[1]
    if op == "+":
        return ajouter(a[0], b[0]), ajouter(a[1], b[1])
    if op == "-":
        return soustraire(a[0], b[1]), soustraire(a[1], b[0])
    if op == "*":
        produits = [multiplier(a[0], b[0])] if exacts else [multiplier(x, y) for x in a for y in b]
        return bornes(produits)
    if b[0] != b[1] and not (inferieur(0, b[0]) or inferieur(b[1], 0)):
        raise Incalculable("division par une valeur qui peut être nulle")
    quotients = [diviser(a[0], b[0])] if exacts else [diviser(x, y) for x in a for y in b]
    return bornes(quotients)


class Rendu:
    """How a formula's names read in French: their text with value, and whether they carry a unit."""

    __slots__ = ("nombre", "texte_de", "unite_de")

    def __init__(
        self,
        texte_de: Callable[[Nom], str],
        unite_de: Callable[[Nom], str | None],
        nombre: Callable[[Nombre, str | None], str],
    ) -> None:
        self.texte_de = texte_de
        self.unite_de = unite_de
        self.nombre = nombre

    def a_unite(self, expression: Expression) -> bool:
        """Whether a name with a unit appears in it (it then shows its unit itself)."""
        return any(self.unite_de(n) is not None for n in noms(expression))

    def rendre(self, expression: Expression, unite: str | None) -> str:
        """The formula in French with its values: « 100 € + 20 € × 3 (le nombre d'enfants) »."""
        texte_de = self.texte_de
        return "".join([m if isinstance(m, str) else texte_de(m) for m in self.gabarit(expression, unite)])

    def gabarit(self, expression: Expression, unite: str | None) -> Gabarit:
        """What `rendre` writes, each name left as itself: its fixed text (constants, operators,
        parentheses) depends only on the formula and on which names carry a unit, so a caller whose
        names keep their units can write it once and fill in the names' texts for each household."""
        morceaux: list[str | Nom] = []
        self._gabarit(expression, unite, 0, morceaux)
        fusionnes: list[str | Nom] = []
        for morceau in morceaux:  # adjacent fixed texts as one
            precedent = fusionnes[-1] if fusionnes else None
            if isinstance(morceau, str) and isinstance(precedent, str):
                fusionnes[-1] = precedent + morceau
            else:
                fusionnes.append(morceau)
        return tuple(fusionnes)

    def _gabarit(
        self, expression: Expression, unite: str | None, priorite: int, morceaux: list[str | Nom]
    ) -> None:
        match expression:
            case Constante(valeur=v):
                morceaux.append(self.nombre(v, unite))
                return
            case Nom():
                morceaux.append(expression)
                return
            case Fonction(nom=nom, arguments=arguments):
                morceaux.append("minimum(" if nom == "min" else "maximum(")
                for rang, argument in enumerate(arguments):
                    if rang:
                        morceaux.append(", ")
                    self._gabarit(argument, unite, 0, morceaux)
                morceaux.append(")")
                return
            case Operation(operateur=op, gauche=g, droite=d):
                unite_g, unite_d = self._unites(op, g, d, unite)
                propre = _PRIORITE[op]
                if propre < priorite:
                    morceaux.append("(")
                self._gabarit(g, unite_g, propre, morceaux)
                morceaux.append(f" {_AFFICHE[op]} ")
                self._gabarit(d, unite_d, propre + (op in "-/"), morceaux)
                if propre < priorite:
                    morceaux.append(")")
                return
        raise TypeError(expression)  # pragma: no cover - Expression is a closed union

    def _unites(
        self, op: str, g: Expression, d: Expression, unite: str | None
    ) -> tuple[str | None, str | None]:
        """The units of an operation's two sides."""
        if op == "*":
            # The unit once, on a number, unless a name already shows it: `20 € × 3`,
            # `50 € × (4 − 1)`, `0,5 × 120 €`.
            if self.a_unite(g) or self.a_unite(d):
                return None, None
            if isinstance(d, Constante) and not isinstance(g, Constante):
                return None, unite
            return unite, None
        return (unite, None) if op == "/" else (unite, unite)


#: A formula as `Rendu` writes it: fixed texts, and the names whose texts go between them.
Gabarit = tuple[str | Nom, ...]
_PRIORITE = {"+": 1, "-": 1, "*": 2, "/": 2}
_AFFICHE = {"+": "+", "-": "−", "*": "×", "/": "/"}


def resoudre_noms(expression: Expression, connus: Mapping[str, str]) -> list[tuple[Nom, str]]:
    """Each name with its kind (`connus`: name → "fait", "parametre", "bareme"…); `FormuleInvalide`
    naming the first unknown one."""
    resultat = []
    for nom in noms(expression):
        genre = connus.get(nom.nom)
        if genre is None:
            raise FormuleInvalide(f"nom inconnu « {nom.nom} » dans la formule")
        if (nom.age_min is not None or nom.age_max is not None) and genre != "fait":
            raise FormuleInvalide(f"« {nom.nom} » n'accepte pas de tranche d'âge")
        resultat.append((nom, genre))
    return resultat


def ecrire(expression: Expression, priorite: int = 0) -> str:
    """The formula as it is written in a règlement (canonical spacing)."""
    match expression:
        case Constante(valeur=v):
            return str(v)
        case Nom(nom=nom, age_min=bas, age_max=haut):
            if bas is None and haut is None:
                return nom
            return f"{nom}[{'' if bas is None else bas}-{'' if haut is None else haut}]"
        case Fonction(nom=nom, arguments=arguments):
            return f"{nom}({', '.join(ecrire(a) for a in arguments)})"
        case Operation(operateur=op, gauche=g, droite=d):
            propre = _PRIORITE[op]
            texte = f"{ecrire(g, propre)} {op} {ecrire(d, propre + (op in '-/'))}"
            return f"({texte})" if propre < priorite else texte
    raise TypeError(expression)  # pragma: no cover - Expression is a closed union
