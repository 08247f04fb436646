"""Mission energy (issue 5): the battery energy each mission run used, in Wh.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("mission") as batch:
        batch.add_column(sa.Column("energy_wh", sa.Float(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("mission") as batch:
        batch.drop_column("energy_wh")
