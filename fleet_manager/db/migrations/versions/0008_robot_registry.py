"""Robot registry (issue 14): robots registered at a site at run time, with their adapter (labfleet, nav2,
vda5050), connection settings, model, map transform, home and charger; retired robots keep their row.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    ts = sa.DateTime(timezone=True)
    op.create_table(
        "robot_registration",
        sa.Column("site", sa.String(), primary_key=True),
        sa.Column("id", sa.String(), primary_key=True),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("adapter", sa.String(), nullable=False),
        sa.Column("config", sa.JSON(), nullable=False),
        sa.Column("connection", sa.JSON(), nullable=False),
        sa.Column("charger", sa.String(), nullable=True),
        sa.Column("source", sa.String(), nullable=False),
        sa.Column("created_at", ts, nullable=False),
        sa.Column("updated_at", ts, nullable=False),
        sa.Column("retired_at", ts, nullable=True),
    )


def downgrade() -> None:
    op.drop_table("robot_registration")
