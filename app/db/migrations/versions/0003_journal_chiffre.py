"""The journal at rest (issue 13): a decision's content encrypted with the journal's key ring.

`contenu` keeps in clear what must survive the loss of every key (each aid's status); the whole
record, facts and certified data included, goes to `contenu_chiffre` (Fernet), under the key named
by `cle_journal`. Rows written before stay as they were until `journal rechiffrer` encrypts them.

Revision ID: 0003_journal_chiffre
Revises: 0002
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003_journal_chiffre"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("decisions") as batch:
        batch.add_column(sa.Column("contenu_chiffre", sa.Text(), nullable=True))
        batch.add_column(sa.Column("cle_journal", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("decisions") as batch:
        batch.drop_column("cle_journal")
        batch.drop_column("contenu_chiffre")
