"""Reading a règlement's YAML node by node, so that every error names the file and the line.

Numbers are read from the scalar's text into `Decimal` (never through a binary float), and the
canonical form used for the règlement's fingerprint ignores comments, key order and layout.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from app.rules.nombres import NombreHorsBornes, lire_nombre

_TAG = "tag:yaml.org,2002:"
#: Beyond this many digits either side of the point, the fingerprint keeps a number's own text.
_CHIFFRES_CANONIQUES = 40

#: Caps on a règlement's text (issue 13): the demo règlement is 12 000 characters, 907 nodes,
#: 7 levels deep; these leave room for 15 times more while bounding the work of one request.
TAILLE_MAX = 200_000
NOEUDS_MAX = 20_000
PROFONDEUR_MAX = 32
_NUMBER = re.compile(r"^[-+]?(\d[\d_]*)?(\.\d[\d_]*)?([eE][-+]?\d+)?\Z")
#: `650,5`: a French decimal comma, which YAML reads as a text.
_VIRGULE = re.compile(r"^[-+]?\d[\d ]*,\d+\Z")

#: libyaml's problems, in French (the rest reads « syntaxe invalide »).
_PROBLEMES_YAML = (
    ("did not find expected ',' or ']'", "liste entre crochets non refermée (« ] » ou « , » attendu)"),
    ("did not find expected ',' or '}'", "dictionnaire entre accolades non refermé (« } » ou « , » attendu)"),
    ("did not find expected key", "indentation incohérente (clé attendue à ce niveau)"),
    ("did not find expected '-' indicator", "indentation incohérente (élément de liste « - » attendu)"),
    ("mapping values are not allowed", "« : » inattendu (mettez le texte entre guillemets s'il en contient)"),
    ("found unexpected end of stream", "guillemet non refermé"),
    ("cannot start any token", "caractère inattendu (tabulation ? indentez avec des espaces)"),
    ("found undefined alias", "alias « * » non défini"),
    ("found duplicate anchor", "ancre « & » en double"),
    ("found unexpected ':'", "« : » inattendu"),
    ("could not find expected ':'", "« : » attendu après la clé"),
    ("found a tab character", "tabulation interdite (indentez par espaces)"),
)


def _probleme_yaml(probleme: str | None) -> str:
    for anglais, francais in _PROBLEMES_YAML:
        if probleme and anglais in probleme:
            return francais
    return "syntaxe invalide"


class ReglementInvalide(Exception):
    """A règlement refused at load time; `str()` is `fichier:ligne: message`."""

    def __init__(self, fichier: str, ligne: int | None, message: str) -> None:
        self.fichier = fichier
        self.ligne = ligne
        self.message = message
        super().__init__(str(self))

    def __str__(self) -> str:
        if self.ligne is None:
            return f"{self.fichier}: {self.message}"
        return f"{self.fichier}:{self.ligne}: {self.message}"


def ligne(noeud: Node | None) -> int | None:
    """The 1-based line where `noeud` starts."""
    return None if noeud is None else noeud.start_mark.line + 1


class Lecteur:
    """Typed accessors over YAML nodes; each refusal is a `ReglementInvalide` at the node's line."""

    def __init__(self, fichier: str) -> None:
        self.fichier = fichier

    def erreur(self, noeud: Node | None, message: str) -> ReglementInvalide:
        return ReglementInvalide(self.fichier, ligne(noeud), message)

    def composer(self, texte: str) -> Node:
        """The node tree of `texte`, once its size, nodes, depth and absence of aliases are checked."""
        if len(texte) > TAILLE_MAX:
            raise ReglementInvalide(
                self.fichier, None, f"le règlement dépasse la taille maximale ({TAILLE_MAX} caractères)"
            )
        try:
            self._verifier_structure(texte)
            racine = yaml.compose(texte, Loader=yaml.CSafeLoader)
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            numero = None if mark is None else mark.line + 1
            raison = _probleme_yaml(exc.problem)
            raise ReglementInvalide(self.fichier, numero, f"YAML illisible : {raison}") from exc
        except yaml.YAMLError as exc:
            raise ReglementInvalide(self.fichier, None, "YAML illisible") from exc
        if racine is None:
            raise ReglementInvalide(self.fichier, None, "le fichier est vide")
        return racine

    def _verifier_structure(self, texte: str) -> None:
        """Walk the parser's events (iterative, nothing built) before composing anything.

        An alias makes the tree a graph whose walk is exponential: 600 bytes of nested aliases
        gave 10^5 conditions, 6.7 s and +310 MB per request. Anchors and aliases are refused
        (a règlement never needs them), and so are trees too large or too deep to be a règlement.
        """
        noeuds = 0
        profondeur = 0
        for evenement in yaml.parse(texte, Loader=yaml.CSafeLoader):
            if isinstance(evenement, yaml.AliasEvent) or getattr(evenement, "anchor", None):
                raise self._limite(
                    evenement,
                    "les ancres et alias YAML (&nom, *nom) ne sont pas admis : écrivez chaque condition",
                )
            if isinstance(evenement, yaml.ScalarEvent | yaml.CollectionStartEvent):
                noeuds += 1
                if noeuds > NOEUDS_MAX:
                    raise self._limite(
                        evenement, f"le règlement dépasse le nombre maximal de nœuds ({NOEUDS_MAX})"
                    )
            if isinstance(evenement, yaml.CollectionStartEvent):
                profondeur += 1
                if profondeur > PROFONDEUR_MAX:
                    raise self._limite(
                        evenement,
                        f"le règlement dépasse la profondeur maximale d'imbrication ({PROFONDEUR_MAX})",
                    )
            elif isinstance(evenement, yaml.CollectionEndEvent):
                profondeur -= 1

    def _limite(self, evenement: yaml.Event, message: str) -> ReglementInvalide:
        mark = evenement.start_mark
        return ReglementInvalide(self.fichier, None if mark is None else mark.line + 1, message)

    def mapping(
        self,
        noeud: Node,
        quoi: str,
        *,
        obligatoires: frozenset[str] = frozenset(),
        permises: frozenset[str] | None = None,
    ) -> dict[str, Node]:
        """A mapping's values by key; refuses duplicate, unknown and missing keys."""
        if not isinstance(noeud, MappingNode):
            raise self.erreur(noeud, f"{quoi} doit être un dictionnaire (clé: valeur)")
        valeurs: dict[str, Node] = {}
        precedente: Node | None = None
        for cle, valeur in noeud.value:
            nom = self.texte(cle, "une clé")
            if nom in valeurs:
                raise self.erreur(cle, f"clé « {nom} » en double dans {quoi}")
            if (
                nom.isdigit()
                and self.est_nul(valeur)
                and isinstance(precedente, ScalarNode)
                and precedente.tag == _TAG + "int"
            ):
                # `{valeur: 650,5}`: the comma ended the number and began a key « 5 ».
                nombre = f"{precedente.value},{nom}"
                raise self.erreur(
                    cle,
                    f"« {nombre} » s'écrit avec un point décimal ({precedente.value}.{nom}) ; "
                    "une virgule sépare deux éléments",
                )
            precedente = valeur
            if permises is not None and nom not in permises | obligatoires:
                attendues = ", ".join(sorted(permises | obligatoires))
                raise self.erreur(cle, f"clé inconnue « {nom} » dans {quoi} (clés admises : {attendues})")
            valeurs[nom] = valeur
        manquantes = sorted(obligatoires - valeurs.keys())
        if manquantes:
            raise self.erreur(noeud, f"{quoi} : clé obligatoire absente « {manquantes[0]} »")
        return valeurs

    def entrees(self, noeud: Node, quoi: str) -> Iterator[tuple[str, Node, Node]]:
        """(key, key node, value node) of a mapping whose keys are free names (ids)."""
        if not isinstance(noeud, MappingNode):
            raise self.erreur(noeud, f"{quoi} doit être un dictionnaire (nom: définition)")
        vus: set[str] = set()
        for cle, valeur in noeud.value:
            nom = self.texte(cle, "une clé")
            if nom in vus:
                raise self.erreur(cle, f"identifiant « {nom} » en double dans {quoi}")
            vus.add(nom)
            yield nom, cle, valeur

    def liste(self, noeud: Node, quoi: str) -> list[Node]:
        if not isinstance(noeud, SequenceNode):
            raise self.erreur(noeud, f"{quoi} doit être une liste")
        return list(noeud.value)

    def est_nul(self, noeud: Node) -> bool:
        return isinstance(noeud, ScalarNode) and noeud.tag == _TAG + "null"

    def texte(self, noeud: Node, quoi: str) -> str:
        # The scalar's own text is kept: a commune code such as 08480 must not become a number.
        if not isinstance(noeud, ScalarNode) or noeud.tag == _TAG + "null":
            raise self.erreur(noeud, f"{quoi} doit être un texte")
        return str(noeud.value)

    def nombre(self, noeud: Node, quoi: str) -> Decimal:
        if isinstance(noeud, ScalarNode) and noeud.tag in (_TAG + "int", _TAG + "float", _TAG + "str"):
            texte = str(noeud.value).replace("_", "").strip()
            if _NUMBER.match(texte) and any(c.isdigit() for c in texte):
                try:
                    return lire_nombre(texte)
                except NombreHorsBornes as exc:
                    raise self.erreur(noeud, f"{quoi} {exc}") from None
            self._virgule(noeud, quoi)
        raise self.erreur(noeud, f"{quoi} doit être un nombre")

    def _virgule(self, noeud: ScalarNode, quoi: str) -> None:
        texte = str(noeud.value).strip()
        if not noeud.style and _VIRGULE.match(texte):
            avec_point = texte.replace(" ", "").replace(",", ".")
            raise self.erreur(
                noeud,
                f"{quoi} : « {texte} » s'écrit avec un point décimal ({avec_point}) ; une virgule en "
                "ferait un texte",
            )

    def entier(self, noeud: Node, quoi: str) -> int:
        valeur = self.nombre(noeud, quoi)
        if valeur != valeur.to_integral_value():
            raise self.erreur(noeud, f"{quoi} doit être un nombre entier")
        return int(valeur)

    def booleen(self, noeud: Node, quoi: str) -> bool:
        if isinstance(noeud, ScalarNode) and noeud.tag == _TAG + "bool":
            return str(noeud.value).lower() in ("true", "yes", "on", "y")
        raise self.erreur(noeud, f"{quoi} doit être vrai ou faux (true / false)")

    def date(self, noeud: Node, quoi: str) -> date:
        if isinstance(noeud, ScalarNode):
            try:
                return date.fromisoformat(str(noeud.value).strip())
            except ValueError:
                pass
        raise self.erreur(noeud, f"{quoi} doit être une date AAAA-MM-JJ valide")

    def scalaire(self, noeud: Node, quoi: str) -> Decimal | bool | str:
        """A literal of a condition: number, boolean or text, according to the YAML tag."""
        if isinstance(noeud, ScalarNode):
            if noeud.tag == _TAG + "bool":
                return self.booleen(noeud, quoi)
            if noeud.tag in (_TAG + "int", _TAG + "float"):
                return self.nombre(noeud, quoi)
            if noeud.tag != _TAG + "null":
                self._virgule(noeud, quoi)
                return str(noeud.value)
        raise self.erreur(noeud, f"{quoi} doit être une valeur simple")

    def python(self, noeud: Node) -> Any:
        """Plain Python data (numbers as `Decimal`), for test-case facts."""
        if isinstance(noeud, MappingNode):
            return {self.texte(k, "une clé"): self.python(v) for k, v in noeud.value}
        if isinstance(noeud, SequenceNode):
            return [self.python(v) for v in noeud.value]
        if noeud.tag == _TAG + "null":
            return None
        if noeud.tag == _TAG + "bool":
            return self.booleen(noeud, "la valeur")
        if noeud.tag in (_TAG + "int", _TAG + "float"):
            return self.nombre(noeud, "la valeur")
        return str(noeud.value)


def _canonique(noeud: Node) -> Any:
    if isinstance(noeud, MappingNode):
        return {str(k.value): _canonique(v) for k, v in noeud.value}
    if isinstance(noeud, SequenceNode):
        return [_canonique(v) for v in noeud.value]
    texte = str(noeud.value)
    if noeud.tag in (_TAG + "int", _TAG + "float"):
        # 600, 600.0 and 6_00 are the same number: the fingerprint must not change.
        try:
            nombre = Decimal(texte.replace("_", ""))
        except InvalidOperation:
            nombre = Decimal("NaN")
        # Only a number the engine could accept is spelt out: `format(1e999999, "f")` is a
        # million characters (such a scalar can sit in a libellé, which is read as text).
        return format(nombre.normalize(), "f") if _affichable(nombre) else texte
    return {_TAG + "bool": texte.lower() in ("true", "yes", "on", "y"), _TAG + "null": None}.get(
        noeud.tag, texte
    )


def _affichable(nombre: Decimal) -> bool:
    return nombre.is_finite() and (nombre == 0 or abs(nombre.adjusted()) <= _CHIFFRES_CANONIQUES)


def forme_canonique(noeud: Node) -> str:
    """Compact JSON of the content, keys sorted: what the fingerprint is computed on."""
    return json.dumps(_canonique(noeud), sort_keys=True, ensure_ascii=False, separators=(",", ":"))
