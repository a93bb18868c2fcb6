"""What both consultation flows (eligibility, pre-filling) share: their dependencies and their trace."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime

from app.keys import KeyRing
from app.schemas.demandeur import Demandeur
from app.services.amont.collecte import Collecte
from app.services.amont.donnees import CollecteDonnees
from app.services.journal import ConsultationRecord, Journal, TypeConsultation
from app.services.organismes import Appelant


class ServiceDeConsultation:
    """A flow that fetches an applicant's data and journals the consultation."""

    def __init__(
        self,
        *,
        collecte: CollecteDonnees,
        journal: Journal,
        keyring: KeyRing,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._collecte = collecte
        self._journal = journal
        self._keyring = keyring
        self._now = now


def trace_consultation(
    collecte: Collecte,
    *,
    appelant: Appelant,
    demandeur: Demandeur,
    keyring: KeyRing,
    type_consultation: TypeConsultation,
    agent_id: str | None,
    dossier_ref: str | None,
    cree_le: datetime,
) -> ConsultationRecord:
    """The journal's record of one consultation: who asked, for whom (a keyed pseudonym, never the
    identity), and every upstream exchange with its request id."""
    organisme_id = appelant.organisme.id
    return ConsultationRecord(
        id=uuid.uuid4(),
        organisme_id=organisme_id,
        client_id=appelant.client.id,
        agent_id=agent_id,
        dossier_ref=dossier_ref,
        cree_le=cree_le,
        type=type_consultation,
        demandeur_pseudonyme=keyring.pseudonyme(
            organisme_id,
            demandeur.nom_naissance,
            " ".join(demandeur.prenoms),
            demandeur.date_naissance or "",
            demandeur.code_cog_insee_pays_naissance,
        ),
        appels_fournisseurs=tuple(collecte.appels),
        statut="succes" if collecte.donnees else "echec",
    )
