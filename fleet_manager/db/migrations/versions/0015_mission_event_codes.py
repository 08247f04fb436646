"""Mission events carry a stable code and its parameters beside their English message (issue 18), so that the
console shows them in Korean (missions/texts.py). Older events keep only their message.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-08
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("mission_event") as batch:
        batch.add_column(sa.Column("code", sa.String(), nullable=True))
        batch.add_column(sa.Column("params", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("mission_event") as batch:
        batch.drop_column("params")
        batch.drop_column("code")
