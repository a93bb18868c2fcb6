"""Client of DGFiP's API Impôt particulier (SPI mode): assiettes IR, dernière situation, deux ans.

A small class around an injected `httpx.AsyncClient`. Every call sends a fresh `X-Correlation-ID`
(kept as the provenance's request id) and the `ID_Teleservice`. The numéro fiscal is validated
before any call and sits in the URL path, so URLs are never logged.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Final

import httpx
import structlog
from pydantic import ValidationError

from app.errors import (
    FieldError,
    InvalidInput,
    UpstreamError,
    UpstreamTimeout,
    UpstreamUnavailable,
)
from app.services.amont.impot_particulier.calendrier import (
    annee_des_revenus_disponible,
    annee_des_revenus_plausible,
)
from app.services.amont.impot_particulier.models import ReponseImpot, SituationIR
from app.services.amont.impot_particulier.numero_fiscal import NumeroFiscal
from app.services.amont.impot_particulier.tokens import FOURNISSEUR, TokenProvider
from app.services.amont.impot_particulier.upstream_errors import exception_pour_reponse

DEFAULT_TIMEOUT: Final[httpx.Timeout] = httpx.Timeout(5.0, connect=2.0)
CORRELATION_HEADER: Final[str] = "X-Correlation-ID"
TELESERVICE_HEADER: Final[str] = "ID_Teleservice"

RESSOURCE_ASSIETTES: Final[str] = "assiettes"
RESSOURCE_DERNIERE_SITUATION: Final[str] = "derniere_situation"
RESSOURCE_DEUX_ANS: Final[str] = "derniere_situation_deux_ans"

logger = structlog.get_logger(__name__)


class ImpotParticulierClient:
    """Calls API Impôt particulier for one organisme (its token provider and ID_Teleservice).

    `base_url` ends with the API's base path, e.g. `https://<gateway DGFiP>/impotparticulier/1.0`.
    `sandbox=True` accepts the public sandbox SPIs whose check key is wrong (see `numero_fiscal`).
    `today` gives the reference date when the caller gives neither a year nor a date.
    """

    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        base_url: str,
        tokens: TokenProvider,
        id_teleservice: str | None,
        timeout: httpx.Timeout | None = None,
        sandbox: bool = False,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._http = http
        self._base_url = base_url.rstrip("/")
        self._tokens = tokens
        self._id_teleservice = id_teleservice
        self._timeout = timeout or DEFAULT_TIMEOUT
        self.sandbox = sandbox
        self._now = now

    def numero_fiscal(self, texte: str | NumeroFiscal) -> NumeroFiscal:
        """Validate a numéro fiscal the way this client will (raises `InvalidInput`)."""
        if isinstance(texte, NumeroFiscal):
            return texte
        return NumeroFiscal.valider(texte, bac_a_sable=self.sandbox)

    async def assiettes_ir(
        self,
        numero_fiscal: str | NumeroFiscal,
        annee_des_revenus: int | None = None,
        *,
        date_reference: date | None = None,
    ) -> ReponseImpot:
        """`/spi/{spi}/situations/ir/assiettes/annrev/{annrev}` (scope RessourceIR)."""
        spi = self.numero_fiscal(numero_fiscal)
        annee = self._annee(annee_des_revenus, date_reference)
        path = f"/spi/{spi.reveler()}/situations/ir/assiettes/annrev/{annee}"
        return await self._get(path, ressource=RESSOURCE_ASSIETTES, annee=annee)

    async def derniere_situation(
        self,
        numero_fiscal: str | NumeroFiscal,
        annee_des_revenus: int | None = None,
        *,
        date_reference: date | None = None,
    ) -> ReponseImpot:
        """`/spi/{spi}/dernieresituation/ir/assiettes/annrev/{annrev}` (RessourceIRDerniere):
        like the assiettes, but after a death it returns the period that follows it."""
        spi = self.numero_fiscal(numero_fiscal)
        annee = self._annee(annee_des_revenus, date_reference)
        path = f"/spi/{spi.reveler()}/dernieresituation/ir/assiettes/annrev/{annee}"
        return await self._get(path, ressource=RESSOURCE_DERNIERE_SITUATION, annee=annee)

    async def derniere_situation_deux_ans(self, numero_fiscal: str | NumeroFiscal) -> ReponseImpot:
        """`/spi/{spi}/dernieresituation/ir/assiettes/deuxans` (RessourceIRDerniere2): N-1, else
        N-2; `ReponseImpot.annee_des_revenus` is the year DGFiP used (`annRevenu`)."""
        spi = self.numero_fiscal(numero_fiscal)
        path = f"/spi/{spi.reveler()}/dernieresituation/ir/assiettes/deuxans"
        return await self._get(path, ressource=RESSOURCE_DEUX_ANS, annee=None)

    def _annee(self, annee: int | None, date_reference: date | None) -> int:
        reference = date_reference or self._now().date()
        if annee is None:
            return annee_des_revenus_disponible(reference)
        if not annee_des_revenus_plausible(annee, reference):
            raise InvalidInput.for_fields(
                [
                    FieldError(
                        champ="demandeur.annee_des_revenus",
                        message=f"l'année des revenus doit être antérieure à {reference.year}",
                    )
                ]
            )
        return annee

    async def _get(self, path: str, *, ressource: str, annee: int | None) -> ReponseImpot:
        token = await self._tokens.token()
        response, request_id = await self._send(path, token, ressource=ressource)
        if response.status_code == 401:
            # Token revoked or expired early: renew once (other coroutines share the new one).
            self._tokens.invalidate(token)
            token = await self._tokens.token()
            response, request_id = await self._send(path, token, ressource=ressource)
        if response.status_code != 200:
            raise exception_pour_reponse(response, annee=annee, request_id=request_id)
        situation = _lire_situation(response, request_id=request_id)
        annee_servie = situation.annee_des_revenus if annee is None else annee
        if annee_servie is None:
            raise UpstreamError(
                "La DGFiP n'indique pas l'année des revenus de la situation renvoyée.",
                fournisseur=FOURNISSEUR,
                request_id=request_id,
            )
        return ReponseImpot(
            annee_des_revenus=annee_servie,
            situation=situation,
            ressource=ressource,
            request_id=request_id,
            obtenu_le=self._now(),
        )

    async def _send(self, path: str, token: str, *, ressource: str) -> tuple[httpx.Response, str]:
        request_id = str(uuid.uuid4())
        headers = {
            "Authorization": f"Bearer {token}",
            CORRELATION_HEADER: request_id,
            "Accept": "*/*",
        }
        if self._id_teleservice:
            headers[TELESERVICE_HEADER] = self._id_teleservice
        started = time.perf_counter()
        try:
            response = await self._http.get(self._base_url + path, headers=headers, timeout=self._timeout)
        except httpx.TimeoutException as e:
            logger.warning(
                "upstream.timeout", fournisseur=FOURNISSEUR, ressource=ressource, request_id=request_id
            )
            raise UpstreamTimeout(
                "L'API Impôt particulier n'a pas répondu à temps.",
                fournisseur=FOURNISSEUR,
                request_id=request_id,
            ) from e
        except httpx.TransportError as e:
            logger.warning(
                "upstream.unreachable", fournisseur=FOURNISSEUR, ressource=ressource, request_id=request_id
            )
            raise UpstreamUnavailable(
                "L'API Impôt particulier est injoignable.",
                fournisseur=FOURNISSEUR,
                request_id=request_id,
            ) from e
        logger.info(
            "upstream.call",
            fournisseur=FOURNISSEUR,
            ressource=ressource,
            status=response.status_code,
            duree_ms=round((time.perf_counter() - started) * 1000, 1),
            request_id=request_id,
        )
        return response, request_id


def _lire_situation(response: httpx.Response, *, request_id: str) -> SituationIR:
    """Parse a 200 body, numbers as `Decimal` straight from the JSON text (`nbPart` 6.75 stays exact)."""
    try:
        raw = json.loads(response.content, parse_float=Decimal)
        return SituationIR.model_validate(raw)
    except (ValueError, ValidationError):
        # A validation error would quote the body (names, address): it is not chained.
        raise UpstreamError(
            "Réponse illisible de l'API Impôt particulier.",
            fournisseur=FOURNISSEUR,
            request_id=request_id,
        ) from None
