"""An aid's amount, worked out and explained: a fixed value, a parameter × a fact, a barème (one or
two entries), a first-hit decision table, or a formula over all of these; then a floor, a cap and the
declared rounding. Exact throughout; an unknown input leaves the amount undecided (`a_verifier`,
with the proof to ask) unless the règlement says what an unknown fact means.

« Montant : 150 € = 100 € + 20 € × 3 (le nombre d'enfants à charge) = 160 €, plafonné à 150 €. »
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_UP, Decimal
from fractions import Fraction
from typing import Any, TypeVar

from app.rules import explain, formules
from app.rules.comparison import Resolution, Resolveur
from app.rules.derived import Incalculable
from app.rules.facts import RefFait
from app.rules.logic import COMPARATEURS
from app.rules.model import Bareme, EnVigueur, Montant, Reglement, Table, Tranche

Regles = tuple[tuple[str, Any], ...]
_SENS = {"bas": ROUND_FLOOR, "haut": ROUND_CEILING, "plus_proche": ROUND_HALF_UP}
SENS_ARRONDI = _SENS  # for montants_compiles.py
_UN = Decimal(1)


class Inconnu(Exception):
    """An input of the amount is unknown: what (French noun phrase), and the proofs to ask for."""

    def __init__(self, libelle: str, pieces: tuple[str, ...]) -> None:
        super().__init__(libelle)
        self.libelle = libelle
        self.pieces = pieces


class Calcule:
    """An amount worked out: the amount (None: none, or undecided), its tranche or row label, its
    sentence, and when undecided what is missing (`vide`, French noun phrases) and the proofs to ask
    for. Never mutated once returned (memos share it between households)."""

    __slots__ = ("montant", "phrase", "pieces", "tranche", "vide")

    def __init__(self) -> None:
        self.montant: Decimal | None = None
        self.tranche: str | None = None
        self.phrase: str | None = None
        self.vide: Sequence[str] = ()  # French noun phrases of what is missing
        self.pieces: Sequence[str] = ()


_NOUVEAU = object.__new__


def calcule(montant: Decimal | None, tranche: str | None, phrase: str | None) -> Calcule:
    """A decided `Calcule` built at once (no `__init__` frame, then three assignments): what the
    compiled amounts return for each household."""
    resultat = _NOUVEAU(Calcule)
    resultat.montant, resultat.tranche, resultat.phrase = montant, tranche, phrase
    resultat.vide = resultat.pieces = ()
    return resultat


def arrondi_direct(pas: Decimal) -> bool:
    """Whether `arrondir` to `pas` is `Decimal.quantize(pas)` (0.01, 0.1, 1): worked out once per rule."""
    chiffres = pas.as_tuple()
    return chiffres.digits == (1,) and isinstance(chiffres.exponent, int) and chiffres.exponent <= 0


def arrondir(valeur: Any, pas: Decimal, sens: str) -> Decimal:
    """`valeur` (int, Decimal or Fraction) rounded to a multiple of `pas`, exactly."""
    if type(valeur) is Fraction:
        # On integer ratios: valeur / pas = (n × pd) / (d × pn), no Fraction arithmetic.
        n, d = valeur.as_integer_ratio()
        pn, pd = pas.as_integer_ratio()
        haut, bas = n * pd, d * pn  # bas > 0: `pas` is positive
        if sens == "bas":
            entier = haut // bas
        elif sens == "haut":
            entier = -(-haut // bas)
        else:
            entier = (2 * haut + bas) // (2 * bas)  # floor(multiple + 1/2)
        return (Decimal(entier) * pas).quantize(pas) if pas <= 1 else Decimal(entier) * pas
    decimal = Decimal(valeur)
    if arrondi_direct(pas):
        return decimal.quantize(pas, rounding=_SENS[sens])  # 0.01, 0.1, 1: as the engine always did
    return multiple(decimal, pas, _SENS[sens])


def multiple(decimal: Decimal, pas: Decimal, mode: str) -> Decimal:
    """`arrondir(decimal, pas, sens)` of a `Decimal` when `pas` is not `arrondi_direct` (5, 0.5),
    `mode` being `SENS_ARRONDI[sens]`: both worked out once per rule by the compiled amounts, which
    call this rather than `arrondir` (whose `arrondi_direct` builds the step's digit tuple)."""
    return (decimal / pas).quantize(_UN, rounding=mode) * pas


def egal(a: Decimal, b: Any) -> bool:
    """`a == b` for a `Decimal` and an int, `Decimal` or `Fraction`, the last on integer ratios
    (both in lowest terms) rather than through `Decimal`'s comparison with a rational."""
    if type(b) is Fraction:
        return a.as_integer_ratio() == b.as_integer_ratio()
    return a == b  # type: ignore[no-any-return]


def tranche_de(tranches: tuple[Tranche, ...], resolution: Resolution) -> Tranche | None:
    """The bracket holding the value; `None` when an interval value straddles two brackets."""
    return tranche_entre(tranches, resolution.bas, resolution.haut)


def tranche_entre(tranches: tuple[Tranche, ...], bas: Any, haut: Any) -> Tranche | None:
    """The bracket holding both bounds of a value (`bas` is `haut` for an exact one), else `None`."""
    trouvees = []
    for borne in (bas, haut):
        for tranche in tranches:
            if tranche.contient(borne):
                trouvees.append(tranche)
                break
        else:
            return None
    return trouvees[0] if trouvees[0] is trouvees[1] else None


#: A bracket with its bounds as integer ratios (`de`, `plus_de`, `moins_de`, `jusqu_a`: numerator,
#: denominator > 0; None and 1 when the bound is open), for `choisir_tranche`.
TrancheEntiere = tuple[Tranche, int | None, int, int | None, int, int | None, int, int | None, int]
E = TypeVar("E")
#: The same bounds with anything in the bracket's place (what a caller keeps per bracket).
Entiere = tuple[E, int | None, int, int | None, int, int | None, int, int | None, int]


def _rapport(borne: Decimal | None) -> tuple[int | None, int]:
    return (None, 1) if borne is None else borne.as_integer_ratio()


def tranches_entieres(tranches: tuple[Tranche, ...]) -> tuple[TrancheEntiere, ...]:
    """`tranches` prepared once (per plan) for `choisir_tranche`."""
    return tuple(
        (t, *_rapport(t.de), *_rapport(t.plus_de), *_rapport(t.moins_de), *_rapport(t.jusqu_a))
        for t in tranches
    )


def choisir_tranche(
    entieres: tuple[TrancheEntiere, ...], tranches: tuple[Tranche, ...], bas: Any, haut: Any
) -> Tranche | None:
    """`tranche_entre(tranches, bas, haut)` (`entieres` from `tranches_entieres(tranches)`), each
    comparison made on integer ratios: `n / d < b / c` as `n × c < b × d`, no `Fraction` built,
    nor a `Fraction` compared with a `Decimal` (a rational income per consumption unit against a
    barème's bounds, the slow case). Any value without an exact ratio (an infinity, a date) goes
    through `tranche_entre`."""
    try:
        n, d = bas.as_integer_ratio()
        trouvee = premiere_du_rapport(entieres, n, d)
        if haut is bas or trouvee is None:
            return trouvee
        n, d = haut.as_integer_ratio()
        return trouvee if premiere_du_rapport(entieres, n, d) is trouvee else None
    except (AttributeError, OverflowError, ValueError, TypeError):
        return tranche_entre(tranches, bas, haut)


def premiere_du_rapport(entieres: tuple[Entiere[E], ...], n: int, d: int) -> E | None:
    """The first bracket holding n / d (d > 0), as `Tranche.contient`: what `entieres` holds in
    its place (the bracket itself from `tranches_entieres`, or what a caller keeps for it)."""
    for tranche, de, de_d, plus_de, plus_de_d, moins_de, moins_de_d, jusqu_a, jusqu_a_d in entieres:
        if de is not None and n * de_d < de * d:
            continue
        if plus_de is not None and n * plus_de_d <= plus_de * d:
            continue
        if moins_de is not None and n * moins_de_d >= moins_de * d:
            continue
        if jusqu_a is None or n * jusqu_a_d <= jusqu_a * d:
            return tranche
    return None


class Calculateur:
    """Works out the amounts of one evaluation (each distinct rule once)."""

    def __init__(
        self,
        reglement: Reglement,
        resolveur: Resolveur,
        vigueur: EnVigueur,
        regles: Mapping[RefFait, Regles],
        *,
        rediger: bool = True,
    ) -> None:
        self.reglement = reglement
        self.resolveur = resolveur
        self.vigueur = vigueur
        self.regles = regles
        self.rediger = rediger  # False: the amount and its tranche only, without the sentence

    def resoudre(self, ref: RefFait) -> Resolution:
        resolution = self.resolveur.resoudre_frais(ref, self.regles.get(ref, ()))
        if resolution.inconnu is not None:
            raise Inconnu(resolution.libelle, resolution.pieces)
        return resolution

    # -- barèmes and tables ---------------------------------------------------------------------

    def bareme(self, nom: str) -> tuple[Decimal | None, str | None, str]:
        """(amount, tranche label, French detail) of a barème, one or two entries."""
        bareme: Bareme = self.reglement.baremes[nom]
        version = self.vigueur.bareme(nom)
        try:
            resolution = self.resoudre(bareme.fait)
            tranche = tranche_de(version.tranches, resolution)
            if tranche is None:
                raise Inconnu(resolution.libelle, resolution.pieces)
            pour = ""
            if self.rediger:
                pour = f"pour {resolution.libelle} de {explain.nombre(resolution.bas, resolution.unite)}"
        except Inconnu as inconnu:
            if bareme.si_inconnu is None:
                raise
            tranche = next(t for t in version.tranches if t.libelle == bareme.si_inconnu)
            pour = f"{inconnu.libelle} étant inconnu, tranche prévue par le règlement"
        nom_tranche = f"tranche {tranche.libelle}" if tranche.libelle else "tranche"
        montant = tranche.montant
        if bareme.colonnes is not None and tranche.montants is not None:
            colonne = self.resoudre(bareme.colonnes.fait)
            classe = tranche_de(bareme.colonnes.classes, colonne)
            if classe is None:
                raise Inconnu(colonne.libelle, colonne.pieces)
            montant = tranche.montants[bareme.colonnes.classes.index(classe)]
            if self.rediger:
                nom_classe = f"colonne {classe.libelle}" if classe.libelle else "colonne"
                valeur = explain.nombre(colonne.bas, colonne.unite)
                pour += f", {nom_classe} pour {colonne.libelle} de {valeur}"
        if not self.rediger:
            return montant, tranche.libelle, ""
        return montant, tranche.libelle, f"{nom_tranche} du barème « {bareme.libelle} » {pour}"

    def table(self, nom: str) -> tuple[Decimal | None, str | None, str]:
        """(amount, label, French detail) of the first row of a decision table whose tests hold."""
        table: Table = self.reglement.tables[nom]
        for rang, ligne in enumerate(table.lignes, start=1):
            if ligne.autre:
                return (
                    ligne.montant,
                    ligne.libelle,
                    f"ligne {rang} (autre cas) de la table « {table.libelle} »",
                )
            raisons = []
            tient = True
            for test in ligne.tests:
                resolution = self.resoudre(test.fait)
                issue = COMPARATEURS[test.operateur](resolution.bas, resolution.haut, test.valeur)
                if issue is None:
                    raise Inconnu(resolution.libelle, resolution.pieces)
                if not issue:
                    tient = False
                    break
                if not self.rediger:
                    continue
                verbe = explain.VERBES_TEXTE.get(test.operateur, explain.VERBES[test.operateur])
                if type(resolution.bas) in (int, Decimal, Fraction) and not isinstance(resolution.bas, bool):
                    verbe = explain.VERBES[test.operateur]
                seuil = explain.avec(verbe[2], explain.afficher(test.valeur, resolution.unite))
                valeur = explain.afficher(resolution.bas, resolution.unite)
                raisons.append(f"{resolution.libelle} ({valeur}) {verbe[0]} {seuil}")
            if tient:
                return (
                    ligne.montant,
                    ligne.libelle,
                    (f"ligne {rang} de la table « {table.libelle} » : {' et '.join(raisons)}"),
                )
        raise AssertionError(nom)  # pragma: no cover - the loader requires a last row « autre »

    # -- formulas -------------------------------------------------------------------------------

    def nom(self, nom: formules.Nom) -> tuple[Any, Any, str, str | None]:
        """(low, high, French text with value, unit) of a name in an amount formula."""
        reglement = self.reglement
        if nom.nom in reglement.parametres:
            parametre = reglement.parametres[nom.nom]
            valeur = self.vigueur.parametre(nom.nom).valeur
            return valeur, valeur, explain.afficher(valeur, parametre.unite), parametre.unite
        if nom.nom in reglement.baremes or nom.nom in reglement.tables:
            lire = self.bareme if nom.nom in reglement.baremes else self.table
            montant, _, detail = lire(nom.nom)
            if montant is None:
                raise Inconnu(f"le montant de {detail}", ())
            unite = (reglement.baremes[nom.nom].unite if nom.nom in reglement.baremes else None) or "€"
            return montant, montant, f"{explain.nombre(montant, unite)} ({detail})", unite
        resolution = self.resoudre(RefFait(nom.nom, nom.age_min, nom.age_max))
        bas, haut = resolution.bas, resolution.haut
        if isinstance(bas, bool):
            bas = haut = int(bas)
        if not self.rediger:
            return bas, haut, "", resolution.unite
        if bas == haut:
            texte = f"{explain.nombre(bas, resolution.unite)} ({resolution.libelle})"
        else:
            texte = f"entre {bas} et {haut} ({resolution.libelle})"
        return bas, haut, texte, resolution.unite

    def montant(self, regle: Montant) -> Calcule:
        resultat = Calcule()
        try:
            if regle.formule is not None:
                self._formule(regle, resultat)
            elif regle.table is not None:
                montant, resultat.tranche, detail = self.table(regle.table)
                self._fixe(regle, montant, detail, resultat)
            else:
                self._historique(regle, resultat)
        except Inconnu as inconnu:
            if regle.si_inconnu is not None:
                resultat.montant = regle.si_inconnu
                resultat.phrase = (
                    f"Montant : {explain.nombre(regle.si_inconnu, regle.unite)} (montant prévu par le "
                    f"règlement quand {inconnu.libelle} est inconnu)."
                )
                return resultat
            resultat.vide = [inconnu.libelle]
            resultat.pieces = list(inconnu.pieces)
        return resultat

    def _fixe(self, regle: Montant, montant: Decimal | None, detail: str, resultat: Calcule) -> None:
        if montant is None:
            resultat.phrase = f"Tarif : {resultat.tranche} ({detail})." if resultat.tranche else None
            return
        final, suite = self._bornes(regle, montant)
        resultat.montant = final
        resultat.phrase = f"Montant : {explain.nombre(final, regle.unite)}{suite} ({detail})."

    def _historique(self, regle: Montant, resultat: Calcule) -> None:
        base: Decimal | None = regle.valeur
        detail = ""
        if regle.parametre is not None:
            valeur = self.vigueur.parametre(regle.parametre).valeur
            if not isinstance(valeur, Decimal):  # pragma: no cover - the loader checks the type
                raise TypeError(regle.parametre)
            base = valeur
        if regle.bareme is not None:
            base, resultat.tranche, texte = self.bareme(regle.bareme)
            detail = f" ({texte})"
        if base is None:
            resultat.phrase = f"Tarif : {resultat.tranche}{detail}." if resultat.tranche else None
            return
        facteur = ""
        if regle.multiplie_par is not None:
            resolution = self.resoudre(regle.multiplie_par)
            if resolution.bas != resolution.haut:
                raise Inconnu(resolution.libelle, resolution.pieces)
            unitaire = explain.nombre(base, regle.unite)
            facteur = f" = {unitaire} × {explain.nombre(resolution.bas)} ({resolution.libelle})"
            base = base * explain.vers_decimal(resolution.bas)
        final, suite = self._bornes(regle, base)
        resultat.montant = final
        resultat.phrase = f"Montant : {explain.nombre(final, regle.unite)}{facteur}{suite}{detail}."

    def _formule(self, regle: Montant, resultat: Calcule) -> None:
        assert regle.formule is not None  # noqa: S101 - the caller checks it
        connus: dict[formules.Nom, tuple[Any, Any, str, str | None]] = {}

        def valeur(nom: formules.Nom) -> tuple[Any, Any]:
            if nom not in connus:
                connus[nom] = self.nom(nom)
            return connus[nom][0], connus[nom][1]

        try:
            bas, haut = formules.calculer(regle.formule, valeur)
        except Incalculable as exc:
            raise Inconnu(f"le montant ({exc})", ()) from exc
        final_bas, suite = self._bornes(regle, bas)
        final_haut, _ = self._bornes(regle, haut)
        if final_bas != final_haut:
            noms = [connus[n][2] for n in connus if connus[n][0] != connus[n][1]]
            raise Inconnu(", ".join(noms) or "le montant", ())

        resultat.montant = final_bas
        if not self.rediger:
            return

        rendu = "".join([m if isinstance(m, str) else connus[m][2] for m in _gabarit(regle, connus)])
        if final_bas == bas and not suite:
            resultat.phrase = f"Montant : {explain.nombre(final_bas, regle.unite)} = {rendu}."
        else:
            brut = explain.nombre(bas, regle.unite) if bas == haut else "…"
            resultat.phrase = f"Montant : {explain.nombre(final_bas, regle.unite)} = {rendu} = {brut}{suite}."

    def _bornes(self, regle: Montant, valeur: Any) -> tuple[Decimal, str]:
        """Floor, cap, then rounding; and the French words for what changed the value."""
        suite = ""
        for borne, mot, plancher in (
            (regle.plancher, "porté au plancher de", True),
            (regle.plafond, "plafonné à", False),
        ):
            if borne is None:
                continue
            limite = self._valeur_borne(borne)
            if formules.inferieur(valeur, limite) if plancher else formules.inferieur(limite, valeur):
                valeur = limite
                suite += f", {mot} {explain.nombre(limite, regle.unite)}"
        final = arrondir(valeur, regle.arrondi, regle.sens_arrondi)
        if final != valeur and regle.sens_arrondi != "plus_proche":
            sens = "inférieur" if regle.sens_arrondi == "bas" else "supérieur"
            pas = "à l'euro" if regle.arrondi == 1 else f"au multiple de {explain.nombre(regle.arrondi)}"
            suite += f", arrondi {pas} {sens}"
        return final, suite

    def _valeur_borne(self, borne: Decimal | str) -> Decimal:
        return valeur_borne(borne, self.vigueur)


def valeur_borne(borne: Decimal | str, vigueur: EnVigueur) -> Decimal:
    """A floor or cap: a number, or the value in force of the parameter it names."""
    if isinstance(borne, Decimal):
        return borne
    valeur = vigueur.parametre(borne).valeur
    if not isinstance(valeur, Decimal):  # pragma: no cover - the loader checks the type
        raise TypeError(borne)
    return valeur


def _nombre(valeur: Any, unite: str | None) -> str:
    return explain.nombre(valeur, unite)


#: The fixed text of each amount formula (`formules.Rendu.gabarit`), by the rule and the units of its
#: names (they do not change from one household to the next; the key says so rather than assume it).
_GABARITS: dict[tuple[int, tuple[str | None, ...]], tuple[Montant, formules.Gabarit]] = {}
_GABARITS_MAX = 1024


def _gabarit(
    regle: Montant, connus: Mapping[formules.Nom, tuple[Any, Any, str, str | None]]
) -> formules.Gabarit:
    cle = (id(regle), tuple([lu[3] for lu in connus.values()]))
    entree = _GABARITS.get(cle)
    if entree is None or entree[0] is not regle:
        assert regle.formule is not None  # noqa: S101 - the caller checks it
        rendu = formules.Rendu(str, lambda nom: connus[nom][3], _nombre)
        if len(_GABARITS) >= _GABARITS_MAX:
            _GABARITS.clear()
        entree = _GABARITS[cle] = (regle, rendu.gabarit(regle.formule, regle.unite))
    return entree[1]
