"""CAF/MSA data from API Particulier v3: encrypted cache, coalesced and protected call, identity
guard, facts.

Cache lifetimes follow the data's meaning: a QF is the month's (CAF/MSA refresh it monthly), so it
is trusted until the end of the month it was fetched in; a benefit for an hour. An entry outlives
its lifetime by `stale_max_seconds`: when the provider fails, that stale answer is served, and its
facts and `donnees_indisponibles` say so (stale-if-error).
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any, Generic, TypeVar

import structlog
from pydantic import BaseModel

from app.errors import (
    UpstreamError,
    UpstreamPersonNotFound,
    UpstreamRejectedInput,
    UpstreamTimeout,
    UpstreamUnavailable,
)
from app.rules import explain
from app.rules.facts import Fait
from app.schemas.demandeur import Demandeur
from app.services.amont.api_particulier import facts as faits_api_particulier
from app.services.amont.api_particulier.calendrier import fin_du_mois, maintenance_restante
from app.services.amont.api_particulier.client import ApiParticulierClient
from app.services.amont.api_particulier.errors import FOURNISSEUR as FOURNISSEUR_API_PARTICULIER
from app.services.amont.api_particulier.identity import identite_correspond
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
from app.services.amont.api_particulier.pre_remplissage import donnees_pre_remplissage
from app.services.amont.cache import SecureCache, fraicheur
from app.services.amont.coalescing import Coalescer, echec_partage_par_cache
from app.services.amont.collecte import Collecte
from app.services.amont.protection import Protection
from app.services.amont.quotas import Portee, Quota, en_campagne, ligne_de_campagne, sujet
from app.services.journal import AppelFournisseur
from app.services.organismes import Organisme

logger = structlog.get_logger(__name__)

# Exactly once, for campaigns (issue 18): a campaign line's upstream answer is in the encrypted
# cache the moment it arrives, before the rules and the journal, so a line taken again after its
# worker died (SIGKILL) is decided from it without a second call. A data set's answer goes where
# every answer goes; a provider's refusal (the person not found, the parameters refused), which the
# cache does not keep for the counter, goes under this suffix of the same key and the line's
# decision id, read only by that line taken again, for as long as a line can take to be taken
# again (its lease, then its lot's reclaim).
# Only a call in flight at the instant of the kill — sent, its answer never stored — can be made again.
CLE_REPONSE_CAMPAGNE = ":reponse-campagne"
REPONSE_CAMPAGNE_SECONDS = 3 * 3600


def reponse_du_fournisseur(e: UpstreamError) -> bool:
    """Whether `e` is the provider's answer about the person (the same on every call), not a
    failure to get one (unavailable, too slow, a quota, a token refused, our own deadline)."""
    return not e.partagee and isinstance(e, UpstreamPersonNotFound | UpstreamRejectedInput)


M = TypeVar("M", bound=BaseModel)


@dataclass(frozen=True, slots=True)
class QuotasApiParticulier:
    """API Particulier's two quotas: per token and per egress IP (all workers together)."""

    par_jeton: Quota
    par_ip: Quota

    def portees(self, jeton: str) -> tuple[Portee, Portee]:
        return Portee(self.par_jeton, sujet(jeton)), Portee(self.par_ip, "sortie")


QUOTAS_API_PARTICULIER = QuotasApiParticulier(
    Quota("api_particulier.jeton", 20, 1.0), Quota("api_particulier.ip", 1000, 60.0)
)


@dataclass(frozen=True, slots=True)
class _Entree:
    """A cached answer and whether it is still within its lifetime."""

    reponse: Reponse[Any]
    fraiche: bool


@dataclass(frozen=True, slots=True)
class _Source(Generic[M]):
    """How to fetch one data set of API Particulier, and how long its answer stays true."""

    endpoint: str
    model: type[M]
    fetch: Callable[[Demandeur, AccesApiParticulier], Awaitable[Reponse[M]]]
    faits: Callable[..., dict[str, Fait]]
    ttl_seconds: int
    #: The same data set for a given (year, month), when the provider serves past months (the QF).
    fetch_du_mois: Callable[[Demandeur, AccesApiParticulier, int, int], Awaitable[Reponse[M]]] | None = None


class SourceCaf:
    """The data sets of API Particulier a règlement can need, fetched through the cache."""

    def __init__(
        self,
        *,
        api_particulier: ApiParticulierClient,
        cache: SecureCache,
        coalescer: Coalescer,
        protection: Protection,
        quotas: QuotasApiParticulier = QUOTAS_API_PARTICULIER,
        ttl_quotient_familial: int,
        ttl_prestations: int = 3600,
        stale_max_seconds: int = 0,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._cache = cache
        self._coalescer = coalescer
        self._protection = protection
        self._quotas = quotas
        self._stale_max = stale_max_seconds
        self._now = now
        client = api_particulier
        self._sources: Mapping[str, _Source[Any]] = {
            "quotient_familial": _Source(
                "quotient_familial/identite",
                QuotientFamilial,
                client.quotient_familial,
                faits_api_particulier.faits_quotient_familial,
                ttl_quotient_familial,
                lambda d, a, annee, mois: client.quotient_familial(d, a, annee=annee, mois=mois),
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
        self,
        collecte: Collecte,
        donnee: str,
        demandeur: Demandeur,
        organisme: Organisme,
        *,
        periode: tuple[int, int] | None = None,
    ) -> None:
        """`periode` (year, month): the QF of that month (`annee`/`mois`), else the current one."""
        source = self._sources[donnee]
        if periode is not None:
            du_mois = source.fetch_du_mois
            if du_mois is None:
                raise ValueError(f"{donnee} : pas de période à demander au fournisseur")
            annee, mois = periode
            source = replace(source, fetch=lambda d, a: du_mois(d, a, annee, mois))
        await self._collecter_une(collecte, donnee, source, demandeur, organisme, periode=periode)

    async def _collecter_une(
        self,
        collecte: Collecte,
        donnee: str,
        source: _Source[Any],
        demandeur: Demandeur,
        organisme: Organisme,
        *,
        periode: tuple[int, int] | None,
    ) -> None:
        if organisme.api_particulier_token is None:
            collecte.marquer_indisponible(
                donnee,
                "habilitation-absente",
                "L'organisme n'a pas de jeton API Particulier : la donnée doit être justifiée sur pièce.",
            )
            return
        acces = AccesApiParticulier(token=organisme.api_particulier_token, recipient=organisme.siret)
        # No month in the key for the current QF: last month's entry must stay reachable for
        # stale-if-error; its lifetime, stored with it, says when it stops being fresh. A month asked
        # for (a past reference date) is another question, hence another entry.
        mois = () if periode is None else (f"{periode[0]:04d}-{periode[1]:02d}",)
        cle = self._cache.cle(organisme.id, f"api_particulier.{donnee}", *_identite(demandeur), *mois)
        started = time.perf_counter()
        entree = await self._lire(cle, source)
        if entree is not None and entree.fraiche:
            self._tracer(collecte, source, entree.reponse, started, depuis_cache=True)
            self._integrer(collecte, donnee, source, entree.reponse, demandeur=demandeur, depuis_cache=True)
            return
        try:
            reponse, depuis_cache = await self._obtenir(donnee, cle, source, demandeur, acces)
        except UpstreamError as e:
            collecte.appels.append(
                AppelFournisseur(
                    endpoint=source.endpoint,
                    fournisseur=FOURNISSEUR_API_PARTICULIER,
                    request_id=e.request_id,
                    statut_http=e.status,
                    issue=e.code,
                    # Another worker's failure, handed over: no call was made for this request.
                    depuis_cache=e.partagee,
                    duree_ms=_ms_since(started),
                )
            )
            if not e.degrades_to_a_verifier:
                raise
            if entree is not None and isinstance(e, UpstreamUnavailable | UpstreamTimeout):
                self._servir_perime(collecte, donnee, source, entree.reponse, demandeur=demandeur, erreur=e)
                return
            collecte.marquer_indisponible(donnee, e.code, e.detail, e)
            return
        self._tracer(collecte, source, reponse, started, depuis_cache=depuis_cache)
        self._integrer(collecte, donnee, source, reponse, demandeur=demandeur, depuis_cache=depuis_cache)

    async def _obtenir(
        self,
        donnee: str,
        cle: str,
        source: _Source[Any],
        demandeur: Demandeur,
        acces: AccesApiParticulier,
    ) -> tuple[Reponse[Any], bool]:
        """(answer, from cache): one coalesced, protected call — or the answer another worker got."""
        if donnee == "quotient_familial" and (reste := maintenance_restante(self._now())) is not None:
            # Known in advance: answering at once spares the quota and the caller's wait.
            raise UpstreamUnavailable(
                "Le fournisseur de données (CNAF/MSA) est en maintenance programmée le dimanche de 23 h "
                "à 23 h 45 : aucun appel n'a été fait ; réessayer après la fin de la maintenance.",
                fournisseur=FOURNISSEUR_API_PARTICULIER,
                upstream_code="maintenance-programmee",
                retry_after=reste,
            )
        jeton, ip = self._quotas.portees(acces.token.get_secret_value())
        campagne, ligne = en_campagne(), ligne_de_campagne()
        memo = None if ligne is None else f"{cle}{CLE_REPONSE_CAMPAGNE}:{ligne[0]}"
        reprise = ligne is not None and ligne[1]

        async def appeler() -> tuple[Reponse[Any], bool]:
            if memo is not None and reprise and (deja := await self._cache.get_json(memo)) is not None:
                # The same line, taken again after its worker died: the provider had answered.
                raise UpstreamError.depuis_json(deja)
            try:
                reponse: Reponse[Any] = await self._protection.call(
                    source.endpoint,
                    (jeton, ip),
                    lambda: source.fetch(demandeur, acces),
                    portee_jeton=jeton,
                    # Slow down before a 429, as API Particulier counts the token's window (whatever
                    # other clients of the token did).
                    fenetre=lambda r: r.provenance.ratelimit,
                )
            except UpstreamError as e:
                if memo is not None and reponse_du_fournisseur(e):
                    await self._cache.set_json(memo, e.vers_json(), REPONSE_CAMPAGNE_SECONDS)
                raise
            if campagne:
                # Stored before anything else is done with it (see `CLE_REPONSE_CAMPAGNE`).
                await self._ecrire(cle, source, reponse)
            return reponse, False

        async def relire() -> tuple[Reponse[Any], bool] | None:
            entree = await self._lire(cle, source)
            return (entree.reponse, True) if entree is not None and entree.fraiche else None

        async def ecrire(obtenue: tuple[Reponse[Any], bool]) -> None:
            await self._ecrire(cle, source, obtenue[0])

        # The answer is stored off the callers' path (see `Coalescer.run`), a campaign's by
        # `appeler` itself; a failure is shared too.
        return await self._coalescer.run(
            cle,
            appeler,
            relire=relire,
            ecrire=None if campagne else ecrire,
            echec=echec_partage_par_cache(self._cache, cle),
        )

    async def _lire(self, cle: str, source: _Source[Any]) -> _Entree | None:
        stored = await self._cache.get_json(cle)
        if stored is None:
            return None
        try:
            reponse = _depuis_cache(stored, source.model)
            fraiche = fraicheur(stored, maintenant=self._now(), perime_max_seconds=self._stale_max)
        except (KeyError, TypeError, ValueError):
            logger.warning("cache.entry_unreadable", espace=source.endpoint)
            return None
        return None if fraiche is None else _Entree(reponse, fraiche=fraiche)

    async def _ecrire(self, cle: str, source: _Source[Any], reponse: Reponse[Any]) -> None:
        obtenu_le = reponse.provenance.obtenu_le
        frais_jusqu_au = obtenu_le + timedelta(seconds=source.ttl_seconds)
        if source.model is QuotientFamilial:
            frais_jusqu_au = min(frais_jusqu_au, fin_du_mois(obtenu_le))
        await self._cache.set_json_perissable(
            cle,
            _vers_cache(reponse),
            frais_jusqu_au=frais_jusqu_au,
            maintenant=self._now(),
            perime_max_seconds=self._stale_max,
        )

    def _servir_perime(
        self,
        collecte: Collecte,
        donnee: str,
        source: _Source[Any],
        reponse: Reponse[Any],
        *,
        demandeur: Demandeur,
        erreur: UpstreamError,
    ) -> None:
        """Stale-if-error: the last answer, its facts marked stale, and a note saying why."""
        avant = set(collecte.faits)
        self._integrer(collecte, donnee, source, reponse, demandeur=demandeur, depuis_cache=True)
        for nom in set(collecte.faits) - avant:
            fait = collecte.faits[nom]
            collecte.faits[nom] = replace(fait, source=replace(fait.source, perime=True))
        qf = getattr(reponse.donnees, "quotient_familial", None)
        quoi = f"QF de {explain.periode(f'{qf.annee:04d}-{qf.mois:02d}')}" if qf is not None else donnee
        collecte.noter_perime(donnee, f"{quoi} obtenu", reponse.provenance.obtenu_le, erreur)

    def _tracer(
        self,
        collecte: Collecte,
        source: _Source[Any],
        reponse: Reponse[Any],
        started: float,
        *,
        depuis_cache: bool,
    ) -> None:
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
