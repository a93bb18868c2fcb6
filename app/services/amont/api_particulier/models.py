"""What API Particulier v3 answers, read tolerantly: extra keys ignored, keys of missing scopes absent.

Birth dates with `00` parts stay partial (`DatePartielle`), `"0000-00-00"` becomes `None`: a date is
never invented, and an unreadable one is treated as unknown rather than failing the whole answer.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Generic, TypeVar

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, PlainSerializer, SecretStr

from app.rules.dates import DatePartielle, InvalidPartialDate
from app.rules.nombres import NOMBRE_MAX


def _date_partielle(value: object) -> DatePartielle | None:
    """Upstream dates: `YYYY-MM-DD` with `00` for unknown parts; anything unreadable is unknown."""
    if value is None or isinstance(value, DatePartielle):
        return value
    if not isinstance(value, str):
        return None
    try:
        return DatePartielle.parse_upstream(value)
    except InvalidPartialDate:
        return None


def _upper(value: object) -> object:
    return value.strip().upper() if isinstance(value, str) else value


def _blank_to_none(value: object) -> object:
    return None if isinstance(value, str) and not value.strip() else value


def _date_texte(value: DatePartielle | None) -> str | None:
    # Written back with only its known parts ("2020", "1987-06"), which `_date_partielle` reads:
    # the gateway's cache stores answers as JSON and must get the same partial date back.
    return value.isoformat() if value is not None else None


DateUpstream = Annotated[
    DatePartielle | None,
    BeforeValidator(_date_partielle),
    PlainSerializer(_date_texte, when_used="json"),
]
TexteOptionnel = Annotated[str | None, BeforeValidator(_blank_to_none)]


class _Tolerant(BaseModel):
    # The provider adds keys over time (e.g. `annee_date_de_naissance` inside persons): ignore them.
    model_config = ConfigDict(extra="ignore", frozen=True)


class Personne(_Tolerant):
    """An allocataire or a child, as CAF/MSA know them."""

    nom_naissance: TexteOptionnel = None
    nom_usage: TexteOptionnel = None
    prenoms: TexteOptionnel = None  # all first names in one string, separated by spaces
    date_naissance: DateUpstream = None
    sexe: Annotated[str | None, BeforeValidator(_upper)] = None


class Adresse(_Tolerant):
    """Postal address known to CAF/MSA; every line may be `null`."""

    destinataire: TexteOptionnel = None
    complement_information: TexteOptionnel = None
    complement_information_geographique: TexteOptionnel = None
    numero_libelle_voie: TexteOptionnel = None
    lieu_dit: TexteOptionnel = None
    code_postal_ville: TexteOptionnel = None
    pays: TexteOptionnel = None


class ValeurQuotientFamilial(_Tolerant):
    """The QF itself and the month it applies to."""

    fournisseur: Annotated[str, BeforeValidator(_upper)]  # "CNAF" or "MSA"
    valeur: Decimal = Field(ge=0, lt=NOMBRE_MAX)  # bounded as the engine's numbers (app/rules/nombres.py)
    annee: int
    mois: int = Field(ge=1, le=12)
    annee_calcul: int | None = None
    mois_calcul: int | None = Field(default=None, ge=1, le=12)


class QuotientFamilial(_Tolerant):
    """`/v3/dss/quotient_familial/*`: each key is present only if the token holds its scope."""

    quotient_familial: ValeurQuotientFamilial | None = None
    allocataires: tuple[Personne, ...] | None = None
    enfants: tuple[Personne, ...] | None = None
    adresse: Adresse | None = None


class _Prestation(_Tolerant):
    est_beneficiaire: bool | None = None
    date_debut_droit: DateUpstream = None


class PrestationRsa(_Prestation):
    """`/v3/dss/revenu_solidarite_active/*` (`avec_majoration` is `null` for a non-beneficiary)."""

    avec_majoration: bool | None = None


class PrestationPrimeActivite(_Prestation):
    """`/v3/dss/prime_activite/*`."""

    avec_majoration: bool | None = None


class PrestationAah(_Prestation):
    """`/v3/dss/allocation_adulte_handicape/*`."""


class PrestationAsf(_Prestation):
    """`/v3/dss/allocation_soutien_familial/*`."""


class PrestationC2s(_Prestation):
    """`/v3/dss/complementaire_sante_solidaire/*`."""

    avec_participation: bool | None = None


T = TypeVar("T", bound=BaseModel)


# --- envelopes ----------------------------------------------------------------------------------


class ErreurSource(_Tolerant):
    parameter: str | None = None
    header: str | None = None


class ErreurV3(_Tolerant):
    """One item of `{"errors": [...]}`; `source` may be absent or `null`, `meta` may hold `retry_in`."""

    code: str = ""
    title: str | None = None
    detail: str | None = None
    source: ErreurSource | None = None
    meta: dict[str, object] | None = None


class CorpsErreurs(_Tolerant):
    errors: tuple[ErreurV3, ...]


# --- what the client hands back -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AccesApiParticulier:
    """One organisme's access: each CCAS has its own token and is the `recipient` of its calls."""

    token: SecretStr
    recipient: str  # SIRET of the CCAS, checked before any call


@dataclass(frozen=True, slots=True)
class Provenance:
    """Where and when an answer came from, for the fact's source and the journal."""

    endpoint: str  # "quotient_familial/identite": never the query string (it holds the identity)
    request_id: str | None  # X-Request-ID, to quote to API Particulier's support
    depuis_cache_fournisseur: bool  # X-Response-Cached: served from API Particulier's own cache
    obtenu_le: datetime  # UTC
    statut_http: int
    ratelimit_limit: int | None = None
    ratelimit_remaining: int | None = None
    ratelimit_reset: int | None = None  # Unix time of the end of the current window

    @property
    def ratelimit(self) -> tuple[int | None, int | None, int | None]:
        """(RateLimit-Limit, RateLimit-Remaining, RateLimit-Reset), as `Protection` reads them."""
        return self.ratelimit_limit, self.ratelimit_remaining, self.ratelimit_reset


@dataclass(frozen=True, slots=True)
class Reponse(Generic[T]):
    donnees: T
    provenance: Provenance
