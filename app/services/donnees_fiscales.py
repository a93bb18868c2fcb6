"""Tax data for one applicant, from API Impôt particulier (DGFiP), within the DGFiP terms of use.

The numéro fiscal lives only in the request: it is validated before any call, used in the upstream
path, and never cached, journaled or logged. Tax answers are not cached either (DGFiP terms; issue
#6 makes it an operator option). The in-process coalescing key is a keyed hash, not the number.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import httpx

from app.errors import UpstreamError
from app.schemas.demandeur import Demandeur
from app.services.cache import SecureCache
from app.services.coalescing import Coalescer
from app.services.collecte import Collecte
from app.services.impot_particulier import (
    FOURNISSEUR,
    ImpotParticulierClient,
    NumeroFiscal,
    ReponseImpot,
    TokenProviders,
    donnees_pre_remplissage,
    faits_impot,
    identite_fiscale_correspond,
)
from app.services.journal import AppelFournisseur
from app.services.organismes import Organisme

DONNEE_IMPOT = "impot_sur_le_revenu"


@dataclass(frozen=True, slots=True)
class AccesImpotParticulier:
    """Where API Impôt particulier is and how this gateway identifies itself to it."""

    base_url: str
    id_teleservice: str | None
    sandbox: bool


class SourceImpot:
    """Builds one client per organisme (its own OAuth2 credentials) and fetches its tax data."""

    def __init__(
        self,
        *,
        http: httpx.AsyncClient,
        acces: AccesImpotParticulier,
        tokens: TokenProviders,
        cache: SecureCache,
        coalescer: Coalescer,
        client_factory: Callable[..., ImpotParticulierClient] = ImpotParticulierClient,
    ) -> None:
        self._http = http
        self._acces = acces
        self._tokens = tokens
        self._cache = cache
        self._coalescer = coalescer
        self._client_factory = client_factory

    def valider(self, demandeur: Demandeur) -> NumeroFiscal | None:
        """The validated numéro fiscal, if one was given (raises `InvalidInput` otherwise)."""
        if demandeur.numero_fiscal is None:
            return None
        return NumeroFiscal.valider(demandeur.numero_fiscal, bac_a_sable=self._acces.sandbox)

    def client(self, organisme: Organisme) -> ImpotParticulierClient | None:
        if organisme.impot_client_id is None or organisme.impot_client_secret is None:
            return None
        return self._client_factory(
            self._http,
            base_url=self._acces.base_url,
            tokens=self._tokens.get(organisme.impot_client_id, organisme.impot_client_secret),
            id_teleservice=self._acces.id_teleservice,
            sandbox=self._acces.sandbox,
        )

    async def collecter(
        self,
        collecte: Collecte,
        demandeur: Demandeur,
        organisme: Organisme,
        numero_fiscal: NumeroFiscal | None,
    ) -> None:
        if numero_fiscal is None:
            collecte.marquer_indisponible(
                DONNEE_IMPOT,
                "numero-fiscal-absent",
                "Le numéro fiscal n'a pas été fourni : les données fiscales doivent être justifiées "
                "sur pièce.",
            )
            return
        client = self.client(organisme)
        if client is None:
            collecte.marquer_indisponible(
                DONNEE_IMPOT,
                "habilitation-absente",
                "L'organisme n'a pas d'accès à l'API Impôt particulier : les données fiscales doivent "
                "être justifiées sur pièce.",
            )
            return
        started = time.perf_counter()
        try:
            reponse = await self.obtenir(client, numero_fiscal, organisme, demandeur.annee_des_revenus)
        except UpstreamError as e:
            collecte.appels.append(appel_impot(e.request_id, e.status, e.code, started))
            if not e.degrades_to_a_verifier:
                raise
            collecte.marquer_indisponible(DONNEE_IMPOT, e.code, e.detail, e)
            return
        collecte.appels.append(appel_impot(reponse.request_id, 200, "succes", started))
        if not identite_fiscale_correspond(demandeur, reponse):
            collecte.marquer_indisponible(
                DONNEE_IMPOT,
                "identite-non-concordante",
                "Les déclarants connus de la DGFiP pour ce numéro fiscal ne correspondent pas au "
                "demandeur : les données fiscales ne sont pas utilisées.",
            )
            return
        collecte.faits.update(faits_impot(reponse))
        collecte.donnees[DONNEE_IMPOT] = donnees_pre_remplissage(reponse)

    async def obtenir(
        self,
        client: ImpotParticulierClient,
        numero_fiscal: NumeroFiscal,
        organisme: Organisme,
        annee_des_revenus: int | None,
    ) -> ReponseImpot:
        """Fetch (coalesced) the last situation, or the given year's; raise `UpstreamError`."""
        cle = self._cache.cle(
            organisme.id, "impot_particulier.ir", numero_fiscal.reveler(), str(annee_des_revenus or "")
        )
        if annee_des_revenus is None:
            return await self._coalescer.run(cle, lambda: client.derniere_situation_deux_ans(numero_fiscal))
        return await self._coalescer.run(cle, lambda: client.assiettes_ir(numero_fiscal, annee_des_revenus))


def appel_impot(request_id: str | None, statut: int, issue: str, started: float) -> AppelFournisseur:
    """The journal's trace of one exchange with DGFiP (no numéro fiscal in it)."""
    return AppelFournisseur(
        endpoint="impot_particulier/ir",
        fournisseur=FOURNISSEUR,
        request_id=request_id,
        statut_http=statut,
        issue=issue,
        depuis_cache=False,
        duree_ms=round((time.perf_counter() - started) * 1000, 2),
    )
