"""What replaying a decision reads, kept beside its whole record (issue 17, speed).

`rejeu` holds the decision's facts and each aid's journaled verdict (status, amount, tranche, motif
codes) in a compact form, encrypted like `contenu_chiffre` under the key named by `cle_journal`
(in clear only when the whole record is): a replay reads ≈ 2 kB per decision instead of the ≈ 30 kB
record with its sentences. Rows written before stay NULL and are replayed from their whole record
(`journal rechiffrer` fills it in). The index by (organisme, date) gains the id: the order a replay
pages in.

Revision ID: 0007_journal_rejeu
Revises: 0006_campagnes
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007_journal_rejeu"
down_revision: str | Sequence[str] | None = "0006_campagnes"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("decisions") as batch:
        batch.add_column(sa.Column("rejeu", sa.Text(), nullable=True))
    # The replay's keyset order (organisme, cree_le, id) read straight from the index: without `id`
    # in it, each page sorted the rest of the period again (quadratic: 0.4 s a page at 100 000).
    op.create_index(
        "ix_decisions_organisme_id_cree_le_id", "decisions", ["organisme_id", "cree_le", "id"]
    )
    op.drop_index("ix_decisions_organisme_id_cree_le", table_name="decisions")


def downgrade() -> None:
    op.create_index("ix_decisions_organisme_id_cree_le", "decisions", ["organisme_id", "cree_le"])
    op.drop_index("ix_decisions_organisme_id_cree_le_id", table_name="decisions")
    with op.batch_alter_table("decisions") as batch:
        batch.drop_column("rejeu")
