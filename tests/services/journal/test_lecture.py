"""Reading the journal back by organisme, and the retention purge (SQLite and the real PostgreSQL):
the purge removes exactly the consultations older than the limit, with their decisions, and says so."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select, text

from app.db.tables import ConsultationRow, DecisionRow
from app.services.journal import Journal
from app.services.journal.lecture import (
    CurseurInvalide,
    FiltreJournal,
    decoder_curseur,
    encoder_curseur,
    mois_avant,
    purger,
)
from app.services.journal.lock import PurgeEnCours, purge_lock
from tests.services.journal.test_ecriture import (
    ORGANISME_A,
    ORGANISME_B,
    _consultation,
    _decision,
)

MAINTENANT = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


@pytest.fixture
async def vide(journal: Journal) -> Journal:
    if journal.engine.dialect.name == "postgresql":  # the module's database is shared: start empty
        async with journal.engine.begin() as connection:
            await connection.execute(text("TRUNCATE decisions, consultations"))
    return journal


async def _ids(journal: Journal, table: type[ConsultationRow] | type[DecisionRow]) -> set[str]:
    async with journal.engine.connect() as connection:
        return {str(i) for i in (await connection.execute(select(table.id))).scalars()}


def test_months_are_calendar_months() -> None:
    assert mois_avant(MAINTENANT, 36) == datetime(2023, 11, 26, 12, 0, tzinfo=UTC)
    assert mois_avant(datetime(2026, 3, 31, tzinfo=UTC), 1) == datetime(2026, 2, 28, tzinfo=UTC)
    assert mois_avant(datetime(2028, 3, 31, tzinfo=UTC), 1) == datetime(2028, 2, 29, tzinfo=UTC)
    assert mois_avant(datetime(2026, 1, 15, tzinfo=UTC), 13) == datetime(2024, 12, 15, tzinfo=UTC)


# hypothesis bounds are naive datetimes; the test attaches UTC itself.
@given(st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1)), st.integers(0, 240))  # noqa: DTZ001
def test_months_before_never_goes_forward(instant: datetime, mois: int) -> None:
    aware = instant.replace(tzinfo=UTC)
    result = mois_avant(aware, mois)
    assert result <= aware
    assert (aware.year * 12 + aware.month) - (result.year * 12 + result.month) == mois


def test_cursor_round_trips_and_refuses_forgeries() -> None:
    consultation = _consultation()
    assert decoder_curseur(encoder_curseur(consultation.cree_le, consultation.id)) == (
        consultation.cree_le,
        consultation.id,
    )
    for forged in ("", "!!!", "YWJj", encoder_curseur(consultation.cree_le, consultation.id)[:-4]):
        with pytest.raises(CurseurInvalide):
            decoder_curseur(forged)


async def test_purge_removes_exactly_the_records_past_the_limit(vide: Journal) -> None:
    limite = mois_avant(MAINTENANT, 36)
    anciennes, recentes = [], []
    for age, organisme, avec_decision, type_ in [
        (timedelta(days=2000), ORGANISME_A, True, "eligibilite"),
        (timedelta(days=1200), ORGANISME_B, False, "donnees"),
        (timedelta(seconds=1), ORGANISME_A, True, "eligibilite"),  # one second past the limit
    ]:
        consultation = _consultation(organisme, cree_le=limite - age, type=type_)
        await vide.enregistrer(consultation, _decision(consultation) if avec_decision else None)
        anciennes.append(consultation)
    for age in (timedelta(0), timedelta(days=-1), timedelta(days=-900)):  # at the limit, or younger
        consultation = _consultation(cree_le=limite - age)
        await vide.enregistrer(consultation, _decision(consultation))
        recentes.append(consultation)

    simulation = await purger(vide.engine, limite, simulation=True)
    assert len(await _ids(vide, ConsultationRow)) == 6  # a dry run removes nothing

    rapport = await purger(vide.engine, limite)

    for r in (simulation, rapport):
        assert r.consultations_par_type == {"eligibilite": 2, "donnees": 1}
        assert r.consultations == 3
        assert r.decisions == 2
        assert r.plus_ancienne == limite - timedelta(days=2000)
        assert r.plus_recente == limite - timedelta(seconds=1)
    assert simulation.simulation
    assert not rapport.simulation
    assert await _ids(vide, ConsultationRow) == {str(c.id) for c in recentes}
    async with vide.engine.connect() as connection:
        restantes = set((await connection.execute(select(DecisionRow.consultation_id))).scalars())
    assert {str(i) for i in restantes} == {str(c.id) for c in recentes}
    again = await purger(vide.engine, limite)
    assert (again.consultations, again.decisions, again.plus_ancienne) == (0, 0, None)


async def test_a_purge_by_small_batches_removes_the_same_records(vide: Journal) -> None:
    limite = mois_avant(MAINTENANT, 36)
    anciennes = [_consultation(cree_le=limite - timedelta(days=40 + n)) for n in range(7)]
    recente = _consultation(cree_le=limite + timedelta(days=1))
    for consultation in [*anciennes, recente]:
        await vide.enregistrer(consultation, _decision(consultation))

    rapport = await purger(vide.engine, limite, lot=2)  # 4 transactions: 2 + 2 + 2 + 1

    assert (rapport.consultations, rapport.decisions) == (7, 7)
    assert await _ids(vide, ConsultationRow) == {str(recente.id)}
    async with vide.engine.connect() as connection:
        restantes = set((await connection.execute(select(DecisionRow.consultation_id))).scalars())
    assert {str(i) for i in restantes} == {str(recente.id)}


async def test_listing_is_scoped_by_organisme_and_paged_newest_first(vide: Journal) -> None:
    for n in range(5):
        for organisme in (ORGANISME_A, ORGANISME_B):
            consultation = _consultation(
                organisme, cree_le=MAINTENANT + timedelta(minutes=n), dossier_ref=f"D-{n}"
            )
            await vide.enregistrer(consultation, _decision(consultation))

    seen: list[str] = []
    curseur = None
    while True:
        page = await vide.lister(ORGANISME_A, FiltreJournal(), limite=2, curseur=curseur)
        seen += [e.dossier_ref or "" for e in page.entrees]
        assert all(e.resultats == (("aide-alimentaire", "eligible"),) for e in page.entrees)
        if page.curseur_suivant is None:
            break
        curseur = page.curseur_suivant
    assert seen == ["D-4", "D-3", "D-2", "D-1", "D-0"]

    periode = FiltreJournal(du=MAINTENANT + timedelta(minutes=1), au=MAINTENANT + timedelta(minutes=3))
    page = await vide.lister(ORGANISME_B, periode, limite=10)
    assert [e.dossier_ref for e in page.entrees] == ["D-2", "D-1"]


async def test_a_second_purge_is_refused_while_the_first_holds_the_lock(vide: Journal) -> None:
    consultation = _consultation(cree_le=mois_avant(MAINTENANT, 40))
    await vide.enregistrer(consultation, _decision(consultation))
    async with purge_lock(vide.engine):
        with pytest.raises(PurgeEnCours):
            await purger(vide.engine, mois_avant(MAINTENANT, 36))
        # A dry run only counts: it does not need the lock.
        assert (await purger(vide.engine, mois_avant(MAINTENANT, 36), simulation=True)).consultations == 1
    assert len(await _ids(vide, ConsultationRow)) == 1
    rapport = await purger(vide.engine, mois_avant(MAINTENANT, 36))  # released
    assert rapport.consultations == 1


async def test_purge_reports_its_progress_batch_by_batch(vide: Journal) -> None:
    for jours in range(5):
        consultation = _consultation(cree_le=mois_avant(MAINTENANT, 40) - timedelta(days=jours))
        await vide.enregistrer(consultation, _decision(consultation))
    etapes: list[tuple[int, int]] = []
    await purger(
        vide.engine, mois_avant(MAINTENANT, 36), lot=2, progression=lambda f, t: etapes.append((f, t))
    )
    assert etapes == [(2, 5), (4, 5), (5, 5)]
