"""Derived facts: computed by the engine from base facts at the reference date, never supplied.

Values are intervals `(bas, haut)`: equal when exact, apart when a partial birth date leaves an
age undecided. Ratios are `Fraction`s, so `396 / 2.2 / 30` is exactly 6 and a household sitting
on a threshold is decided by the operator, not by rounding.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from fractions import Fraction
from functools import lru_cache
from math import gcd
from operator import attrgetter
from typing import Any

from app.rules.dates import DatePartielle
from app.rules.facts import CATALOGUE_FAITS, DefinitionFait, Fait, MembreFoyer, RefFait, TypeFait

Nombre = int | Decimal | Fraction
Intervalle = tuple[Nombre, Nombre]

_DEMI = Decimal("0.5")
_TROIS_DIXIEMES = Decimal("0.3")


def exact(valeur: Fraction) -> Decimal | Fraction:
    """The ratio as a `Decimal` when it has a finite decimal form (it is then exactly equal), else
    the `Fraction` itself: comparisons stay exact either way, and Decimals compare faster."""
    decimal = decimal_exact(valeur.numerator, valeur.denominator)
    return valeur if decimal is None else decimal


#: 10**k and the `Decimal` 1E-k, k below `_EXPOSANTS_DIRECTS`, for `decimal_exact`.
_EXPOSANTS_DIRECTS = 64
_DIX = tuple(10**k for k in range(_EXPOSANTS_DIRECTS))
_UNITES = tuple(Decimal(1).scaleb(-k) for k in range(_EXPOSANTS_DIRECTS))
#: The coefficients the context's 28 digits hold exactly.
_COEFFICIENT_EXACT = 10**28


def decimal_exact(numerateur: int, denominateur: int) -> Decimal | None:
    """numerateur / denominateur (in lowest terms, denominateur > 0) as an equal `Decimal`, if any:
    the one `Decimal(numerateur) / Decimal(denominateur)` gives. With denominateur = 2**a × 5**b and
    k = max(a, b), that exact quotient is n × 10**k / d at exponent -k (no trailing zero to drop: it
    is the least such k), built at once when its coefficient has at most 28 digits and k is small
    (most ratios); any other by the division itself."""
    deux = (denominateur & -denominateur).bit_length() - 1
    reste = denominateur >> deux  # without its factors 2
    cinq = 0
    while reste % 5 == 0:
        reste //= 5
        cinq += 1
    if reste == 1:
        k = deux if deux > cinq else cinq
        if k < _EXPOSANTS_DIRECTS:
            coefficient = numerateur * (_DIX[k] // denominateur)
            if -_COEFFICIENT_EXACT < coefficient < _COEFFICIENT_EXACT:
                return Decimal(coefficient) * _UNITES[k]  # exact: at most 28 digits
        decimal = Decimal(numerateur) / Decimal(denominateur)
        if decimal.as_integer_ratio() == (numerateur, denominateur):  # guard against the 28-digit context
            return decimal
    return None


def rapport(dividende: Nombre, diviseur: Nombre) -> Decimal | Fraction:
    """`exact(Fraction(dividende) / Fraction(diviseur))`, without building the intermediate Fractions."""
    n1, d1 = dividende.as_integer_ratio()
    n2, d2 = diviseur.as_integer_ratio()
    if n2 == 0:
        return exact(Fraction(dividende) / Fraction(diviseur))  # raises ZeroDivisionError, as it did
    if n2 < 0:
        return rationnel(-n1 * d2, -d1 * n2)
    return rationnel(n1 * d2, d1 * n2)


def rationnel(numerateur: int, denominateur: int) -> Decimal | Fraction:
    """`exact(Fraction(numerateur, denominateur))` (denominateur > 0), without the Fraction's checks."""
    commun = gcd(numerateur, denominateur)
    if commun != 1:
        numerateur, denominateur = numerateur // commun, denominateur // commun
    decimal = decimal_exact(numerateur, denominateur)
    return fraction_reduite(numerateur, denominateur) if decimal is None else decimal


def _fraction_directe(numerateur: int, denominateur: int) -> Fraction:
    """The Fraction numerateur / denominateur, already in lowest terms with denominateur > 0, built
    without normalising it again (what Python 3.12's `Fraction._from_coprime_ints` does)."""
    fraction = object.__new__(Fraction)
    fraction._numerator = numerateur  # type: ignore[attr-defined]
    fraction._denominator = denominateur  # type: ignore[attr-defined]
    return fraction


def _fraction_reduite() -> Callable[[int, int], Fraction]:
    """The quickest way this Python has to build a Fraction in lowest terms, checked once."""
    directe: Callable[[int, int], Fraction] = getattr(Fraction, "_from_coprime_ints", _fraction_directe)
    try:
        essai = directe(-7, 3)
        if essai == Fraction(-7, 3) and hash(essai) == hash(Fraction(-7, 3)) and str(essai) == "-7/3":
            return directe
    except (AttributeError, TypeError):  # pragma: no cover - another Fraction layout
        pass
    return Fraction  # pragma: no cover - another Fraction layout


#: Fraction(numerateur, denominateur) for a ratio already in lowest terms, denominateur > 0.
fraction_reduite = _fraction_reduite()


def _attributs_fraction() -> tuple[str, str]:
    """How a Fraction's integers are read quickest: its slots where this Python has them (3.11's
    `numerator` is a property, a call), else the public names."""
    essai = Fraction(-7, 3)
    if getattr(essai, "_numerator", None) == -7 and getattr(essai, "_denominator", None) == 3:
        return "_numerator", "_denominator"
    return "numerator", "denominator"  # pragma: no cover - another Fraction layout


#: The attribute names of a Fraction's numerator and denominator (generated code reads them too).
NUMERATEUR, DENOMINATEUR = _attributs_fraction()
#: A Fraction's (numerator, denominator), as `Fraction.as_integer_ratio`, without its Python frame.
termes: Callable[[Fraction], tuple[int, int]] = attrgetter(NUMERATEUR, DENOMINATEUR)


class Incalculable(Exception):
    """A derived fact cannot be computed from the base facts given (French reason, no personal data)."""


#: A child's age at the reference date: a whole number for a full birth date, the youngest and
#: oldest it may be for a partial one, None when the date is missing.
Age = int | tuple[int, int] | None


class Foyer(dict[str, Fait]):
    """One household's known facts as a compiled plan evaluates them: a copy of `connus` (so every
    reader of the facts takes it as it is), with what is worked out from them kept for this
    evaluation only: each derived fact computed once (`valeurs`, by its computation), shared by
    the conditions and the amounts that read it, and the children's ages (`ages`), shared by the
    age bands. Made by the plan for one evaluation at one reference date and dropped with it:
    nothing of a household outlives its evaluation (the plan's memos never see a `Foyer`)."""

    __slots__ = ("ages", "jour", "valeurs")

    def __init__(self, connus: Mapping[str, Fait], jour: date) -> None:
        dict.__init__(self, connus)
        self.jour = jour
        self.valeurs: dict[Any, Any] = {}
        self.ages: tuple[Age, ...] | None = None


Calcul = Callable[[Mapping[str, Fait], date, RefFait], Intervalle]


def partage(calcul: Calcul) -> Calcul:
    """`calcul` (a derived fact without age band), worked out once per `Foyer`: its interval kept
    in the household's `valeurs` under the returned function itself. Any other mapping of facts
    (a resolver's subset of the bases) is computed as before; `Incalculable` is never kept."""

    def partagee(faits: Mapping[str, Fait], jour: date, ref: RefFait) -> Intervalle:
        if type(faits) is Foyer and faits.jour == jour:
            valeurs = faits.valeurs
            valeur: Intervalle | None = valeurs.get(partagee)
            if valeur is None:
                valeur = valeurs[partagee] = calcul(faits, jour, ref)
            return valeur
        return calcul(faits, jour, ref)

    partagee.__doc__ = calcul.__doc__
    return partagee


@dataclass(frozen=True, slots=True)
class DefinitionDerivee:
    nom: str
    type: TypeFait
    libelle: str
    bases: tuple[str, ...]
    calcul: Callable[[Mapping[str, Fait], date, RefFait], Intervalle]
    unite: str | None = None
    accepte_ages: bool = False
    #: Its inputs in French (« calculé : (1 200 € − 450 €) / 1,5 / 30 »), for facts a règlement computes.
    detail: Callable[[Mapping[str, Fait], date], str] | None = None
    #: `calcul` and `detail` in one pass, when the definition has both (a fact the règlement computes).
    calcul_detaille: Callable[[Mapping[str, Fait], date, RefFait], tuple[Any, Any, str]] | None = None
    formule: str | None = None  # as the règlement writes it
    #: For a fact the règlement computes: the parameters its formula reads, as it reads them…
    parametres_lus: Mapping[str, Any] = field(default_factory=dict)
    #: … and the same definition reading other parameters (a proposal's values) and derived facts.
    relier: Callable[[Mapping[str, Any], Mapping[str, DefinitionDerivee]], DefinitionDerivee] | None = None


def _membres(faits: Mapping[str, Fait], nom: str) -> tuple[MembreFoyer, ...]:
    valeur = faits[nom].valeur
    if type(valeur) is not tuple and not isinstance(valeur, tuple):
        raise Incalculable(f"la donnée « {nom} » n'est pas une liste de personnes")
    return valeur


def _nombre(faits: Mapping[str, Fait], nom: str) -> Decimal | int:
    valeur = faits[nom].valeur
    if type(valeur) is Decimal or type(valeur) is int:  # the usual case, without the ABC checks
        return valeur
    if isinstance(valeur, bool) or not isinstance(valeur, Decimal | int):
        raise Incalculable(f"la donnée « {nom} » n'est pas un nombre")
    return valeur


def _nombre_enfants(faits: Mapping[str, Fait], jour: date, ref: RefFait) -> Intervalle:
    age_min, age_max = ref.age_min, ref.age_max
    if age_min is None and age_max is None:
        enfants = _membres(faits, "enfants")
        return len(enfants), len(enfants)
    if age_min is None:
        age_min = -1
    if age_max is None:
        age_max = 10_000
    if type(faits) is Foyer and faits.jour == jour:  # the ages worked out once for every band
        ages = faits.ages
        if ages is None:
            ages = faits.ages = ages_enfants(_membres(faits, "enfants"), jour)
        # Kept ages come from this household's children, read without error: not read again.
        return compter_ages(ages, age_min, age_max)
    return compter_enfants(_membres(faits, "enfants"), jour, age_min, age_max)


def ages_enfants(enfants: tuple[MembreFoyer, ...], jour: date) -> tuple[Age, ...]:
    """Each child's age at `jour` (see `Age`): one age for a full date (the usual case, as
    `DatePartielle.age_bounds` gives it, without the call), the bounds for a partial one."""
    ages: list[Age] = []
    annee, mois_jour = jour.year, (jour.month, jour.day)
    for enfant in enfants:
        naissance = enfant.date_naissance
        if naissance is None:
            ages.append(None)
        elif naissance.jour is not None:
            ages.append(annee - naissance.annee - (mois_jour < (naissance.mois, naissance.jour)))
        else:
            ages.append(naissance.age_bounds(jour))
    return tuple(ages)


def compter_ages(ages: tuple[Age, ...], age_min: int, age_max: int) -> Intervalle:
    """How many of these ages (`ages_enfants`) are surely, and at most, `age_min` to `age_max`:
    a partial birth date straddling a bound of the band counts only in the second."""
    certains = incertains = 0
    for age in ages:
        if type(age) is int:
            if age_min <= age <= age_max:
                certains += 1
        elif age is None:
            incertains += 1
        else:
            plus_jeune, plus_vieux = age  # type: ignore[misc]
            if plus_jeune >= age_min and plus_vieux <= age_max:
                certains += 1
            elif plus_vieux >= age_min and plus_jeune <= age_max:
                incertains += 1
    return certains, certains + incertains


def compter_enfants(enfants: tuple[MembreFoyer, ...], jour: date, age_min: int, age_max: int) -> Intervalle:
    """How many children are surely, and at most, aged `age_min` to `age_max` at `jour`."""
    return compter_ages(ages_enfants(enfants, jour), age_min, age_max)


def _taille_foyer(faits: Mapping[str, Fait], jour: date, ref: RefFait) -> Intervalle:
    # `_membres` of each, in this order (so the same error first), its call saved on a tuple.
    allocataires = faits["allocataires"].valeur
    if type(allocataires) is not tuple:
        allocataires = _membres(faits, "allocataires")
    enfants = faits["enfants"].valeur
    if type(enfants) is not tuple:
        enfants = _membres(faits, "enfants")
    taille = len(allocataires) + len(enfants)
    return taille, taille


def _age_demandeur(faits: Mapping[str, Fait], jour: date, ref: RefFait) -> Intervalle:
    naissance = faits["date_naissance_demandeur"].valeur
    if type(naissance) is DatePartielle and naissance.jour is not None:
        # A full date (the usual case): one age, as `DatePartielle.age_bounds` gives it, without the call.
        age = jour.year - naissance.annee - ((jour.month, jour.day) < (naissance.mois, naissance.jour))
        return age, age
    if not isinstance(naissance, DatePartielle):
        raise Incalculable("la date de naissance du demandeur est illisible")
    plus_jeune, plus_vieux = naissance.age_bounds(jour)
    return plus_jeune, plus_vieux


def _quotient_fiscal(faits: Mapping[str, Fait], jour: date, ref: RefFait) -> Intervalle:
    parts = _nombre(faits, "nombre_de_parts")
    if parts <= 0:
        raise Incalculable("le nombre de parts fiscales est nul")
    valeur = rapport(_nombre(faits, "revenu_fiscal_de_reference"), parts)
    return valeur, valeur


def _quotient_fiscal_mensuel(faits: Mapping[str, Fait], jour: date, ref: RefFait) -> Intervalle:
    mensuel = rapport(_quotient_fiscal(faits, jour, ref)[0], 12)
    return mensuel, mensuel


def _personnes_fiscales(faits: Mapping[str, Fait]) -> int:
    declarants = 2 if faits["situation_familiale"].valeur in ("M", "O") else 1
    a_charge = faits["nombre_personnes_a_charge"].valeur
    if type(a_charge) is not int:  # `_nombre`'s checks, its call saved on an int
        a_charge = _nombre(faits, "nombre_personnes_a_charge")
    return declarants + int(a_charge)


def _personnes_foyer_fiscal(faits: Mapping[str, Fait], jour: date, ref: RefFait) -> Intervalle:
    n = _personnes_fiscales(faits)
    return n, n


@lru_cache(maxsize=64)
def unites_de_consommation(personnes: int) -> Decimal:
    """Chèque énergie definition: 1 for the first person, 0.5 for the second, 0.3 for each further
    (kept: a few household sizes recur)."""
    if personnes <= 0:
        return Decimal(0)
    return 1 + (_DEMI if personnes >= 2 else 0) + _TROIS_DIXIEMES * max(personnes - 2, 0)


def _uc(faits: Mapping[str, Fait], jour: date, ref: RefFait) -> Intervalle:
    uc = unites_de_consommation(_personnes_fiscales(faits))
    return uc, uc


@lru_cache(maxsize=64)
def _rapport_uc(personnes: int) -> tuple[int, int]:
    """`unites_de_consommation(personnes)` as a ratio of integers (kept, as it is)."""
    return unites_de_consommation(personnes).as_integer_ratio()


def _revenu_par_uc(faits: Mapping[str, Fait], jour: date, ref: RefFait) -> Intervalle:
    personnes = _personnes_fiscales(faits)
    n2, d2 = _rapport_uc(personnes)
    if n2 <= 0:  # no unit (no person): as `rapport` says it
        valeur = rapport(_nombre(faits, "revenu_fiscal_de_reference"), unites_de_consommation(personnes))
        return valeur, valeur
    # `rapport(revenu, uc)`, the UC's integer ratio kept by household size.
    revenu = faits["revenu_fiscal_de_reference"].valeur
    if type(revenu) is not Decimal and type(revenu) is not int:  # `_nombre`'s checks, else saved
        revenu = _nombre(faits, "revenu_fiscal_de_reference")
    n1, d1 = revenu.as_integer_ratio()
    valeur = rationnel(n1 * d2, d1 * n2)
    return valeur, valeur


_FISCAL_FOYER = ("situation_familiale", "nombre_personnes_a_charge")

DERIVES: Mapping[str, DefinitionDerivee] = {
    d.nom: d
    for d in (
        DefinitionDerivee(
            "nombre_enfants",
            TypeFait.ENTIER,
            "le nombre d'enfants à charge",
            ("enfants",),
            _nombre_enfants,
            accepte_ages=True,
        ),
        DefinitionDerivee(
            "nombre_allocataires",
            TypeFait.ENTIER,
            "le nombre d'allocataires du foyer",
            ("allocataires",),
            lambda f, j, r: (len(_membres(f, "allocataires")),) * 2,
        ),
        DefinitionDerivee(
            "taille_foyer",
            TypeFait.ENTIER,
            "le nombre de personnes du foyer (allocataires et enfants)",
            ("allocataires", "enfants"),
            partage(_taille_foyer),
        ),
        DefinitionDerivee(
            "age_demandeur",
            TypeFait.ENTIER,
            "l'âge du demandeur",
            ("date_naissance_demandeur",),
            _age_demandeur,
            unite="ans",
        ),
        DefinitionDerivee(
            "quotient_familial_fiscal",
            TypeFait.NOMBRE,
            "le quotient familial fiscal annuel (revenu fiscal de référence / parts)",
            ("revenu_fiscal_de_reference", "nombre_de_parts"),
            partage(_quotient_fiscal),
            unite="€",
        ),
        DefinitionDerivee(
            "quotient_familial_fiscal_mensuel",
            TypeFait.NOMBRE,
            "le quotient familial fiscal mensuel (revenu fiscal de référence / parts / 12)",
            ("revenu_fiscal_de_reference", "nombre_de_parts"),
            partage(_quotient_fiscal_mensuel),
            unite="€",
        ),
        DefinitionDerivee(
            "nombre_personnes_foyer_fiscal",
            TypeFait.ENTIER,
            "le nombre de personnes du foyer fiscal",
            _FISCAL_FOYER,
            partage(_personnes_foyer_fiscal),
        ),
        DefinitionDerivee(
            "unites_de_consommation",
            TypeFait.NOMBRE,
            "le nombre d'unités de consommation du foyer fiscal",
            _FISCAL_FOYER,
            partage(_uc),
        ),
        DefinitionDerivee(
            "revenu_par_unite_de_consommation",
            TypeFait.NOMBRE,
            "le revenu fiscal de référence par unité de consommation",
            ("revenu_fiscal_de_reference", *_FISCAL_FOYER),
            partage(_revenu_par_uc),
            unite="€",
        ),
    )
}

#: Units of base facts, for explanations.
UNITES_BASE: Mapping[str, str] = {
    "quotient_familial_caf": "€",
    "revenu_fiscal_de_reference": "€",
    "impot_sur_le_revenu": "€",
}


class Catalogue:
    """The facts a règlement can read: the gateway's catalogue and derived facts, plus those the
    règlement declares (supplied by the agent) and those it computes (its formulas).

    Compared by identity; the gateway's own is `CATALOGUE`."""

    __slots__ = ("derives", "faits", "propres")

    def __init__(
        self,
        faits: Mapping[str, DefinitionFait] = CATALOGUE_FAITS,
        derives: Mapping[str, DefinitionDerivee] = DERIVES,
        propres: frozenset[str] = frozenset(),
    ) -> None:
        self.faits = faits
        self.derives = derives
        self.propres = propres  # names the règlement defines (declared or computed)

    def etendu(
        self, declares: Mapping[str, DefinitionFait], calcules: Mapping[str, DefinitionDerivee]
    ) -> Catalogue:
        return Catalogue(
            {**self.faits, **declares},
            {**self.derives, **calcules},
            self.propres | frozenset(declares) | frozenset(calcules),
        )

    def avec_parametres(self, parametres: Mapping[str, Any]) -> Catalogue:
        """This catalogue with the facts it computes reading `parametres` (a proposal's values):
        itself when none of them reads a parameter whose definition differs there."""
        if all(
            parametres.get(nom) == lu
            for definition in self.derives.values()
            for nom, lu in definition.parametres_lus.items()
        ):
            return self
        partages: dict[str, DefinitionDerivee] = {}
        derives = {
            nom: definition if definition.relier is None else definition.relier(parametres, partages)
            for nom, definition in self.derives.items()
        }
        partages.update(derives)
        return Catalogue(self.faits, derives, self.propres)

    def unite_ou_parametre(self, parametres: Mapping[str, Any]) -> Callable[[str], str | None]:
        """The unit of a fact, or of a parameter (`parametres`: name → object with `unite`)."""

        def unite(nom: str) -> str | None:
            return parametres[nom].unite if nom in parametres else self.unite(nom)

        return unite

    def type(self, nom: str) -> TypeFait | None:
        if nom in self.derives:
            return self.derives[nom].type
        definition = self.faits.get(nom)
        return None if definition is None else definition.type

    def bases(self, nom: str) -> tuple[str, ...]:
        return self.derives[nom].bases if nom in self.derives else (nom,)

    def unite(self, nom: str) -> str | None:
        if nom in self.derives:
            return self.derives[nom].unite
        definition = self.faits.get(nom)
        if definition is not None and definition.unite is not None:
            return definition.unite
        return UNITES_BASE.get(nom)


CATALOGUE = Catalogue()


def type_du_fait(nom: str, catalogue: Catalogue = CATALOGUE) -> TypeFait | None:
    return catalogue.type(nom)


def faits_de_base(nom: str, catalogue: Catalogue = CATALOGUE) -> tuple[str, ...]:
    """The catalogue facts a (base or derived) fact is computed from."""
    return catalogue.bases(nom)


def unite_du_fait(nom: str, catalogue: Catalogue = CATALOGUE) -> str | None:
    return catalogue.unite(nom)


def libelle_du_fait(ref: RefFait, catalogue: Catalogue = CATALOGUE) -> str:
    """French noun phrase of the fact, with its age band ("… âgés de 17 ans au plus")."""
    derives = catalogue.derives
    libelle = derives[ref.nom].libelle if ref.nom in derives else catalogue.faits[ref.nom].libelle
    if ref.age_min is not None and ref.age_max is not None:
        return f"{libelle} âgés de {ref.age_min} à {ref.age_max} ans"
    if ref.age_max is not None:
        return f"{libelle} âgés de {ref.age_max} ans au plus"
    if ref.age_min is not None:
        return f"{libelle} âgés de {ref.age_min} ans ou plus"
    return libelle
