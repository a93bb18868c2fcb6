"""Reading an organisme's decisions back in bulk (issue 17), on SQLite and PostgreSQL: pages of a
bounded size, oldest first, only the organisme's own, decrypted one at a time."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from cryptography.fernet import Fernet
from pydantic_core import from_json
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from app.db.tables import DecisionRow
from app.rules.dates import DatePartielle
from app.rules.facts import Fait, FaitIndisponible, Faits, MembreFoyer, Source
from app.rules.serialization import faits_vers_dict
from app.services.impact.rejeu import LecteurFaits, faits_journalises, verdict_compact, verdict_journalise
from app.services.journal import Journal
from app.services.journal.chiffrement import PREFIXE_SCELLE, TrousseauJournal, contenu_clair
from app.services.journal.rejeu import rejeu_de, resultats_de, texte_rejeu
from app.services.journal.relecture import RelectureJournal
from tests.services.impact.journal_exemple import (
    REGLEMENT_DEMO,
    TROUSSEAU,
    enregistrements,
    foyers,
    journaliser,
    sans_copie_de_rejeu,
)
from tests.services.journal.test_ecriture import _consultation, _decision

DEBUT = datetime(2026, 3, 1, tzinfo=UTC)
#: The result `_decision` journals, in the compact form: [dispositif, libelle, statut, montant,
#: tranche, decisives].
_RESULTAT = ["aide-alimentaire", None, "eligible", None, None, None]


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
    assert all(d.rejeu is not None and resultats_de(d.rejeu) == [_RESULTAT] for d in lues)
    # Records without facts have no compact copy: read whole, reduced to what a replay reads.
    assert all(d.rejeu is not None and d.rejeu["connus"] is None for d in lues)


async def test_clear_rows_are_read_whole_and_a_lost_key_gives_none(journal: Journal) -> None:
    organisme = f"org-{uuid.uuid4().hex[:8]}"
    [en_clair] = await _ecrire(journal, organisme, 1)  # the fixture's journal writes in clear
    fin = DEBUT + timedelta(days=1)
    relecture = RelectureJournal(journal.engine, TROUSSEAU)
    [lue] = [d async for page in relecture.pages(organisme, DEBUT, fin) for d in relecture.ouvrir(page)]
    assert lue.id == en_clair
    assert lue.rejeu is not None
    assert resultats_de(lue.rejeu) == [_RESULTAT]
    await _ecrire(Journal(journal.engine, trousseau=TROUSSEAU), organisme + "-b", 1)
    sans_cle = RelectureJournal(journal.engine, None)
    pages = sans_cle.pages(organisme + "-b", DEBUT, fin)
    [illisible] = [d async for page in pages for d in sans_cle.ouvrir(page)]
    assert illisible.rejeu is None


async def _copies(engine: AsyncEngine, ids: list[uuid.UUID]) -> list[Any]:
    """(compact copy, whole record, key) of each decision."""
    async with engine.connect() as connection:
        return list(
            (
                await connection.execute(
                    select(DecisionRow.rejeu, DecisionRow.contenu_chiffre, DecisionRow.cle_journal).where(
                        DecisionRow.id.in_(ids)
                    )
                )
            ).all()
        )


def _faits_varies() -> dict[str, Any]:
    """Facts of every kind the journal keeps: partial dates, people, a stale cached source with its
    fetch time, an unavailable fact with and without a source, a fact the catalogue does not know."""
    cnaf = Source("CNAF", True, "2026-02", datetime(2026, 3, 1, 9, 30, tzinfo=UTC), True, "req-7", True)
    faits = Faits(
        connus={
            "quotient_familial_caf": Fait(Decimal("612.50"), cnaf),
            "allocataires": Fait((MembreFoyer(DatePartielle.parse("1980-05")),), cnaf),
            "enfants": Fait((MembreFoyer(DatePartielle.parse("2015-02-03"), "F"),), cnaf),
            "date_naissance_demandeur": Fait(DatePartielle.parse("1980-05"), Source("demande", False)),
            "commune_residence": Fait("08480", Source("demande", False)),
        },
        indisponibles={
            "revenu_fiscal_de_reference": FaitIndisponible(
                "personne-introuvable", "Le foyer fiscal est introuvable.", Source("DGFIP", True)
            ),
            "beneficiaire_rsa": FaitIndisponible("non-fourni", "Donnée non fournie."),
        },
    )
    brut = faits_vers_dict(faits)
    brut["connus"]["fait_d_une_autre_version"] = {"valeur": 3, "source": brut["connus"]["enfants"]["source"]}
    return brut


async def test_the_compact_copy_says_what_the_whole_record_says(journal: Journal) -> None:
    """Written at decision time beside the record: the same facts and verdicts once read back."""
    engine = journal.engine
    organisme = f"org-{uuid.uuid4().hex[:8]}"
    ids = await journaliser(engine, foyers(25, graine=5), organisme)
    consultation, decision = enregistrements(foyers(1, graine=6)[0], organisme, "D-varie")
    decision = replace(decision, contenu={**decision.contenu, "faits": _faits_varies()})
    await Journal(engine, trousseau=TROUSSEAU).enregistrer(consultation, decision)
    ids.append(decision.id)
    lignes = await _copies(engine, ids)
    assert len(lignes) == len(ids)
    lecteur, catalogue = LecteurFaits(), REGLEMENT_DEMO.catalogue
    for ligne in lignes:
        contenu = contenu_clair(TROUSSEAU.dechiffrer(ligne.cle_journal, ligne.contenu_chiffre) or "")
        assert ligne.rejeu is not None
        assert ligne.rejeu != texte_rejeu(contenu)  # encrypted
        rejeu = from_json(TROUSSEAU.dechiffrer(ligne.cle_journal, ligne.rejeu) or "")
        assert rejeu == rejeu_de(contenu)
        assert lecteur.faits(rejeu, catalogue) == faits_journalises(contenu, catalogue)
        assert [verdict_compact(r) for r in resultats_de(rejeu)] == [
            verdict_journalise(r) for r in contenu["resultats"]
        ]
        assert len(ligne.rejeu) < len(ligne.contenu_chiffre) / 5
    # The same reader, again (its remembered sources and values), gives the same facts.
    premiere = from_json(TROUSSEAU.dechiffrer(lignes[0].cle_journal, lignes[0].rejeu) or "")
    assert lecteur.faits(premiere, catalogue) == LecteurFaits().faits(premiere, catalogue)


async def test_a_key_rotation_moves_the_compact_copy_and_fills_it_in_for_older_rows(journal: Journal) -> None:
    engine = journal.engine
    organisme = f"org-{uuid.uuid4().hex[:8]}"
    k1, k2 = ("k1", Fernet.generate_key().decode()), ("k2", Fernet.generate_key().decode())
    liste = foyers(6, graine=8)
    ids = await journaliser(engine, liste, organisme, trousseau=TrousseauJournal([k1]))
    await sans_copie_de_rejeu(engine, ids[:3])
    rapport = await Journal(engine, trousseau=TrousseauJournal([k2, k1])).rechiffrer()
    assert rapport.rechiffrees >= len(ids)
    # k1 dropped: every row, the older ones included, replays from its compact copy under k2.
    seule_k2 = TrousseauJournal([k2])
    lignes = await _copies(engine, ids)
    assert {ligne.cle_journal for ligne in lignes} == {"k2"}
    assert all(ligne.rejeu.startswith(PREFIXE_SCELLE) for ligne in lignes)  # sealed anew (AES-GCM)
    for ligne in lignes:
        contenu = contenu_clair(seule_k2.dechiffrer("k2", ligne.contenu_chiffre) or "")
        assert from_json(seule_k2.dechiffrer("k2", ligne.rejeu) or "") == rejeu_de(contenu)
    relecture = RelectureJournal(engine, seule_k2)
    fin = datetime(2027, 1, 1, tzinfo=UTC)
    lues = [
        d
        async for page in relecture.pages(organisme, DEBUT - timedelta(days=400), fin)
        for d in relecture.ouvrir(page)
    ]
    assert sorted(d.id for d in lues) == sorted(ids)
    assert all(d.rejeu is not None and d.rejeu["connus"] for d in lues)
