"""Missions the dispatcher sends to make way for another robot are marked (issue 17: not counted in the KPIs).

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("mission") as batch:
        batch.add_column(sa.Column("move_aside", sa.Boolean(), nullable=False, server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table("mission") as batch:
        batch.drop_column("move_aside")
