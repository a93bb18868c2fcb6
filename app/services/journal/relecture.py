"""Reading back, in bulk, an organisme's decisions of a period with their facts (issue 17: replaying
them under a proposed règlement).

Pages by keyset on (cree_le, id), oldest first, on PostgreSQL and SQLite alike: memory holds one
page whatever the period, and a page costs the same at the end of three years of journal as at the
start. Rows are fetched as stored (encrypted); `ouvrir` decrypts a page with the journal's key ring,
as CPU work the caller may run off the event loop. Every query names the organisme: there is no path
that reads another organisme's rows.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from pydantic_core import from_json
from sqlalchemy import and_, case, func, null, or_, select
from sqlalchemy.ext.asyncio import AsyncEngine

from app.db.tables import DecisionRow
from app.services.journal.chiffrement import TrousseauJournal

#: Decisions per query: a 10-aid decision is ≈ 40 kB encrypted (≈ 75 kB once parsed), so a page is
#: ≈ 20 MB as fetched; `ouvrir` then decrypts one decision at a time.
LOT_RELECTURE = 500

_COLONNES = (
    DecisionRow.id,
    DecisionRow.cree_le,
    DecisionRow.date_reference,
    DecisionRow.dossier_ref,
    DecisionRow.reglement_id,
    DecisionRow.reglement_version,
    DecisionRow.reglement_empreinte,
    # The clear summary only where it is the whole record (written before encryption): not fetched
    # nor parsed for the encrypted rows, whose record is in `contenu_chiffre`.
    case((DecisionRow.contenu_chiffre.is_(None), DecisionRow.contenu), else_=null()).label("contenu"),
    DecisionRow.contenu_chiffre,
    DecisionRow.cle_journal,
)


@dataclass(frozen=True, slots=True)
class DecisionRelue:
    """A journaled decision with its whole record (facts included), decrypted."""

    id: uuid.UUID
    cree_le: datetime
    date_reference: date
    dossier_ref: str | None
    reglement_id: str
    reglement_version: str
    reglement_empreinte: str
    #: The record as GET /v1/decisions/{id} serves it, plus `faits`; None when no key of the ring
    #: opens it any more (its statuses stay readable in the journal's listing).
    contenu: dict[str, Any] | None


class RelectureJournal:
    """An organisme's decisions of a period, page by page, from the journal's database."""

    def __init__(
        self, engine: AsyncEngine, trousseau: TrousseauJournal | None, *, lot: int = LOT_RELECTURE
    ) -> None:
        if lot < 1:
            raise ValueError("lot doit valoir au moins 1")
        self._engine = engine
        self._trousseau = trousseau
        self._lot = lot

    async def compter(self, organisme_id: str, du: datetime, au: datetime) -> int:
        """How many decisions the organisme made from `du` (inclusive) to `au` (exclusive)."""
        statement = (
            select(func.count())
            .select_from(DecisionRow)
            .where(
                DecisionRow.organisme_id == organisme_id, DecisionRow.cree_le >= du, DecisionRow.cree_le < au
            )
        )
        async with self._engine.connect() as connection:
            return int((await connection.execute(statement)).scalar_one())

    async def pages(self, organisme_id: str, du: datetime, au: datetime) -> AsyncIterator[Sequence[Any]]:
        """The rows as stored, `lot` at a time, oldest first; `ouvrir` makes them decisions."""
        dernier: tuple[datetime, uuid.UUID] | None = None
        while True:
            conditions: list[Any] = [
                DecisionRow.organisme_id == organisme_id,
                DecisionRow.cree_le >= du,
                DecisionRow.cree_le < au,
            ]
            if dernier is not None:
                conditions.append(
                    or_(
                        DecisionRow.cree_le > dernier[0],
                        and_(DecisionRow.cree_le == dernier[0], DecisionRow.id > dernier[1]),
                    )
                )
            statement = (
                select(*_COLONNES)
                .where(*conditions)
                .order_by(DecisionRow.cree_le, DecisionRow.id)
                .limit(self._lot)
            )
            async with self._engine.connect() as connection:
                lignes = (await connection.execute(statement)).all()
            if not lignes:
                return
            yield lignes
            if len(lignes) < self._lot:
                return
            dernier = (lignes[-1].cree_le, lignes[-1].id)

    def ouvrir(self, lignes: Iterable[Any]) -> Iterator[DecisionRelue]:
        """Decrypt rows one at a time, as they are consumed (CPU only: run it where it does not
        hold the event loop); only the decision in hand is held in clear."""
        return (self.ouvrir_une(ligne) for ligne in lignes)

    def ouvrir_une(self, ligne: Any) -> DecisionRelue:
        contenu: dict[str, Any] | None
        if ligne.contenu_chiffre is None:
            contenu = ligne.contenu  # written before the journal was encrypted: whole, in clear
        elif self._trousseau is None or ligne.cle_journal is None:
            contenu = None
        else:
            texte = self._trousseau.dechiffrer(ligne.cle_journal, ligne.contenu_chiffre)
            # pydantic-core's parser: ≈ 2× json.loads on these 30 kB records.
            contenu = None if texte is None else from_json(texte)
        return DecisionRelue(
            id=ligne.id,
            cree_le=ligne.cree_le,
            date_reference=ligne.date_reference,
            dossier_ref=ligne.dossier_ref,
            reglement_id=ligne.reglement_id,
            reglement_version=ligne.reglement_version,
            reglement_empreinte=ligne.reglement_empreinte,
            contenu=contenu,
        )
