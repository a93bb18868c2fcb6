"""Loading a règlement file: YAML in, a checked `Reglement` out, or an error naming file and line.

Test cases may sit in the file (`cas_de_test:`) or beside it, in `<nom>.cas.yaml`.
"""

from __future__ import annotations

import hashlib
import re
from datetime import date
from decimal import Decimal
from pathlib import Path

from yaml.nodes import MappingNode, Node, ScalarNode

from app.rules import explain, formules
from app.rules.calcules import Calcul
from app.rules.calcules import definition as definition_calculee
from app.rules.condition_parser import LecteurConditions
from app.rules.derived import CATALOGUE, DERIVES, Catalogue, DefinitionDerivee
from app.rules.facts import CATALOGUE_FAITS, DefinitionFait, Origine, TypeFait
from app.rules.model import (
    Attendu,
    Bareme,
    CasDeTest,
    Colonnes,
    Deliberation,
    Dispositif,
    LigneTable,
    Montant,
    Organisme,
    Parametre,
    Reglement,
    Table,
    Toutes,
    Tranche,
    ValeurDatee,
    ValeurParametre,
    VersionBareme,
)
from app.rules.needs import references_du_dispositif
from app.rules.results import Statut
from app.rules.simulation import FaitsInvalides, lire_faits
from app.rules.yaml_nodes import Lecteur, ReglementInvalide, forme_canonique, ligne

__all__ = ["ReglementInvalide", "charger_reglement", "lire_reglement"]

_IDENTIFIANT = re.compile(r"^[a-z0-9][a-z0-9_-]*\Z")
_IDENTIFIANT_FAIT = re.compile(r"^[a-z][a-z0-9_]*\Z")
_MONTANT = frozenset(
    {
        "bareme", "parametre", "valeur", "multiplie_par", "arrondi", "unite",
        "formule", "table", "plafond", "plancher", "si_inconnu",
    }
)  # fmt: skip


_RACINE = frozenset(
    {
        "reglement", "deliberations", "parametres", "baremes", "dispositifs", "fraicheur", "cas_de_test",
        "faits_declares", "faits_calcules", "tables",
    }
)  # fmt: skip
#: Types of a declared fact, as written → the engine's.
_TYPES_DECLARES = {
    "nombre": TypeFait.NOMBRE,
    "entier": TypeFait.ENTIER,
    "booleen": TypeFait.BOOLEEN,
    "date": TypeFait.DATE,
    "texte": TypeFait.TEXTE,
    "choix": TypeFait.TEXTE,
}
_DISPOSITIF = frozenset(
    {"id", "libelle", "description", "base_legale", "deliberation", "conditions", "montant", "fraicheur"}
)


class _Lecture:
    def __init__(self, lecteur: Lecteur) -> None:
        self.lu = lecteur
        self.deliberations: dict[str, Deliberation] = {}
        self.parametres: dict[str, Parametre] = {}
        self.baremes: dict[str, Bareme] = {}
        self.tables: dict[str, Table] = {}
        self.catalogue: Catalogue = CATALOGUE

    def lire_faits_declares(self, noeud: Node) -> None:
        """Facts the agent declares (`declaratif`): type, label, proof; bounds or values if any."""
        declares: dict[str, DefinitionFait] = {}
        for nom, cle, definition in self.lu.entrees(noeud, "les faits déclarés"):
            quoi = f"le fait déclaré « {nom} »"
            if not _IDENTIFIANT_FAIT.match(nom):
                raise self.lu.erreur(cle, f"{quoi} : nom invalide (minuscules, chiffres, soulignés)")
            if nom in CATALOGUE_FAITS and CATALOGUE_FAITS[nom].origine is not Origine.DECLARATIF:
                raise self.lu.erreur(cle, f"{quoi} : ce fait vient des API de l'État, il ne se déclare pas")
            if nom in DERIVES:
                raise self.lu.erreur(cle, f"{quoi} : ce fait est calculé par la passerelle")
            champs = self.lu.mapping(
                definition,
                quoi,
                obligatoires=frozenset({"libelle", "type", "piece"}),
                permises=frozenset({"unite", "min", "max", "valeurs"}),
            )
            genre = self.lu.texte(champs["type"], "le type")
            if genre not in _TYPES_DECLARES:
                admis = ", ".join(_TYPES_DECLARES)
                raise self.lu.erreur(champs["type"], f"{quoi} : type inconnu « {genre} » ({admis})")
            type_fait = _TYPES_DECLARES[genre]
            valeurs = None
            if "valeurs" in champs:
                if type_fait is not TypeFait.TEXTE:
                    raise self.lu.erreur(
                        champs["valeurs"], f"{quoi} : « valeurs » ne va qu'avec le type choix"
                    )
                valeurs = tuple(
                    self.lu.texte(v, "une valeur") for v in self.lu.liste(champs["valeurs"], "valeurs")
                )
            elif genre == "choix":
                raise self.lu.erreur(definition, f"{quoi} : un choix énumère ses « valeurs »")
            bornes: dict[str, Decimal] = {
                c: self.lu.nombre(champs[c], f"« {c} »") for c in ("min", "max") if c in champs
            }
            if bornes and type_fait not in (TypeFait.NOMBRE, TypeFait.ENTIER):
                raise self.lu.erreur(definition, f"{quoi} : « min » et « max » ne vont qu'avec un nombre")
            if "min" in bornes and "max" in bornes and bornes["min"] > bornes["max"]:
                raise self.lu.erreur(definition, f"{quoi} : « min » dépasse « max »")
            declares[nom] = DefinitionFait(
                nom,
                type_fait,
                Origine.DECLARATIF,
                self.lu.texte(champs["libelle"], "le libellé"),
                piece_justificative=self.lu.texte(champs["piece"], "la pièce"),
                valeurs_admises=valeurs,
                unite=self.lu.texte(champs["unite"], "l'unité") if "unite" in champs else None,
                minimum=bornes.get("min"),
                maximum=bornes.get("max"),
            )
        self.catalogue = self.catalogue.etendu(declares, {})

    def lire_faits_calcules(self, noeud: Node) -> None:
        """Facts the règlement computes with a formula over facts and parameters."""
        calcules: dict[str, DefinitionDerivee] = {}
        partages: dict[str, DefinitionDerivee] = {}  # the whole catalogue's, filled at the end
        for nom, cle, definition in self.lu.entrees(noeud, "les faits calculés"):
            quoi = f"le fait calculé « {nom} »"
            if not _IDENTIFIANT_FAIT.match(nom):
                raise self.lu.erreur(cle, f"{quoi} : nom invalide (minuscules, chiffres, soulignés)")
            catalogue = self.catalogue.etendu({}, calcules)
            if catalogue.type(nom) is not None or nom in self.parametres:
                raise self.lu.erreur(cle, f"{quoi} : ce nom est déjà pris (fait ou paramètre)")
            champs = self.lu.mapping(
                definition,
                quoi,
                obligatoires=frozenset({"libelle", "formule"}),
                permises=frozenset({"unite"}),
            )
            expression, bases = self.formule(champs["formule"], catalogue, baremes=False)
            unite = self.lu.texte(champs["unite"], "l'unité") if "unite" in champs else None
            calcul = Calcul(
                nom,
                expression,
                parametres=self.parametres,
                derives=partages,
                unites=catalogue.unite_ou_parametre(self.parametres),
                ecrire=explain.nombre,
            )
            calcules[nom] = definition_calculee(
                nom, self.lu.texte(champs["libelle"], "le libellé"), unite, bases, calcul
            )
        self.catalogue = self.catalogue.etendu({}, calcules)
        partages.update(self.catalogue.derives)

    def formule(
        self, noeud: Node, catalogue: Catalogue, *, baremes: bool
    ) -> tuple[formules.Expression, tuple[str, ...]]:
        """A formula read and checked: every name a numeric fact, a number parameter (or a barème)."""
        texte = self.lu.texte(noeud, "la formule")
        try:
            expression = formules.lire_formule(texte)
        except formules.FormuleInvalide as exc:
            raise self.lu.erreur(noeud, str(exc)) from exc
        bases: list[str] = []
        for nom in formules.noms(expression):
            if nom.nom in self.parametres:
                if self.parametres[nom.nom].type != "nombre":
                    raise self.lu.erreur(noeud, f"le paramètre « {nom.nom} » n'est pas un nombre")
                if nom.age_min is not None or nom.age_max is not None:
                    raise self.lu.erreur(noeud, f"« {nom.nom} » n'accepte pas de tranche d'âge")
                continue
            if baremes and nom.nom in self.baremes:
                bases.extend(catalogue.bases(self.baremes[nom.nom].fait.nom))
                continue
            genre = catalogue.type(nom.nom)
            if genre is None:
                raise self.lu.erreur(
                    noeud, f"nom inconnu « {nom.nom} » dans la formule (ni fait, ni paramètre)"
                )
            if genre not in (TypeFait.NOMBRE, TypeFait.ENTIER, TypeFait.BOOLEEN, TypeFait.MEMBRES):
                raise self.lu.erreur(noeud, f"incompatibilité de type : « {nom.nom} » n'est pas un nombre")
            if (nom.age_min is not None or nom.age_max is not None) and not (
                nom.nom in catalogue.derives and catalogue.derives[nom.nom].accepte_ages
            ):
                raise self.lu.erreur(noeud, f"le fait « {nom.nom} » n'accepte pas de tranche d'âge")
            bases.extend(catalogue.bases(nom.nom))
        return expression, tuple(dict.fromkeys(bases))

    def deliberation(self, noeud: Node) -> Deliberation:
        nom = self.lu.texte(noeud, "la délibération")
        if nom not in self.deliberations:
            raise self.lu.erreur(
                noeud, f"délibération inconnue « {nom} » (déclarez-la sous « deliberations »)"
            )
        return self.deliberations[nom]

    def lire_deliberations(self, noeud: Node) -> None:
        for nom, _, valeur in self.lu.entrees(noeud, "les délibérations"):
            champs = self.lu.mapping(
                valeur,
                f"la délibération « {nom} »",
                obligatoires=frozenset({"numero", "date"}),
                permises=frozenset({"objet"}),
            )
            objet = self.lu.texte(champs["objet"], "l'objet") if "objet" in champs else None
            self.deliberations[nom] = Deliberation(
                nom,
                self.lu.texte(champs["numero"], "le numéro"),
                self.lu.date(champs["date"], "la date"),
                objet,
            )

    def _valeur_parametre(self, noeud: Node, type_: str) -> ValeurParametre:
        if type_ == "nombre":
            return self.lu.nombre(noeud, "la valeur")
        if type_ == "texte":
            return self.lu.texte(noeud, "la valeur")
        return tuple(self.lu.texte(e, "chaque élément") for e in self.lu.liste(noeud, "la valeur"))

    def lire_parametres(self, noeud: Node) -> None:
        for nom, cle, definition in self.lu.entrees(noeud, "les paramètres"):
            quoi = f"le paramètre « {nom} »"
            champs = self.lu.mapping(
                definition,
                quoi,
                obligatoires=frozenset({"libelle", "valeurs"}),
                permises=frozenset({"type", "unite"}),
            )
            type_ = self.lu.texte(champs["type"], "le type") if "type" in champs else "nombre"
            if type_ not in ("nombre", "texte", "liste"):
                raise self.lu.erreur(
                    champs["type"], f"{quoi} : type inconnu « {type_} » (nombre, texte ou liste)"
                )
            valeurs: list[ValeurDatee] = []
            for element in self.lu.liste(champs["valeurs"], f"les valeurs de {quoi}"):
                v = self.lu.mapping(
                    element,
                    f"une valeur de {quoi}",
                    obligatoires=frozenset({"depuis", "valeur"}),
                    permises=frozenset({"deliberation"}),
                )
                depuis = self.lu.date(v["depuis"], "« depuis »")
                if valeurs and depuis <= valeurs[-1].depuis:
                    raise self.lu.erreur(
                        v["depuis"], f"{quoi} : les dates « depuis » doivent être croissantes et distinctes"
                    )
                deliberation = self.deliberation(v["deliberation"]) if "deliberation" in v else None
                valeurs.append(ValeurDatee(depuis, self._valeur_parametre(v["valeur"], type_), deliberation))
            if not valeurs:
                raise self.lu.erreur(champs["valeurs"], f"{quoi} n'a aucune valeur")
            unite = self.lu.texte(champs["unite"], "l'unité") if "unite" in champs else None
            libelle = self.lu.texte(champs["libelle"], "le libellé")
            self.parametres[nom] = Parametre(nom, libelle, type_, unite, tuple(valeurs), ligne(cle))

    def _tranches(
        self, noeud: Node, quoi: str, *, colonnes: int | None = None, classes: bool = False
    ) -> tuple[Tranche, ...]:
        """Contiguous tranches: each starts exactly where the previous ends (`moins_de` X then `de` X,
        or `jusqu_a` X then `plus_de` X); a gap or an overlap is refused."""
        tranches: list[Tranche] = []
        permises = {"de", "plus_de", "moins_de", "jusqu_a", "libelle"}
        permises |= {"montants"} if colonnes is not None else set() if classes else {"montant"}
        for element in self.lu.liste(noeud, f"les tranches de {quoi}"):
            t = self.lu.mapping(element, "une tranche", permises=frozenset(permises))
            bornes: dict[str, Decimal] = {
                c: self.lu.nombre(t[c], f"« {c} »")
                for c in ("de", "plus_de", "moins_de", "jusqu_a")
                if c in t
            }
            if "de" in bornes and "plus_de" in bornes:
                raise self.lu.erreur(
                    element, "une tranche commence par « de » ou par « plus_de », pas les deux"
                )
            if "moins_de" in bornes and "jusqu_a" in bornes:
                raise self.lu.erreur(
                    element, "une tranche finit par « moins_de » ou par « jusqu_a », pas les deux"
                )
            if not classes and "montant" not in t and "montants" not in t and "libelle" not in t:
                raise self.lu.erreur(element, "une tranche donne un « montant », un « libelle » ou les deux")
            bas_cle = "de" if "de" in bornes else "plus_de" if "plus_de" in bornes else None
            haut_cle = "moins_de" if "moins_de" in bornes else "jusqu_a" if "jusqu_a" in bornes else None
            if bas_cle and haut_cle:
                bas, haut = bornes[bas_cle], bornes[haut_cle]
                if bas > haut or (bas == haut and (bas_cle, haut_cle) != ("de", "jusqu_a")):
                    raise self.lu.erreur(
                        element,
                        f"tranche vide : « {bas_cle} » ({bas}) doit être inférieur à « {haut_cle} » ({haut})",
                    )
            if tranches:
                self._contigue(element, tranches[-1], bas_cle, bornes.get(bas_cle) if bas_cle else None)
            montant = self.lu.nombre(t["montant"], "le montant") if "montant" in t else None
            montants = None
            if "montants" in t:
                montants = tuple(
                    self.lu.nombre(m, "un montant") for m in self.lu.liste(t["montants"], "montants")
                )
                if len(montants) != colonnes:
                    raise self.lu.erreur(
                        t["montants"],
                        f"{len(montants)} montants pour {colonnes} colonnes : un montant par colonne",
                    )
            libelle = self.lu.texte(t["libelle"], "le libellé") if "libelle" in t else None
            tranches.append(
                Tranche(
                    bornes.get("de"),
                    bornes.get("moins_de"),
                    montant,
                    libelle,
                    bornes.get("jusqu_a"),
                    bornes.get("plus_de"),
                    montants,
                )
            )
        if not tranches:
            raise self.lu.erreur(noeud, f"{quoi} n'a aucune tranche")
        return tuple(tranches)

    def _contigue(self, element: Node, precedente: Tranche, bas_cle: str | None, bas: Decimal | None) -> None:
        fin = precedente.moins_de if precedente.moins_de is not None else precedente.jusqu_a
        if fin is None:
            raise self.lu.erreur(
                element, "chevauchement de tranches : la tranche précédente n'a pas de borne « moins_de »"
            )
        if bas is None or bas < fin:
            raise self.lu.erreur(
                element, f"chevauchement de tranches : celle-ci commence avant {fin}, fin de la précédente"
            )
        inclus_avant = precedente.jusqu_a is not None
        if bas == fin and inclus_avant and bas_cle == "de":
            raise self.lu.erreur(
                element, f"chevauchement de tranches : {fin} est dans les deux (« jusqu_a » puis « de »)"
            )
        if bas == fin and not inclus_avant and bas_cle == "plus_de":
            raise self.lu.erreur(
                element, f"trou entre tranches : {fin} n'est dans aucune (« moins_de » puis « plus_de »)"
            )
        if bas > fin:
            if inclus_avant:
                raise self.lu.erreur(
                    element, f"trou entre tranches : aucune tranche ne couvre de plus de {fin} à {bas}"
                )
            raise self.lu.erreur(
                element, f"trou entre tranches : aucune tranche ne couvre de {fin} à moins de {bas}"
            )

    def lire_baremes(self, noeud: Node, conditions: LecteurConditions) -> None:
        for nom, cle, definition in self.lu.entrees(noeud, "les barèmes"):
            quoi = f"le barème « {nom} »"
            champs = self.lu.mapping(
                definition,
                quoi,
                obligatoires=frozenset({"libelle", "fait", "versions"}),
                permises=frozenset({"unite", "colonnes", "si_inconnu"}),
            )
            fait = conditions.ref_fait(champs["fait"], f"le fait de {quoi}", numerique=True)
            colonnes = None
            if "colonnes" in champs:
                c = self.lu.mapping(
                    champs["colonnes"], f"les colonnes de {quoi}", obligatoires=frozenset({"fait", "classes"})
                )
                fait_colonnes = conditions.ref_fait(
                    c["fait"], f"le fait des colonnes de {quoi}", numerique=True
                )
                colonnes = Colonnes(
                    fait_colonnes, self._tranches(c["classes"], f"les colonnes de {quoi}", classes=True)
                )
            versions: list[VersionBareme] = []
            for element in self.lu.liste(champs["versions"], f"les versions de {quoi}"):
                v = self.lu.mapping(
                    element,
                    f"une version de {quoi}",
                    obligatoires=frozenset({"depuis", "tranches"}),
                    permises=frozenset({"deliberation"}),
                )
                depuis = self.lu.date(v["depuis"], "« depuis »")
                if versions and depuis <= versions[-1].depuis:
                    raise self.lu.erreur(
                        v["depuis"], f"{quoi} : les dates « depuis » doivent être croissantes et distinctes"
                    )
                deliberation = self.deliberation(v["deliberation"]) if "deliberation" in v else None
                nombre = None if colonnes is None else len(colonnes.classes)
                tranches = self._tranches(v["tranches"], quoi, colonnes=nombre)
                versions.append(VersionBareme(depuis, deliberation, tranches))
            if not versions:
                raise self.lu.erreur(champs["versions"], f"{quoi} n'a aucune version")
            si_inconnu = None
            if "si_inconnu" in champs:
                s = self.lu.mapping(champs["si_inconnu"], "si_inconnu", obligatoires=frozenset({"tranche"}))
                si_inconnu = self.lu.texte(s["tranche"], "la tranche")
                if any(si_inconnu not in {t.libelle for t in v.tranches} for v in versions):
                    raise self.lu.erreur(
                        s["tranche"], f"{quoi} : tranche « {si_inconnu} » absente d'une version"
                    )
            unite = self.lu.texte(champs["unite"], "l'unité") if "unite" in champs else None
            self.baremes[nom] = Bareme(
                nom, self.lu.texte(champs["libelle"], "le libellé"), fait, unite, tuple(versions), ligne(cle),
                colonnes, si_inconnu,
            )  # fmt: skip

    def lire_tables(self, noeud: Node, conditions: LecteurConditions) -> None:
        """First-hit decision tables: rows of tests on any facts, the last one « autre »."""
        for nom, cle, definition in self.lu.entrees(noeud, "les tables"):
            quoi = f"la table « {nom} »"
            if nom in self.baremes:
                raise self.lu.erreur(cle, f"{quoi} : ce nom est déjà celui d'un barème")
            champs = self.lu.mapping(
                definition, quoi, obligatoires=frozenset({"libelle", "lignes"}), permises=frozenset({"unite"})
            )
            lignes: list[LigneTable] = []
            for element in self.lu.liste(champs["lignes"], f"les lignes de {quoi}"):
                r = self.lu.mapping(
                    element,
                    "une ligne",
                    obligatoires=frozenset({"si"}),
                    permises=frozenset({"montant", "libelle"}),
                )
                if lignes and lignes[-1].autre:
                    raise self.lu.erreur(element, f"{quoi} : ligne jamais atteinte, après la ligne « autre »")
                if "montant" not in r and "libelle" not in r:
                    raise self.lu.erreur(
                        element, "une ligne donne un « montant », un « libelle » ou les deux"
                    )
                montant = self.lu.nombre(r["montant"], "le montant") if "montant" in r else None
                libelle = self.lu.texte(r["libelle"], "le libellé") if "libelle" in r else None
                si = r["si"]
                if isinstance(si, ScalarNode) and si.value == "autre":
                    lignes.append(LigneTable((), montant, libelle, autre=True, ligne=ligne(element)))
                    continue
                tests = tuple(conditions.test_de_table(fait, valeur) for fait, valeur in self._paires(si))
                if not tests:
                    raise self.lu.erreur(si, "une ligne teste au moins un fait (ou « si: autre »)")
                lignes.append(LigneTable(tests, montant, libelle, ligne=ligne(element)))
            if not lignes or not lignes[-1].autre:
                raise self.lu.erreur(
                    champs["lignes"],
                    f"{quoi} : la dernière ligne est « si: autre » (sinon, des cas sans réponse)",
                )
            unite = self.lu.texte(champs["unite"], "l'unité") if "unite" in champs else None
            self.tables[nom] = Table(
                nom, self.lu.texte(champs["libelle"], "le libellé"), unite, tuple(lignes), ligne(cle)
            )

    def montant(self, noeud: Node, conditions: LecteurConditions) -> Montant:
        """An aid's amount: the historic forms (`valeur`, `parametre` × `multiplie_par`, `bareme`),
        a `formule` or a `table`; with an optional cap, floor, rounding and unknown-data amount."""
        lu = self.lu
        champs = lu.mapping(noeud, "le montant", permises=_MONTANT)
        sources = [c for c in ("bareme", "parametre", "valeur", "formule", "table") if c in champs]
        if len(sources) != 1:
            raise lu.erreur(
                noeud,
                "le montant vient d'un « bareme », d'un « parametre », d'une « valeur », d'une « formule » "
                "ou d'une « table » (un seul)",
            )
        if "multiplie_par" in champs and sources[0] in ("formule", "table"):
            raise lu.erreur(champs["multiplie_par"], "« multiplie_par » s'écrit dans la formule")
        arrondi, sens = (Decimal("0.01"), "plus_proche")
        if "arrondi" in champs:
            arrondi, sens = self._arrondi(champs["arrondi"])
        bareme, parametre, valeur, formule, table = self._source_du_montant(champs)
        multiplie_par = None
        if "multiplie_par" in champs:
            multiplie_par = conditions.ref_fait(champs["multiplie_par"], "multiplie_par", numerique=True)
        si_inconnu = None
        if "si_inconnu" in champs:
            s = lu.mapping(champs["si_inconnu"], "si_inconnu", obligatoires=frozenset({"montant"}))
            si_inconnu = lu.nombre(s["montant"], "le montant")
        return Montant(
            bareme, parametre, valeur, multiplie_par, arrondi,
            lu.texte(champs["unite"], "l'unité") if "unite" in champs else "€",
            formule, table,
            self._borne(champs["plafond"], "le plafond") if "plafond" in champs else None,
            self._borne(champs["plancher"], "le plancher") if "plancher" in champs else None,
            sens, si_inconnu,
        )  # fmt: skip

    def _source_du_montant(
        self, champs: dict[str, Node]
    ) -> tuple[str | None, str | None, Decimal | None, formules.Expression | None, str | None]:
        lu = self.lu
        bareme = parametre = table = None
        valeur = None
        formule = None
        if "bareme" in champs:
            bareme = lu.texte(champs["bareme"], "le barème")
            if bareme not in self.baremes:
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
        elif "valeur" in champs:
            valeur = lu.nombre(champs["valeur"], "le montant")
        elif "formule" in champs:
            formule, _ = self.formule(champs["formule"], self.catalogue, baremes=True)
        else:
            table = lu.texte(champs["table"], "la table")
            if table not in self.tables:
                raise lu.erreur(champs["table"], f"table inconnue « {table} »")
        return bareme, parametre, valeur, formule, table

    def _arrondi(self, noeud: Node) -> tuple[Decimal, str]:
        """`arrondi: 0.01` (to the nearest cent, halves up) or `{pas: 1, sens: bas}`."""
        lu, pas, sens = self.lu, noeud, "plus_proche"
        if isinstance(noeud, MappingNode):
            a = lu.mapping(noeud, "l'arrondi", obligatoires=frozenset({"pas"}), permises=frozenset({"sens"}))
            pas = a["pas"]
            sens = lu.texte(a["sens"], "le sens") if "sens" in a else sens
            if sens not in ("bas", "haut", "plus_proche"):
                raise lu.erreur(a["sens"], f"sens d'arrondi inconnu « {sens} » (bas, haut ou plus_proche)")
        arrondi = lu.nombre(pas, "l'arrondi")
        if arrondi <= 0:
            raise lu.erreur(pas, "l'arrondi doit être positif (0.01 pour le centime)")
        return arrondi, sens

    def _borne(self, noeud: Node, quoi: str) -> Decimal | str:
        """A cap or floor: a number, or the name of a number parameter."""
        if isinstance(noeud, ScalarNode) and noeud.tag.endswith(("int", "float")):
            return self.lu.nombre(noeud, quoi)
        nom = self.lu.texte(noeud, quoi)
        if nom not in self.parametres or self.parametres[nom].type != "nombre":
            raise self.lu.erreur(noeud, f"{quoi} : « {nom} » n'est ni un nombre, ni un paramètre numérique")
        return nom

    def _paires(self, noeud: Node) -> list[tuple[Node, Node]]:
        if not isinstance(noeud, MappingNode):
            raise self.lu.erreur(noeud, "« si » est un dictionnaire fait: valeur (ou « autre »)")
        return list(noeud.value)

    def lire_dispositif(self, noeud: Node, conditions: LecteurConditions) -> Dispositif:
        champs = self.lu.mapping(
            noeud,
            "un dispositif",
            obligatoires=frozenset({"id", "libelle", "conditions"}),
            permises=_DISPOSITIF,
        )
        identifiant = self.lu.texte(champs["id"], "l'identifiant")
        if not _IDENTIFIANT.match(identifiant):
            raise self.lu.erreur(
                champs["id"], f"identifiant « {identifiant} » invalide (minuscules, chiffres, tirets)"
            )

        def texte(cle: str) -> str | None:
            return self.lu.texte(champs[cle], cle) if cle in champs else None

        return Dispositif(
            id=identifiant,
            libelle=self.lu.texte(champs["libelle"], "le libellé"),
            conditions=Toutes(conditions.conditions_nommees(champs["conditions"])),
            description=texte("description"),
            base_legale=texte("base_legale"),
            deliberation=self.deliberation(champs["deliberation"]) if "deliberation" in champs else None,
            montant=self.montant(champs["montant"], conditions) if "montant" in champs else None,
            fraicheur=conditions.fraicheurs(champs["fraicheur"], "la fraîcheur")
            if "fraicheur" in champs
            else {},
            ligne=ligne(noeud),
        )

    def lire_cas(self, noeud: Node, dispositifs: dict[str, Dispositif]) -> CasDeTest:
        champs = self.lu.mapping(
            noeud,
            "un cas de test",
            obligatoires=frozenset({"nom", "date_reference", "faits", "attendu"}),
            permises=frozenset({"indisponibles"}),
        )
        nom = self.lu.texte(champs["nom"], "le nom du cas")
        jour = self.lu.date(champs["date_reference"], "la date de référence")
        donnees = self.lu.python(champs["faits"])
        indisponibles = self.lu.python(champs["indisponibles"]) if "indisponibles" in champs else {}
        if not isinstance(donnees, dict) or not isinstance(indisponibles, dict):
            raise self.lu.erreur(
                noeud, f"cas « {nom} » : « faits » et « indisponibles » sont des dictionnaires"
            )
        try:
            faits = lire_faits(
                donnees,
                indisponibles={str(k): str(v) for k, v in indisponibles.items()},
                catalogue=self.catalogue,
            )
        except FaitsInvalides as exc:
            champ, message = exc.erreurs[0]
            raise self.lu.erreur(champs["faits"], f"cas « {nom} » : fait « {champ} » : {message}") from exc
        attendus: dict[str, Attendu] = {}
        for ident, cle, valeur in self.lu.entrees(champs["attendu"], "les résultats attendus"):
            if ident not in dispositifs:
                raise self.lu.erreur(cle, f"cas « {nom} » : dispositif inconnu « {ident} »")
            self._verifier_dates(cle, nom, jour, dispositifs[ident])
            attendus[ident] = self._attendu(valeur)
        return CasDeTest(nom, jour, faits, attendus, ligne(noeud))

    def _attendu(self, noeud: Node) -> Attendu:
        statuts = ", ".join(s.value for s in Statut)
        if isinstance(noeud, ScalarNode):
            texte = self.lu.texte(noeud, "le statut attendu")
            if texte not in {s.value for s in Statut}:
                raise self.lu.erreur(noeud, f"statut inconnu « {texte} » ({statuts})")
            return Attendu(Statut(texte))
        champs = self.lu.mapping(
            noeud,
            "un résultat attendu",
            obligatoires=frozenset({"statut"}),
            permises=frozenset({"montant", "tranche"}),
        )
        base = self._attendu(champs["statut"])
        montant = None
        if "montant" in champs and not self.lu.est_nul(champs["montant"]):
            montant = self.lu.nombre(champs["montant"], "le montant attendu")
        tranche = None
        if "tranche" in champs and not self.lu.est_nul(champs["tranche"]):
            tranche = self.lu.texte(champs["tranche"], "la tranche attendue")
        return Attendu(base.statut, montant, tranche, "montant" in champs, "tranche" in champs)

    def _verifier_dates(self, noeud: Node, cas: str, jour: date, dispositif: Dispositif) -> None:
        """A test case dated before a parameter's first value would test nothing: refuse it."""
        parametres, baremes = references_du_dispositif(dispositif, self.parametres, self.baremes)
        for nom in sorted(parametres):
            premiere = self.parametres[nom].valeurs[0].depuis
            if jour < premiere:
                raise self.lu.erreur(
                    noeud,
                    f"cas « {cas} » : le paramètre « {nom} » n'a pas de valeur au {jour.isoformat()} "
                    f"(première valeur le {premiere.isoformat()})",
                )
        for nom in sorted(baremes):
            premiere = self.baremes[nom].versions[0].depuis
            if jour < premiere:
                raise self.lu.erreur(
                    noeud,
                    f"cas « {cas} » : le barème « {nom} » n'a pas de valeur au {jour.isoformat()} "
                    f"(première version le {premiere.isoformat()})",
                )


def lire_reglement(texte: str, nom_fichier: str, *, cas_a_cote: str | None = None) -> Reglement:
    """Parse and check a règlement; `cas_a_cote` is the text of a `<nom>.cas.yaml` beside it."""
    lu = Lecteur(nom_fichier)
    racine = lu.composer(texte)
    champs = lu.mapping(
        racine, "le règlement", obligatoires=frozenset({"reglement", "dispositifs"}), permises=_RACINE
    )
    entete = lu.mapping(
        champs["reglement"],
        "l'en-tête « reglement »",
        obligatoires=frozenset({"id", "version", "libelle", "organisme"}),
    )
    organisme = lu.mapping(
        entete["organisme"], "l'organisme", obligatoires=frozenset({"nom"}), permises=frozenset({"siret"})
    )
    lecture = _Lecture(lu)
    if "deliberations" in champs:
        lecture.lire_deliberations(champs["deliberations"])
    if "parametres" in champs:
        lecture.lire_parametres(champs["parametres"])
    if "faits_declares" in champs:
        lecture.lire_faits_declares(champs["faits_declares"])
    if "faits_calcules" in champs:
        lecture.lire_faits_calcules(champs["faits_calcules"])
    conditions = LecteurConditions(lu, lecture.parametres, lecture.catalogue)
    if "baremes" in champs:
        lecture.lire_baremes(champs["baremes"], conditions)
    if "tables" in champs:
        lecture.lire_tables(champs["tables"], conditions)
    dispositifs: dict[str, Dispositif] = {}
    for noeud in lu.liste(champs["dispositifs"], "les dispositifs"):
        dispositif = lecture.lire_dispositif(noeud, conditions)
        if dispositif.id in dispositifs:
            raise lu.erreur(noeud, f"identifiant de dispositif « {dispositif.id} » en double")
        dispositifs[dispositif.id] = dispositif
    if not dispositifs:
        raise lu.erreur(champs["dispositifs"], "le règlement ne déclare aucun dispositif")
    fraicheur = conditions.fraicheurs(champs["fraicheur"], "la fraîcheur") if "fraicheur" in champs else {}
    cas: list[CasDeTest] = []
    if "cas_de_test" in champs:
        cas += [lecture.lire_cas(n, dispositifs) for n in lu.liste(champs["cas_de_test"], "les cas de test")]
    if cas_a_cote is not None:
        lu_cas = Lecteur(nom_fichier.removesuffix(".yaml") + ".cas.yaml")
        lecture.lu = lu_cas
        racine_cas = lu_cas.mapping(
            lu_cas.composer(cas_a_cote), "le fichier de cas", obligatoires=frozenset({"cas_de_test"})
        )
        cas += [
            lecture.lire_cas(n, dispositifs)
            for n in lu_cas.liste(racine_cas["cas_de_test"], "les cas de test")
        ]
        lecture.lu = lu
    siret = lu.texte(organisme["siret"], "le SIRET") if "siret" in organisme else None
    empreinte = hashlib.sha256(forme_canonique(racine).encode()).hexdigest()
    return Reglement(
        id=lu.texte(entete["id"], "l'identifiant"),
        version=lu.texte(entete["version"], "la version"),
        libelle=lu.texte(entete["libelle"], "le libellé"),
        organisme=Organisme(lu.texte(organisme["nom"], "le nom de l'organisme"), siret),
        empreinte=f"sha256:{empreinte}",
        deliberations=lecture.deliberations,
        parametres=lecture.parametres,
        baremes=lecture.baremes,
        dispositifs=tuple(dispositifs.values()),
        fraicheur=fraicheur,
        cas_de_test=tuple(cas),
        fichier=nom_fichier,
        catalogue=lecture.catalogue,
        tables=lecture.tables,
    )


def charger_reglement(chemin: Path) -> Reglement:
    """Read a règlement file (and the `<nom>.cas.yaml` beside it, if any)."""
    try:
        texte = chemin.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ReglementInvalide(str(chemin), None, "fichier illisible") from exc
    a_cote = chemin.with_name(chemin.name.removesuffix(".yaml") + ".cas.yaml")
    cas = a_cote.read_text(encoding="utf-8") if a_cote.is_file() and a_cote != chemin else None
    return lire_reglement(texte, str(chemin), cas_a_cote=cas)
