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

The pages are read through the driver under SQLAlchemy's pooled connection (asyncpg, aiosqlite),
SQLAlchemy only binding the parameters: building its rows cost as much as the driver's own work
(bench/bench_relecture.py). The seal stays text on the way (PostgreSQL could decode its hex, but
checking it first and decoding cost the server two to four times the plain read, measured: the
replay would wait for it).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncGenerator, Awaitable, Callable, Iterable, Iterator
from datetime import UTC, date, datetime
from typing import Any, NamedTuple

from pydantic_core import from_json
from sqlalchemy import and_, case, func, null, or_, select
from sqlalchemy.engine import Dialect
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


class LigneRelue(NamedTuple):
    """A row as stored, what `ouvrir_une` makes a decision of (the columns of _COLONNES). Typed
    as SQLAlchemy types them (`id` a UUID, `cree_le` aware in UTC, `date_reference` a date,
    `contenu` parsed), whichever way it was read."""

    id: uuid.UUID
    cree_le: datetime
    date_reference: date
    dossier_ref: str | None
    reglement_id: str
    reglement_version: str
    reglement_empreinte: str
    #: The compact copy as stored (None without one).
    rejeu: str | None
    cle_journal: str | None
    contenu: dict[str, Any] | None
    contenu_chiffre: str | None


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
    ) -> AsyncGenerator[list[LigneRelue], None]:
        """The rows as stored, `lot` at a time, oldest first; `ouvrir` makes them decisions.

        Read through the driver itself (asyncpg, aiosqlite): the same query as `pages_sqlalchemy`,
        whose rows it gives, without SQLAlchemy's processing of every row (a third of the
        instructions a row cost on PostgreSQL, an eighth on SQLite, where SQLite's own work is most
        of it: bench/bench_relecture.py). Any other driver reads through SQLAlchemy."""
        lecture = self._pilote()
        if lecture is None:
            async for lignes in self.pages_sqlalchemy(organisme_id, du, au):
                yield lignes
            return
        # Bound as SQLAlchemy binds them (UTC; SQLite's text form), naive datetimes refused alike.
        lier_instant = _liaison("cree_le", self._engine.dialect)
        lier_id = _liaison("id", self._engine.dialect)
        parametres: tuple[Any, ...] = (organisme_id, lier_instant(du), lier_instant(au))
        dernier: tuple[Any, ...] = ()
        while True:
            # A pooled connection per page, given back in between (see `pages_sqlalchemy`).
            async with self._engine.connect() as connection:
                pilote = (await connection.get_raw_connection()).driver_connection
                lignes = await lecture(pilote, parametres + dernier, self._lot)
            if not lignes:
                return
            yield lignes
            if len(lignes) < self._lot:
                return
            dernier = (lier_instant(lignes[-1].cree_le), lier_id(lignes[-1].id))

    def _pilote(self) -> Callable[[Any, tuple[Any, ...], int], Awaitable[list[LigneRelue]]] | None:
        return _LECTURES.get(self._engine.dialect.driver)

    async def pages_sqlalchemy(
        self, organisme_id: str, du: datetime, au: datetime
    ) -> AsyncGenerator[list[LigneRelue], None]:
        """`pages` through SQLAlchemy: for a driver `pages` does not read directly (and the
        reference its rows are tested against)."""
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
                lignes = [LigneRelue(*ligne) for ligne in (await connection.execute(statement)).all()]
            if not lignes:
                return
            yield lignes
            if len(lignes) < self._lot:
                return
            dernier = (lignes[-1].cree_le, lignes[-1].id)

    def ouvrir(self, lignes: Iterable[LigneRelue]) -> Iterator[DecisionRelue]:
        """Decrypt rows one at a time, as they are consumed (CPU only: run it where it does not
        hold the event loop); only the decision in hand is held in clear."""
        return (self.ouvrir_une(ligne) for ligne in lignes)

    def ouvrir_une(self, ligne: LigneRelue) -> DecisionRelue:
        # Unpacked once (in order): quicker than an attribute lookup each.
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
                alteree = self._trousseau is not None and cle is not None and self._trousseau.connait(cle)
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

    def dechiffrer_copie(self, ligne: LigneRelue) -> str | None:
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


# -- reading through the driver ---------------------------------------------------------------------

_SELECTION = (
    "SELECT id, cree_le, date_reference, dossier_ref, reglement_id, reglement_version, "
    "reglement_empreinte, rejeu, cle_journal, "
    "CASE WHEN rejeu IS NULL AND contenu_chiffre IS NULL THEN contenu END, "
    "CASE WHEN rejeu IS NULL THEN contenu_chiffre END "
    "FROM decisions WHERE organisme_id = {p}1 AND cree_le >= {p}2 AND cree_le < {p}3{suite} "
    "ORDER BY cree_le, id LIMIT {p}{limite}"
)
#: After the first page: the bound the index on (organisme_id, cree_le, id) starts from (without
#: it, each page would scan the period from its start again), then the keyset.
_SUITE = " AND cree_le >= {p}4 AND (cree_le > {p}4 OR (cree_le = {p}4 AND id > {p}5))"


def _requetes(p: str) -> tuple[str, str]:
    """The first page's query and the next ones', `p` the driver's mark of a numbered parameter."""
    return (
        _SELECTION.format(p=p, suite="", limite=4),
        _SELECTION.format(p=p, suite=_SUITE.format(p=p), limite=6),
    )


_PG = _requetes("$")
_SQLITE = _requetes("?")


async def _lire_pg(pilote: Any, parametres: tuple[Any, ...], lot: int) -> list[LigneRelue]:
    """A page through asyncpg: its rows come typed as SQLAlchemy's (the UUIDs are asyncpg's own,
    as through SQLAlchemy; JSONB parsed by the codec SQLAlchemy sets on each connection)."""
    requete = _PG[len(parametres) > 3]
    return list(map(LigneRelue._make, await pilote.fetch(requete, *parametres, lot)))


async def _lire_sqlite(pilote: Any, parametres: tuple[Any, ...], lot: int) -> list[LigneRelue]:
    """A page through aiosqlite (one hop to its thread), each row typed as SQLAlchemy types it."""
    requete = _SQLITE[len(parametres) > 3]
    return [_ligne_sqlite(rangee) for rangee in await pilote.execute_fetchall(requete, (*parametres, lot))]


def _ligne_sqlite(rangee: tuple[Any, ...]) -> LigneRelue:
    (identifiant, cree_le, date_reference, dossier_ref, reglement_id, reglement_version,
     reglement_empreinte, rejeu, cle, contenu, contenu_chiffre) = rangee  # fmt: skip
    # As SQLAlchemy reads them: Uuid as 32 hex digits, UtcDateTime and Date as ISO texts (aware in
    # UTC), JSON as text (`create_engine_from_url` sets no other deserializer than json.loads).
    instant = datetime.fromisoformat(cree_le)
    return LigneRelue(
        uuid.UUID(identifiant),
        instant.replace(tzinfo=UTC) if instant.tzinfo is None else instant.astimezone(UTC),
        date.fromisoformat(date_reference),
        dossier_ref,
        reglement_id,
        reglement_version,
        reglement_empreinte,
        rejeu,
        cle,
        None if contenu is None else json.loads(contenu),
        contenu_chiffre,
    )


_LECTURES: dict[str, Callable[[Any, tuple[Any, ...], int], Awaitable[list[LigneRelue]]]] = {
    "asyncpg": _lire_pg,
    "aiosqlite": _lire_sqlite,
}


def _liaison(colonne: str, dialecte: Dialect) -> Callable[[Any], Any]:
    """How SQLAlchemy binds a value to the column on this database (its type's processor there)."""
    type_ = DecisionRow.__table__.c[colonne].type
    lier: Callable[[Any], Any] | None = type_.dialect_impl(dialecte).bind_processor(dialecte)
    return _tel_quel if lier is None else lier


def _tel_quel(valeur: Any) -> Any:
    return valeur
