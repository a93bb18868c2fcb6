"""Facts a règlement computes with a formula (« reste à vivre » = (ressources − charges) / UC / 30):
exact, undecided (`a_verifier`) on a missing operand or a division by zero, explained with their inputs.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date
from decimal import Decimal
from fractions import Fraction
from typing import Any

from app.rules import formules
from app.rules.derived import DefinitionDerivee, Foyer, Incalculable, Intervalle
from app.rules.facts import Fait, MembreFoyer, RefFait, TypeFait
from app.rules.formules import Expression, Nom, Nombre
from app.rules.generation import compiler, espace_sans_builtins
from app.rules.model import Parametre

#: How a number reads in French (explain.nombre), given by the caller to keep this module light.
Ecrire = Callable[[Nombre, str | None], str]
#: The formula on exact values: its value and the value of each of its names, in reading order;
#: `formules.NonPonctuel` when a name's value is an interval, `Incalculable` as the closures.
Genere = Callable[[Mapping[str, Fait], date], tuple[Nombre, tuple[Any, ...]]]
#: The same with the detail « calculé : … » written in it, instead of the names' values.
GenereDetaille = Callable[[Mapping[str, Fait], date], tuple[Nombre, str]]
#: The detail's fixed texts, and each name with its unit and its rank among the formula's names.
Morceaux = tuple[str | tuple[Nom, str | None, int], ...]
#: How the generated function reads a name: ("parametre", value at a date, None),
#: ("derive", the definition's computation, its reference), ("base", conversion, fact name),
#: ("valeurs", a reader of the facts giving an interval, None), ("lu", a reader of the facts
#: giving a tuple that starts with the interval and is handed back instead of the value, None) or
#: ("constante", None, the value).
Lecture = tuple[str, Callable[..., Any] | None, Any]


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
        self._gabarit: Morceaux | None = None  # the detail's fixed text
        # The formula on exact values as one generated function, made on first use (None: not yet).
        self._genere: Genere | None = None
        self._noms = formules.noms(expression)  # its names, in the order it reads them
        self.source = ""  # the generated function's text, for who wants to read it
        # The formula on exact values with its detail « calculé : … » written in the same generated
        # function, made on first use.
        self._genere_detaille: GenereDetaille | None = None
        # Under which key a household's `Foyer` keeps its value with its detail (its value alone
        # is kept under the `Calcul` itself).
        self._cle_detail = object()

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
        """The fact's interval; once per household when `faits` is its `Foyer` (the conditions
        and the amounts that read it share it)."""
        if type(faits) is Foyer and faits.jour == jour:
            valeurs = faits.valeurs
            valeur: Intervalle | None = valeurs.get(self)
            if valeur is None:
                valeur = valeurs[self] = self._calcul(faits, jour)
            return valeur
        return self._calcul(faits, jour)

    def _calcul(self, faits: Mapping[str, Fait], jour: date) -> Intervalle:
        genere = self._genere
        if genere is None:
            genere = self._generer()
        try:
            exacte = genere(faits, jour)[0]
        except formules.NonPonctuel:  # a name's value is an interval: the formula on intervals
            valeur = self.valeur
            return self._intervalle(lambda n: valeur(n, faits, jour))
        return exacte, exacte

    def _generer(self) -> Genere:
        """The generated function, once the catalogue is complete (before, the closures serve)."""
        if not self.derives:  # pragma: no cover - the loader fills the catalogue before any use
            valeur = self.valeur
            ponctuelle = self._ponctuelle
            noms = self._noms

            def provisoire(faits: Mapping[str, Fait], jour: date) -> tuple[Nombre, tuple[Nombre, ...]]:
                lues = {id(n): valeur(n, faits, jour) for n in noms}
                return ponctuelle(lambda n: lues[id(n)]), tuple(lues[id(n)][0] for n in noms)

            return provisoire
        genere: Genere
        genere, self.source = generer(self.expression, self._lecture_du_nom)
        self._genere = genere
        return genere

    def _lecture_du_nom(self, nom: Nom) -> Lecture:
        """How the generated function reads one name, as `valeur` does."""
        parametre = self.parametres.get(nom.nom)
        if parametre is not None:

            def lire_parametre(jour: date) -> Decimal:
                en_vigueur = parametre.en_vigueur(jour)
                if en_vigueur is None or not isinstance(en_vigueur.valeur, Decimal):
                    raise Incalculable(f"le paramètre « {nom.nom} » n'a pas de valeur à cette date")
                return en_vigueur.valeur

            return ("parametre", lire_parametre, None)
        definition = self.derives.get(nom.nom)
        if definition is not None:
            return ("derive", definition.calcul, RefFait(nom.nom, nom.age_min, nom.age_max))

        def nombre(valeur: Any) -> Nombre:  # a base fact's value that is not plainly an int or Decimal
            if isinstance(valeur, bool):
                return int(valeur)
            if isinstance(valeur, Decimal | int):
                return valeur
            if isinstance(valeur, tuple) and all(isinstance(m, MembreFoyer) for m in valeur):
                return len(valeur)
            raise Incalculable(f"la donnée « {nom.nom} » n'est pas un nombre")

        return ("base", nombre, nom.nom)

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
        """`calcul` and `detail` in one pass: each name of the formula read once, on exact values
        by one generated function that writes the detail too; once per household when `faits` is
        its `Foyer` (its value then kept for `calcul` too)."""
        foyer = type(faits) is Foyer and faits.jour == jour
        if foyer:
            detaille: tuple[Any, Any, str] | None = faits.valeurs.get(self._cle_detail)  # type: ignore[attr-defined]
            if detaille is not None:
                return detaille
        genere = self._genere_detaille
        if genere is None:
            genere = self._generer_detaille()
        try:
            exacte, texte = genere(faits, jour)
        except formules.NonPonctuel:  # a name's value is an interval: the formula on intervals
            detaille = self._calcul_detaille(faits, jour)
        else:
            detaille = (exacte, exacte, texte)
        if foyer:
            valeurs = faits.valeurs  # type: ignore[attr-defined]
            valeurs[self._cle_detail] = detaille
            valeurs.setdefault(self, detaille[:2])
        return detaille

    def _generer_detaille(self) -> GenereDetaille:
        """`_generer`'s function writing the detail too, once the catalogue is complete."""
        if not self.derives:  # pragma: no cover - the loader fills the catalogue before any use

            def provisoire(faits: Mapping[str, Fait], jour: date) -> tuple[Nombre, str]:
                raise formules.NonPonctuel  # the closures serve

            return provisoire
        genere: GenereDetaille
        genere, _ = generer(self.expression, self._lecture_du_nom, (self._morceaux(), self.ecrire))
        self._genere_detaille = genere
        return genere

    def _calcul_detaille(self, faits: Mapping[str, Fait], jour: date) -> tuple[Any, Any, str]:
        lues: dict[int, Intervalle] = {}
        valeur = self.valeur

        def lire(nom: Nom) -> Intervalle:
            lue = lues.get(id(nom))
            if lue is None:
                lue = lues[id(nom)] = valeur(nom, faits, jour)
            return lue

        bas, haut = self._intervalle(lire)
        return bas, haut, self._detail(lire)

    def _morceaux(self) -> Morceaux:
        """The detail's fixed texts, and each name with its unit and its rank among `_noms`."""
        gabarit = self._gabarit
        if gabarit is None:  # on first use: the units of the names are known by then
            rendu = formules.Rendu(str, lambda n: self.unites(n.nom), self.ecrire)
            rangs = {id(n): r for r, n in enumerate(self._noms)}
            gabarit = self._gabarit = tuple(
                m if isinstance(m, str) else (m, self.unites(m.nom), rangs[id(m)])
                for m in rendu.gabarit(self.expression, None)
            )
        return gabarit

    def _detail(self, lire: Callable[[Nom], Intervalle]) -> str:
        ecrire = self.ecrire
        morceaux = ["calculé : "]
        for morceau in self._morceaux():
            if isinstance(morceau, str):
                morceaux.append(morceau)
                continue
            nom, unite, _ = morceau
            bas, haut = lire(nom)
            if bas == haut:
                morceaux.append(ecrire(bas, unite))
            else:
                morceaux.append(f"[{ecrire(bas, unite)} ; {ecrire(haut, unite)}]")
        return "".join(morceaux)


_OPERATIONS = {"+": "AJOUTER", "-": "SOUSTRAIRE", "*": "MULTIPLIER", "/": "DIVISER"}
# Sums, differences and products of two ints or Decimals inline (what `formules.ajouter`… do).
_EN_LIGNE = {"+": "+", "-": "-", "*": "*"}


def _espace() -> dict[str, Any]:
    """What every generated computation may name, and nothing else (no builtins)."""
    return espace_sans_builtins(
        type=type,
        INT=int,
        DECIMAL=Decimal,
        FRACTION=Fraction,
        NON_PONCTUEL=formules.NonPonctuel(),
        AJOUTER=formules.ajouter,
        SOUSTRAIRE=formules.soustraire,
        MULTIPLIER=formules.multiplier,
        DIVISER=formules.diviser,
        DIVISER_PRODUIT=formules.diviser_produit,
        BORNES=formules.bornes,
    )


class _Generateur:
    """The lines of a generated computation, and what they name."""

    def __init__(self, lecture_du_nom: Callable[[Nom], Lecture]) -> None:
        self.lecture_du_nom = lecture_du_nom
        self.espace = _espace()
        self.lignes = ["def calcul(faits, jour):"]
        self.noms: list[str] = []

    def nom(self, noeud: Nom) -> tuple[str, bool]:
        """A name read into the next `v` local; a computed fact's value may be a Fraction."""
        rang = len(self.noms)
        variable = f"v{rang}"
        self.noms.append(variable)
        genre, lire, quoi = self.lecture_du_nom(noeud)
        self.espace[f"L{rang}"] = lire
        if genre == "parametre":
            self.lignes.append(f"    {variable} = L{rang}(jour)")
            return variable, False
        if genre == "constante":  # a value known in advance (int or Decimal), bound as is
            self.espace[f"L{rang}"] = quoi
            self.lignes.append(f"    {variable} = L{rang}")
            return variable, False
        if genre == "lu":  # what the reader gives is handed back whole, its first two the interval
            self.noms[-1] = f"l{rang}"
            self.lignes.extend(
                [f"    l{rang} = L{rang}(faits)", f"    b = l{rang}[0]", f"    h = l{rang}[1]"]
            )
        if genre in ("derive", "valeurs", "lu"):
            self.espace[f"R{rang}"] = quoi
            appel = f"L{rang}(faits, jour, R{rang})" if genre == "derive" else f"L{rang}(faits)"
            self.lignes.extend([
                *([] if genre == "lu" else [f"    b, h = {appel}"]),
                "    if b is h or (type(b) is INT and type(h) is INT and b == h):",
                f"        {variable} = b",
                "    else:",
                "        raise NON_PONCTUEL",
            ])  # fmt: skip
            return variable, True
        self.espace[f"K{rang}"] = quoi
        self.lignes.extend([
            f"    {variable} = faits[K{rang}].valeur",
            f"    if type({variable}) is not DECIMAL and type({variable}) is not INT:",
            f"        {variable} = L{rang}({variable})",
        ])  # fmt: skip
        return variable, False

    def emettre(self, noeud: Expression) -> tuple[str, bool]:
        """The local holding the node's value, after the lines computing it, and whether that
        value may be a `Fraction` (a base fact, a parameter or a constant never is)."""
        match noeud:
            case formules.Constante(valeur=v):
                rang = len(self.espace)
                self.espace[f"C{rang}"] = v
                return f"C{rang}", False
            case Nom():
                return self.nom(noeud)
            case formules.Fonction(nom=fonction, arguments=arguments):
                valeurs = [self.emettre(a) for a in arguments]
                variable = f"x{len(self.lignes)}"
                rang = 0 if fonction == "min" else 1
                self.lignes.append(f"    {variable} = BORNES([{', '.join(v for v, _ in valeurs)}])[{rang}]")
                return variable, any(f for _, f in valeurs)
            case formules.Operation():
                return self.operation(noeud)
        raise TypeError(noeud)  # pragma: no cover - Expression is a closed union

    def operation(self, noeud: formules.Operation) -> tuple[str, bool]:
        """`emettre` for an operation."""
        op, g, d = noeud.operateur, noeud.gauche, noeud.droite
        if op == "/" and isinstance(g, formules.Operation) and g.operateur == "/":
            # (x / y) / z as x / (y × z), in one ratio: each divisor checked where its division
            # stood (`DIVISER` raises its error on a zero), so the same error comes first.
            (x, _), (y, _) = self.emettre(g.gauche), self.emettre(g.droite)
            self.lignes.extend([f"    if not {y}:", f"        DIVISER({x}, {y})"])
            z, _ = self.emettre(d)
            variable = f"x{len(self.lignes)}"
            if isinstance(d, formules.Constante) and d.valeur:  # « / 30 »: its ratio worked out once
                self.espace[f"R{z}"] = d.valeur.as_integer_ratio()
                self.lignes.append(f"    {variable} = DIVISER_PRODUIT({x}, {y}, {z}, R{z})")
                return variable, True
            self.lignes.extend([f"    if not {z}:", f"        DIVISER({x}, {z})"])
            self.lignes.append(f"    {variable} = DIVISER_PRODUIT({x}, {y}, {z})")
            return variable, True
        (a, fa), (b, fb) = self.emettre(g), self.emettre(d)
        variable = f"x{len(self.lignes)}"
        appel = f"{_OPERATIONS[op]}({a}, {b})"
        if op not in _EN_LIGNE:  # a division: its result may be a Fraction
            self.lignes.append(f"    {variable} = {appel}")
            return variable, True
        en_ligne = f"{a} {_EN_LIGNE[op]} {b}"
        if not (fa or fb):
            self.lignes.append(f"    {variable} = {en_ligne}")
            return variable, False
        test = " or ".join(f"type({v}) is FRACTION" for v, f in ((a, fa), (b, fb)) if f)
        self.lignes.extend([
            f"    if {test}:",
            f"        {variable} = {appel}",
            "    else:",
            f"        {variable} = {en_ligne}",
        ])  # fmt: skip
        return variable, True


def generer(
    expression: Expression,
    lecture_du_nom: Callable[[Nom], Lecture],
    detail: tuple[Morceaux, Ecrire] | None = None,
) -> tuple[Any, str]:
    """`formules.ponctuel(expression)` with its names read as `lecture_du_nom` says, as one
    generated Python function, straight-line: each name read into a local in the order the closures
    read them, each operation right after its operands (so the same error comes first). It gives
    the value and the names' values (a `Genere`), or with `detail` (its pieces and how a number
    reads) the value and the detail « calculé : … » written from them (a `GenereDetaille`).

    Safety of the generated text (as generation.py): fixed templates, local names built from
    indices and operators of a closed list; every value of the règlement (fact names, parameters,
    constants, the detail's texts and units) is bound in the function's namespace, never written
    into the source."""
    generateur = _Generateur(lecture_du_nom)
    resultat, _ = generateur.emettre(expression)
    noms, espace = generateur.noms, generateur.espace
    rendu = f"({''.join(f'{v}, ' for v in noms)})" if detail is None else _texte_du_detail(*detail, espace)
    lignes = [*generateur.lignes, f"    return {resultat}, {rendu}"]
    return compiler(lignes, espace, "calcul", "<fait calculé généré>")


def _texte_du_detail(morceaux: Morceaux, ecrire: Ecrire, espace: dict[str, Any]) -> str:
    """The detail « calculé : (1 450,50 € − 610 €) / 3 / 30 » as an f-string of the generated
    computation, each name written from its local `v…` (its rank among the names). Under the rule
    of `generer`: the fixed texts and units are bound in the namespace (`TD…`, `UD…`), only
    indices and the template are written."""
    espace["ECRIRE"], espace["TD"] = ecrire, "calculé : "
    champs = ["{TD}"]
    for n, morceau in enumerate(morceaux):
        if isinstance(morceau, str):
            espace[f"TD{n}"] = morceau
            champs.append(f"{{TD{n}}}")
        else:
            espace[f"UD{n}"] = morceau[1]
            champs.append(f"{{ECRIRE(v{int(morceau[2])}, UD{n})}}")
    return f'f"{"".join(champs)}"'


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
