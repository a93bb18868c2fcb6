"""The règlements an organisme has decided with, kept whole (issue 17).

A decision names its règlement by id, version and fingerprint; the organisme's file moves on. Each
règlement a worker loads is archived once (organisme, fingerprint), so that a past decision can be
replayed under the very text it was decided with (`POST /v1/simulations/impact`). The text is kept
encrypted with the journal's key ring, as the decisions are (a règlement's test cases may name
people); loading a version again re-encrypts its archive under the ring's current key.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as insert_pg
from sqlalchemy.dialects.sqlite import insert as insert_sqlite
from sqlalchemy.ext.asyncio import AsyncEngine

from app.db.tables import ReglementArchiveRow
from app.rules.loader import ReglementInvalide, lire_reglement
from app.rules.model import Reglement
from app.services.journal.chiffrement import TrousseauJournal


async def archiver(
    engine: AsyncEngine, organisme_id: str, reglement: Reglement, texte: str, trousseau: TrousseauJournal
) -> None:
    """Keep `texte` (which parsed into `reglement`), encrypted, unless this fingerprint is already
    kept under the ring's current key. Concurrent workers loading the same règlement write the
    same row: the second does nothing."""
    chiffre = trousseau.chiffrer(texte)
    valeurs = {
        "organisme_id": organisme_id,
        "empreinte": reglement.empreinte,
        "reglement_id": reglement.id,
        "version": reglement.version,
        "texte_chiffre": chiffre.jeton,
        "cle_journal": chiffre.cle,
        "archive_le": datetime.now(UTC),
    }
    insert = insert_pg if engine.dialect.name == "postgresql" else insert_sqlite
    statement = insert(ReglementArchiveRow).values(**valeurs)
    statement = statement.on_conflict_do_update(
        index_elements=[ReglementArchiveRow.organisme_id, ReglementArchiveRow.empreinte],
        set_={
            "texte_chiffre": statement.excluded.texte_chiffre,
            "cle_journal": statement.excluded.cle_journal,
        },
        where=ReglementArchiveRow.cle_journal != statement.excluded.cle_journal,
    )
    async with engine.begin() as connection:
        await connection.execute(statement)


async def lire_archive(
    engine: AsyncEngine, organisme_id: str, empreinte: str, trousseau: TrousseauJournal | None
) -> str | None:
    """The text of the organisme's règlement of that fingerprint, if it was archived (and a key of
    the ring still opens it)."""
    statement = select(ReglementArchiveRow.texte_chiffre, ReglementArchiveRow.cle_journal).where(
        ReglementArchiveRow.organisme_id == organisme_id, ReglementArchiveRow.empreinte == empreinte
    )
    async with engine.connect() as connection:
        ligne = (await connection.execute(statement)).first()
    if ligne is None or trousseau is None:
        return None
    return trousseau.dechiffrer(ligne.cle_journal, ligne.texte_chiffre)


def charger_avec_texte(chemin: Path) -> tuple[Reglement, str]:
    """`charger_reglement`, with the text it parsed (what the archive keeps)."""
    try:
        texte = chemin.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ReglementInvalide(str(chemin), None, "fichier illisible") from exc
    a_cote = chemin.with_name(chemin.name.removesuffix(".yaml") + ".cas.yaml")
    cas = a_cote.read_text(encoding="utf-8") if a_cote.is_file() and a_cote != chemin else None
    return lire_reglement(texte, str(chemin), cas_a_cote=cas), texte
