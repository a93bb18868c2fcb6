"""The règlement as the engine runs it: aids, condition trees, dated parameters and barèmes.

Built once by the loader and never mutated; the values in force at a date are resolved once per
date and kept (`Reglement.en_vigueur`), so an evaluation only reads prepared data.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date
from decimal import Decimal
from typing import Any

from app.rules.derived import CATALOGUE, Catalogue
from app.rules.facts import Faits
from app.rules.facts import RefFait as RefFait  # noqa: PLC0414 - re-exported: where the rules name it
from app.rules.formules import Expression
from app.rules.results import ReferenceReglement, Statut

#: How many reference dates keep their resolved parameters (requests mostly use "today").
_DATES_EN_CACHE = 32

ValeurParametre = Decimal | str | tuple[str, ...]
Litteral = Decimal | bool | str | tuple[str, ...] | date


@dataclass(frozen=True, slots=True)
class Deliberation:
    """A decision of the CCAS board that created an aid or set a value."""

    id: str
    numero: str
    date: date
    objet: str | None = None


@dataclass(frozen=True, slots=True)
class ValeurDatee:
    depuis: date
    valeur: ValeurParametre
    deliberation: Deliberation | None


@dataclass(frozen=True, slots=True)
class Parametre:
    nom: str
    libelle: str  # French noun phrase: "le plafond de quotient familial de l'aide alimentaire"
    type: str  # "nombre", "texte" or "liste"
    unite: str | None
    valeurs: tuple[ValeurDatee, ...]  # sorted by `depuis`
    ligne: int | None = None

    def en_vigueur(self, jour: date) -> ValeurDatee | None:
        index = bisect_right([v.depuis for v in self.valeurs], jour)
        return self.valeurs[index - 1] if index else None


@dataclass(frozen=True, slots=True)
class Tranche:
    """`de` ≤ value < `moins_de` (or `plus_de` < value ≤ `jusqu_a`); a missing bound is open.

    In a two-entry grid, `montants` gives the amount for each column class."""

    de: Decimal | None
    moins_de: Decimal | None
    montant: Decimal | None
    libelle: str | None
    jusqu_a: Decimal | None = None
    plus_de: Decimal | None = None
    montants: tuple[Decimal, ...] | None = None

    def contient(self, valeur: Any) -> bool:
        if self.de is not None and valeur < self.de:
            return False
        if self.plus_de is not None and valeur <= self.plus_de:
            return False
        if self.moins_de is not None and valeur >= self.moins_de:
            return False
        return self.jusqu_a is None or valeur <= self.jusqu_a


@dataclass(frozen=True, slots=True)
class Colonnes:
    """The second entry of a two-entry grid: a fact and its classes (tranches with a label)."""

    fait: RefFait
    classes: tuple[Tranche, ...]


@dataclass(frozen=True, slots=True)
class VersionBareme:
    depuis: date
    deliberation: Deliberation | None
    tranches: tuple[Tranche, ...]


@dataclass(frozen=True, slots=True)
class Bareme:
    nom: str
    libelle: str
    fait: RefFait
    unite: str | None
    versions: tuple[VersionBareme, ...]  # sorted by `depuis`
    ligne: int | None = None
    colonnes: Colonnes | None = None  # a two-entry grid
    si_inconnu: str | None = None  # the tranche (its label) applied when the fact is unknown

    def en_vigueur(self, jour: date) -> VersionBareme | None:
        index = bisect_right([v.depuis for v in self.versions], jour)
        return self.versions[index - 1] if index else None


@dataclass(frozen=True, slots=True)
class LigneTable:
    """A row of a first-hit decision table: every test holds (`autre`: always), then its result."""

    tests: tuple[Comparaison, ...]
    montant: Decimal | None
    libelle: str | None
    autre: bool = False
    ligne: int | None = None


@dataclass(frozen=True, slots=True)
class Table:
    """A first-hit decision table: the first row whose tests hold gives the amount or label."""

    nom: str
    libelle: str
    unite: str | None
    lignes: tuple[LigneTable, ...]
    ligne: int | None = None


@dataclass(frozen=True, slots=True)
class Fraicheur:
    """The oldest data accepted: `mois` for monthly data (QF), `annees` for tax years."""

    mois: int | None = None
    annees: int | None = None


@dataclass(frozen=True, slots=True)
class Comparaison:
    fait: RefFait
    operateur: str
    valeur: Litteral | None  # a literal threshold, or …
    parametre: str | None  # … the name of a dated parameter
    fraicheur: Fraicheur | None
    ligne: int | None = None
    code: str = ""  # stable machine-readable name, unique within the aid (given or derived at load)
    #: What an unknown fact means here: None (à vérifier, with the proof), "remplie", "non_remplie",
    #: or "valeur" (the fact taken as `valeur_si_inconnu`).
    si_inconnu: str | None = None
    valeur_si_inconnu: Litteral | None = None


@dataclass(frozen=True, slots=True)
class Toutes:
    conditions: tuple[Condition, ...]
    code: str = ""


@dataclass(frozen=True, slots=True)
class AuMoinsUne:
    conditions: tuple[Condition, ...]
    code: str = ""


@dataclass(frozen=True, slots=True)
class Non:
    condition: Condition
    code: str = ""


@dataclass(frozen=True, slots=True)
class AuMoins:
    nombre: int
    conditions: tuple[Condition, ...]
    code: str = ""


Condition = Comparaison | Toutes | AuMoinsUne | Non | AuMoins


@dataclass(frozen=True, slots=True)
class Montant:
    """Where an aid's amount comes from; the product is rounded to `arrondi` (ROUND_HALF_UP)."""

    bareme: str | None = None
    parametre: str | None = None
    valeur: Decimal | None = None
    multiplie_par: RefFait | None = None
    arrondi: Decimal = Decimal("0.01")
    unite: str = "€"
    formule: Expression | None = None  # an amount formula (names: facts, parameters, barèmes, tables)
    table: str | None = None  # … or a first-hit decision table
    plafond: Decimal | str | None = None  # a cap: a number or a parameter's name
    plancher: Decimal | str | None = None  # a floor
    sens_arrondi: str = "plus_proche"  # "bas", "haut" or "plus_proche" (halves up)
    si_inconnu: Decimal | None = None  # the amount when a fact it needs is unknown


@dataclass(frozen=True, slots=True)
class Dispositif:
    id: str
    libelle: str
    conditions: Toutes
    description: str | None = None
    base_legale: str | None = None
    deliberation: Deliberation | None = None
    montant: Montant | None = None
    fraicheur: Mapping[str, Fraicheur] = field(default_factory=dict)
    ligne: int | None = None


@dataclass(frozen=True, slots=True)
class Attendu:
    statut: Statut
    montant: Decimal | None = None
    tranche: str | None = None
    verifier_montant: bool = False
    verifier_tranche: bool = False


@dataclass(frozen=True, slots=True)
class CasDeTest:
    nom: str
    date_reference: date
    faits: Faits
    attendus: Mapping[str, Attendu]
    ligne: int | None = None


@dataclass(frozen=True, slots=True)
class Organisme:
    nom: str
    siret: str | None = None


@dataclass(frozen=True, slots=True)
class EnVigueur:
    """Everything dated, resolved for one reference date."""

    parametres: Mapping[str, ValeurDatee | None]
    baremes: Mapping[str, VersionBareme | None]

    def parametre(self, nom: str) -> ValeurDatee:
        """The value in force; `LookupError` if none (the engine refuses such dates beforehand)."""
        valeur = self.parametres[nom]
        if valeur is None:
            raise LookupError(nom)
        return valeur

    def bareme(self, nom: str) -> VersionBareme:
        version = self.baremes[nom]
        if version is None:
            raise LookupError(nom)
        return version


@dataclass(frozen=True, eq=False)
class Reglement:
    id: str
    version: str
    libelle: str
    organisme: Organisme
    empreinte: str  # "sha256:<hex>" of the canonical content
    deliberations: Mapping[str, Deliberation]
    parametres: Mapping[str, Parametre]
    baremes: Mapping[str, Bareme]
    dispositifs: tuple[Dispositif, ...]
    fraicheur: Mapping[str, Fraicheur] = field(default_factory=dict)
    cas_de_test: tuple[CasDeTest, ...] = ()
    fichier: str = "<règlement>"
    #: The facts the règlement reads: the gateway's, plus those it declares or computes.
    catalogue: Catalogue = CATALOGUE
    tables: Mapping[str, Table] = field(default_factory=dict)
    _par_id: dict[str, Dispositif] = field(default_factory=dict, init=False, repr=False)
    _dates: dict[date, EnVigueur] = field(default_factory=dict, init=False, repr=False)

    def __post_init__(self) -> None:
        self._par_id.update({d.id: d for d in self.dispositifs})

    def reference(self) -> ReferenceReglement:
        return ReferenceReglement(id=self.id, version=self.version, empreinte=self.empreinte)

    def avec_valeurs(
        self, parametres: Mapping[str, Parametre], baremes: Mapping[str, Bareme] | None = None
    ) -> Reglement:
        """The same règlement with other parameter (and barème) definitions — a proposal's —, read
        everywhere, the facts it computes included."""
        return replace(
            self,
            parametres=parametres,
            baremes=self.baremes if baremes is None else baremes,
            catalogue=self.catalogue.avec_parametres(parametres),
        )

    def dispositif(self, identifiant: str) -> Dispositif | None:
        return self._par_id.get(identifiant)

    def en_vigueur(self, jour: date) -> EnVigueur:
        """Parameters and barèmes in force on `jour` (resolved once per date, then reused)."""
        resolu = self._dates.get(jour)
        if resolu is None:
            resolu = EnVigueur(
                parametres={nom: p.en_vigueur(jour) for nom, p in self.parametres.items()},
                baremes={nom: b.en_vigueur(jour) for nom, b in self.baremes.items()},
            )
            if len(self._dates) >= _DATES_EN_CACHE:
                self._dates.clear()
            self._dates[jour] = resolu
        return resolu
