"""Client of API Particulier v3 (DINUM): CAF/MSA quotient familial and the CCAS's optional benefits.

A small class around an injected `httpx.AsyncClient`. Every parameter is checked locally before any
call (no quota spent on a request that cannot succeed); every answer becomes either a typed
`Reponse` with its provenance, or an exception of `app.errors`. Nothing here depends on the
built-in simulator: it speaks the published contract only.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Final, Generic, TypeVar
from zoneinfo import ZoneInfo

import httpx
import structlog
from pydantic import BaseModel, SecretStr, ValidationError

from app.errors import FieldError, InvalidInput, UpstreamError
from app.schemas.demandeur import Demandeur
from app.services.amont.api_particulier import params
from app.services.amont.api_particulier.errors import FOURNISSEUR, erreur_depuis_reponse, erreur_transport
from app.services.amont.api_particulier.models import (
    AccesApiParticulier,
    PrestationAah,
    PrestationAsf,
    PrestationC2s,
    PrestationPrimeActivite,
    PrestationRsa,
    Provenance,
    QuotientFamilial,
    Reponse,
)

logger = structlog.get_logger(__name__)

M = TypeVar("M", bound=BaseModel)

#: The provider recommends a 5 s client timeout (it waits up to 10 s for CAF/MSA itself).
DEFAULT_TIMEOUT: Final = httpx.Timeout(5.0)
#: API Particulier counts "N" and the current month in French civil time.
FUSEAU_FOURNISSEUR: Final = ZoneInfo("Europe/Paris")
_PROVIDER_PING = re.compile(r"^[a-z0-9_]{1,64}\Z")
_ENTIER = re.compile(r"^[0-9]{1,12}\Z")


class _Enveloppe(BaseModel, Generic[M]):
    """`{"data": …, "links": {}, "meta": {}}`: only `data` matters."""

    data: M


def _aujourd_hui_paris() -> date:
    return datetime.now(FUSEAU_FOURNISSEUR).date()


def _maintenant_utc() -> datetime:
    return datetime.now(UTC)


def _entier(value: str | None) -> int | None:
    # Not str.isdigit(): it accepts "²", which int() refuses.
    return int(value) if value is not None and _ENTIER.match(value.strip()) else None


class ApiParticulierClient:
    """One instance per process; the organisme's access is given on each call."""

    FOURNISSEUR = FOURNISSEUR

    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        base_url: str,
        timeout: httpx.Timeout | None = None,
        today: Callable[[], date] = _aujourd_hui_paris,
        clock: Callable[[], datetime] = _maintenant_utc,
    ) -> None:
        self._http = http
        self._base_url = base_url.rstrip("/")
        self._timeout = timeout or DEFAULT_TIMEOUT
        self._today = today
        self._clock = clock

    # --- quotient familial -----------------------------------------------------------------------

    async def quotient_familial(
        self,
        demandeur: Demandeur,
        acces: AccesApiParticulier,
        *,
        annee: int | None = None,
        mois: int | None = None,
    ) -> Reponse[QuotientFamilial]:
        """QF CAF/MSA, allocataires, enfants and address; a past month with `annee`/`mois`."""
        return await self._identite(
            "quotient_familial", QuotientFamilial, demandeur, acces, annee=annee, mois=mois
        )

    async def quotient_familial_france_connect(
        self,
        jeton_france_connect: SecretStr,
        *,
        recipient: str,
        annee: int | None = None,
        mois: int | None = None,
    ) -> Reponse[QuotientFamilial]:
        return await self._france_connect(
            "quotient_familial", QuotientFamilial, jeton_france_connect, recipient, annee=annee, mois=mois
        )

    # --- benefits --------------------------------------------------------------------------------

    async def revenu_solidarite_active(
        self, demandeur: Demandeur, acces: AccesApiParticulier
    ) -> Reponse[PrestationRsa]:
        return await self._identite("revenu_solidarite_active", PrestationRsa, demandeur, acces)

    async def revenu_solidarite_active_france_connect(
        self, jeton_france_connect: SecretStr, *, recipient: str
    ) -> Reponse[PrestationRsa]:
        return await self._france_connect(
            "revenu_solidarite_active", PrestationRsa, jeton_france_connect, recipient
        )

    async def prime_activite(
        self, demandeur: Demandeur, acces: AccesApiParticulier
    ) -> Reponse[PrestationPrimeActivite]:
        return await self._identite("prime_activite", PrestationPrimeActivite, demandeur, acces)

    async def prime_activite_france_connect(
        self, jeton_france_connect: SecretStr, *, recipient: str
    ) -> Reponse[PrestationPrimeActivite]:
        return await self._france_connect(
            "prime_activite", PrestationPrimeActivite, jeton_france_connect, recipient
        )

    async def allocation_adulte_handicape(
        self, demandeur: Demandeur, acces: AccesApiParticulier
    ) -> Reponse[PrestationAah]:
        return await self._identite("allocation_adulte_handicape", PrestationAah, demandeur, acces)

    async def allocation_adulte_handicape_france_connect(
        self, jeton_france_connect: SecretStr, *, recipient: str
    ) -> Reponse[PrestationAah]:
        return await self._france_connect(
            "allocation_adulte_handicape", PrestationAah, jeton_france_connect, recipient
        )

    async def allocation_soutien_familial(
        self, demandeur: Demandeur, acces: AccesApiParticulier
    ) -> Reponse[PrestationAsf]:
        return await self._identite("allocation_soutien_familial", PrestationAsf, demandeur, acces)

    async def allocation_soutien_familial_france_connect(
        self, jeton_france_connect: SecretStr, *, recipient: str
    ) -> Reponse[PrestationAsf]:
        return await self._france_connect(
            "allocation_soutien_familial", PrestationAsf, jeton_france_connect, recipient
        )

    async def complementaire_sante_solidaire(
        self, demandeur: Demandeur, acces: AccesApiParticulier
    ) -> Reponse[PrestationC2s]:
        return await self._identite("complementaire_sante_solidaire", PrestationC2s, demandeur, acces)

    async def complementaire_sante_solidaire_france_connect(
        self, jeton_france_connect: SecretStr, *, recipient: str
    ) -> Reponse[PrestationC2s]:
        return await self._france_connect(
            "complementaire_sante_solidaire", PrestationC2s, jeton_france_connect, recipient
        )

    # --- monitoring ------------------------------------------------------------------------------

    async def ping(self, provider: str = "cnaf_msa_quotient_familial") -> bool:
        """Whether the provider answers (`/api/{provider}/ping`): free, no token, not rate-limited."""
        if not _PROVIDER_PING.match(provider):
            raise ValueError("nom de fournisseur invalide")
        try:
            response = await self._http.get(f"{self._base_url}/api/{provider}/ping", timeout=self._timeout)
            status = response.json().get("status") if response.status_code == 200 else None
        except (httpx.HTTPError, ValueError, AttributeError):
            return False
        return status == "ok"

    # --- mechanics -------------------------------------------------------------------------------

    async def _identite(
        self,
        donnee: str,
        model: type[M],
        demandeur: Demandeur,
        acces: AccesApiParticulier,
        *,
        annee: int | None = None,
        mois: int | None = None,
    ) -> Reponse[M]:
        aujourd_hui = self._today()
        errors: list[FieldError] = params.erreurs_recipient(acces.recipient)
        errors += params.erreurs_identite(demandeur, aujourd_hui)
        errors += params.erreurs_periode(annee, mois, aujourd_hui)
        if errors:
            raise InvalidInput.for_fields(errors)
        query = [("recipient", acces.recipient)]
        query += params.parametres_identite(demandeur)
        query += params.parametres_periode(annee, mois)
        return await self._get(f"{donnee}/identite", model, query, acces.token)

    async def _france_connect(
        self,
        donnee: str,
        model: type[M],
        jeton: SecretStr,
        recipient: str,
        *,
        annee: int | None = None,
        mois: int | None = None,
    ) -> Reponse[M]:
        errors = params.erreurs_recipient(recipient)
        errors += params.erreurs_periode(annee, mois, self._today())
        if not jeton.get_secret_value().strip():
            errors.append(FieldError("jeton_france_connect", "le jeton FranceConnect est vide"))
        if errors:
            raise InvalidInput.for_fields(errors)
        query = [("recipient", recipient), *params.parametres_periode(annee, mois)]
        return await self._get(f"{donnee}/france_connect", model, query, jeton)

    async def _get(
        self, endpoint: str, model: type[M], query: list[tuple[str, str]], token: SecretStr
    ) -> Reponse[M]:
        # No `Accept`: SIADE answers `application/vnd.api+json` although the OpenAPI says JSON.
        headers = {"Authorization": f"Bearer {token.get_secret_value()}"}
        started = time.perf_counter()
        try:
            response = await self._http.get(
                f"{self._base_url}/v3/dss/{endpoint}",
                params=tuple(query),
                headers=headers,
                timeout=self._timeout,
            )
        except httpx.RequestError as e:  # transport errors, and bodies that cannot be decoded
            logger.warning(
                "upstream.call.failed",
                fournisseur=self.FOURNISSEUR,
                endpoint=endpoint,
                error_type=type(e).__name__,
                duration_ms=round((time.perf_counter() - started) * 1000),
            )
            raise erreur_transport(e) from e
        provenance = self._provenance(endpoint, response)
        logger.info(
            "upstream.call",
            fournisseur=self.FOURNISSEUR,
            endpoint=endpoint,
            status=response.status_code,
            request_id=provenance.request_id,
            cached=provenance.depuis_cache_fournisseur,
            duration_ms=round((time.perf_counter() - started) * 1000),
        )
        if not response.is_success:
            erreur = erreur_depuis_reponse(response)
            erreur.ratelimit = provenance.ratelimit
            raise erreur
        return Reponse(donnees=self._lire(model, response, provenance), provenance=provenance)

    def _lire(self, model: type[M], response: httpx.Response, provenance: Provenance) -> M:
        """The `data` member of a 2xx answer; anything unreadable is a 502, never a crash."""
        try:
            return _Enveloppe[model].model_validate_json(response.content).data  # type: ignore[valid-type]
        except ValidationError as e:
            # `from None`: a ValidationError quotes the input, i.e. personal data, in tracebacks.
            json_invalid = any(err["type"] == "json_invalid" for err in e.errors())
            raise UpstreamError(
                "API Particulier a renvoyé une réponse illisible (JSON invalide)."
                if json_invalid
                else "API Particulier a renvoyé une réponse d'une forme inattendue.",
                fournisseur=self.FOURNISSEUR,
                request_id=provenance.request_id,
            ) from None

    def _provenance(self, endpoint: str, response: httpx.Response) -> Provenance:
        headers = response.headers
        return Provenance(
            endpoint=endpoint,
            request_id=headers.get("X-Request-ID") or None,
            depuis_cache_fournisseur=headers.get("X-Response-Cached", "").strip().lower() == "true",
            obtenu_le=self._clock(),
            statut_http=response.status_code,
            ratelimit_limit=_entier(headers.get("RateLimit-Limit")),
            ratelimit_remaining=_entier(headers.get("RateLimit-Remaining")),
            ratelimit_reset=_entier(headers.get("RateLimit-Reset")),
        )
