"""The règlements an organisme has decided with, kept whole (issue 17).

A decision names its règlement by id, version and fingerprint; the organisme's file moves on. Each
règlement a worker loads is archived once (organisme, fingerprint), so that a past decision can be
replayed under the very text it was decided with (`POST /v1/simulations/impact`).
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


async def archiver(engine: AsyncEngine, organisme_id: str, reglement: Reglement, texte: str) -> None:
    """Keep `texte` (which parsed into `reglement`) unless this fingerprint is already kept.

    Concurrent workers loading the same règlement insert the same row: the second does nothing."""
    valeurs = {
        "organisme_id": organisme_id,
        "empreinte": reglement.empreinte,
        "reglement_id": reglement.id,
        "version": reglement.version,
        "texte": texte,
        "archive_le": datetime.now(UTC),
    }
    insert = insert_pg if engine.dialect.name == "postgresql" else insert_sqlite
    statement = insert(ReglementArchiveRow).values(**valeurs).on_conflict_do_nothing()
    async with engine.begin() as connection:
        await connection.execute(statement)


async def lire_archive(engine: AsyncEngine, organisme_id: str, empreinte: str) -> str | None:
    """The text of the organisme's règlement of that fingerprint, if it was archived."""
    statement = select(ReglementArchiveRow.texte).where(
        ReglementArchiveRow.organisme_id == organisme_id, ReglementArchiveRow.empreinte == empreinte
    )
    async with engine.connect() as connection:
        texte: str | None = (await connection.execute(statement)).scalar_one_or_none()
    return texte


def charger_avec_texte(chemin: Path) -> tuple[Reglement, str]:
    """`charger_reglement`, with the text it parsed (what the archive keeps)."""
    try:
        texte = chemin.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ReglementInvalide(str(chemin), None, "fichier illisible") from exc
    a_cote = chemin.with_name(chemin.name.removesuffix(".yaml") + ".cas.yaml")
    cas = a_cote.read_text(encoding="utf-8") if a_cote.is_file() and a_cote != chemin else None
    return lire_reglement(texte, str(chemin), cas_a_cote=cas), texte
