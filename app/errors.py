"""The gateway's one exception tree, and its rendering as `application/problem+json` (RFC 9457).

    GatewayError                        500  erreur-interne
    ├── ClientError                     4xx  (the caller can fix it)
    │   ├── InvalidInput                422  donnees-invalides   (names each faulty field)
    │   │   └── IdempotencyKeyReused    422  cle-idempotence-reutilisee (same key, another body)
    │   ├── AuthenticationRequired      401  authentification-requise (WWW-Authenticate: Bearer)
    │   ├── PermissionDenied            403  acces-refuse
    │   ├── NotFound                    404  ressource-introuvable
    │   ├── UnreadableRequest           400  requete-illisible    (malformed JSON, bad UTF-8, deep nesting)
    │   ├── MethodNotAllowed            405  methode-non-autorisee (Allow)
    │   ├── RequestTooSlow              408  requete-trop-lente   (app/serving.py: body or head too slow)
    │   ├── IdempotentRequestInProgress 409  requete-idempotente-en-cours (Retry-After)
    │   ├── DocumentNonConforme         409  document-non-conforme (a printed code the journal refutes)
    │   ├── NotAcceptable               406  format-non-disponible (Accept names no format served)
    │   ├── PayloadTooLarge             413  corps-trop-volumineux (app/serving.py, before authentication)
    │   ├── UnsupportedMediaType        415  type-de-contenu-non-supporte
    │   ├── HeadersTooLarge             431  en-tetes-trop-volumineux (app/serving.py, from the socket)
    │   └── TooManyRequests             429  trop-de-requetes    (Retry-After)
    ├── UpstreamError                   502  fournisseur-en-erreur
    │   ├── UpstreamPersonNotFound      404  personne-introuvable   (a_verifier in an eligibility)
    │   ├── UpstreamRejectedInput       422  parametres-refuses     (upstream refused what we sent)
    │   ├── UpstreamMisconfigured       502  configuration-fournisseur (our token/scopes/recipient)
    │   ├── UpstreamUnavailable         503  fournisseur-indisponible (Retry-After when known)
    │   │   ├── UpstreamRateLimited     503  quota-fournisseur-atteint
    │   │   └── LimiteurIndisponible    503  limiteur-indisponible  (app/services/amont/quotas.py: Redis down,
    │   │                                    no unmetered call is made)
    │   └── UpstreamTimeout             504  fournisseur-hors-delai
    ├── JournalUnavailable              503  journal-indisponible  (no decision without its trace)
    ├── QueueUnavailable                503  file-campagnes-indisponible (campaigns: Redis down)
    ├── ComputationTimeout              503  calcul-trop-long      (a simulation over its time budget)
    └── ConfigurationError              500  configuration-invalide

Every class carries a stable `code` (the last segment of the problem `type`) and a French
`detail`. Unknown exceptions are logged and rendered as a 500 `erreur-interne`, never relabelled
as a client error.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, cast

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import JSONResponse
from starlette.routing import Match

PROBLEM_CONTENT_TYPE = "application/problem+json"
PROBLEM_TYPE_PREFIX = "urn:eligibility-gateway:probleme:"

logger = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True)
class FieldError:
    """One faulty input field: its dotted path and a French message."""

    champ: str
    message: str


class GatewayError(Exception):
    """Base of every error the gateway raises on purpose."""

    status: ClassVar[int] = 500
    code: ClassVar[str] = "erreur-interne"
    title: ClassVar[str] = "Erreur interne"

    def __init__(
        self,
        detail: str,
        *,
        retry_after: int | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.retry_after = retry_after
        self.extra: dict[str, Any] = dict(extra or {})


class ClientError(GatewayError):
    status = 400
    code = "requete-invalide"
    title = "Requête invalide"


class InvalidInput(ClientError):
    status = 422
    code = "donnees-invalides"
    title = "Données invalides"

    def __init__(self, detail: str, errors: Sequence[FieldError] = ()) -> None:
        super().__init__(
            detail,
            extra={"erreurs": [{"champ": e.champ, "message": e.message} for e in errors]},
        )
        self.errors = tuple(errors)

    @classmethod
    def for_fields(cls, errors: Sequence[FieldError]) -> InvalidInput:
        """One 422 naming every faulty field, with a readable summary sentence."""
        if len(errors) == 1:
            detail = f"{errors[0].champ} : {errors[0].message}"
        else:
            detail = f"{len(errors)} champs sont invalides : " + " ; ".join(
                f"{e.champ} : {e.message}" for e in errors
            )
        return cls(detail, errors)


class IdempotencyKeyReused(InvalidInput):
    """The `Idempotency-Key` already served another request body (IETF httpapi draft, § 2.7)."""

    code = "cle-idempotence-reutilisee"
    title = "Clé d'idempotence déjà utilisée pour une autre requête"

    def __init__(self) -> None:
        super().__init__(
            "Idempotency-Key : cette clé a déjà servi, dans les dernières 24 heures, à une requête "
            "dont le corps est différent ; utilisez une nouvelle clé pour une nouvelle requête.",
            [FieldError("Idempotency-Key", "clé déjà utilisée pour un autre corps de requête")],
        )


class AuthenticationRequired(ClientError):
    status = 401
    code = "authentification-requise"
    title = "Authentification requise"


class PermissionDenied(ClientError):
    status = 403
    code = "acces-refuse"
    title = "Accès refusé"


class NotFound(ClientError):
    status = 404
    code = "ressource-introuvable"
    title = "Ressource introuvable"


class UnreadableRequest(ClientError):
    """A body that is not readable JSON at all (syntax, encoding, nesting): Starlette's 400."""

    status = 400
    code = "requete-illisible"
    title = "Requête illisible"


class RequestTooSlow(ClientError):
    status = 408
    code = "requete-trop-lente"
    title = "Requête trop lente"


class PayloadTooLarge(ClientError):
    status = 413
    code = "corps-trop-volumineux"
    title = "Requête trop volumineuse"


class IdempotentRequestInProgress(ClientError):
    """The first request with this `Idempotency-Key` is still running after the wait (draft § 2.7)."""

    status = 409
    code = "requete-idempotente-en-cours"
    title = "Requête de même clé d'idempotence en cours"


class DocumentNonConforme(ClientError):
    """A printed document's verification code is not the one the journaled decision gives."""

    status = 409
    code = "document-non-conforme"
    title = "Document non conforme au journal"


class NotAcceptable(ClientError):
    """`Accept` names no media type the resource is served in."""

    status = 406
    code = "format-non-disponible"
    title = "Format non disponible"


class MethodNotAllowed(ClientError):
    status = 405
    code = "methode-non-autorisee"
    title = "Méthode non autorisée"


class UnsupportedMediaType(ClientError):
    status = 415
    code = "type-de-contenu-non-supporte"
    title = "Type de contenu non supporté"


class HeadersTooLarge(ClientError):
    status = 431
    code = "en-tetes-trop-volumineux"
    title = "En-têtes trop volumineux"


class TooManyRequests(ClientError):
    status = 429
    code = "trop-de-requetes"
    title = "Trop de requêtes"


class UpstreamError(GatewayError):
    """An upstream API failed or refused; `fournisseur` names which one."""

    status = 502
    code = "fournisseur-en-erreur"
    title = "Erreur du fournisseur de données"
    #: Whether an eligibility evaluation may go on with the aid marked `a_verifier`.
    degrades_to_a_verifier: ClassVar[bool] = True

    def __init__(
        self,
        detail: str,
        *,
        fournisseur: str,
        upstream_code: str | None = None,
        request_id: str | None = None,
        retry_after: int | None = None,
    ) -> None:
        super().__init__(
            detail,
            retry_after=retry_after,
            extra={"fournisseur": fournisseur, "code_fournisseur": upstream_code},
        )
        self.fournisseur = fournisseur
        self.upstream_code = upstream_code
        self.request_id = request_id
        #: True when this failure is another worker's call, handed over by coalescing: no call
        #: was made for this request.
        self.partagee = False
        #: The error answer's (RateLimit-Limit, RateLimit-Remaining, RateLimit-Reset), if it had
        #: them: an error spends the allowance too (`Protection` slows the token down on them).
        self.ratelimit: tuple[int | None, int | None, int | None] = (None, None, None)

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        _ERREURS_FOURNISSEUR[cls.__name__] = cls

    def vers_json(self) -> dict[str, Any]:
        """What `depuis_json` needs to raise the same failure in another process."""
        return {
            "type": type(self).__name__,
            "detail": self.detail,
            "fournisseur": self.fournisseur,
            "code_fournisseur": self.upstream_code,
            "request_id": self.request_id,
            "retry_after": self.retry_after,
        }

    @staticmethod
    def depuis_json(donnees: Mapping[str, Any]) -> UpstreamError:
        """The failure `vers_json` described, marked `partagee`; an unknown type reads as the base."""
        classe = _ERREURS_FOURNISSEUR.get(str(donnees.get("type")), UpstreamError)
        erreur = classe(
            str(donnees["detail"]),
            fournisseur=str(donnees["fournisseur"]),
            upstream_code=donnees.get("code_fournisseur"),
            request_id=donnees.get("request_id"),
            retry_after=donnees.get("retry_after"),
        )
        erreur.partagee = True
        return erreur


#: Every upstream failure class by name (subclasses register themselves), for `depuis_json`.
_ERREURS_FOURNISSEUR: dict[str, type[UpstreamError]] = {"UpstreamError": UpstreamError}


class UpstreamPersonNotFound(UpstreamError):
    status = 404
    code = "personne-introuvable"
    title = "Personne introuvable chez le fournisseur"


class UpstreamRejectedInput(UpstreamError):
    status = 422
    code = "parametres-refuses"
    title = "Paramètres refusés par le fournisseur"
    degrades_to_a_verifier = False


class UpstreamMisconfigured(UpstreamError):
    status = 502
    code = "configuration-fournisseur"
    title = "Configuration d'accès au fournisseur invalide"
    degrades_to_a_verifier = False


class UpstreamUnavailable(UpstreamError):
    status = 503
    code = "fournisseur-indisponible"
    title = "Fournisseur de données indisponible"


class UpstreamRateLimited(UpstreamUnavailable):
    code = "quota-fournisseur-atteint"
    title = "Quota du fournisseur atteint"


class UpstreamTimeout(UpstreamError):
    status = 504
    code = "fournisseur-hors-delai"
    title = "Le fournisseur de données n'a pas répondu à temps"


class DecisionIllisible(GatewayError):
    """A journaled decision whose encrypted content no key of the ring opens (issue 13)."""

    status = 410
    code = "decision-illisible"
    title = "Contenu de la décision illisible"


class JournalUnavailable(GatewayError):
    status = 503
    code = "journal-indisponible"
    title = "Journal indisponible"


class QueueUnavailable(GatewayError):
    """The campaigns' task queue (Redis) does not answer: no campaign is accepted (issue 18)."""

    status = 503
    code = "file-campagnes-indisponible"
    title = "File des campagnes indisponible"


class ComputationTimeout(GatewayError):
    status = 503
    code = "calcul-trop-long"
    title = "Calcul trop long"


class ConfigurationError(GatewayError):
    status = 500
    code = "configuration-invalide"
    title = "Configuration invalide"


# --- rendering -----------------------------------------------------------------------------------


def problem_response(
    *,
    status: int,
    code: str,
    title: str,
    detail: str,
    instance: str | None = None,
    extra: Mapping[str, Any] | None = None,
    retry_after: int | None = None,
    headers: Mapping[str, str] | None = None,
) -> JSONResponse:
    body: dict[str, Any] = {
        "type": PROBLEM_TYPE_PREFIX + code,
        "title": title,
        "status": status,
        "detail": detail,
        "code": code,
    }
    if instance:
        body["instance"] = instance
    body.update({k: v for k, v in (extra or {}).items() if v is not None})
    en_tetes = dict(headers or {})
    if retry_after is not None:
        en_tetes["Retry-After"] = str(retry_after)
    if status == 401:
        # RFC 9110 § 11.6.1: a 401 names the scheme the client should use.
        en_tetes.setdefault("WWW-Authenticate", 'Bearer realm="eligibility-gateway"')
    return JSONResponse(body, status_code=status, media_type=PROBLEM_CONTENT_TYPE, headers=en_tetes or None)


@dataclass(frozen=True, slots=True)
class CodeStable:
    """One stable problem code, as the contract (OpenAPI enum) and the README table list it."""

    code: str
    status: int
    title: str
    classe: str


def codes_stables() -> list[CodeStable]:
    """Every code of the exception tree, walked from `GatewayError` (subclasses defined in services,
    such as `LimiteurIndisponible`, are listed once their module is imported: `app.main` imports
    them all). Sorted by status then code; a code shared by two classes is listed once."""
    vus: dict[str, CodeStable] = {}
    pile: list[type[GatewayError]] = [GatewayError]
    while pile:
        classe = pile.pop()
        vus.setdefault(classe.code, CodeStable(classe.code, classe.status, classe.title, classe.__name__))
        pile.extend(classe.__subclasses__())
    return sorted(vus.values(), key=lambda c: (c.status, c.code))


def _ligne_colonne(document: str, position: int) -> tuple[int, int]:
    """1-based line and column of a character offset, as editors count them."""
    avant = document[:position]
    return avant.count("\n") + 1, position - (avant.rfind("\n") + 1) + 1


def _contenu_json(content_type: str | None) -> bool:
    if not content_type:
        return False
    media = content_type.split(";", 1)[0].strip().lower()
    return media == "application/json" or (media.startswith("application/") and media.endswith("+json"))


_PYDANTIC_MESSAGES_FR: dict[str, str] = {
    "missing": "champ obligatoire",
    "string_type": "doit être une chaîne de caractères",
    "string_too_short": "ne doit pas être vide",
    "string_too_long": "est trop long",
    "string_pattern_mismatch": "n'a pas le format attendu",
    "int_parsing": "doit être un nombre entier",
    "int_type": "doit être un nombre entier",
    "bool_parsing": "doit être vrai ou faux",
    "bool_type": "doit être vrai ou faux",
    "decimal_parsing": "doit être un nombre",
    "date_from_datetime_parsing": "doit être une date AAAA-MM-JJ",
    "date_parsing": "doit être une date AAAA-MM-JJ",
    "date_type": "doit être une date AAAA-MM-JJ",
    "list_type": "doit être une liste",
    "too_short": "ne contient pas assez d'éléments",
    "too_long": "contient trop d'éléments",
    "literal_error": "n'est pas une valeur admise",
    "enum": "n'est pas une valeur admise",
    "extra_forbidden": "champ inconnu",
    "json_invalid": "le corps de la requête n'est pas un JSON valide",
    "model_attributes_type": "doit être un objet JSON",
    "dict_type": "doit être un objet JSON",
    "uuid_parsing": "doit être un identifiant UUID",
    "greater_than_equal": "est trop petit",
    "less_than_equal": "est trop grand",
}


def field_errors_from_validation(errors: Sequence[Mapping[str, Any]]) -> list[FieldError]:
    """Turn pydantic/FastAPI validation errors into French, field-named errors.

    Our own validators raise `ValueError` with a French message, which pydantic reports as
    `value_error` with "Value error, <message>": we keep our message and drop the prefix.
    The offending input value is never echoed back (it may be personal data).
    """
    result: list[FieldError] = []
    for error in errors:
        location = [
            str(part) for part in error.get("loc", ()) if part not in ("body", "query", "path", "header")
        ]
        kind = str(error.get("type", ""))
        # A JSON syntax error's location is a character offset, not a field.
        champ = "corps" if kind == "json_invalid" else ".".join(location) or "corps"
        if kind in ("value_error", "assertion_error"):
            message = str(error.get("msg", "")).removeprefix("Value error, ")
            message = message.removeprefix("Assertion failed, ")
        else:
            message = _PYDANTIC_MESSAGES_FR.get(kind, "valeur invalide")
        result.append(FieldError(champ=champ, message=message))
    return result


def register_problem_handlers(app: FastAPI) -> None:
    """Render every error of the tree, validation errors and HTTP errors as problem+json."""

    async def on_gateway_error(request: Request, exc: Exception) -> JSONResponse:
        exc = cast(GatewayError, exc)
        if exc.status >= 500:
            logger.warning("request.failed", code=exc.code, status=exc.status)
        return problem_response(
            status=exc.status,
            code=exc.code,
            title=exc.title,
            detail=exc.detail,
            instance=request.url.path,
            extra=exc.extra,
            retry_after=exc.retry_after,
        )

    async def on_validation_error(request: Request, exc: Exception) -> JSONResponse:
        exc = cast(RequestValidationError, exc)
        errors = exc.errors()
        if (
            isinstance(exc.body, bytes)
            and exc.body
            and not _contenu_json(request.headers.get("content-type"))
        ):
            # FastAPI leaves a body it will not parse as JSON as raw bytes (curl's default
            # `application/x-www-form-urlencoded`, or no Content-Type at all).
            error: GatewayError = UnsupportedMediaType(
                "Le corps de la requête doit être envoyé en JSON, avec l'en-tête "
                "« Content-Type: application/json »."
            )
        elif len(errors) == 1 and errors[0].get("type") == "json_invalid" and isinstance(exc.body, str):
            position = errors[0]["loc"][-1]
            ligne, colonne = _ligne_colonne(exc.body, position if isinstance(position, int) else 0)
            message = f"JSON invalide ligne {ligne}, colonne {colonne}"
            error = InvalidInput.for_fields([FieldError("corps", message)])
        else:
            error = InvalidInput.for_fields(field_errors_from_validation(errors))
        return await on_gateway_error(request, error)

    async def on_http_error(request: Request, exc: Exception) -> JSONResponse:
        exc = cast(StarletteHTTPException, exc)
        known: dict[int, tuple[type[GatewayError], str]] = {
            400: (
                UnreadableRequest,
                "Le corps de la requête est illisible : JSON mal formé ou trop imbriqué, ou texte "
                "qui n'est pas en UTF-8.",
            ),
            404: (NotFound, "Cette adresse n'existe pas."),
            405: (MethodNotAllowed, "Cette méthode HTTP n'est pas acceptée sur cette adresse."),
            415: (UnsupportedMediaType, "Ce type de contenu n'est pas accepté."),
        }
        classe, detail = known.get(exc.status_code, (ClientError, str(exc.detail)))
        headers = dict(exc.headers or {})
        if exc.status_code == 405:
            # Starlette names only the first matching route's methods; every route of the path counts.
            headers = {k: v for k, v in headers.items() if k.lower() != "allow"}
            headers["Allow"] = ", ".join(_methodes_permises(request))
        return problem_response(
            status=exc.status_code,
            code=classe.code,
            title=classe.title,
            detail=detail,
            instance=request.url.path,
            headers=headers,
        )

    def _methodes_permises(request: Request) -> list[str]:
        """The methods the routes matching this path accept (RFC 9110 § 15.5.6: a 405 says them)."""
        methodes: set[str] = set()
        for route in app.router.routes:
            match, _ = route.matches({**request.scope, "method": "GET"})
            route_methodes = getattr(route, "methods", None)
            if match is not Match.NONE and isinstance(route_methodes, set):
                methodes |= route_methodes
        if "GET" in methodes:
            methodes.add("HEAD")
        return sorted(methodes)

    async def on_unexpected_error(request: Request, exc: Exception) -> JSONResponse:
        logger.exception("request.unexpected_error", error_type=type(exc).__name__)
        return problem_response(
            status=500,
            code=GatewayError.code,
            title=GatewayError.title,
            detail="Une erreur inattendue est survenue ; elle a été consignée.",
            instance=request.url.path,
        )

    app.add_exception_handler(GatewayError, on_gateway_error)
    app.add_exception_handler(RequestValidationError, on_validation_error)
    app.add_exception_handler(StarletteHTTPException, on_http_error)
    app.add_exception_handler(Exception, on_unexpected_error)
