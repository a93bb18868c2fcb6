"""Campaigns (issue 18): a file of applicants decided line by line by the workers.

Revision ID: 0006_campagnes
Revises: 0005_reglements_archives
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006_campagnes"
down_revision: str | Sequence[str] | None = "0005_reglements_archives"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen copy of the types of app/db/tables.py: a migration must not change when the models do.
_TIMESTAMP = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "campagnes",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("organisme_id", sa.String(length=64), nullable=False),
        sa.Column("client_id", sa.String(length=64), nullable=True),
        sa.Column("cree_le", _TIMESTAMP, nullable=False),
        sa.Column("date_reference", sa.Date(), nullable=True),
        sa.Column("dispositifs", sa.JSON(), nullable=True),
        sa.Column("etat", sa.String(length=16), nullable=False),
        sa.Column("total_lignes", sa.Integer(), nullable=False),
        sa.Column("lignes_invalides", sa.Integer(), nullable=False),
        sa.Column("pause_motif", sa.String(length=300), nullable=True),
        sa.Column("termine_le", _TIMESTAMP, nullable=True),
        sa.CheckConstraint(
            "etat IN ('en_cours', 'terminee', 'annulee')", name=op.f("ck_campagnes_etat")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_campagnes")),
    )
    op.create_index("ix_campagnes_organisme_id_cree_le", "campagnes", ["organisme_id", "cree_le"])
    op.create_table(
        "campagne_lignes",
        sa.Column("campagne_id", sa.Uuid(), nullable=False),
        sa.Column("numero", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("dossier_ref", sa.String(length=128), nullable=True),
        sa.Column("etat", sa.String(length=16), nullable=False),
        sa.Column("charge_chiffree", sa.Text(), nullable=True),
        sa.Column("pris_le", _TIMESTAMP, nullable=True),
        sa.Column("tentatives", sa.Integer(), nullable=False),
        sa.Column("decision_id", sa.Uuid(), nullable=True),
        sa.Column("fait_le", _TIMESTAMP, nullable=True),
        sa.Column("resultats_chiffres", sa.Text(), nullable=True),
        sa.Column("erreur_code", sa.String(length=64), nullable=True),
        sa.Column("erreur_detail", sa.String(length=500), nullable=True),
        sa.CheckConstraint(
            "etat IN ('en_attente', 'en_cours', 'faite', 'echec', 'annulee')",
            name=op.f("ck_campagne_lignes_etat"),
        ),
        sa.ForeignKeyConstraint(
            ["campagne_id"],
            ["campagnes.id"],
            name=op.f("fk_campagne_lignes_campagne_id_campagnes"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("campagne_id", "numero", name=op.f("pk_campagne_lignes")),
    )
    op.create_index("ix_campagne_lignes_campagne_id_etat", "campagne_lignes", ["campagne_id", "etat"])
    op.create_table(
        "campagne_resultats",
        sa.Column("campagne_id", sa.Uuid(), nullable=False),
        sa.Column("numero", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("dispositif", sa.String(length=128), nullable=False),
        sa.Column("statut", sa.String(length=16), nullable=False),
        sa.ForeignKeyConstraint(
            ["campagne_id"],
            ["campagnes.id"],
            name=op.f("fk_campagne_resultats_campagne_id_campagnes"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("campagne_id", "numero", "dispositif", name=op.f("pk_campagne_resultats")),
    )


def downgrade() -> None:
    op.drop_table("campagne_resultats")
    op.drop_index("ix_campagne_lignes_campagne_id_etat", table_name="campagne_lignes")
    op.drop_table("campagne_lignes")
    op.drop_index("ix_campagnes_organisme_id_cree_le", table_name="campagnes")
    op.drop_table("campagnes")
