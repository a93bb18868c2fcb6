"""Tax data for one applicant, from API Impôt particulier (DGFiP), within the DGFiP terms of use.

The numéro fiscal lives only in the request: it is validated before any call, used in the upstream
path, and never cached, journaled or logged. Tax answers are cached (encrypted, under a keyed hash
of the number and year) only when the operator enables it: DGFiP's terms make it opt-in. Then an
entry outlives its lifetime by `stale_max_seconds` and, when DGFiP fails, that stale answer is
served and said to be (stale-if-error, as for CAF/MSA data). Calls are metered per OAuth2 client
(50/min by default) across every worker.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import structlog

from app.errors import UpstreamError, UpstreamTimeout, UpstreamUnavailable
from app.rules.facts import Fait
from app.schemas.demandeur import Demandeur
from app.services.amont.cache import FRAIS_JUSQU_AU, SecureCache, fraicheur
from app.services.amont.coalescing import Coalescer, echec_partage_par_cache
from app.services.amont.collecte import Collecte
from app.services.amont.impot_particulier import (
    FOURNISSEUR,
    ImpotParticulierClient,
    NumeroFiscal,
    ReponseImpot,
    SituationIR,
    TokenProviders,
    donnees_pre_remplissage,
    faits_impot,
    identite_fiscale_correspond,
)
from app.services.amont.protection import Protection
from app.services.amont.quotas import Portee, Quota, sujet
from app.services.journal import AppelFournisseur
from app.services.organismes import Organisme

logger = structlog.get_logger(__name__)

DONNEE_IMPOT = "impot_sur_le_revenu"
ENDPOINT_IMPOT = "impot_particulier/ir"
QUOTA_IMPOT = Quota("impot_particulier.client", 50, 60.0)


@dataclass(frozen=True, slots=True)
class CacheImpot:
    """Whether DGFiP answers are cached (off by default: DGFiP terms) and for how long."""

    actif: bool = False
    ttl_seconds: int = 24 * 3600


@dataclass(frozen=True, slots=True)
class _Entree:
    """A cached answer and whether it is still within its lifetime."""

    reponse: ReponseImpot
    fraiche: bool


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
        protection: Protection,
        quota: Quota = QUOTA_IMPOT,
        cache_impot: CacheImpot | None = None,
        stale_max_seconds: int = 0,
        client_factory: Callable[..., ImpotParticulierClient] = ImpotParticulierClient,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._http = http
        self._acces = acces
        self._tokens = tokens
        self._cache = cache
        self._coalescer = coalescer
        self._protection = protection
        self._quota = quota
        self._cache_impot = cache_impot or CacheImpot()
        self._stale_max = stale_max_seconds
        self._client_factory = client_factory
        self._now = now

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
        *,
        annee_des_revenus: int | None = None,
    ) -> None:
        """The applicant's income year asked by the caller, `annee_des_revenus` (the year served on
        a past reference date), or else the last situation DGFiP serves today (N-1, else N-2)."""
        annee = annee_des_revenus if annee_des_revenus is not None else demandeur.annee_des_revenus
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
        cle = self._cle(organisme, numero_fiscal, annee)
        started = time.perf_counter()
        entree = await self._lire(cle)
        try:
            reponse, depuis_cache = await self._obtenir(
                client, numero_fiscal, organisme, annee, cle=cle, entree=entree
            )
        except UpstreamError as e:
            collecte.appels.append(
                appel_impot(e.request_id, e.status, e.code, started, depuis_cache=e.partagee)
            )
            if not e.degrades_to_a_verifier:
                raise
            # Only a provider that is down or silent: a "not found" or a refusal says the old
            # answer may no longer hold.
            if entree is not None and isinstance(e, UpstreamUnavailable | UpstreamTimeout):
                self._servir_perime(collecte, demandeur, entree.reponse, e)
                return
            collecte.marquer_indisponible(DONNEE_IMPOT, e.code, e.detail, e)
            return
        collecte.appels.append(
            appel_impot(reponse.request_id, 200, "succes", started, depuis_cache=depuis_cache)
        )
        self._integrer(collecte, demandeur, reponse, depuis_cache=depuis_cache)

    async def obtenir(
        self,
        client: ImpotParticulierClient,
        numero_fiscal: NumeroFiscal,
        organisme: Organisme,
        annee_des_revenus: int | None,
    ) -> ReponseImpot:
        """Fetch (coalesced, metered) the last situation, or the given year's; raise `UpstreamError`."""
        cle = self._cle(organisme, numero_fiscal, annee_des_revenus)
        entree = await self._lire(cle)
        return (
            await self._obtenir(client, numero_fiscal, organisme, annee_des_revenus, cle=cle, entree=entree)
        )[0]

    def _cle(self, organisme: Organisme, numero_fiscal: NumeroFiscal, annee_des_revenus: int | None) -> str:
        # The key is a keyed hash of the number: the numéro fiscal itself is never stored.
        return self._cache.cle(
            organisme.id, "impot_particulier.ir", numero_fiscal.reveler(), str(annee_des_revenus or "")
        )

    async def _obtenir(
        self,
        client: ImpotParticulierClient,
        numero_fiscal: NumeroFiscal,
        organisme: Organisme,
        annee_des_revenus: int | None,
        *,
        cle: str,
        entree: _Entree | None,
    ) -> tuple[ReponseImpot, bool]:
        """(answer, from cache): the fresh cached one, or one coalesced, protected call."""
        if entree is not None and entree.fraiche:
            return entree.reponse, True
        assert organisme.impot_client_id is not None  # noqa: S101 - `client()` returned a client
        portee = Portee(self._quota, sujet(organisme.impot_client_id))

        async def appeler() -> tuple[ReponseImpot, bool]:
            if annee_des_revenus is None:
                fetch = lambda: client.derniere_situation_deux_ans(numero_fiscal)  # noqa: E731
            else:
                fetch = lambda: client.assiettes_ir(numero_fiscal, annee_des_revenus)  # noqa: E731
            reponse = await self._protection.call(ENDPOINT_IMPOT, (portee,), fetch, portee_jeton=portee)
            await self._ecrire(cle, reponse)
            return reponse, False

        async def relire() -> tuple[ReponseImpot, bool] | None:
            # A stale entry is no answer for the coalescer: it is served only if the call fails.
            relue = await self._lire(cle)
            return (relue.reponse, True) if relue is not None and relue.fraiche else None

        if not self._cache_impot.actif:
            return await self._coalescer.run(cle, appeler)  # nothing shared through Redis
        return await self._coalescer.run(
            cle, appeler, relire=relire, echec=echec_partage_par_cache(self._cache, cle)
        )

    async def _lire(self, cle: str) -> _Entree | None:
        if not self._cache_impot.actif:
            return None
        stored = await self._cache.get_json(cle)
        if stored is None:
            return None
        try:
            reponse = _depuis_cache(stored)
            if FRAIS_JUSQU_AU not in stored:
                # Entries written before stale-if-error carry no lifetime: their TTL was it.
                return _Entree(reponse, fraiche=True)
            fraiche = fraicheur(stored, maintenant=self._now(), perime_max_seconds=self._stale_max)
        except (KeyError, TypeError, ValueError, AttributeError):
            logger.warning("cache.entry_unreadable", espace="impot_particulier.ir")
            return None
        return None if fraiche is None else _Entree(reponse, fraiche=fraiche)

    async def _ecrire(self, cle: str, reponse: ReponseImpot) -> None:
        if not self._cache_impot.actif:
            return
        await self._cache.set_json_perissable(
            cle,
            _vers_cache(reponse),
            frais_jusqu_au=reponse.obtenu_le + timedelta(seconds=self._cache_impot.ttl_seconds),
            maintenant=self._now(),
            perime_max_seconds=self._stale_max,
        )

    def _integrer(
        self,
        collecte: Collecte,
        demandeur: Demandeur,
        reponse: ReponseImpot,
        *,
        depuis_cache: bool,
        perime: bool = False,
    ) -> bool:
        """Add the answer's facts and pre-filled data; False when it is not the applicant's foyer."""
        if not identite_fiscale_correspond(demandeur, reponse):
            collecte.marquer_indisponible(
                DONNEE_IMPOT,
                "identite-non-concordante",
                "Les déclarants connus de la DGFiP pour ce numéro fiscal ne correspondent pas au "
                "demandeur : les données fiscales ne sont pas utilisées.",
            )
            return False
        faits = faits_impot(reponse)
        if depuis_cache:
            faits = {nom: _depuis_cache_fait(f, perime=perime) for nom, f in faits.items()}
        collecte.faits.update(faits)
        collecte.donnees[DONNEE_IMPOT] = donnees_pre_remplissage(reponse)
        return True

    def _servir_perime(
        self, collecte: Collecte, demandeur: Demandeur, reponse: ReponseImpot, erreur: UpstreamError
    ) -> None:
        """Stale-if-error: the last answer, its facts marked stale, and a note saying why."""
        if not self._integrer(collecte, demandeur, reponse, depuis_cache=True, perime=True):
            return
        collecte.noter_perime(
            DONNEE_IMPOT,
            f"Revenus {reponse.annee_des_revenus} (avis d'impôt) obtenus",
            reponse.obtenu_le,
            erreur,
        )


def _vers_cache(reponse: ReponseImpot) -> dict[str, Any]:
    return {
        "annee_des_revenus": reponse.annee_des_revenus,
        "situation": reponse.situation.model_dump(mode="json", by_alias=True),
        "ressource": reponse.ressource,
        "request_id": reponse.request_id,
        "obtenu_le": reponse.obtenu_le.isoformat(),
    }


def _depuis_cache(stored: dict[str, Any]) -> ReponseImpot:
    return ReponseImpot(
        annee_des_revenus=int(stored["annee_des_revenus"]),
        situation=SituationIR.model_validate(stored["situation"]),
        ressource=str(stored["ressource"]),
        request_id=str(stored["request_id"]),
        obtenu_le=datetime.fromisoformat(stored["obtenu_le"]),
    )


def _depuis_cache_fait(fait: Fait, *, perime: bool = False) -> Fait:
    return replace(fait, source=replace(fait.source, depuis_cache=True, perime=perime))


def appel_impot(
    request_id: str | None, statut: int, issue: str, started: float, *, depuis_cache: bool = False
) -> AppelFournisseur:
    """The journal's trace of one exchange with DGFiP (no numéro fiscal in it)."""
    return AppelFournisseur(
        endpoint=ENDPOINT_IMPOT,
        fournisseur=FOURNISSEUR,
        request_id=request_id,
        statut_http=statut,
        issue=issue,
        depuis_cache=depuis_cache,
        duree_ms=round((time.perf_counter() - started) * 1000, 2),
    )
