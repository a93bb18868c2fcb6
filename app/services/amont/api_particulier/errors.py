"""The v3 error catalogue of API Particulier, mapped onto the gateway's exception tree.

A v3 code is a 2-digit provider prefix plus a 3-digit subcode. The prefix of the same error differs
between the published examples (`37`, CNAV) and the running service (`35` CNAF & MSA, `36` Sécurité
sociale), so the mapping relies on the HTTP status and the last three digits only. The French
details are written for a CCAS agent; the upstream text is never copied (it may name a value).
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from email.utils import parsedate_to_datetime

import httpx
from pydantic import ValidationError

from app.errors import (
    UpstreamError,
    UpstreamMisconfigured,
    UpstreamPersonNotFound,
    UpstreamRateLimited,
    UpstreamRejectedInput,
    UpstreamTimeout,
    UpstreamUnavailable,
)
from app.services.amont.api_particulier.models import CorpsErreurs, ErreurV3

FOURNISSEUR = "API Particulier"

#: Who answered, from the code's prefix; used to say where a dossier is missing.
_ORGANISMES = {
    "10": "la MSA",
    "23": "la CNAF",
    "35": "la CNAF et la MSA",
    "36": "la Sécurité sociale",
    "37": "la CNAV",
    "40": "le RNCPS",
}

#: Parameter named by a 422 code when the error carries no `source.parameter`.
_PARAMETRES_422 = {
    "203": "recipient",
    "210": "recipient",
    "353": "annee",
    "354": "mois",
    "356": "annee",
    "363": "date de naissance",
    "365": "lieu de naissance",
    "366": "paramètres de civilité",
    "367": "prenoms",
    "400": "code pays de naissance",
    "420": "nom de naissance",
    "427": "sexe",
    "428": "département de naissance",
}
_NOM_PARAMETRE = re.compile(r"^[A-Za-z_\[\]]{1,40}\Z")
_ENTIER = re.compile(r"^[0-9]{1,12}\Z")

_MISCONFIGURED_401 = {
    "101": "Le jeton API Particulier de l'organisme est invalide ou absent : vérifier la configuration.",
    "103": "Le jeton API Particulier de l'organisme a expiré : il doit être renouvelé.",
    "105": ("Le jeton API Particulier de l'organisme a été révoqué (liste noire) : en demander un nouveau."),
}
_FRANCE_CONNECT_401 = {
    "50001": "Le jeton FranceConnect transmis est mal formé.",
    "50002": "Le jeton FranceConnect transmis est introuvable ou expiré.",
    "50003": "Le jeton FranceConnect transmis n'autorise pas l'accès à l'identité pivot.",
}
_MISCONFIGURED_403 = {
    "100": (
        "L'habilitation API Particulier de l'organisme ne couvre pas ces données "
        "(droits d'accès insuffisants)."
    ),
    "107": "L'adresse IP de la passerelle n'est pas autorisée par l'habilitation API Particulier.",
}
_INDISPONIBLE_502 = {
    "000": "Le fournisseur de données a rencontré une erreur interne.",
    "001": "Le fournisseur de données est temporairement indisponible.",
    "004": "Le fournisseur de données est injoignable (erreur DNS).",
    "008": "Le fournisseur de données limite le nombre de requêtes ; réessayer plus tard.",
    "501": "Erreur réseau entre API Particulier et le fournisseur de données ; réessayer plus tard.",
    "999": "Le fournisseur de données a renvoyé une réponse inconnue.",
}
#: When nothing says how long to wait, an identical request in progress ends within the
#: provider's own 10 s wait.
_ATTENTE_CONFLIT_S = 10


def _corps(response: httpx.Response) -> tuple[ErreurV3, ...]:
    try:
        return CorpsErreurs.model_validate_json(response.content).errors
    except (ValidationError, ValueError):
        return ()


def _suffixe(code: str) -> str:
    return code[-3:]


def _entier(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return max(value, 0)
    if isinstance(value, str) and _ENTIER.match(value.strip()):
        return int(value.strip())
    return None


def retry_after(response: httpx.Response, now: Callable[[], float] = time.time) -> int | None:
    """Seconds to wait from `Retry-After` (seconds or HTTP date), else from `RateLimit-Reset`."""
    header = response.headers.get("Retry-After")
    if header:
        seconds = _entier(header)
        if seconds is not None:
            return seconds
        try:
            return max(int(parsedate_to_datetime(header).timestamp() - now()), 0)
        except (TypeError, ValueError, IndexError):
            pass
    reset = _entier(response.headers.get("RateLimit-Reset"))
    if reset is not None and reset > now():
        return max(int(reset - now()), 1)
    return None


def _retry_in(errors: tuple[ErreurV3, ...]) -> int | None:
    for error in errors:
        seconds = _entier((error.meta or {}).get("retry_in"))
        if seconds is not None:
            return seconds
    return None


def _parametre(error: ErreurV3) -> str | None:
    parameter = error.source.parameter if error.source else None
    if parameter and _NOM_PARAMETRE.match(parameter):
        return parameter
    return _PARAMETRES_422.get(_suffixe(error.code))


@dataclass(frozen=True, slots=True)
class _Contexte:
    """One error answer, read once, and how to build the exception that stands for it."""

    response: httpx.Response
    errors: tuple[ErreurV3, ...]
    now: Callable[[], float]

    @property
    def first(self) -> ErreurV3:
        return self.errors[0] if self.errors else ErreurV3()

    @property
    def suffixe(self) -> str:
        return _suffixe(self.first.code)

    def attente(self) -> int | None:
        return retry_after(self.response, self.now) or _retry_in(self.errors)

    def build(self, kind: type[UpstreamError], detail: str, wait: int | None = None) -> UpstreamError:
        return kind(
            detail,
            fournisseur=FOURNISSEUR,
            upstream_code=self.first.code or None,
            request_id=self.response.headers.get("X-Request-ID"),
            retry_after=wait,
        )


def _non_authentifie(ctx: _Contexte) -> UpstreamError:
    detail = _FRANCE_CONNECT_401.get(ctx.first.code) or _MISCONFIGURED_401.get(
        ctx.suffixe, "API Particulier refuse le jeton de l'organisme : vérifier la configuration."
    )
    return ctx.build(UpstreamMisconfigured, detail)


def _interdit(ctx: _Contexte) -> UpstreamError:
    detail = _MISCONFIGURED_403.get(
        ctx.suffixe, "API Particulier refuse l'accès à ces données avec l'habilitation de l'organisme."
    )
    return ctx.build(UpstreamMisconfigured, detail)


def _introuvable(ctx: _Contexte) -> UpstreamError:
    code = ctx.first.code
    if code == "00402":
        return ctx.build(
            UpstreamMisconfigured,
            "La version d'API Particulier appelée n'est pas prise en charge : "
            "la passerelle doit être mise à jour.",
        )
    if not code:
        # A 404 without the v3 error body is not API Particulier speaking: wrong base URL.
        return ctx.build(
            UpstreamMisconfigured, "Adresse d'API Particulier introuvable : vérifier l'URL configurée."
        )
    organisme = _ORGANISMES.get(code[:2], "la CNAF et la MSA")
    return ctx.build(
        UpstreamPersonNotFound,
        f"Aucun dossier allocataire n'a été trouvé auprès de {organisme} pour cette identité.",
    )


def _conflit(ctx: _Contexte) -> UpstreamError:
    return ctx.build(
        UpstreamUnavailable,
        "Une requête identique pour cette personne est déjà en cours chez API Particulier ; "
        "réessayer dans quelques secondes.",
        ctx.attente() or _ATTENTE_CONFLIT_S,
    )


def _disparu(ctx: _Contexte) -> UpstreamError:
    return ctx.build(
        UpstreamMisconfigured,
        "Cette route d'API Particulier n'existe plus : la passerelle doit être mise à jour.",
    )


def _refus(ctx: _Contexte) -> UpstreamError:
    if any(_suffixe(e.code) == "355" for e in ctx.errors):
        return ctx.build(
            UpstreamPersonNotFound,
            "L'identité transmise n'a pas pu être rapprochée d'un allocataire : "
            "vérifier l'état civil (nom de naissance, prénoms, date et lieu de naissance).",
        )
    parametres = list(dict.fromkeys(p for e in ctx.errors if (p := _parametre(e)) is not None))
    if not parametres:
        return ctx.build(UpstreamRejectedInput, "API Particulier a refusé les paramètres de la requête.")
    pluriel = "les paramètres" if len(parametres) > 1 else "le paramètre"
    return ctx.build(UpstreamRejectedInput, f"API Particulier a refusé {pluriel} : {', '.join(parametres)}.")


def _trop_de_requetes(ctx: _Contexte) -> UpstreamError:
    return ctx.build(
        UpstreamRateLimited,
        "Le quota de requêtes API Particulier de l'organisme est atteint ; réessayer plus tard.",
        ctx.attente() or 1,
    )


def _maintenance(ctx: _Contexte) -> UpstreamError:
    # meta.retry_in (seconds left in the window) is more precise than a generic Retry-After.
    wait = _retry_in(ctx.errors) or retry_after(ctx.response, ctx.now)
    if ctx.suffixe == "020":
        return ctx.build(
            UpstreamUnavailable,
            "Le fournisseur de données (CNAF/MSA) est en maintenance programmée ; "
            "réessayer après la fin de la maintenance.",
            wait,
        )
    return ctx.build(UpstreamUnavailable, "API Particulier est temporairement indisponible.", wait)


def _hors_delai(ctx: _Contexte) -> UpstreamError:
    return ctx.build(
        UpstreamTimeout, "Le fournisseur de données (CNAF/MSA) n'a pas répondu à temps à API Particulier."
    )


def _panne(ctx: _Contexte) -> UpstreamError:
    if ctx.suffixe == "002":
        return _hors_delai(ctx)
    detail = _INDISPONIBLE_502.get(ctx.suffixe, "API Particulier a rencontré une erreur.")
    return ctx.build(UpstreamUnavailable, detail, _retry_in(ctx.errors) or retry_after(ctx.response, ctx.now))


_PAR_STATUT: dict[int, Callable[[_Contexte], UpstreamError]] = {
    400: _refus,
    401: _non_authentifie,
    403: _interdit,
    404: _introuvable,
    409: _conflit,
    410: _disparu,
    422: _refus,
    429: _trop_de_requetes,
    503: _maintenance,
    504: _hors_delai,
}


def erreur_depuis_reponse(response: httpx.Response, *, now: Callable[[], float] = time.time) -> UpstreamError:
    """The exception that stands for a non-2xx answer of API Particulier."""
    ctx = _Contexte(response, _corps(response), now)
    handler = _PAR_STATUT.get(response.status_code)
    if handler is not None:
        return handler(ctx)
    if response.status_code >= 500:
        return _panne(ctx)
    return ctx.build(
        UpstreamError, f"API Particulier a répondu de façon inattendue (HTTP {response.status_code})."
    )


def erreur_transport(error: httpx.RequestError) -> UpstreamError:
    """Timeouts and connection failures; the caller raises it `from` the httpx error."""
    if isinstance(error, httpx.TimeoutException):
        return UpstreamTimeout(
            "API Particulier n'a pas répondu dans le délai imparti.", fournisseur=FOURNISSEUR
        )
    return UpstreamUnavailable(
        "API Particulier est injoignable (erreur de connexion).", fournisseur=FOURNISSEUR
    )
