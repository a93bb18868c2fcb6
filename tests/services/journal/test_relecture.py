"""Reading an organisme's decisions back in bulk (issue 17), on SQLite and PostgreSQL: pages of a
bounded size, oldest first, only the organisme's own, decrypted one at a time."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from app.services.journal import Journal
from app.services.journal.relecture import RelectureJournal
from tests.services.impact.journal_exemple import TROUSSEAU
from tests.services.journal.test_ecriture import _consultation, _decision

DEBUT = datetime(2026, 3, 1, tzinfo=UTC)


async def _ecrire(journal: Journal, organisme: str, nombre: int) -> list[uuid.UUID]:
    ids = []
    for rang in range(nombre):
        consultation = _consultation(organisme, cree_le=DEBUT + timedelta(hours=rang))
        decision = _decision(consultation, cree_le=consultation.cree_le)
        await journal.enregistrer(consultation, decision)
        ids.append(decision.id)
    return ids


async def test_pages_are_bounded_ordered_and_the_organismes_own(journal: Journal) -> None:
    mien, autre = f"org-{uuid.uuid4().hex[:8]}", f"org-{uuid.uuid4().hex[:8]}"
    chiffre = Journal(journal.engine, trousseau=TROUSSEAU)
    ids = await _ecrire(chiffre, mien, 7)
    await _ecrire(chiffre, autre, 3)
    relecture = RelectureJournal(journal.engine, TROUSSEAU, lot=3)
    fin = DEBUT + timedelta(days=1)
    assert await relecture.compter(mien, DEBUT, fin) == 7
    assert await relecture.compter(mien, DEBUT + timedelta(hours=2), DEBUT + timedelta(hours=4)) == 2
    pages = [list(relecture.ouvrir(page)) async for page in relecture.pages(mien, DEBUT, fin)]
    assert [len(p) for p in pages] == [3, 3, 1]
    lues = [d for page in pages for d in page]
    assert [d.id for d in lues] == ids  # oldest first, each once
    assert all(d.contenu is not None and d.contenu["resultats"][0]["valeur"] == "550.10" for d in lues)


async def test_clear_rows_are_read_whole_and_a_lost_key_gives_none(journal: Journal) -> None:
    organisme = f"org-{uuid.uuid4().hex[:8]}"
    [en_clair] = await _ecrire(journal, organisme, 1)  # the fixture's journal writes in clear
    fin = DEBUT + timedelta(days=1)
    relecture = RelectureJournal(journal.engine, TROUSSEAU)
    [lue] = [d async for page in relecture.pages(organisme, DEBUT, fin) for d in relecture.ouvrir(page)]
    assert lue.id == en_clair
    assert lue.contenu is not None
    assert lue.contenu["resultats"][0]["valeur"] == "550.10"
    await _ecrire(Journal(journal.engine, trousseau=TROUSSEAU), organisme + "-b", 1)
    sans_cle = RelectureJournal(journal.engine, None)
    pages = sans_cle.pages(organisme + "-b", DEBUT, fin)
    [illisible] = [d async for page in pages for d in sans_cle.ouvrir(page)]
    assert illisible.contenu is None
