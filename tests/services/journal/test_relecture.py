"""Reading an organisme's decisions back in bulk (issue 17), on SQLite and PostgreSQL: pages of a
bounded size, oldest first, only the organisme's own, decrypted one at a time."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from cryptography.fernet import Fernet
from pydantic_core import from_json, to_json
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from app.db.tables import DecisionRow
from app.rules.dates import DatePartielle
from app.rules.facts import Fait, FaitIndisponible, Faits, MembreFoyer, Source
from app.rules.serialization import faits_vers_dict
from app.services.impact.rejeu import LecteurFaits, faits_journalises, verdict_compact, verdict_journalise
from app.services.journal import Journal
from app.services.journal import relecture as relecture_module
from app.services.journal.chiffrement import PREFIXE_SCELLE, TrousseauJournal, contenu_clair
from app.services.journal.rejeu import (
    FS,
    copie_de,
    copie_de_texte,
    rejeu_de,
    resultats_de,
    texte_rejeu,
)
from app.services.journal.relecture import RelectureJournal
from tests.services.impact.journal_exemple import (
    REGLEMENT_DEMO,
    TROUSSEAU,
    alterer_copie,
    copies_anciennes,
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
    assert all(d.rejeu is not None and d.rejeu.faits is None for d in lues)


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


def contenu_clair_texte(ligne: Any) -> str:
    return TROUSSEAU.dechiffrer(ligne.cle_journal, ligne.contenu_chiffre) or ""


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
        rejeu = copie_de_texte(TROUSSEAU.dechiffrer(ligne.cle_journal, ligne.rejeu) or "")
        assert rejeu == copie_de(rejeu_de(contenu))
        assert lecteur.faits(rejeu, catalogue) == faits_journalises(contenu, catalogue)
        assert [verdict_compact(r) for r in resultats_de(rejeu)] == [
            verdict_journalise(r) for r in contenu["resultats"]
        ]
        # A fifth of the record at most; stored, a quarter (hexadecimal: a third longer than base64).
        assert len(texte_rejeu(contenu) or "") < len(contenu_clair_texte(ligne)) / 5
        assert len(ligne.rejeu) < len(ligne.contenu_chiffre) / 4
    # The same reader, again (its remembered sources and values), gives the same facts.
    premiere = copie_de_texte(TROUSSEAU.dechiffrer(lignes[0].cle_journal, lignes[0].rejeu) or "")
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
        assert copie_de_texte(seule_k2.dechiffrer("k2", ligne.rejeu) or "") == copie_de(rejeu_de(contenu))
    relecture = RelectureJournal(engine, seule_k2)
    fin = datetime(2027, 1, 1, tzinfo=UTC)
    lues = [
        d
        async for page in relecture.pages(organisme, DEBUT - timedelta(days=400), fin)
        for d in relecture.ouvrir(page)
    ]
    assert sorted(d.id for d in lues) == sorted(ids)
    assert all(d.rejeu is not None and d.rejeu.faits for d in lues)


def test_format_2_reads_as_format_1_did() -> None:
    """A record's copy in format 2 (written now) and in format 1 (its JSON, written before) read
    the same: the same results text, the same facts for a catalogue — and the facts those of the
    whole record (partial dates, people, a stale cached source, unavailable facts with and without
    a source, a fact the catalogue does not know, a fact without a source it does not know)."""
    _, decision = enregistrements(foyers(1, graine=6)[0], "org", "D-varie")
    faits = _faits_varies()
    faits["connus"]["autre_fait_sans_source"] = {"valeur": [1, {"a": None}], "source": None}
    contenu = {**decision.contenu, "faits": faits}
    texte = texte_rejeu(contenu)
    assert texte is not None
    assert texte.startswith("2" + FS)
    copie = copie_de_texte(texte)
    ancienne = copie_de_texte(to_json(rejeu_de(contenu)).decode())
    assert copie == ancienne
    assert resultats_de(copie) == from_json(rejeu_de(contenu)["resultats"])
    assert len(resultats_de(copie)) == len(contenu["resultats"]) > 0
    catalogue = REGLEMENT_DEMO.catalogue
    lecteur = LecteurFaits()
    attendus = faits_journalises(contenu, catalogue)
    assert lecteur.faits(copie, catalogue) == attendus
    assert lecteur.faits(ancienne, catalogue) == attendus  # and again, from what it remembers
    assert copie.noms_collectes() == set(faits["connus"]) | set(faits["indisponibles"])
    # Without facts: nothing to replay, said the same way in both formats.
    sans_faits = {k: v for k, v in contenu.items() if k != "faits"}
    assert texte_rejeu(sans_faits) is None
    assert copie_de(rejeu_de(sans_faits)).faits is None
    with pytest.raises(ValueError, match="sans ses faits"):
        lecteur.faits(copie_de(rejeu_de(sans_faits)), catalogue)


def test_a_known_fact_without_source_or_an_unknown_format_is_refused() -> None:
    _, decision = enregistrements(foyers(1, graine=6)[0], "org", "D")
    contenu = dict(decision.contenu)
    contenu["faits"] = {
        "connus": {"commune_residence": {"valeur": "08480", "source": None}},
        "indisponibles": {},
    }
    copie = copie_de_texte(texte_rejeu(contenu) or "")
    with pytest.raises(ValueError, match="fait sans source : commune_residence"):
        LecteurFaits().faits(copie, REGLEMENT_DEMO.catalogue)
    for texte in ("3" + FS + "[]" + FS + "" + FS + "[]", "2" + FS + "[]", "[]"):
        with pytest.raises(ValueError, match="format inconnu"):
            copie_de_texte(texte)


async def test_copies_of_older_formats_are_read_and_sealed_anew(journal: Journal) -> None:
    """Format 1 copies (sealed `a1.`, or Fernet tokens before) read as format 2 ones do; a rotation
    under the same current key still seals them anew in format 2."""
    engine = journal.engine
    organisme = f"org-{uuid.uuid4().hex[:8]}"
    ids = await journaliser(engine, foyers(6, graine=9), organisme)
    relecture = RelectureJournal(engine, TROUSSEAU)
    fin = datetime(2027, 1, 1, tzinfo=UTC)

    async def lues() -> dict[uuid.UUID, Any]:
        pages = relecture.pages(organisme, DEBUT - timedelta(days=400), fin)
        return {d.id: d.rejeu async for page in pages for d in relecture.ouvrir(page)}

    actuelles = await lues()
    assert all(c is not None and c.faits for c in actuelles.values())
    await copies_anciennes(engine, ids[:2], "a1")
    await copies_anciennes(engine, ids[2:4], "fernet")
    lignes = await _copies(engine, ids)
    assert sorted(ligne.rejeu[:3] for ligne in lignes) == ["a1.", "a1.", "a2.", "a2.", "gAA", "gAA"]
    assert await lues() == actuelles
    rapport = await Journal(engine, trousseau=TROUSSEAU).rechiffrer()
    assert rapport.rechiffrees == 4  # the four older copies, under the same key
    assert all(ligne.rejeu.startswith(PREFIXE_SCELLE) for ligne in await _copies(engine, ids))
    assert await lues() == actuelles
    assert (await Journal(engine, trousseau=TROUSSEAU).rechiffrer()).rechiffrees == 0


async def test_an_altered_copy_is_told_apart_from_a_lost_key(journal: Journal) -> None:
    engine = journal.engine
    organisme = f"org-{uuid.uuid4().hex[:8]}"
    ids = await journaliser(engine, foyers(3, graine=10), organisme)
    await alterer_copie(engine, ids[0])
    # Relabelled to the older format: the prefix is associated data, it does not open either.
    [ligne] = await _copies(engine, [ids[1]])
    async with engine.begin() as connection:
        await connection.execute(
            update(DecisionRow).where(DecisionRow.id == ids[1]).values(rejeu="a1." + ligne.rejeu[3:])
        )
    fin = datetime(2027, 1, 1, tzinfo=UTC)
    for trousseau, alterees in (
        (TROUSSEAU, {ids[0], ids[1]}),
        (TrousseauJournal([("autre", Fernet.generate_key().decode())]), set()),
    ):
        relecture = RelectureJournal(engine, trousseau)
        pages = relecture.pages(organisme, DEBUT - timedelta(days=400), fin)
        decisions = [d async for page in pages for d in relecture.ouvrir(page)]
        assert {d.id for d in decisions if d.alteree} == alterees
        assert all(d.rejeu is None for d in decisions if d.alteree)
    # Its whole record is read instead.
    decision = next(d for d in decisions if d.id == ids[0])
    entiere = await RelectureJournal(engine, TROUSSEAU).relire_entiere(organisme, decision)
    assert entiere is not None
    assert entiere.faits
    assert await RelectureJournal(engine, TROUSSEAU).relire_entiere("autre-organisme", decision) is None


async def test_the_drivers_rows_read_as_sqlalchemys(journal: Journal) -> None:
    """`pages` reads through the driver (asyncpg, aiosqlite): the same rows, typed alike, in the same
    pages and order as through SQLAlchemy (`pages_sqlalchemy`) — compact copies of format 2, of
    format 1 (`a1.`, Fernet), altered or malformed, rows without a copy, rows in clear — and never
    another organisme's."""
    engine = journal.engine
    organisme, autre = f"org-{uuid.uuid4().hex[:8]}", f"org-{uuid.uuid4().hex[:8]}"
    ids = await journaliser(engine, foyers(9, graine=11), organisme)
    autres = await journaliser(engine, foyers(2, graine=12), autre)
    en_clair = await _ecrire(journal, organisme, 2)  # the fixture's journal writes in clear
    await copies_anciennes(engine, ids[:2], "a1")
    await copies_anciennes(engine, ids[2:4], "fernet")
    await sans_copie_de_rejeu(engine, [ids[4]])
    await alterer_copie(engine, ids[5])
    [sixieme, septieme] = await _copies(engine, [ids[6]]) + await _copies(engine, [ids[7]])
    async with engine.begin() as connection:
        for decision_id, malforme in ((ids[6], sixieme.rejeu[:-1]), (ids[7], sixieme.rejeu[:-2] + "zz")):
            await connection.execute(
                update(DecisionRow).where(DecisionRow.id == decision_id).values(rejeu=malforme)
            )
    assert septieme.rejeu.startswith(PREFIXE_SCELLE)
    relecture = RelectureJournal(engine, TROUSSEAU, lot=4)
    du, au = DEBUT - timedelta(days=400), datetime(2027, 1, 1, tzinfo=UTC)

    par_pilote = [page async for page in relecture.pages(organisme, du, au)]
    reference = [page async for page in relecture.pages_sqlalchemy(organisme, du, au)]
    assert [len(page) for page in par_pilote] == [len(page) for page in reference] == [4, 4, 3]
    lignes, attendues = [li for page in par_pilote for li in page], [li for page in reference for li in page]
    assert {li.id for li in lignes} == set(ids + en_clair)
    assert not {li.id for li in lignes} & set(autres)

    assert lignes == attendues
    for ligne, attendue in zip(lignes, attendues, strict=True):
        assert [type(v) for v in ligne[:7]] == [type(v) for v in attendue[:7]]
        assert ligne.cree_le.tzinfo == attendue.cree_le.tzinfo == UTC
    assert [relecture.dechiffrer_copie(li) for li in lignes] == [
        relecture.dechiffrer_copie(li) for li in attendues
    ]
    decisions = list(relecture.ouvrir(lignes))
    assert decisions == list(relecture.ouvrir(attendues))
    assert {d.id for d in decisions if d.alteree} == {ids[5], ids[6], ids[7]}
    assert all(d.rejeu is not None for d in decisions if not d.alteree)
    # Without the ring, nothing opens and nothing is told altered, either way.
    sans_cle = RelectureJournal(engine, None)
    assert list(sans_cle.ouvrir(lignes)) == list(sans_cle.ouvrir(attendues))


async def test_another_driver_reads_through_sqlalchemy(
    journal: Journal, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A driver `pages` does not read directly: the same pages, through SQLAlchemy."""
    organisme = f"org-{uuid.uuid4().hex[:8]}"
    await _ecrire(Journal(journal.engine, trousseau=TROUSSEAU), organisme, 5)
    relecture = RelectureJournal(journal.engine, TROUSSEAU, lot=2)
    fin = DEBUT + timedelta(days=1)
    par_pilote = [page async for page in relecture.pages(organisme, DEBUT, fin)]
    monkeypatch.setattr(relecture_module, "_LECTURES", {})
    assert [page async for page in relecture.pages(organisme, DEBUT, fin)] == par_pilote
    assert [len(page) for page in par_pilote] == [2, 2, 1]
