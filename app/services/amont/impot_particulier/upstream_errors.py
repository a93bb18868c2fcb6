"""Translation of API Impôt particulier's error answers into the gateway's exception tree.

DGFiP answers `{"erreur": {"code", "message", "horodatage"}}` (sometimes `message` only). The HTTP
status decides first, then the application code (`4001`, `4101`…). Messages are French, name
the year when useful, and never the numéro fiscal.
"""

from __future__ import annotations

from typing import Final

import httpx
from pydantic import BaseModel, ConfigDict, ValidationError

from app.errors import (
    UpstreamError,
    UpstreamMisconfigured,
    UpstreamPersonNotFound,
    UpstreamRateLimited,
    UpstreamRejectedInput,
    UpstreamUnavailable,
)
from app.services.amont.impot_particulier.tokens import FOURNISSEUR

CODE_FORMAT_SPI: Final[str] = "4001"
CODE_FORMAT_ANNEE: Final[str] = "4002"
CODE_ACCES_REFUSE: Final[str] = "4031"
CODE_AUCUN_RESULTAT: Final[str] = "4101"
CODE_SPI_INCONNU: Final[str] = "4102"


class _Erreur(BaseModel):
    model_config = ConfigDict(extra="ignore")

    code: int | str | None = None
    message: str | None = None


class _CorpsErreur(BaseModel):
    model_config = ConfigDict(extra="ignore")

    erreur: _Erreur | None = None


def _code_applicatif(response: httpx.Response) -> tuple[str | None, str]:
    """The `erreur.code` (as text) and the lower-cased `erreur.message` of an error body."""
    try:
        body = _CorpsErreur.model_validate_json(response.content)
    except ValidationError:
        return None, ""
    if body.erreur is None:
        return None, ""
    code = str(body.erreur.code) if body.erreur.code is not None else None
    return code, (body.erreur.message or "").lower()


def retry_after_seconds(response: httpx.Response) -> int | None:
    value = response.headers.get("Retry-After", "").strip()
    return int(value) if value.isdigit() else None


def _pour_annee(annee: int | None) -> str:
    if annee is None:
        return "pour les deux dernières années des revenus"
    return f"pour l'année des revenus {annee}"


def exception_pour_reponse(  # noqa: PLR0911 - one return per documented upstream case
    response: httpx.Response, *, annee: int | None, request_id: str
) -> UpstreamError:
    """The exception for a non-200 answer of a data endpoint (204 included)."""
    status = response.status_code
    code, message = _code_applicatif(response)
    if status in (204, 404) or (status == 410 and code != CODE_SPI_INCONNU):
        return UpstreamPersonNotFound(
            f"La DGFiP n'a aucun avis d'impôt sur le revenu {_pour_annee(annee)} pour ce numéro fiscal.",
            upstream_code=code or str(status),
            fournisseur=FOURNISSEUR,
            request_id=request_id,
        )
    if status == 410:
        return UpstreamPersonNotFound(
            "Le numéro fiscal ne correspond à aucun usager connu de la DGFiP.",
            upstream_code=code,
            fournisseur=FOURNISSEUR,
            request_id=request_id,
        )
    if status == 400:
        if code == CODE_FORMAT_ANNEE:
            detail = f"La DGFiP refuse le format de l'année des revenus demandée ({annee})."
        elif code == CODE_FORMAT_SPI or "spi" in message:
            detail = "La DGFiP refuse le format du numéro fiscal, pourtant conforme à sa clé de contrôle."
        else:
            detail = "La DGFiP juge la requête mal formée."
        return UpstreamRejectedInput(
            detail, upstream_code=code or "400", fournisseur=FOURNISSEUR, request_id=request_id
        )
    if status in (401, 403):
        return UpstreamMisconfigured(
            "La DGFiP refuse l'accès à cette ressource ou à cette année : vérifier l'habilitation "
            f"de l'organisme (scopes, années, certificat, ID_Teleservice) (HTTP {status}).",
            upstream_code=code or str(status),
            fournisseur=FOURNISSEUR,
            request_id=request_id,
        )
    if status == 429:
        return UpstreamRateLimited(
            "Le quota d'appels à l'API Impôt particulier est atteint ; réessayer plus tard.",
            upstream_code="429",
            retry_after=retry_after_seconds(response),
            fournisseur=FOURNISSEUR,
            request_id=request_id,
        )
    if status >= 500:
        return UpstreamUnavailable(
            f"L'API Impôt particulier est indisponible (HTTP {status}).",
            upstream_code=code or str(status),
            retry_after=retry_after_seconds(response),
            fournisseur=FOURNISSEUR,
            request_id=request_id,
        )
    return UpstreamError(
        f"Réponse inattendue de l'API Impôt particulier (HTTP {status}).",
        upstream_code=code or str(status),
        fournisseur=FOURNISSEUR,
        request_id=request_id,
    )
