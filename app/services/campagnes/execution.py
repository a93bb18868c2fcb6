"""What a worker does with one lot of a campaign: each line, a real decision through the
eligibility flow, exactly once in effect.

The journal is the truth. A line's decision has a fixed id (derived from the campaign and the line
number): before deciding, the worker looks for it in the journal, and a line whose decision is
there is recorded from it without any upstream call. A line is taken by one worker at a time (a
lease in the database); the message of its lot is acknowledged only after every line of the lot is
recorded. A worker killed at any point therefore loses nothing, and decides nothing twice.

While the provider is known to be unavailable (its Sunday maintenance, a breaker open) the lines
wait, and the campaign says why (`pause_motif`); they go on by themselves when it is over.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import structlog
from cryptography.fernet import InvalidToken

from app.errors import GatewayError, JournalUnavailable
from app.keys import KeyRing
from app.schemas.eligibilite import DemandeEligibilite
from app.services.amont.api_particulier.calendrier import maintenance_restante
from app.services.amont.breaker import CircuitBreaker, Etat
from app.services.amont.deadline import echeance
from app.services.amont.quotas import LimiteurIndisponible, pour_une_campagne
from app.services.campagnes.stockage import Campagne, StockageCampagnes
from app.services.eligibilite import EligibiliteService
from app.services.journal import Journal
from app.services.organismes import AnnuaireOrganismes, Appelant, Client

logger = structlog.get_logger(__name__)

#: Namespace of the decision ids of campaign lines (uuid5 of the campaign and the line number).
ESPACE_DECISIONS = uuid.UUID("4f1c2b8e-9d0a-5c3e-8b7f-18e2c0a6d501")

#: A campaign decision's time budget: its wait for a quota place, then its calls and journal write.
ECHEANCE_LIGNE_SECONDS = 150.0
ATTENTE_QUOTA_MAX_SECONDS = 120.0


def id_decision(campagne_id: uuid.UUID, numero: int) -> uuid.UUID:
    """The journal id of a campaign line's decision: the same on every attempt, by any worker."""
    return uuid.uuid5(ESPACE_DECISIONS, f"{campagne_id}:{numero}")


class Pause:
    """Why campaign lines should wait now (and for how long), or nothing."""

    def __init__(
        self,
        disjoncteurs: Mapping[str, Sequence[CircuitBreaker]],
        *,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._disjoncteurs = disjoncteurs
        self._now = now

    def motif(self) -> tuple[str, float] | None:
        reste = maintenance_restante(self._now())
        if reste is not None:
            return (
                "maintenance programmée de la CNAF/MSA (dimanche 23 h – 23 h 45) : reprise automatique",
                float(min(reste, 30)),
            )
        for fournisseur, disjoncteurs in self._disjoncteurs.items():
            if any(d.etat is Etat.OUVERT for d in disjoncteurs):
                return (
                    f"{fournisseur} indisponible (disjoncteur ouvert) : reprise automatique à son retour",
                    1.0,
                )
        return None


class ExecutionCampagnes:
    def __init__(
        self,
        *,
        stockage: StockageCampagnes,
        eligibilite: EligibiliteService,
        annuaire: AnnuaireOrganismes,
        journal: Journal,
        keyring: KeyRing,
        pause: Pause,
        concurrence: int,
        bail_seconds: float,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._stockage = stockage
        self._eligibilite = eligibilite
        self._annuaire = annuaire
        self._journal = journal
        self._keyring = keyring
        self._pause = pause
        self._places = asyncio.Semaphore(concurrence)
        self._bail = bail_seconds
        self._sleep = sleep
        #: Campaigns this process last said were paused (the row is written on transitions only).
        self._en_pause: set[uuid.UUID] = set()

    async def traiter_lot(self, campagne_id: str, numeros: list[int]) -> None:
        campagne = await self._stockage.lire(uuid.UUID(campagne_id))
        if campagne is None:
            return  # deleted: nothing to do
        organisme = await self._annuaire.organisme_courant(campagne.organisme_id)
        if organisme is None:
            for numero in numeros:
                await self._stockage.echouer(
                    campagne.id, numero, code="organisme-inconnu", detail="L'organisme n'existe plus."
                )
            return
        appelant = Appelant(
            client=Client(
                id=campagne.client_id or "campagne",
                organisme_id=organisme.id,
                scopes=frozenset({"eligibilite"}),
            ),
            organisme=organisme,
        )
        await asyncio.gather(*(self._ligne(campagne, appelant, numero) for numero in numeros))
        if await self._stockage.cloturer_si_finie(campagne.id):
            logger.info("campagnes.finished", campagne_id=str(campagne.id))

    async def _ligne(self, campagne: Campagne, appelant: Appelant, numero: int) -> None:
        async with self._places:
            while True:
                await self._attendre_reprise(campagne.id)
                prise = await self._stockage.prendre(campagne.id, numero, bail_seconds=self._bail)
                if prise.etat == "finie":
                    return
                if prise.etat == "occupee":
                    # Another worker holds it (or held it and died: its lease will run out).
                    await self._sleep(min(self._bail / 4, 2.0))
                    continue
                if await self._decider(campagne, appelant, numero, prise.charge_chiffree, prise.tentatives):
                    return

    async def _decider(
        self, campagne: Campagne, appelant: Appelant, numero: int, charge: str | None, tentatives: int
    ) -> bool:
        """True once the line is recorded (done or failed); False to take it again later."""
        decision_id = id_decision(campagne.id, numero)
        # Taken before (a worker died, or a transient failure): its decision may be journaled.
        reprise = tentatives > 1
        journalisee = (
            await self._journal.lire_decision(campagne.organisme_id, decision_id) if reprise else None
        )
        if journalisee is not None:
            # Decided before a worker died: recorded from the journal, no upstream call.
            await self._terminer(campagne.id, numero, decision_id, journalisee.contenu, reprise=True)
            return True
        try:
            demande = self._dechiffrer(charge)
        except (InvalidToken, ValueError, TypeError):
            await self._stockage.echouer(
                campagne.id,
                numero,
                code="ligne-illisible",
                detail="La demande de cette ligne ne se déchiffre plus "
                "(clé de CACHE_ENCRYPTION_KEYS retirée).",
            )
            return True
        try:
            with (
                echeance(ECHEANCE_LIGNE_SECONDS),
                pour_une_campagne(ATTENTE_QUOTA_MAX_SECONDS, ligne=str(decision_id), reprise=reprise),
            ):
                rendue = await self._eligibilite.evaluer(
                    demande, appelant, agent_id=None, decision_id=decision_id
                )
        except (JournalUnavailable, LimiteurIndisponible) as e:
            # Nothing decided, nothing journaled: the line goes back, the campaign waits.
            await self._stockage.relacher(campagne.id, numero)
            await self._signaler(campagne.id, e.detail)
            await self._sleep(2.0)
            return False
        except GatewayError as e:
            await self._stockage.echouer(campagne.id, numero, code=e.code, detail=e.detail)
            return True
        await self._terminer(campagne.id, numero, decision_id, json.loads(rendue.json), reprise=reprise)
        return True

    def _dechiffrer(self, charge: str | None) -> DemandeEligibilite:
        if charge is None:
            raise ValueError("demande absente")
        return DemandeEligibilite.model_validate_json(self._keyring.fernet.decrypt(charge.encode()))

    async def _terminer(
        self,
        campagne_id: uuid.UUID,
        numero: int,
        decision_id: uuid.UUID,
        decision: Mapping[str, Any],
        *,
        reprise: bool,
    ) -> None:
        resultats = [
            {
                "dispositif": r.get("dispositif"),
                "statut": r.get("statut"),
                "montant": r.get("montant"),
                "tranche": r.get("tranche"),
                "motif": r.get("motif"),
            }
            for r in decision.get("resultats", ())
        ]
        chiffres = self._keyring.fernet.encrypt(
            json.dumps(resultats, ensure_ascii=False, separators=(",", ":")).encode()
        ).decode()
        await self._stockage.terminer(
            campagne_id,
            numero,
            decision_id=decision_id,
            statuts=[(str(r["dispositif"]), str(r["statut"])) for r in resultats],
            resultats_chiffres=chiffres,
            reprise=reprise,
        )

    async def _attendre_reprise(self, campagne_id: uuid.UUID) -> None:
        while (motif := self._pause.motif()) is not None:
            await self._signaler(campagne_id, motif[0])
            await self._sleep(motif[1])
        if campagne_id in self._en_pause:
            self._en_pause.discard(campagne_id)
            await self._stockage.signaler_pause(campagne_id, None)
            logger.info("campagnes.resumed", campagne_id=str(campagne_id))

    async def _signaler(self, campagne_id: uuid.UUID, motif: str) -> None:
        if campagne_id not in self._en_pause:
            self._en_pause.add(campagne_id)
            await self._stockage.signaler_pause(campagne_id, motif)
            logger.info("campagnes.paused", campagne_id=str(campagne_id))
