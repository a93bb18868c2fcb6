"""On SQLite, the compact replay copy stored before the whole record (issue 17, speed).

SQLite stores a row as one record, its columns in the table's order, a long value spilling into a
chain of overflow pages. `rejeu` (≈ 4 kB, added by 0007, so last) came after `contenu_chiffre` (the
whole encrypted record, ≈ 33 kB): reading the copy meant following the record's ≈ 9 overflow pages,
one page read each — most of what a row cost an impact replay (17.5 µs of CPU per row, measured on
5 000 rows). The table is rebuilt with `cle_journal` and `rejeu` before `contenu` and
`contenu_chiffre` (Alembic's batch mode: new table, rows copied, old table dropped, indexes and
constraints made again under their names; nothing references `decisions`, so dropping it cascades
nowhere). Every row and value is kept; only the storage order changes.

PostgreSQL keeps long values apart from the row (TOAST): nothing to do there. The downgrade leaves
the order as it is (it carries no meaning).

Revision ID: 0008_journal_rejeu_en_tete
Revises: 0007_journal_rejeu
Create Date: 2026-12-04
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0008_journal_rejeu_en_tete"
down_revision: str | Sequence[str] | None = "0007_journal_rejeu"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ORDRE = (
    "id",
    "consultation_id",
    "organisme_id",
    "cree_le",
    "date_reference",
    "dossier_ref",
    "reglement_id",
    "reglement_version",
    "reglement_empreinte",
    "cle_journal",
    "rejeu",
    "contenu",
    "contenu_chiffre",
)


def upgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    with op.batch_alter_table("decisions", recreate="always", partial_reordering=[ORDRE]):
        pass


def downgrade() -> None:
    """The order carries no meaning: nothing to undo."""
