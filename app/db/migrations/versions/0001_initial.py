"""Initial journal schema: consultations and decisions.

Revision ID: 0001
Revises:
Create Date: 2026-11-26
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen copies of the types of app/db/tables.py: a migration must not change when the models do.
_JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
_TIMESTAMP = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "consultations",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("organisme_id", sa.String(length=64), nullable=False),
        sa.Column("client_id", sa.String(length=64), nullable=True),
        sa.Column("agent_id", sa.String(length=128), nullable=True),
        sa.Column("dossier_ref", sa.String(length=128), nullable=True),
        sa.Column("cree_le", _TIMESTAMP, nullable=False),
        sa.Column("type", sa.String(length=16), nullable=False),
        sa.Column("demandeur_pseudonyme", sa.String(length=64), nullable=True),
        sa.Column("appels_fournisseurs", _JSON, nullable=False),
        sa.Column("statut", sa.String(length=16), nullable=False),
        sa.CheckConstraint(
            "type IN ('eligibilite', 'donnees', 'simulation')", name=op.f("ck_consultations_type")
        ),
        sa.CheckConstraint("statut IN ('succes', 'echec')", name=op.f("ck_consultations_statut")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_consultations")),
    )
    op.create_index("ix_consultations_organisme_id_cree_le", "consultations", ["organisme_id", "cree_le"])
    op.create_index(
        "ix_consultations_organisme_id_dossier_ref", "consultations", ["organisme_id", "dossier_ref"]
    )
    op.create_index("ix_consultations_cree_le", "consultations", ["cree_le"])

    op.create_table(
        "decisions",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("consultation_id", sa.Uuid(), nullable=False),
        sa.Column("organisme_id", sa.String(length=64), nullable=False),
        sa.Column("cree_le", _TIMESTAMP, nullable=False),
        sa.Column("date_reference", sa.Date(), nullable=False),
        sa.Column("dossier_ref", sa.String(length=128), nullable=True),
        sa.Column("reglement_id", sa.String(length=128), nullable=False),
        sa.Column("reglement_version", sa.String(length=64), nullable=False),
        sa.Column("reglement_empreinte", sa.String(length=80), nullable=False),
        sa.Column("contenu", _JSON, nullable=False),
        sa.ForeignKeyConstraint(
            ["consultation_id"],
            ["consultations.id"],
            name=op.f("fk_decisions_consultation_id_consultations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_decisions")),
        sa.UniqueConstraint("consultation_id", name=op.f("uq_decisions_consultation_id")),
    )
    op.create_index("ix_decisions_organisme_id_cree_le", "decisions", ["organisme_id", "cree_le"])
    op.create_index("ix_decisions_cree_le", "decisions", ["cree_le"])


def downgrade() -> None:
    op.drop_table("decisions")
    op.drop_table("consultations")
