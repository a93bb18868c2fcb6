"""Reading and type-checking the condition trees, amounts and freshness rules of a règlement.

Every check that can be made without facts is made here, at load time: unknown facts, operators
that do not fit the fact's type, unknown parameters, literals outside a fact's admitted values.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping
from dataclasses import replace
from datetime import date
from decimal import Decimal

from yaml.nodes import MappingNode, Node, ScalarNode

from app.rules.derived import CATALOGUE, Catalogue
from app.rules.facts import TypeFait
from app.rules.model import (
    AuMoins,
    AuMoinsUne,
    Comparaison,
    Condition,
    Fraicheur,
    Litteral,
    Montant,
    Non,
    Parametre,
    RefFait,
    Toutes,
)
from app.rules.yaml_nodes import Lecteur, ligne

OPERATEURS_NUMERIQUES = frozenset({"<=", "<", ">=", ">", "==", "!="})
OPERATEURS_LISTE = frozenset({"in", "not in"})
OPERATEURS = OPERATEURS_NUMERIQUES | OPERATEURS_LISTE
_NUMERIQUES = (TypeFait.NOMBRE, TypeFait.ENTIER)
_FEUILLE = frozenset(
    {"fait", "operateur", "valeur", "parametre", "age_min", "age_max", "fraicheur", "code", "si_inconnu"}
)
_CODE = re.compile(r"^[a-z0-9][a-z0-9_-]*\Z")
_COMBINAISONS = ("toutes", "au_moins_une", "non", "au_moins")


class LecteurConditions:
    """Parses conditions against the règlement's parameters (already read)."""

    def __init__(
        self, lecteur: Lecteur, parametres: Mapping[str, Parametre], catalogue: Catalogue = CATALOGUE
    ) -> None:
        self.lecteur = lecteur
        self.parametres = parametres
        self.catalogue = catalogue

    def ref_fait(self, noeud: Node, quoi: str, *, numerique: bool = False) -> RefFait:
        """`nom` or `{fait: nom, age_min: …, age_max: …}`."""
        lu = self.lecteur
        if isinstance(noeud, MappingNode):
            champs = lu.mapping(noeud, quoi, obligatoires=frozenset({"fait"}), permises=_FEUILLE)
            autres = set(champs) - {"fait", "age_min", "age_max"}
            if autres:
                raise lu.erreur(noeud, f"clé inconnue « {sorted(autres)[0]} » dans {quoi}")
            return self._ref(champs["fait"], champs, quoi, numerique=numerique)
        return self._ref(noeud, {}, quoi, numerique=numerique)

    def _ref(self, noeud: Node, champs: Mapping[str, Node], quoi: str, *, numerique: bool) -> RefFait:
        lu = self.lecteur
        nom = lu.texte(noeud, "le nom du fait")
        catalogue = self.catalogue
        if catalogue.type(nom) is None:
            connus = [*catalogue.faits, *catalogue.derives]
            proche = difflib.get_close_matches(nom, connus, n=1)
            suggestion = f" (vouliez-vous dire « {proche[0]} » ?)" if proche else ""
            raise lu.erreur(noeud, f"fait inconnu « {nom} »{suggestion}")
        ages = {cle: lu.entier(champs[cle], cle) for cle in ("age_min", "age_max") if cle in champs}
        if ages and not (nom in catalogue.derives and catalogue.derives[nom].accepte_ages):
            raise lu.erreur(noeud, f"le fait « {nom} » n'accepte pas de tranche d'âge (age_min / age_max)")
        if any(v < 0 for v in ages.values()):
            raise lu.erreur(noeud, "un âge ne peut pas être négatif")
        if "age_min" in ages and "age_max" in ages and ages["age_min"] > ages["age_max"]:
            raise lu.erreur(noeud, "age_min est supérieur à age_max")
        if numerique and catalogue.type(nom) not in _NUMERIQUES:
            raise lu.erreur(noeud, f"incompatibilité de type : le fait « {nom} » n'est pas un nombre")
        return RefFait(nom, ages.get("age_min"), ages.get("age_max"))

    def fraicheur(self, noeud: Node, quoi: str) -> Fraicheur:
        lu = self.lecteur
        champs = lu.mapping(noeud, quoi, permises=frozenset({"mois", "annees"}))
        if len(champs) != 1:
            raise lu.erreur(noeud, f"{quoi} : indiquez soit « mois », soit « annees »")
        ((unite, valeur),) = champs.items()
        nombre = lu.entier(valeur, unite)
        if nombre < 0:
            raise lu.erreur(valeur, f"{quoi} : la durée doit être positive")
        return Fraicheur(mois=nombre) if unite == "mois" else Fraicheur(annees=nombre)

    def fraicheurs(self, noeud: Node, quoi: str) -> dict[str, Fraicheur]:
        resultat: dict[str, Fraicheur] = {}
        for nom, cle, valeur in self.lecteur.entrees(noeud, quoi):
            self._ref(cle, {}, quoi, numerique=False)
            resultat[nom] = self.fraicheur(valeur, f"la fraîcheur de « {nom} »")
        return resultat

    def conditions(self, noeud: Node, quoi: str) -> tuple[Condition, ...]:
        elements = self.lecteur.liste(noeud, quoi)
        if not elements:
            raise self.lecteur.erreur(noeud, f"{quoi} : la liste de conditions est vide")
        return tuple(self.condition(e) for e in elements)

    def conditions_nommees(self, noeud: Node) -> tuple[Condition, ...]:
        """An aid's `conditions`, each with its code."""
        lues = self.conditions(noeud, "conditions")
        return self.nommer(lues, self.lecteur.liste(noeud, "conditions"))

    def condition(self, noeud: Node) -> Condition:
        lu = self.lecteur
        if not isinstance(noeud, MappingNode):
            raise lu.erreur(noeud, "une condition doit être un dictionnaire (fait, operateur, valeur…)")
        cles = {str(k.value) for k, _ in noeud.value if isinstance(k, ScalarNode)}
        combinaisons = [c for c in _COMBINAISONS if c in cles]
        if combinaisons:
            cle = combinaisons[0]
            permises = frozenset({cle, "code"})
            champs = lu.mapping(noeud, "une combinaison de conditions", permises=permises)
            valeur = champs[cle]
            code = self.code(champs["code"]) if "code" in champs else ""
            if cle == "toutes":
                return Toutes(self.conditions(valeur, "toutes"), code)
            if cle == "au_moins_une":
                return AuMoinsUne(self.conditions(valeur, "au_moins_une"), code)
            if cle == "non":
                return Non(self.condition(valeur), code)
            detail = lu.mapping(valeur, "au_moins", obligatoires=frozenset({"nombre", "parmi"}))
            nombre = lu.entier(detail["nombre"], "au_moins.nombre")
            parmi = self.conditions(detail["parmi"], "au_moins.parmi")
            if not 1 <= nombre <= len(parmi):
                raise lu.erreur(
                    detail["nombre"], f"au_moins.nombre doit être compris entre 1 et {len(parmi)}"
                )
            return AuMoins(nombre, parmi, code)
        if "fait" not in cles:
            raise lu.erreur(
                noeud, "une condition porte sur un « fait » ou combine (toutes, au_moins_une, non, au_moins)"
            )
        return self.comparaison(noeud)

    def comparaison(self, noeud: Node) -> Comparaison:
        lu = self.lecteur
        champs = lu.mapping(
            noeud, "une condition", obligatoires=frozenset({"fait", "operateur"}), permises=_FEUILLE
        )
        ref = self._ref(champs["fait"], champs, "une condition", numerique=False)
        operateur = lu.texte(champs["operateur"], "l'opérateur")
        if operateur not in OPERATEURS:
            admis = ", ".join(sorted(OPERATEURS))
            raise lu.erreur(
                champs["operateur"], f"opérateur inconnu « {operateur} » (opérateurs admis : {admis})"
            )
        if ("valeur" in champs) == ("parametre" in champs):
            raise lu.erreur(
                noeud, "une condition compare à une « valeur » ou à un « parametre » (l'un des deux)"
            )
        valeur: Litteral | None = None
        parametre: str | None = None
        if "parametre" in champs:
            parametre = lu.texte(champs["parametre"], "le paramètre")
            if parametre not in self.parametres:
                raise lu.erreur(champs["parametre"], f"paramètre inconnu « {parametre} »")
        else:
            valeur = self._litteral(champs["valeur"], operateur)
        self._verifier_types(noeud, ref, operateur, valeur, parametre)
        fraicheur = self.fraicheur(champs["fraicheur"], "la fraîcheur") if "fraicheur" in champs else None
        code = self.code(champs["code"]) if "code" in champs else ""
        si_inconnu, defaut = (
            self._si_inconnu(champs["si_inconnu"], ref) if "si_inconnu" in champs else (None, None)
        )
        return Comparaison(
            ref, operateur, valeur, parametre, fraicheur, ligne(noeud), code, si_inconnu, defaut
        )

    def _si_inconnu(self, noeud: Node, ref: RefFait) -> tuple[str | None, Litteral | None]:
        """`si_inconnu: non_remplie`, `remplie`, or `{valeur: …}` (the fact's value when unknown)."""
        lu = self.lecteur
        if isinstance(noeud, MappingNode):
            champs = lu.mapping(noeud, "si_inconnu", obligatoires=frozenset({"valeur"}))
            valeur = lu.scalaire(champs["valeur"], "la valeur si inconnue")
            type_fait = self.catalogue.type(ref.nom)
            numerique = type_fait in _NUMERIQUES
            if numerique != isinstance(valeur, Decimal) or (type_fait is TypeFait.BOOLEEN) != isinstance(
                valeur, bool
            ):
                raise lu.erreur(
                    champs["valeur"], f"si_inconnu : la valeur n'a pas le type du fait « {ref.nom} »"
                )
            return "valeur", valeur
        choix = lu.texte(noeud, "si_inconnu")
        if choix not in ("remplie", "non_remplie", "a_verifier"):
            raise lu.erreur(
                noeud, f"si_inconnu : « {choix} » inconnu (non_remplie, remplie, a_verifier ou {{valeur: …}})"
            )
        return (None, None) if choix == "a_verifier" else (choix, None)

    def test_de_table(self, fait: Node, valeur: Node) -> Comparaison:
        """A test of a decision-table row: `fait: valeur` (equality), `fait: [a, b]` (one of them),
        `fait: {"<": 500}` (any operator)."""
        lu = self.lecteur
        ref = self._ref(fait, {}, "une ligne de table", numerique=False)
        if isinstance(valeur, MappingNode):
            champs = lu.mapping(valeur, "un test", permises=OPERATEURS)
            if len(champs) != 1:
                raise lu.erreur(valeur, "un test de table s'écrit {opérateur: valeur}, un seul opérateur")
            ((operateur, seuil),) = champs.items()
            litteral = self._litteral(seuil, operateur)
        elif isinstance(valeur, ScalarNode):
            operateur, litteral = "==", self._litteral(valeur, "==")
        else:
            operateur, litteral = "in", self._litteral(valeur, "in")
        self._verifier_types(valeur, ref, operateur, litteral, None)
        return Comparaison(ref, operateur, litteral, None, None, ligne(valeur), ref.nom)

    def code(self, noeud: Node) -> str:
        code = self.lecteur.texte(noeud, "le code")
        if not _CODE.match(code):
            raise self.lecteur.erreur(
                noeud, f"code « {code} » invalide (minuscules, chiffres, tirets et soulignés)"
            )
        return code

    def nommer(self, conditions: tuple[Condition, ...], noeuds: list[Node]) -> tuple[Condition, ...]:
        """Every condition of an aid with its code: the one written (unique within the aid, else
        refused at its line), or one derived from the fact or the combination (suffixed if taken)."""
        ecrits: set[str] = set()
        for condition, noeud in zip(conditions, noeuds, strict=True):
            self._codes_ecrits(condition, noeud, ecrits)
        pris = set(ecrits)
        return tuple(_nommer(c, pris) for c in conditions)

    def _codes_ecrits(self, condition: Condition, noeud: Node, vus: set[str]) -> None:
        for c in _parcours(condition):
            if c.code:
                if c.code in vus:
                    raise self.lecteur.erreur(noeud, f"code de condition « {c.code} » en double dans l'aide")
                vus.add(c.code)

    def _litteral(self, noeud: Node, operateur: str) -> Litteral:
        lu = self.lecteur
        if isinstance(noeud, ScalarNode) and noeud.tag == "tag:yaml.org,2002:timestamp":
            return lu.date(noeud, "la valeur")
        if operateur in OPERATEURS_LISTE:
            return tuple(lu.texte(e, "chaque élément de la liste") for e in lu.liste(noeud, "la valeur"))
        return lu.scalaire(noeud, "la valeur")

    def _verifier_types(
        self, noeud: Node, ref: RefFait, operateur: str, valeur: Litteral | None, parametre: str | None
    ) -> None:
        lu = self.lecteur
        type_fait = self.catalogue.type(ref.nom)
        type_param = self.parametres[parametre].type if parametre else None
        nom = ref.nom
        if type_fait is TypeFait.DATE and nom in self.catalogue.propres:
            # A date the règlement declares: compared with a date (« entré dans le logement avant … »).
            if (
                operateur not in OPERATEURS_NUMERIQUES
                or parametre is not None
                or not isinstance(valeur, date)
            ):
                raise lu.erreur(
                    noeud, f"incompatibilité de type : le fait « {nom} » est une date, comparez-le à une date"
                )
            return
        if type_fait in (TypeFait.MEMBRES, TypeFait.DATE):
            conseil = "nombre_enfants, taille_foyer…" if type_fait is TypeFait.MEMBRES else "age_demandeur"
            raise lu.erreur(
                noeud, f"incompatibilité de type : le fait « {nom} » ne se compare pas ; utilisez {conseil}"
            )
        if type_fait in _NUMERIQUES:
            if operateur not in OPERATEURS_NUMERIQUES:
                raise lu.erreur(
                    noeud, f"incompatibilité de type : « {operateur} » ne s'applique pas au nombre « {nom} »"
                )
            if (valeur is not None and not isinstance(valeur, Decimal)) or type_param not in (None, "nombre"):
                raise lu.erreur(
                    noeud, f"incompatibilité de type : le fait « {nom} » est un nombre, le seuil ne l'est pas"
                )
            return
        if type_fait is TypeFait.BOOLEEN:
            if operateur not in ("==", "!="):
                raise lu.erreur(
                    noeud, f"incompatibilité de type : « {operateur} » ne s'applique pas au booléen « {nom} »"
                )
            if parametre is not None or not isinstance(valeur, bool):
                raise lu.erreur(
                    noeud, f"incompatibilité de type : le fait « {nom} » se compare à true ou false"
                )
            return
        self._verifier_texte(noeud, nom, operateur, valeur, type_param)

    def _verifier_texte(
        self, noeud: Node, nom: str, operateur: str, valeur: Litteral | None, type_param: str | None
    ) -> None:
        """Texts: equality with a text, membership with a list, within the admitted values."""
        lu = self.lecteur
        attendu = "liste" if operateur in OPERATEURS_LISTE else "texte"
        if operateur not in ("==", "!=", *OPERATEURS_LISTE):
            raise lu.erreur(
                noeud, f"incompatibilité de type : « {operateur} » ne s'applique pas au texte « {nom} »"
            )
        if type_param is not None and type_param != attendu:
            raise lu.erreur(
                noeud,
                f"incompatibilité de type : « {operateur} » attend un paramètre de type {attendu}",
            )
        if valeur is not None and (
            isinstance(valeur, tuple) != (attendu == "liste") or isinstance(valeur, bool | Decimal)
        ):
            raise lu.erreur(
                noeud, f"incompatibilité de type : le fait « {nom} » est un texte, comparez-le à un {attendu}"
            )
        faits = self.catalogue.faits
        admises = faits[nom].valeurs_admises if nom in faits else None
        if admises:
            candidates = valeur if isinstance(valeur, tuple) else (valeur,) if isinstance(valeur, str) else ()
            for texte in candidates:
                if texte not in admises:
                    raise lu.erreur(
                        noeud, f"valeur « {texte} » non admise pour « {nom} » ({', '.join(admises)})"
                    )

    def montant(self, noeud: Node, baremes: frozenset[str]) -> Montant:
        lu = self.lecteur
        champs = lu.mapping(
            noeud,
            "le montant",
            permises=frozenset({"bareme", "parametre", "valeur", "multiplie_par", "arrondi", "unite"}),
        )
        sources = [c for c in ("bareme", "parametre", "valeur") if c in champs]
        if len(sources) != 1:
            raise lu.erreur(
                noeud, "le montant vient d'un « bareme », d'un « parametre » ou d'une « valeur » (un seul)"
            )
        bareme = parametre = None
        valeur = None
        if "bareme" in champs:
            bareme = lu.texte(champs["bareme"], "le barème")
            if bareme not in baremes:
                raise lu.erreur(champs["bareme"], f"barème inconnu « {bareme} »")
        elif "parametre" in champs:
            parametre = lu.texte(champs["parametre"], "le paramètre")
            if parametre not in self.parametres:
                raise lu.erreur(champs["parametre"], f"paramètre inconnu « {parametre} »")
            if self.parametres[parametre].type != "nombre":
                raise lu.erreur(
                    champs["parametre"],
                    f"incompatibilité de type : le paramètre « {parametre} » n'est pas un nombre",
                )
        else:
            valeur = lu.nombre(champs["valeur"], "le montant")
        multiplie_par = None
        if "multiplie_par" in champs:
            multiplie_par = self.ref_fait(champs["multiplie_par"], "multiplie_par", numerique=True)
        arrondi = lu.nombre(champs["arrondi"], "l'arrondi") if "arrondi" in champs else Decimal("0.01")
        if arrondi <= 0:
            raise lu.erreur(champs["arrondi"], "l'arrondi doit être positif (0.01 pour le centime)")
        unite = lu.texte(champs["unite"], "l'unité") if "unite" in champs else "€"
        return Montant(bareme, parametre, valeur, multiplie_par, arrondi, unite)


def _parcours(condition: Condition) -> list[Condition]:
    """The condition and every condition inside it, in the order they are written."""
    match condition:
        case Toutes(conditions=enfants) | AuMoinsUne(conditions=enfants) | AuMoins(conditions=enfants):
            return [condition, *(d for e in enfants for d in _parcours(e))]
        case Non(condition=enfant):
            return [condition, *_parcours(enfant)]
    return [condition]


def _libre(base: str, pris: set[str]) -> str:
    code, rang = base, 1
    while code in pris:
        rang += 1
        code = f"{base}-{rang}"
    pris.add(code)
    return code


def _nommer(condition: Condition, pris: set[str]) -> Condition:
    match condition:
        case Comparaison(fait=ref):
            if condition.code:
                return condition
            bande = ""
            if ref.age_min is not None or ref.age_max is not None:
                bande = f"-{ref.age_min or 0}-{'plus' if ref.age_max is None else ref.age_max}"
            return replace(condition, code=_libre(ref.nom + bande, pris))
        case Toutes(conditions=enfants):
            return Toutes(tuple(_nommer(e, pris) for e in enfants), condition.code or _libre("toutes", pris))
        case AuMoinsUne(conditions=enfants):
            code = condition.code or _libre("au_moins_une", pris)
            return AuMoinsUne(tuple(_nommer(e, pris) for e in enfants), code)
        case AuMoins(nombre=n, conditions=enfants):
            code = condition.code or _libre(f"au_moins_{n}", pris)
            return AuMoins(n, tuple(_nommer(e, pris) for e in enfants), code)
        case Non(condition=enfant):
            interieur = _nommer(enfant, pris)
            return Non(interieur, condition.code or _libre(f"non-{interieur.code}", pris))
    raise TypeError(condition)  # pragma: no cover - Condition is a closed union
