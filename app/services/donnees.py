"""Collecting certified data for one applicant: cache, then upstream (coalesced), then facts.

Used by both `POST /v1/eligibilite` (facts for the règlement) and `POST /v1/donnees` (pre-filling).
Only the data sets the caller needs are fetched. An upstream failure that an agent can work around
(person not found, provider down) makes the data set *unavailable* with a French reason, so that
the aids depending on it become `a_verifier`; a failure that is ours or the caller's (credentials,
rejected parameters) propagates as a problem.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime
from typing import Any, Generic, TypeVar

import structlog
from pydantic import BaseModel

from app.errors import PermissionDenied, UpstreamError
from app.rules.facts import CATALOGUE_FAITS, Fait, FaitIndisponible, Source
from app.schemas.demandeur import Demandeur
from app.services.api_particulier.client import ApiParticulierClient
from app.services.api_particulier.facts import donnees_pre_remplissage, faits_quotient_familial
from app.services.api_particulier.identity import identite_correspond
from app.services.api_particulier.models import (
    AccesApiParticulier,
    Provenance,
    QuotientFamilial,
    Reponse,
)
from app.services.cache import SecureCache
from app.services.coalescing import Coalescer
from app.services.journal import AppelFournisseur
from app.services.organismes import Organisme

logger = structlog.get_logger(__name__)

M = TypeVar("M", bound=BaseModel)

FOURNISSEUR_API_PARTICULIER = "API Particulier"


@dataclass(frozen=True, slots=True)
class DonneeIndisponible:
    donnee: str
    code: str
    raison: str
    erreur: UpstreamError | None = None


@dataclass(slots=True)
class Collecte:
    """What was obtained for one applicant, and the trace of every upstream exchange."""

    faits: dict[str, Fait] = field(default_factory=dict)
    indisponibles: dict[str, FaitIndisponible] = field(default_factory=dict)
    appels: list[AppelFournisseur] = field(default_factory=list)
    donnees: dict[str, Any] = field(default_factory=dict)
    donnees_indisponibles: list[DonneeIndisponible] = field(default_factory=list)

    def marquer_indisponible(
        self, donnee: str, code: str, raison: str, erreur: UpstreamError | None = None
    ) -> None:
        self.donnees_indisponibles.append(DonneeIndisponible(donnee, code, raison, erreur))
        for nom, definition in CATALOGUE_FAITS.items():
            if definition.donnee == donnee:
                self.faits.pop(nom, None)
                self.indisponibles[nom] = FaitIndisponible(code=code, raison=raison)


@dataclass(frozen=True, slots=True)
class _Source(Generic[M]):
    """How to fetch one data set of API Particulier."""

    endpoint: str
    model: type[M]
    fetch: Callable[[Demandeur, AccesApiParticulier], Awaitable[Reponse[M]]]
    ttl_seconds: int


class CollecteDonnees:
    """Fetches the data sets a request needs, through the encrypted cache and coalescing."""

    def __init__(
        self,
        *,
        api_particulier: ApiParticulierClient,
        cache: SecureCache,
        coalescer: Coalescer,
        ttl_quotient_familial: int,
        today: Callable[[], date] = date.today,
    ) -> None:
        self._cache = cache
        self._coalescer = coalescer
        self._today = today
        self._sources: Mapping[str, _Source[Any]] = {
            "quotient_familial": _Source(
                endpoint="quotient_familial/identite",
                model=QuotientFamilial,
                fetch=api_particulier.quotient_familial,
                ttl_seconds=ttl_quotient_familial,
            ),
        }

    @property
    def donnees_prises_en_charge(self) -> frozenset[str]:
        return frozenset(self._sources)

    async def collecter(
        self, demandeur: Demandeur, organisme: Organisme, donnees: frozenset[str]
    ) -> Collecte:
        collecte = Collecte()
        self._verifier_habilitation(organisme, donnees)
        for donnee in sorted(donnees):
            source = self._sources.get(donnee)
            if source is None:
                collecte.marquer_indisponible(
                    donnee,
                    "donnee-non-prise-en-charge",
                    "Cette donnée n'est pas encore obtenue automatiquement par la passerelle.",
                )
                continue
            await self._collecter_une(collecte, donnee, source, demandeur, organisme)
        return collecte

    def _verifier_habilitation(self, organisme: Organisme, donnees: frozenset[str]) -> None:
        if organisme.scopes_habilitation is None:
            return
        requis = {
            d.scope for d in CATALOGUE_FAITS.values() if d.donnee in donnees and d.scope is not None
        }
        manquants = sorted(requis - organisme.scopes_habilitation)
        if manquants:
            raise PermissionDenied(
                "L'habilitation de l'organisme ne couvre pas les données nécessaires : "
                + ", ".join(manquants)
                + ". Aucun appel n'a été fait au fournisseur."
            )

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
        self._integrer(collecte, donnee, reponse, demandeur, depuis_cache)

    async def _depuis_cache(
        self, cle: str, source: _Source[Any]
    ) -> tuple[Reponse[Any] | None, bool]:
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
        reponse: Reponse[Any],
        demandeur: Demandeur,
        depuis_cache: bool,
    ) -> None:
        if donnee != "quotient_familial":  # pragma: no cover - one data set for now
            return
        qf: QuotientFamilial = reponse.donnees
        if qf.allocataires is not None and not identite_correspond(demandeur, qf.allocataires):
            collecte.marquer_indisponible(
                donnee,
                "identite-non-concordante",
                "Les allocataires renvoyés par la CAF/MSA ne correspondent pas au demandeur "
                "(nom de naissance ou date de naissance différents) : les données ne sont pas utilisées.",
            )
            return
        faits = faits_quotient_familial(reponse, depuis_cache=depuis_cache)
        collecte.faits.update(faits)
        collecte.donnees.update(donnees_pre_remplissage(reponse))


def faits_de_la_demande(demandeur: Demandeur) -> dict[str, Fait]:
    """Facts taken from the request itself (not certified, but used to match the provider)."""
    partielle = demandeur.date_naissance_partielle
    if partielle is None:
        return {}
    return {
        "date_naissance_demandeur": Fait(
            valeur=partielle, source=Source(fournisseur="demande", certifie=False)
        )
    }


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
