"""Organismes, their clients and API keys (digests only), managed from the command line.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen copy of the types of app/db/tables.py: a migration must not change when the models do.
_TIMESTAMP = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "organismes",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("nom", sa.String(length=200), nullable=False),
        sa.Column("siret", sa.String(length=14), nullable=False),
        sa.Column("reglement", sa.String(length=500), nullable=False),
        sa.Column("api_particulier_token_chiffre", sa.Text(), nullable=True),
        sa.Column("impot_client_id", sa.String(length=200), nullable=True),
        sa.Column("impot_client_secret_chiffre", sa.Text(), nullable=True),
        sa.Column("scopes_habilitation", sa.JSON(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("cree_le", _TIMESTAMP, nullable=False),
        sa.Column("modifie_le", _TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_organismes")),
    )
    op.create_table(
        "clients",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("organisme_id", sa.String(length=64), nullable=False),
        sa.Column("nom", sa.String(length=200), nullable=True),
        sa.Column("scopes", sa.JSON(), nullable=False),
        sa.Column("cree_le", _TIMESTAMP, nullable=False),
        sa.Column("revoque_le", _TIMESTAMP, nullable=True),
        sa.ForeignKeyConstraint(
            ["organisme_id"], ["organismes.id"], name=op.f("fk_clients_organisme_id_organismes")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_clients")),
    )
    op.create_index("ix_clients_organisme_id", "clients", ["organisme_id"])
    op.create_table(
        "cles_api",
        sa.Column("empreinte", sa.String(length=64), nullable=False),
        sa.Column("client_id", sa.String(length=64), nullable=False),
        sa.Column("prefixe", sa.String(length=12), nullable=False),
        sa.Column("cree_le", _TIMESTAMP, nullable=False),
        sa.Column("expire_le", _TIMESTAMP, nullable=True),
        sa.Column("revoquee_le", _TIMESTAMP, nullable=True),
        sa.ForeignKeyConstraint(["client_id"], ["clients.id"], name=op.f("fk_cles_api_client_id_clients")),
        sa.PrimaryKeyConstraint("empreinte", name=op.f("pk_cles_api")),
    )
    op.create_index("ix_cles_api_client_id", "cles_api", ["client_id"])


def downgrade() -> None:
    op.drop_table("cles_api")
    op.drop_table("clients")
    op.drop_table("organismes")
