"""A mission's status reason carries the code and parameters of its text beside the English (issue 18), as its
events do since 0015, so that the queue, the detail and the robot card show why a mission is held, requeued or
failed in the reader's language. Older missions keep only the English.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("mission") as batch:
        batch.add_column(sa.Column("status_code", sa.String(), nullable=True))
        batch.add_column(sa.Column("status_params", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("mission") as batch:
        batch.drop_column("status_params")
        batch.drop_column("status_code")
