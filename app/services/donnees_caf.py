"""CAF/MSA data from API Particulier v3: encrypted cache, coalesced call, identity guard, facts."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime
from typing import Any, Generic, TypeVar

import structlog
from pydantic import BaseModel

from app.errors import UpstreamError
from app.rules.facts import Fait
from app.schemas.demandeur import Demandeur
from app.services.api_particulier import facts as faits_api_particulier
from app.services.api_particulier.client import ApiParticulierClient
from app.services.api_particulier.identity import identite_correspond
from app.services.api_particulier.models import (
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
from app.services.api_particulier.pre_remplissage import donnees_pre_remplissage
from app.services.cache import SecureCache
from app.services.coalescing import Coalescer
from app.services.collecte import Collecte
from app.services.journal import AppelFournisseur
from app.services.organismes import Organisme

logger = structlog.get_logger(__name__)

M = TypeVar("M", bound=BaseModel)

FOURNISSEUR_API_PARTICULIER = "API Particulier"


@dataclass(frozen=True, slots=True)
class _Source(Generic[M]):
    """How to fetch one data set of API Particulier, and how long its answer stays true."""

    endpoint: str
    model: type[M]
    fetch: Callable[[Demandeur, AccesApiParticulier], Awaitable[Reponse[M]]]
    faits: Callable[..., dict[str, Fait]]
    ttl_seconds: int


class SourceCaf:
    """The data sets of API Particulier a règlement can need, fetched through the cache."""

    def __init__(
        self,
        *,
        api_particulier: ApiParticulierClient,
        cache: SecureCache,
        coalescer: Coalescer,
        ttl_quotient_familial: int,
        ttl_prestations: int = 3600,
        today: Callable[[], date] = date.today,
    ) -> None:
        self._cache = cache
        self._coalescer = coalescer
        self._today = today
        client = api_particulier
        self._sources: Mapping[str, _Source[Any]] = {
            "quotient_familial": _Source(
                "quotient_familial/identite",
                QuotientFamilial,
                client.quotient_familial,
                faits_api_particulier.faits_quotient_familial,
                ttl_quotient_familial,
            ),
            "revenu_solidarite_active": _Source(
                "revenu_solidarite_active/identite",
                PrestationRsa,
                client.revenu_solidarite_active,
                faits_api_particulier.faits_revenu_solidarite_active,
                ttl_prestations,
            ),
            "prime_activite": _Source(
                "prime_activite/identite",
                PrestationPrimeActivite,
                client.prime_activite,
                faits_api_particulier.faits_prime_activite,
                ttl_prestations,
            ),
            "allocation_adulte_handicape": _Source(
                "allocation_adulte_handicape/identite",
                PrestationAah,
                client.allocation_adulte_handicape,
                faits_api_particulier.faits_allocation_adulte_handicape,
                ttl_prestations,
            ),
            "allocation_soutien_familial": _Source(
                "allocation_soutien_familial/identite",
                PrestationAsf,
                client.allocation_soutien_familial,
                faits_api_particulier.faits_allocation_soutien_familial,
                ttl_prestations,
            ),
            "complementaire_sante_solidaire": _Source(
                "complementaire_sante_solidaire/identite",
                PrestationC2s,
                client.complementaire_sante_solidaire,
                faits_api_particulier.faits_complementaire_sante_solidaire,
                ttl_prestations,
            ),
        }

    @property
    def donnees(self) -> frozenset[str]:
        return frozenset(self._sources)

    async def collecter(
        self, collecte: Collecte, donnee: str, demandeur: Demandeur, organisme: Organisme
    ) -> None:
        await self._collecter_une(collecte, donnee, self._sources[donnee], demandeur, organisme)

    async def _collecter_une(
        self,
        collecte: Collecte,
        donnee: str,
        source: _Source[Any],
        demandeur: Demandeur,
        organisme: Organisme,
    ) -> None:
        if organisme.api_particulier_token is None:
            collecte.marquer_indisponible(
                donnee,
                "habilitation-absente",
                "L'organisme n'a pas de jeton API Particulier : la donnée doit être justifiée sur pièce.",
            )
            return
        acces = AccesApiParticulier(token=organisme.api_particulier_token, recipient=organisme.siret)
        mois = self._today().strftime("%Y-%m")
        cle = self._cache.cle(organisme.id, f"api_particulier.{donnee}", *_identite(demandeur), mois)
        started = time.perf_counter()
        reponse, depuis_cache = await self._depuis_cache(cle, source)
        if reponse is None:
            try:
                reponse = await self._coalescer.run(cle, lambda: source.fetch(demandeur, acces))
            except UpstreamError as e:
                collecte.appels.append(
                    AppelFournisseur(
                        endpoint=source.endpoint,
                        fournisseur=FOURNISSEUR_API_PARTICULIER,
                        request_id=e.request_id,
                        statut_http=e.status,
                        issue=e.code,
                        depuis_cache=False,
                        duree_ms=_ms_since(started),
                    )
                )
                if not e.degrades_to_a_verifier:
                    raise
                collecte.marquer_indisponible(donnee, e.code, e.detail, e)
                return
            await self._cache.set_json(cle, _vers_cache(reponse), source.ttl_seconds)
        collecte.appels.append(
            AppelFournisseur(
                endpoint=source.endpoint,
                fournisseur=FOURNISSEUR_API_PARTICULIER,
                request_id=reponse.provenance.request_id,
                statut_http=reponse.provenance.statut_http,
                issue="succes",
                depuis_cache=depuis_cache,
                duree_ms=_ms_since(started),
            )
        )
        self._integrer(collecte, donnee, source, reponse, demandeur=demandeur, depuis_cache=depuis_cache)

    async def _depuis_cache(self, cle: str, source: _Source[Any]) -> tuple[Reponse[Any] | None, bool]:
        stored = await self._cache.get_json(cle)
        if stored is None:
            return None, False
        try:
            return _depuis_cache(stored, source.model), True
        except (KeyError, TypeError, ValueError):
            logger.warning("cache.entry_unreadable", espace=source.endpoint)
            return None, False

    def _integrer(
        self,
        collecte: Collecte,
        donnee: str,
        source: _Source[Any],
        reponse: Reponse[Any],
        *,
        demandeur: Demandeur,
        depuis_cache: bool,
    ) -> None:
        allocataires = getattr(reponse.donnees, "allocataires", None)
        if allocataires is not None and not identite_correspond(demandeur, allocataires):
            collecte.marquer_indisponible(
                donnee,
                "identite-non-concordante",
                "Les allocataires renvoyés par la CAF/MSA ne correspondent pas au demandeur "
                "(nom de naissance ou date de naissance différents) : les données ne sont pas utilisées.",
            )
            return
        collecte.faits.update(source.faits(reponse, depuis_cache=depuis_cache))
        collecte.donnees.update(donnees_pre_remplissage(reponse))


def _identite(demandeur: Demandeur) -> tuple[str, ...]:
    """The identity parts that select an upstream answer (all of them: a different query is a
    different answer upstream too)."""
    return (
        demandeur.nom_naissance,
        demandeur.nom_usage or "",
        " ".join(demandeur.prenoms),
        demandeur.sexe,
        demandeur.date_naissance or "",
        demandeur.code_cog_insee_commune_naissance or "",
        demandeur.code_cog_insee_pays_naissance,
        demandeur.nom_commune_naissance or "",
        demandeur.code_cog_insee_departement_naissance or "",
    )


def _vers_cache(reponse: Reponse[Any]) -> dict[str, Any]:
    provenance = asdict(reponse.provenance)
    provenance["obtenu_le"] = reponse.provenance.obtenu_le.isoformat()
    return {"donnees": reponse.donnees.model_dump(mode="json"), "provenance": provenance}


def _depuis_cache(stored: Mapping[str, Any], model: type[M]) -> Reponse[M]:
    provenance = dict(stored["provenance"])
    provenance["obtenu_le"] = datetime.fromisoformat(provenance["obtenu_le"]).astimezone(UTC)
    return Reponse(donnees=model.model_validate(stored["donnees"]), provenance=Provenance(**provenance))


def _ms_since(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 2)
