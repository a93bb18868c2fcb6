"""Organismes' coordinates for the documents people read (issue 16): postal address, service, DPO
contact, signatory, retention and appeal texts, as one JSON object set by `eg organisme coordonnees`.

Revision ID: 0004_coordonnees_organismes
Revises: 0003_journal_chiffre
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004_coordonnees_organismes"
down_revision: str | Sequence[str] | None = "0003_journal_chiffre"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("organismes") as batch:
        batch.add_column(sa.Column("coordonnees", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("organismes") as batch:
        batch.drop_column("coordonnees")
