"""Who asked for each replay (issue 19: replays wait in a bounded queue per user and per site, replay/queue.py).

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("replay") as batch:
        batch.add_column(sa.Column("requested_by", sa.String(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("replay") as batch:
        batch.drop_column("requested_by")
