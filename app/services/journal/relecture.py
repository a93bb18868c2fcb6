"""Reading back, in bulk, an organisme's decisions of a period with what replaying them needs (issue
17: replaying them under a proposed règlement).

Pages by keyset on (cree_le, id), oldest first, on PostgreSQL and SQLite alike, each query
starting where the index on (organisme_id, cree_le) leaves off: memory holds one page whatever the
period, a page costs the same at the end of three years of journal as at the start, and the
connection goes back to the pool between pages (SQLite's only one serves the journal's writes).
Only the compact copy a replay reads is fetched (`rejeu`, ≈ 3 kB encrypted, see
app/services/journal/rejeu.py); the whole record (≈ 40 kB encrypted) only for rows written before it
existed. Rows are fetched as stored (encrypted); `ouvrir` decrypts them with the journal's key ring,
as CPU work the caller may run off the event loop. Every query names the organisme: there is no path
that reads another organisme's rows.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncGenerator, Iterable, Iterator, Sequence
from datetime import date, datetime
from typing import Any, NamedTuple

from pydantic_core import from_json
from sqlalchemy import and_, case, func, null, or_, select
from sqlalchemy.ext.asyncio import AsyncEngine

from app.db.tables import DecisionRow
from app.services.journal.chiffrement import TrousseauJournal
from app.services.journal.rejeu import CopieRejeu, copie_de, copie_de_texte, rejeu_de

#: Rows per batch: ≈ 3 MB as fetched for compact rows, ≈ 40 MB for old rows read whole.
LOT_RELECTURE = 1000

_SANS_REJEU = DecisionRow.rejeu.is_(None)
_COLONNES = (
    DecisionRow.id,
    DecisionRow.cree_le,
    DecisionRow.date_reference,
    DecisionRow.dossier_ref,
    DecisionRow.reglement_id,
    DecisionRow.reglement_version,
    DecisionRow.reglement_empreinte,
    DecisionRow.rejeu,
    DecisionRow.cle_journal,
    # The whole record only for a row without its compact copy (written before it existed): its
    # clear summary where it is the whole record (written before encryption), else the encrypted one.
    case((and_(_SANS_REJEU, DecisionRow.contenu_chiffre.is_(None)), DecisionRow.contenu), else_=null()).label(
        "contenu"
    ),
    case((_SANS_REJEU, DecisionRow.contenu_chiffre), else_=null()).label("contenu_chiffre"),
)


class DecisionRelue(NamedTuple):
    """A journaled decision with what a replay reads of it, decrypted. (A named tuple: one per
    decision replayed, and a frozen dataclass costs three times as much to build.)"""

    id: uuid.UUID
    cree_le: datetime
    date_reference: date
    dossier_ref: str | None
    reglement_id: str
    reglement_version: str
    reglement_empreinte: str
    #: Its facts and each aid's journaled verdict (`rejeu_de`'s content, the same whether read from
    #: the compact column or, for an older row, from the whole record); None when no key of the
    #: ring opens it any more (its statuses stay readable in the journal's listing), or when it is
    #: `alteree`.
    rejeu: CopieRejeu | None
    #: Its compact copy does not open under a key the ring holds, or is of no known format: it was
    #: altered after it was written (`relire_entiere` reads the whole record instead).
    alteree: bool = False


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

    async def pages(
        self, organisme_id: str, du: datetime, au: datetime
    ) -> AsyncGenerator[Sequence[Any], None]:
        """The rows as stored, `lot` at a time, oldest first; `ouvrir` makes them decisions."""
        dernier: tuple[datetime, uuid.UUID] | None = None
        while True:
            conditions: list[Any] = [
                DecisionRow.organisme_id == organisme_id,
                DecisionRow.cree_le >= du,
                DecisionRow.cree_le < au,
            ]
            if dernier is not None:
                conditions += [
                    # The bound the index on (organisme_id, cree_le) starts from: without it, each
                    # page would scan the period from its start again.
                    DecisionRow.cree_le >= dernier[0],
                    or_(
                        DecisionRow.cree_le > dernier[0],
                        and_(DecisionRow.cree_le == dernier[0], DecisionRow.id > dernier[1]),
                    ),
                ]
            statement = (
                select(*_COLONNES)
                .where(*conditions)
                .order_by(DecisionRow.cree_le, DecisionRow.id)
                .limit(self._lot)
            )
            # A connection per page, given back in between: SQLite has one for the whole process
            # (the journal's writes must not wait for a long replay).
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
        # Unpacked once (the columns of _COLONNES, in order): quicker than an attribute lookup each.
        (identifiant, cree_le, date_reference, dossier_ref, reglement_id, reglement_version,
         reglement_empreinte, copie, cle, contenu, contenu_chiffre) = ligne  # fmt: skip
        rejeu: CopieRejeu | None = None
        alteree = False
        if copie is not None:
            texte = self._clair(cle, copie)
            if texte is not None:
                try:
                    rejeu = copie_de_texte(texte)
                except ValueError:
                    alteree = True
            else:
                alteree = self._trousseau is not None and self._trousseau.connait(cle)
        elif contenu_chiffre is not None:
            rejeu = self._entiere(cle, contenu_chiffre)
        elif contenu is not None:
            # Written before the journal was encrypted: whole, in clear.
            rejeu = copie_de(rejeu_de(contenu))
        return DecisionRelue(
            identifiant,
            cree_le,
            date_reference,
            dossier_ref,
            reglement_id,
            reglement_version,
            reglement_empreinte,
            rejeu,
            alteree,
        )

    def dechiffrer_copie(self, ligne: Any) -> str | None:
        """A row's compact copy in clear (None without one, or when it does not open): what the
        bench counts as decrypting, without the rest of `ouvrir_une`."""
        return None if ligne.rejeu is None else self._clair(ligne.cle_journal, ligne.rejeu)

    async def relire_entiere(self, organisme_id: str, decision: DecisionRelue) -> CopieRejeu | None:
        """What a replay reads of the decision, from its whole record (whose copy is `alteree`);
        None when that does not open either."""
        statement = select(DecisionRow.contenu, DecisionRow.contenu_chiffre, DecisionRow.cle_journal).where(
            DecisionRow.organisme_id == organisme_id, DecisionRow.id == decision.id
        )
        async with self._engine.connect() as connection:
            ligne = (await connection.execute(statement)).one_or_none()
        if ligne is None:
            return None
        if ligne.contenu_chiffre is None:
            return None if ligne.contenu is None else copie_de(rejeu_de(ligne.contenu))
        return self._entiere(ligne.cle_journal, ligne.contenu_chiffre)

    def _entiere(self, cle: str | None, contenu_chiffre: str) -> CopieRejeu | None:
        """An older row's whole record, reduced to what a replay reads."""
        texte = self._clair(cle, contenu_chiffre)
        # pydantic-core's parser: ≈ 2× json.loads on these 30 kB records.
        return None if texte is None else copie_de(rejeu_de(from_json(texte)))

    def _clair(self, cle: str | None, texte: str) -> str | None:
        """A stored text in clear: decrypted under its key, or as it is on a row written in clear."""
        if cle is None:
            return texte
        return None if self._trousseau is None else self._trousseau.dechiffrer(cle, texte)
