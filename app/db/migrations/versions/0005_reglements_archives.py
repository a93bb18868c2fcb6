"""Règlement archives (issue 17): every règlement an organisme decided with, kept whole, so that a
past decision can be replayed under the very version it names (`POST /v1/simulations/impact`).

Revision ID: 0005_reglements_archives
Revises: 0004_coordonnees_organismes
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005_reglements_archives"
down_revision: str | Sequence[str] | None = "0004_coordonnees_organismes"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen copy of the types of app/db/tables.py: a migration must not change when the models do.
_TIMESTAMP = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "reglements_archives",
        sa.Column("organisme_id", sa.String(length=64), nullable=False),
        sa.Column("empreinte", sa.String(length=80), nullable=False),
        sa.Column("reglement_id", sa.String(length=128), nullable=False),
        sa.Column("version", sa.String(length=64), nullable=False),
        sa.Column("texte_chiffre", sa.Text(), nullable=False),
        sa.Column("cle_journal", sa.String(length=64), nullable=False),
        sa.Column("archive_le", _TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("organisme_id", "empreinte", name=op.f("pk_reglements_archives")),
    )


def downgrade() -> None:
    op.drop_table("reglements_archives")
