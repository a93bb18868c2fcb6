"""The règlement as the engine runs it: aids, condition trees, dated parameters and barèmes.

Built once by the loader and never mutated; the values in force at a date are resolved once per
date and kept (`Reglement.en_vigueur`), so an evaluation only reads prepared data.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from app.rules.derived import CATALOGUE, Catalogue
from app.rules.facts import Faits
from app.rules.facts import RefFait as RefFait  # noqa: PLC0414 - re-exported: where the rules name it
from app.rules.results import ReferenceReglement, Statut

#: How many reference dates keep their resolved parameters (requests mostly use "today").
_DATES_EN_CACHE = 32

ValeurParametre = Decimal | str | tuple[str, ...]
Litteral = Decimal | bool | str | tuple[str, ...]


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
    """`de` ≤ value < `moins_de`; a missing bound is open."""

    de: Decimal | None
    moins_de: Decimal | None
    montant: Decimal | None
    libelle: str | None


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

    def en_vigueur(self, jour: date) -> VersionBareme | None:
        index = bisect_right([v.depuis for v in self.versions], jour)
        return self.versions[index - 1] if index else None


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
    _par_id: dict[str, Dispositif] = field(default_factory=dict, init=False, repr=False)
    _dates: dict[date, EnVigueur] = field(default_factory=dict, init=False, repr=False)

    def __post_init__(self) -> None:
        self._par_id.update({d.id: d for d in self.dispositifs})

    def reference(self) -> ReferenceReglement:
        return ReferenceReglement(id=self.id, version=self.version, empreinte=self.empreinte)

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
