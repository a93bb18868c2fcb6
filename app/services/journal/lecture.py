"""Reading the journal back (`GET /v1/journal`) and removing what is past its retention.

Every read is scoped by organisme in the query itself: there is no code path that reads another
organisme's rows and filters them afterwards. Pagination is by keyset on (cree_le, id), newest
first, so a page is as fast at the end of three years of journal as at the start.
"""

from __future__ import annotations

import calendar
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import and_, delete, func, or_, select
from sqlalchemy.ext.asyncio import AsyncEngine

from app.db.tables import ConsultationRow, DecisionRow
from app.services.journal.lock import purge_lock
from app.services.journal.records import AppelFournisseur


class CurseurInvalide(ValueError):
    """A pagination cursor that this gateway did not issue."""


@dataclass(frozen=True, slots=True)
class FiltreJournal:
    """Which entries to list. `du` is inclusive, `au` exclusive (both UTC-aware)."""

    du: datetime | None = None
    au: datetime | None = None
    dossier_ref: str | None = None
    agent_id: str | None = None
    type: str | None = None


@dataclass(frozen=True, slots=True)
class EntreeJournal:
    """One consultation and, for an eligibility, the decision it produced (summarised)."""

    consultation_id: uuid.UUID
    cree_le: datetime
    type: str
    statut: str
    client_id: str | None
    agent_id: str | None
    dossier_ref: str | None
    demandeur_pseudonyme: str | None
    appels_fournisseurs: tuple[AppelFournisseur, ...]
    decision_id: uuid.UUID | None = None
    reglement_id: str | None = None
    reglement_version: str | None = None
    reglement_empreinte: str | None = None
    #: (dispositif, statut) of each aid of the decision.
    resultats: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class PageJournal:
    entrees: tuple[EntreeJournal, ...]
    curseur_suivant: str | None


@dataclass(frozen=True, slots=True)
class RapportPurge:
    """What a purge removed (or, in a dry run, would remove)."""

    avant: datetime
    simulation: bool
    consultations_par_type: dict[str, int] = field(default_factory=dict)
    decisions: int = 0
    plus_ancienne: datetime | None = None
    plus_recente: datetime | None = None

    @property
    def consultations(self) -> int:
        return sum(self.consultations_par_type.values())


#: Years a journal filter (and a cursor) may name: beyond, a date overflows once converted.
ANNEE_MIN = 1900
ANNEE_MAX = 2999
#: A cursor: the last entry's instant (UTC, to the microsecond) and id, e.g.
#: `20261203T083041.212111Z-3f2c…` (32 hex digits). Every string of this pattern is a position
#: (an impossible day such as the 31st of February counts on from the 1st of the month), so a
#: client may validate cursors by the pattern alone; its years are those of ANNEE_MIN..ANNEE_MAX.
CURSEUR_PATTERN = (
    r"^(19|2[0-9])[0-9]{2}(0[1-9]|1[0-2])(0[1-9]|[12][0-9]|3[01])T([01][0-9]|2[0-3])[0-5][0-9][0-5][0-9]"
    r"\.[0-9]{6}Z-[0-9a-f]{32}$"
)
_CURSEUR = re.compile(CURSEUR_PATTERN, re.ASCII)


def encoder_curseur(cree_le: datetime, consultation_id: uuid.UUID) -> str:
    return f"{cree_le.astimezone(UTC).strftime('%Y%m%dT%H%M%S.%fZ')}-{consultation_id.hex}"


def decoder_curseur(curseur: str) -> tuple[datetime, uuid.UUID]:
    if not _CURSEUR.fullmatch(curseur):
        raise CurseurInvalide("curseur de pagination invalide")
    annee, mois, jour = int(curseur[0:4]), int(curseur[4:6]), int(curseur[6:8])
    heure, minute, seconde = int(curseur[9:11]), int(curseur[11:13]), int(curseur[13:15])
    micro = int(curseur[16:22])
    cree_le = datetime(annee, mois, 1, heure, minute, seconde, micro, tzinfo=UTC) + timedelta(days=jour - 1)
    return cree_le, uuid.UUID(hex=curseur[-32:])


def mois_avant(instant: datetime, mois: int) -> datetime:
    """`instant` minus whole calendar months (31 March − 1 month = 28/29 February)."""
    total = instant.year * 12 + instant.month - 1 - mois
    annee, mois_index = divmod(total, 12)
    jour = min(instant.day, calendar.monthrange(annee, mois_index + 1)[1])
    return instant.replace(year=annee, month=mois_index + 1, day=jour)


def _resultats(contenu: dict[str, Any] | None) -> tuple[tuple[str, str], ...]:
    if not contenu:
        return ()
    return tuple(
        (str(r.get("dispositif")), str(r.get("statut")))
        for r in contenu.get("resultats", ())
        if isinstance(r, dict)
    )


async def lister(
    engine: AsyncEngine,
    organisme_id: str,
    filtre: FiltreJournal,
    *,
    limite: int,
    curseur: str | None = None,
) -> PageJournal:
    """One page of the organisme's journal, newest first."""
    conditions: list[Any] = [ConsultationRow.organisme_id == organisme_id]
    if filtre.du is not None:
        conditions.append(ConsultationRow.cree_le >= filtre.du)
    if filtre.au is not None:
        conditions.append(ConsultationRow.cree_le < filtre.au)
    if filtre.dossier_ref is not None:
        conditions.append(ConsultationRow.dossier_ref == filtre.dossier_ref)
    if filtre.agent_id is not None:
        conditions.append(ConsultationRow.agent_id == filtre.agent_id)
    if filtre.type is not None:
        conditions.append(ConsultationRow.type == filtre.type)
    if curseur is not None:
        cree_le, dernier = decoder_curseur(curseur)
        conditions.append(
            or_(
                ConsultationRow.cree_le < cree_le,
                and_(ConsultationRow.cree_le == cree_le, ConsultationRow.id < dernier),
            )
        )
    statement = (
        select(
            *ConsultationRow.__table__.c,
            DecisionRow.id.label("decision_id"),
            DecisionRow.reglement_id,
            DecisionRow.reglement_version,
            DecisionRow.reglement_empreinte,
            DecisionRow.contenu,
        )
        # The decision's own organisme is checked too: belt and braces against a mismatched row.
        .outerjoin(
            DecisionRow,
            and_(DecisionRow.consultation_id == ConsultationRow.id, DecisionRow.organisme_id == organisme_id),
        )
        .where(*conditions)
        .order_by(ConsultationRow.cree_le.desc(), ConsultationRow.id.desc())
        .limit(limite + 1)
    )
    async with engine.connect() as connection:
        rows = (await connection.execute(statement)).all()
    entrees = tuple(
        EntreeJournal(
            consultation_id=row.id,
            cree_le=row.cree_le,
            type=row.type,
            statut=row.statut,
            client_id=row.client_id,
            agent_id=row.agent_id,
            dossier_ref=row.dossier_ref,
            demandeur_pseudonyme=row.demandeur_pseudonyme,
            appels_fournisseurs=tuple(AppelFournisseur(**appel) for appel in row.appels_fournisseurs),
            decision_id=row.decision_id,
            reglement_id=row.reglement_id,
            reglement_version=row.reglement_version,
            reglement_empreinte=row.reglement_empreinte,
            resultats=_resultats(row.contenu),
        )
        for row in rows[:limite]
    )
    suivant = None
    if len(rows) > limite:
        dernier_lu = entrees[-1]
        suivant = encoder_curseur(dernier_lu.cree_le, dernier_lu.consultation_id)
    return PageJournal(entrees=entrees, curseur_suivant=suivant)


#: Consultations removed per transaction by the purge: short transactions, whatever the backlog.
LOT_PURGE = 5000


async def purger(
    engine: AsyncEngine,
    avant: datetime,
    *,
    simulation: bool = False,
    lot: int = LOT_PURGE,
    progression: Callable[[int, int], None] | None = None,
) -> RapportPurge:
    """Remove the consultations older than `avant` and their decisions, `lot` at a time, oldest
    first: each batch is its own transaction (consultations with their decisions), so a purge of
    years of backlog neither holds locks for long nor needs its whole size in one transaction, and
    an interrupted purge leaves no decision without its consultation.

    `progression(supprimees, total)` is called after each batch (consultations)."""
    if lot < 1:
        raise ValueError("lot doit valoir au moins 1")
    if simulation:
        return await _purger(engine, avant, simulation=True, lot=lot, progression=progression)
    async with purge_lock(engine):
        return await _purger(engine, avant, simulation=False, lot=lot, progression=progression)


async def _purger(
    engine: AsyncEngine,
    avant: datetime,
    *,
    simulation: bool,
    lot: int,
    progression: Callable[[int, int], None] | None,
) -> RapportPurge:
    anciennes = ConsultationRow.cree_le < avant
    async with engine.connect() as connection:
        par_type = (
            await connection.execute(
                select(
                    ConsultationRow.type,
                    func.count(),
                    func.min(ConsultationRow.cree_le),
                    func.max(ConsultationRow.cree_le),
                )
                .where(anciennes)
                .group_by(ConsultationRow.type)
            )
        ).all()
        decisions = int(
            (
                await connection.execute(
                    select(func.count())
                    .select_from(DecisionRow)
                    .where(DecisionRow.consultation_id.in_(select(ConsultationRow.id).where(anciennes)))
                )
            ).scalar_one()
        )
    if not simulation:
        # The same `lot` oldest ids twice in one transaction: the ordering is total (date, id).
        prochain_lot = (
            select(ConsultationRow.id)
            .where(anciennes)
            .order_by(ConsultationRow.cree_le, ConsultationRow.id)
            .limit(lot)
        )
        total = sum(int(row[1]) for row in par_type)
        faites = 0
        while True:
            async with engine.begin() as connection:
                # Decisions first, explicitly: not relying on ON DELETE CASCADE keeps the counts
                # exact even on a SQLite connection opened without foreign keys.
                await connection.execute(
                    delete(DecisionRow).where(DecisionRow.consultation_id.in_(prochain_lot))
                )
                supprimees = await connection.execute(
                    delete(ConsultationRow).where(ConsultationRow.id.in_(prochain_lot))
                )
            faites += supprimees.rowcount
            if progression is not None:
                progression(min(faites, total), total)
            if supprimees.rowcount < lot:
                break
    # min/max come back as text on SQLite (an aggregate loses the column type): parse them.
    bornes = [_horodatage(v) for row in par_type for v in (row[2], row[3]) if v is not None]
    return RapportPurge(
        avant=avant,
        simulation=simulation,
        consultations_par_type={str(row[0]): int(row[1]) for row in par_type},
        decisions=decisions,
        plus_ancienne=min(bornes) if bornes else None,
        plus_recente=max(bornes) if bornes else None,
    )


def _horodatage(value: datetime | str) -> datetime:
    parsed = value if isinstance(value, datetime) else datetime.fromisoformat(value)
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
