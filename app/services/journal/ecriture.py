"""The audit journal: every consultation and the decision it produced, committed before the answer
leaves, and read back by the organisme that owns it.

A decision without its trace is not allowed: any database failure becomes `JournalUnavailable`
(a 503, and the caller gets no decision). Concurrent writes are grouped: one writer task commits
the records waiting at that moment in one transaction, and each caller returns only once the
transaction holding its record has committed (group commit).
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import deque
from dataclasses import dataclass
from datetime import UTC
from typing import Any

import structlog
from sqlalchemy import insert, select, text, update
from sqlalchemy.ext.asyncio import AsyncEngine

from app import metrics
from app.db.engine import DATABASE_ERRORS, DocumentJson, dumps_json
from app.db.tables import ConsultationRow, DecisionRow
from app.errors import DecisionIllisible, JournalUnavailable
from app.services.journal.chiffrement import PREFIXE_SCELLE, TrousseauJournal, contenu_clair, resume_clair
from app.services.journal.lecture import FiltreJournal, PageJournal, lister
from app.services.journal.records import (
    JOURNAL_UNAVAILABLE_DETAIL,
    AppelFournisseur,
    ConsultationRecord,
    DecisionRecord,
)
from app.services.journal.rejeu import texte_rejeu

logger = structlog.get_logger(__name__)

_CONSULTATION_FIELDS = tuple(ConsultationRecord.__dataclass_fields__)
_DECISION_FIELDS = tuple(DecisionRecord.__dataclass_fields__)
#: The decision's columns: its record's fields, then its encrypted content, the key's id and what a
#: replay reads (app/services/journal/rejeu.py).
_DECISION_COLONNES = (*_DECISION_FIELDS, "contenu_chiffre", "cle_journal", "rejeu")
_APPEL_FIELDS = tuple(AppelFournisseur.__dataclass_fields__)
#: Built once: SQLAlchemy then reuses their compiled form for every batch (SQLite).
_INSERT_CONSULTATIONS = insert(ConsultationRow)
_INSERT_DECISIONS = insert(DecisionRow)

#: PostgreSQL array type of each journal column, for the one-statement batch below.
_TYPES_PG = {
    "id": "uuid",
    "consultation_id": "uuid",
    "cree_le": "timestamptz",
    "date_reference": "date",
    "appels_fournisseurs": "jsonb",
    "contenu": "jsonb",
}


def _unnest(table: str, colonnes: tuple[str, ...], premier: int) -> str:
    # JSON travels as text and is cast in the statement: no dependency on the driver's JSON codecs.
    types = [_TYPES_PG.get(c, "text") for c in colonnes]
    tableaux = ", ".join(f"${premier + i}::{'text' if t == 'jsonb' else t}[]" for i, t in enumerate(types))
    valeurs = ", ".join(f"{c}::jsonb" if t == "jsonb" else c for c, t in zip(colonnes, types, strict=True))
    noms = ", ".join(colonnes)
    # Only our own table and column names are formatted in; the data travels as parameters.
    return f"INSERT INTO {table} ({noms}) SELECT {valeurs} FROM unnest({tableaux}) AS t({noms})"  # noqa: S608


#: The whole batch in ONE statement, hence one round trip and one implicit transaction: both
#: INSERTs commit together or not at all. The decisions' foreign key is checked at the end of the
#: statement, when the consultations of the same statement are there.
_INSERT_LOT_PG = f"WITH c AS ({_unnest(ConsultationRow.__tablename__, _CONSULTATION_FIELDS, 1)}) " + _unnest(
    DecisionRow.__tablename__, _DECISION_COLONNES, 1 + len(_CONSULTATION_FIELDS)
)

#: Most records one transaction carries; the rest wait for the next one.
DEFAULT_BATCH_MAX = 128


def _consultation_values(record: ConsultationRecord) -> dict[str, Any]:
    values = {name: getattr(record, name) for name in _CONSULTATION_FIELDS}
    # Flat dataclasses of scalars: a comprehension, not `asdict`'s recursive deep copy.
    values["appels_fournisseurs"] = [
        {name: getattr(appel, name) for name in _APPEL_FIELDS} for appel in record.appels_fournisseurs
    ]
    return values


def _decision_values(record: DecisionRecord, trousseau: TrousseauJournal | None) -> dict[str, Any]:
    values: dict[str, Any] = {name: getattr(record, name) for name in _DECISION_FIELDS}
    contenu = record.contenu
    rejeu = texte_rejeu(contenu)
    if trousseau is None:
        values["contenu"] = contenu if isinstance(contenu, DocumentJson) else dict(contenu)
        values["contenu_chiffre"] = values["cle_journal"] = None
        values["rejeu"] = rejeu
        return values
    chiffre = trousseau.chiffrer(dumps_json(contenu if isinstance(contenu, DocumentJson) else dict(contenu)))
    values["contenu"] = resume_clair(contenu)
    values["contenu_chiffre"], values["cle_journal"] = chiffre.jeton, chiffre.cle
    # Under the same key as the record (one `cle_journal` for both): a rotation moves them together.
    values["rejeu"] = None if rejeu is None else trousseau.sceller_avec(chiffre.cle, rejeu)
    return values


def _parametres_pg(lot: list[_Ecriture], trousseau: TrousseauJournal | None) -> tuple[list[Any], ...]:
    """The arrays of `_INSERT_LOT_PG`: one per consultation column, then one per decision column."""
    consultations = [_consultation_values(e.consultation) for e in lot]
    decisions = [_decision_values(e.decision, trousseau) for e in lot if e.decision is not None]
    colonnes: list[list[Any]] = []
    for lignes, noms in ((consultations, _CONSULTATION_FIELDS), (decisions, _DECISION_COLONNES)):
        for nom in noms:
            valeurs = [ligne[nom] for ligne in lignes]
            if nom in ("appels_fournisseurs", "contenu"):
                valeurs = [dumps_json(v) for v in valeurs]
            elif nom == "cree_le":
                valeurs = [v.astimezone(UTC) for v in valeurs]  # as UtcDateTime stores it
            colonnes.append(valeurs)
    return tuple(colonnes)


@dataclass(slots=True)
class RapportRechiffrement:
    rechiffrees: int = 0
    #: Under a key no longer in the ring: their content is lost, their clear columns stay.
    illisibles: int = 0


@dataclass(slots=True)
class _Ecriture:
    """One caller's records, waiting for the transaction that will carry them."""

    consultation: ConsultationRecord
    decision: DecisionRecord | None
    #: Event-loop time after which the caller has given up: never written past it.
    echeance: float
    resultat: asyncio.Future[None]


class Journal:
    """Writes and reads the journal over an async engine (PostgreSQL, or SQLite embedded)."""

    def __init__(
        self,
        engine: AsyncEngine,
        *,
        timeout_seconds: float = 5.0,
        batch_max: int = DEFAULT_BATCH_MAX,
        sonde_intervalle_seconds: float = 1.0,
        trousseau: TrousseauJournal | None = None,
    ) -> None:
        if batch_max < 1:
            raise ValueError("batch_max doit valoir au moins 1")
        self._engine = engine
        #: PostgreSQL writes a batch as one statement in an implicit transaction (no BEGIN/COMMIT
        #: round trips), see `_ecrire_lot_pg`.
        self._postgresql = engine.dialect.name == "postgresql"
        # A hung database must fail the request with a 503, not hold it until the client gives up.
        # For a write, the delay covers the wait for the writer and the transaction itself.
        self._timeout = timeout_seconds
        self._batch_max = batch_max
        self._en_attente: deque[_Ecriture] = deque()
        #: Encrypts each decision's record at rest (None: stored in clear, for tests and benches).
        self._trousseau = trousseau
        #: The writer task while records are waiting; it ends when the queue is empty, so the
        #: journal needs no start or stop of its own and is bound to no particular event loop.
        self._redacteur: asyncio.Task[None] | None = None
        #: Monotonic time of the last failed write while the journal is known down (None: up), and
        #: of the last probe since. See `verifier_disponible`.
        self._en_panne_depuis: float | None = None
        self._derniere_sonde = 0.0
        self._sonde_intervalle = sonde_intervalle_seconds

    @property
    def en_panne(self) -> bool:
        return self._en_panne_depuis is not None

    async def verifier_disponible(self) -> None:
        """Raise `JournalUnavailable` at once while the journal is known down, before any upstream
        quota is spent on a decision that could not be recorded (issue 13: ≈ 80 upstream calls per
        outage for answers that were 503s). Known down after a failed write; one probe
        (`SELECT 1`) per `sonde_intervalle_seconds` tells when it is back."""
        if self._en_panne_depuis is None:
            return
        maintenant = time.monotonic()
        if maintenant - self._derniere_sonde >= self._sonde_intervalle:
            self._derniere_sonde = maintenant
            if await self.ping(timeout_seconds=min(self._timeout, 1.0)):
                self._retabli()
                return
        raise JournalUnavailable(JOURNAL_UNAVAILABLE_DETAIL + " Aucun appel aux fournisseurs n'a été fait.")

    def _retabli(self) -> None:
        if self._en_panne_depuis is not None:
            logger.warning(
                "journal.recovered", panne_seconds=round(time.monotonic() - self._en_panne_depuis, 1)
            )
        self._en_panne_depuis = None

    @property
    def engine(self) -> AsyncEngine:
        return self._engine

    async def enregistrer(
        self, consultation: ConsultationRecord, decision: DecisionRecord | None = None
    ) -> None:
        """Commit the consultation and its decision (in one transaction, possibly shared with other
        callers' records), or raise `JournalUnavailable`. Returns only after the commit."""
        if decision is not None and (
            decision.consultation_id != consultation.id or decision.organisme_id != consultation.organisme_id
        ):
            raise ValueError("la décision doit appartenir à la consultation enregistrée avec elle")
        loop = asyncio.get_running_loop()
        ecriture = _Ecriture(consultation, decision, loop.time() + self._timeout, loop.create_future())
        self._en_attente.append(ecriture)
        if self._redacteur is None or self._redacteur.done():
            self._redacteur = loop.create_task(self._rediger(), name="journal.redacteur")
        # No timeout here: the writer settles every future by its deadline (see `_rediger`). A
        # cancelled caller cancels its future, and the writer leaves its records out if it can.
        await ecriture.resultat

    async def _rediger(self) -> None:
        """The single writer: commits the waiting records by batches until none is left."""
        try:
            while self._en_attente:
                lot = self._prendre_lot()
                if lot:
                    await self._ecrire_lot(lot)
        finally:
            # Only reached with records left if the task itself was cancelled (loop shutting down).
            while self._en_attente:
                _echouer(self._en_attente.popleft(), JournalUnavailable(JOURNAL_UNAVAILABLE_DETAIL))

    def _prendre_lot(self) -> list[_Ecriture]:
        now = asyncio.get_running_loop().time()
        lot: list[_Ecriture] = []
        while self._en_attente and len(lot) < self._batch_max:
            ecriture = self._en_attente.popleft()
            if ecriture.resultat.done():
                continue  # its caller is gone: nothing to acknowledge, nothing to write
            if ecriture.echeance <= now:
                _echouer(ecriture, JournalUnavailable(JOURNAL_UNAVAILABLE_DETAIL))
                continue
            lot.append(ecriture)
        return lot

    async def _ecrire_lot(self, lot: list[_Ecriture]) -> None:
        try:
            # The earliest deadline of the batch bounds the transaction: nobody is acknowledged
            # late, and nothing is committed after a caller was told it failed.
            async with asyncio.timeout_at(min(e.echeance for e in lot)):
                if self._postgresql:
                    await self._ecrire_lot_pg(lot)
                else:
                    await self._ecrire_lot_sqlite(lot)
        except DATABASE_ERRORS as e:
            if self._en_panne_depuis is None:
                # The next request probes at once (a restart's killed connections are back at
                # once); after a failed probe, one per interval.
                self._en_panne_depuis, self._derniere_sonde = time.monotonic(), 0.0
            # The error's text may quote the inserted values: only its type is logged.
            logger.error(
                "journal.write_failed",
                error_type=type(e).__name__,
                lot=len(lot),
                consultation_ids=[str(ecriture.consultation.id) for ecriture in lot],
            )
            for ecriture in lot:
                erreur = JournalUnavailable(JOURNAL_UNAVAILABLE_DETAIL)
                erreur.__cause__ = e
                _echouer(ecriture, erreur)
            return
        except Exception as e:
            # A bug, not an outage: every caller of the batch gets it (a logged 500), and the writer
            # goes on with the next batch.
            for ecriture in lot:
                _echouer(ecriture, e)
            return
        metrics.JOURNAL_LOT.observe(len(lot))
        self._retabli()
        for ecriture in lot:
            if not ecriture.resultat.done():
                ecriture.resultat.set_result(None)

    async def _ecrire_lot_pg(self, lot: list[_Ecriture]) -> None:
        """The batch as one statement on asyncpg itself, outside any transaction block.

        One statement is one implicit transaction (both INSERTs commit together or not at all) and
        one round trip: asyncpg prepares it once per connection and keeps it in its statement
        cache, so a batch costs a Bind/Execute and the commit. Going through the pooled connection's
        driver skips SQLAlchemy's cursor emulation (measured: 1.6 → 1.1 ms for one decision).
        """
        for derniere_chance in (False, True):
            async with self._engine.connect() as connection:
                pilote: Any = (await connection.get_raw_connection()).driver_connection  # asyncpg's
                if pilote.is_closed() and not derniere_chance:
                    # Closed by the server while it sat in the pool (a restart, a terminated
                    # backend), used too recently to be pinged: nothing was sent on it, so the
                    # batch goes out on a fresh connection instead of failing its callers.
                    await asyncio.shield(connection.invalidate())
                    continue
                try:
                    await pilote.execute(_INSERT_LOT_PG, *_parametres_pg(lot, self._trousseau))
                except BaseException:
                    # Server gone, statement cancelled by the deadline mid-protocol, or refused:
                    # none leaves a connection worth reusing, and errors are rare enough to
                    # reconnect. Shielded, so a cancellation cannot leave a half-closed connection
                    # in the pool.
                    await asyncio.shield(connection.invalidate())
                    raise
                return

    async def _ecrire_lot_sqlite(self, lot: list[_Ecriture]) -> None:
        consultations = [_consultation_values(e.consultation) for e in lot]
        decisions = [_decision_values(e.decision, self._trousseau) for e in lot if e.decision is not None]
        async with self._engine.begin() as connection:
            # executemany: one statement (multi-row VALUES) per table for the whole batch.
            await connection.execute(_INSERT_CONSULTATIONS, consultations)
            if decisions:
                await connection.execute(_INSERT_DECISIONS, decisions)

    async def lire_decision(self, organisme_id: str, decision_id: uuid.UUID) -> DecisionRecord | None:
        """The decision if it belongs to `organisme_id`; None otherwise, so ids leak nothing."""
        statement = select(DecisionRow).where(
            DecisionRow.id == decision_id, DecisionRow.organisme_id == organisme_id
        )
        row = await self._read_one(statement)
        if row is None:
            return None
        return DecisionRecord(
            id=row.id,
            contenu=self._contenu(row),
            consultation_id=row.consultation_id,
            organisme_id=row.organisme_id,
            cree_le=row.cree_le,
            date_reference=row.date_reference,
            dossier_ref=row.dossier_ref,
            reglement_id=row.reglement_id,
            reglement_version=row.reglement_version,
            reglement_empreinte=row.reglement_empreinte,
        )

    def _contenu(self, row: Any) -> dict[str, Any]:
        """The decision's whole record, decrypted here so that every reader gets it in clear."""
        if row.contenu_chiffre is None:
            return dict(row.contenu)
        texte = self._trousseau.dechiffrer(row.cle_journal, row.contenu_chiffre) if self._trousseau else None
        if texte is None:
            raise DecisionIllisible(
                "Le contenu de cette décision ne se déchiffre pas : la clé du journal "
                f"« {row.cle_journal} » n'est plus dans JOURNAL_ENCRYPTION_KEYS. Son existence, sa date, "
                "le statut de chaque aide et la version du règlement restent au journal (GET /v1/journal)."
            )
        return contenu_clair(texte)

    async def rechiffrer(self, *, lot: int = 500) -> RapportRechiffrement:
        """Put every decision under the key ring's current key (after a rotation, or for records
        written in clear before issue 13), its compact copy in the current format. Rows whose key
        is gone are counted, left as they are."""
        if self._trousseau is None:
            raise ValueError("aucun trousseau : rien à chiffrer")
        trousseau = self._trousseau
        rapport = RapportRechiffrement()
        dernier: uuid.UUID | None = None
        while True:
            async with self._engine.begin() as connection:
                requete = (
                    select(
                        DecisionRow.id,
                        DecisionRow.contenu,
                        DecisionRow.contenu_chiffre,
                        DecisionRow.cle_journal,
                    )
                    .where(
                        DecisionRow.cle_journal.is_(None)
                        | (DecisionRow.cle_journal != trousseau.courante)
                        # A compact copy of an older format: sealed anew in the current one.
                        | ~DecisionRow.rejeu.startswith(PREFIXE_SCELLE, autoescape=True)
                    )
                    .order_by(DecisionRow.id)
                    .limit(lot)
                )
                if dernier is not None:
                    requete = requete.where(DecisionRow.id > dernier)
                lignes = (await connection.execute(requete)).all()
                if not lignes:
                    return rapport
                for ligne in lignes:
                    if ligne.contenu_chiffre is None:
                        texte: str | None = dumps_json(ligne.contenu)
                    else:
                        texte = trousseau.dechiffrer(ligne.cle_journal, ligne.contenu_chiffre)
                    if texte is None:
                        rapport.illisibles += 1
                        continue
                    chiffre = trousseau.chiffrer(texte)
                    contenu = contenu_clair(texte)
                    # What a replay reads, rebuilt from the whole record: rows written before it
                    # existed get it too.
                    rejeu = texte_rejeu(contenu)
                    await connection.execute(
                        update(DecisionRow)
                        .where(DecisionRow.id == ligne.id)
                        .values(
                            contenu=resume_clair(contenu),
                            contenu_chiffre=chiffre.jeton,
                            cle_journal=chiffre.cle,
                            rejeu=None if rejeu is None else trousseau.sceller_avec(chiffre.cle, rejeu),
                        )
                    )
                    rapport.rechiffrees += 1
                dernier = lignes[-1].id

    async def lire_consultation(
        self, organisme_id: str, consultation_id: uuid.UUID
    ) -> ConsultationRecord | None:
        """The consultation if it belongs to `organisme_id`; None otherwise."""
        statement = select(ConsultationRow).where(
            ConsultationRow.id == consultation_id, ConsultationRow.organisme_id == organisme_id
        )
        row = await self._read_one(statement)
        if row is None:
            return None
        return ConsultationRecord(
            id=row.id,
            organisme_id=row.organisme_id,
            type=row.type,  # the table's CHECK constraint keeps it within TypeConsultation
            statut=row.statut,
            cree_le=row.cree_le,
            client_id=row.client_id,
            agent_id=row.agent_id,
            dossier_ref=row.dossier_ref,
            demandeur_pseudonyme=row.demandeur_pseudonyme,
            appels_fournisseurs=tuple(AppelFournisseur(**appel) for appel in row.appels_fournisseurs),
        )

    async def lister(
        self, organisme_id: str, filtre: FiltreJournal, *, limite: int, curseur: str | None = None
    ) -> PageJournal:
        """One page of the organisme's own journal (see app/services/journal/lecture.py)."""

        try:
            async with asyncio.timeout(self._timeout):
                return await lister(self._engine, organisme_id, filtre, limite=limite, curseur=curseur)
        except DATABASE_ERRORS as e:
            logger.error("journal.read_failed", error_type=type(e).__name__)
            raise JournalUnavailable("Le journal d'audit est indisponible : lecture impossible.") from e

    async def ping(self, *, timeout_seconds: float | None = None) -> bool:
        """Whether the database answers (for `/readyz`); never raises."""
        try:
            async with (
                asyncio.timeout(timeout_seconds or self._timeout),
                self._engine.connect() as connection,
            ):
                await connection.execute(text("SELECT 1"))
        except DATABASE_ERRORS:
            return False
        return True

    async def _read_one(self, statement: Any) -> Any:
        try:
            async with asyncio.timeout(self._timeout), self._engine.connect() as connection:
                result = await connection.execute(statement)
                return result.first()
        except DATABASE_ERRORS as e:
            logger.error("journal.read_failed", error_type=type(e).__name__)
            raise JournalUnavailable("Le journal d'audit est indisponible : lecture impossible.") from e


def _echouer(ecriture: _Ecriture, erreur: BaseException) -> None:
    if not ecriture.resultat.done():
        ecriture.resultat.set_exception(erreur)
