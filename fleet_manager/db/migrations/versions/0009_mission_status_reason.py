"""The reason of a mission's status (issue 18): why it is paused (held by an e-stop, by lost localisation, by an
operator), requeued or ended, as its last status event says it, so that the queue shows it without the events.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("mission") as batch:
        batch.add_column(sa.Column("status_reason", sa.String(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("mission") as batch:
        batch.drop_column("status_reason")
