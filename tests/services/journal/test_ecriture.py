"""The audit journal on SQLite and on the real PostgreSQL: one transaction per consultation and
decision, reads scoped by organisme, and `JournalUnavailable` — never a raw error — when it fails."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import pytest
import structlog
from prometheus_client import REGISTRY
from sqlalchemy import func, select

from app.db.engine import create_engine_from_url
from app.db.migrate import upgrade_database
from app.db.tables import ConsultationRow, DecisionRow
from app.errors import JournalUnavailable
from app.services.journal import (
    JOURNAL_UNAVAILABLE_DETAIL,
    AppelFournisseur,
    ConsultationRecord,
    DecisionRecord,
    Journal,
)

ORGANISME_A = "26999000800006"
ORGANISME_B = "21750001600019"
PSEUDONYME = "a" * 64


def _consultation(organisme_id: str = ORGANISME_A, **changes: object) -> ConsultationRecord:
    values: dict[str, object] = {
        "organisme_id": organisme_id,
        "type": "eligibilite",
        "statut": "succes",
        "client_id": "logiciel-ccas",
        "agent_id": "agent-42",
        "dossier_ref": "D-2026-00042",
        "demandeur_pseudonyme": PSEUDONYME,
        "appels_fournisseurs": (
            AppelFournisseur(
                endpoint="/v3/dss/quotient_familial/identite",
                fournisseur="api_particulier",
                issue="ok",
                request_id="req-1",
                statut_http=200,
                depuis_cache=False,
                duree_ms=12.5,
            ),
        ),
    }
    values.update(changes)
    return ConsultationRecord(**values)  # type: ignore[arg-type]


def _decision(consultation: ConsultationRecord, **changes: object) -> DecisionRecord:
    values: dict[str, object] = {
        "consultation_id": consultation.id,
        "organisme_id": consultation.organisme_id,
        "date_reference": date(2026, 11, 26),
        "dossier_ref": consultation.dossier_ref,
        "reglement_id": "ccas-demo",
        "reglement_version": "2026.1",
        "reglement_empreinte": "sha256:" + "0" * 64,
        "contenu": {
            "id": "x",
            "resultats": [{"dispositif": "aide-alimentaire", "statut": "eligible", "valeur": "550.10"}],
        },
    }
    values.update(changes)
    return DecisionRecord(**values)  # type: ignore[arg-type]


async def _count(
    journal: Journal, table: type[ConsultationRow] | type[DecisionRow], row_id: uuid.UUID
) -> int:
    async with journal.engine.connect() as connection:
        statement = select(func.count()).select_from(table).where(table.id == row_id)
        return int((await connection.execute(statement)).scalar_one())


async def test_decision_round_trips_with_its_content(journal: Journal) -> None:
    consultation = _consultation()
    decision = _decision(consultation)
    await journal.enregistrer(consultation, decision)

    stored = await journal.lire_decision(ORGANISME_A, decision.id)
    assert stored == decision
    assert stored is not None
    assert stored.cree_le.tzinfo is not None


async def test_consultation_round_trips_with_its_upstream_calls(journal: Journal) -> None:
    consultation = _consultation()
    await journal.enregistrer(consultation)
    assert await journal.lire_consultation(ORGANISME_A, consultation.id) == consultation


async def test_consultation_without_decision_is_recorded(journal: Journal) -> None:
    consultation = _consultation(statut="echec", type="donnees", appels_fournisseurs=())
    await journal.enregistrer(consultation)
    assert await _count(journal, ConsultationRow, consultation.id) == 1


async def test_timestamps_are_stored_in_utc_whatever_the_zone_given(journal: Journal) -> None:
    paris_winter = timezone(timedelta(hours=1))
    consultation = _consultation(cree_le=datetime(2026, 11, 26, 10, 0, tzinfo=paris_winter))
    await journal.enregistrer(consultation)
    stored = await journal.lire_consultation(ORGANISME_A, consultation.id)
    assert stored is not None
    assert stored.cree_le == datetime(2026, 11, 26, 9, 0, tzinfo=UTC)
    assert stored.cree_le.utcoffset() == timedelta(0)


async def test_decimals_in_content_are_kept_exact_as_text(journal: Journal) -> None:
    consultation = _consultation()
    decision = _decision(consultation, contenu={"seuil": Decimal("600.00"), "le": date(2026, 10, 1)})
    await journal.enregistrer(consultation, decision)
    stored = await journal.lire_decision(ORGANISME_A, decision.id)
    assert stored is not None
    assert stored.contenu == {"seuil": "600.00", "le": "2026-10-01"}


async def test_another_organisme_cannot_read_the_decision(journal: Journal) -> None:
    consultation = _consultation()
    decision = _decision(consultation)
    await journal.enregistrer(consultation, decision)
    assert await journal.lire_decision(ORGANISME_B, decision.id) is None
    assert await journal.lire_consultation(ORGANISME_B, consultation.id) is None
    assert await journal.lire_decision(ORGANISME_A, uuid.uuid4()) is None


async def test_failing_decision_insert_rolls_back_the_consultation(journal: Journal) -> None:
    first = _consultation()
    decision = _decision(first)
    await journal.enregistrer(first, decision)

    # Same decision id again: the second INSERT violates the primary key after the consultation row
    # of the same transaction was written; that row must not survive.
    second = _consultation()
    clash = _decision(second, id=decision.id)
    with pytest.raises(JournalUnavailable) as raised:
        await journal.enregistrer(second, clash)

    assert raised.value.detail == JOURNAL_UNAVAILABLE_DETAIL
    assert await _count(journal, ConsultationRow, second.id) == 0
    assert await _count(journal, ConsultationRow, first.id) == 1


async def test_decision_of_another_consultation_is_a_programming_error(journal: Journal) -> None:
    consultation = _consultation()
    with pytest.raises(ValueError, match="consultation"):
        await journal.enregistrer(consultation, _decision(_consultation()))
    assert await _count(journal, ConsultationRow, consultation.id) == 0


async def test_ping_answers_true_when_the_database_answers(journal: Journal) -> None:
    assert await journal.ping() is True


def test_naive_timestamps_and_oversized_references_are_refused() -> None:
    with pytest.raises(ValueError, match="fuseau"):
        _consultation(cree_le=datetime(2026, 11, 26, 10, 0))  # noqa: DTZ001 - the point of the test
    with pytest.raises(ValueError, match="dossier_ref"):
        _consultation(dossier_ref="D" * 129)


@pytest.mark.parametrize(
    "url",
    [
        pytest.param("postgresql://postgres@127.0.0.1:1/journal", id="postgresql-closed-port"),
        pytest.param("sqlite:///{tmp}/not-migrated.db", id="sqlite-without-tables"),
    ],
)
async def test_unreachable_database_raises_journal_unavailable_and_logs_no_personal_data(
    url: str, tmp_path: Path
) -> None:
    engine = create_engine_from_url(url.format(tmp=tmp_path))
    journal = Journal(engine)
    consultation = _consultation()
    try:
        with structlog.testing.capture_logs() as logs, pytest.raises(JournalUnavailable) as raised:
            await journal.enregistrer(consultation, _decision(consultation))
        with pytest.raises(JournalUnavailable):
            await journal.lire_decision(ORGANISME_A, uuid.uuid4())
    finally:
        await engine.dispose()

    assert raised.value.status == 503
    assert raised.value.__cause__ is not None
    assert [entry["event"] for entry in logs] == ["journal.write_failed"]
    logged = repr(logs)
    for secret in (PSEUDONYME, "D-2026-00042", "agent-42", "550.10"):
        assert secret not in logged


@pytest.mark.integration
async def test_ping_answers_false_when_postgresql_is_unreachable() -> None:
    engine = create_engine_from_url("postgresql://postgres@127.0.0.1:1/journal")
    try:
        assert await Journal(engine).ping() is False
    finally:
        await engine.dispose()


@pytest.mark.integration
async def test_hung_database_times_out_into_journal_unavailable(postgres_url: str) -> None:
    engine = create_engine_from_url(postgres_url)
    journal = Journal(engine, timeout_seconds=0.2)
    consultation = _consultation()
    try:
        # Another session holds the table: the journal's INSERT would wait for as long as it does.
        async with engine.connect() as blocker:
            await blocker.exec_driver_sql("LOCK TABLE consultations IN ACCESS EXCLUSIVE MODE")
            with pytest.raises(JournalUnavailable):
                await journal.enregistrer(consultation)
            await blocker.rollback()
        assert await _count(journal, ConsultationRow, consultation.id) == 0
        # The pool recovers: the next write goes through.
        await journal.enregistrer(_consultation())
    finally:
        await engine.dispose()


class _Transactions:
    """How many journal transactions committed since it was made (the batch-size histogram's count)."""

    def __init__(self) -> None:
        self._debut = self._total()

    @staticmethod
    def _total() -> float:
        return REGISTRY.get_sample_value("eg_journal_lot_enregistrements_count") or 0.0

    def __call__(self) -> int:
        return int(self._total() - self._debut)


async def test_concurrent_writes_share_transactions_and_all_commit(journal: Journal) -> None:
    transactions = _Transactions()
    consultations = [_consultation() for _ in range(40)]

    await asyncio.gather(*(journal.enregistrer(c, _decision(c)) for c in consultations))

    assert 1 <= transactions() < len(consultations)  # grouped: fewer transactions than callers
    for consultation in consultations:
        assert await _count(journal, ConsultationRow, consultation.id) == 1


async def test_a_batch_never_exceeds_its_bound(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'journal.db'}"
    await asyncio.to_thread(upgrade_database, url)
    engine = create_engine_from_url(url)
    journal = Journal(engine, batch_max=4)
    transactions = _Transactions()
    consultations = [_consultation() for _ in range(10)]
    try:
        await asyncio.gather(*(journal.enregistrer(c) for c in consultations))
        assert transactions() >= 3  # 10 records, at most 4 per transaction
        for consultation in consultations:
            assert await _count(journal, ConsultationRow, consultation.id) == 1
    finally:
        await engine.dispose()


async def test_a_failing_batch_fails_every_caller_and_commits_none_of_it(journal: Journal) -> None:
    first = _consultation()
    existing = _decision(first)
    await journal.enregistrer(first, existing)

    # Written together with a record whose decision id clashes: the whole transaction rolls back,
    # and no caller of that batch may believe its record was kept.
    batch = [_consultation() for _ in range(8)]
    decisions = [_decision(c, id=existing.id) if i == 4 else _decision(c) for i, c in enumerate(batch)]
    outcomes = await asyncio.gather(
        *(journal.enregistrer(c, d) for c, d in zip(batch, decisions, strict=True)), return_exceptions=True
    )

    assert all(isinstance(o, JournalUnavailable) for o in outcomes), outcomes
    for consultation in batch:
        assert await _count(journal, ConsultationRow, consultation.id) == 0
    # The writer goes on: the next record commits.
    after = _consultation()
    await journal.enregistrer(after, _decision(after))
    assert await _count(journal, ConsultationRow, after.id) == 1


async def test_a_caller_that_gave_up_before_its_batch_is_not_written(journal: Journal) -> None:
    consultation = _consultation()
    attente = asyncio.ensure_future(journal.enregistrer(consultation))
    await asyncio.sleep(0)  # the caller has queued its record; the writer has not run yet
    assert not attente.done()
    attente.cancel()  # before the writer took it: nothing acknowledged, nothing written
    with pytest.raises(asyncio.CancelledError):
        await attente
    suivante = _consultation()
    await journal.enregistrer(suivante)
    assert await _count(journal, ConsultationRow, consultation.id) == 0
    assert await _count(journal, ConsultationRow, suivante.id) == 1
