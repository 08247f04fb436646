"""Alerts (issue 18): conditions and events an operator must see, acknowledged by whom and when.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "alert",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("site", sa.String(), nullable=False),
        sa.Column("key", sa.String(), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("severity", sa.String(), nullable=False),
        sa.Column("robot_id", sa.String(), nullable=True),
        sa.Column("mission_id", sa.Integer(), nullable=True),
        sa.Column("incident_id", sa.String(), nullable=True),
        sa.Column("message", sa.String(), nullable=False),
        sa.Column("raised_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("cleared_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("acknowledged_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("acknowledged_by", sa.String(), nullable=True),
    )
    op.create_index("ix_alert_site", "alert", ["site"])
    op.create_index("ix_alert_key", "alert", ["key"])


def downgrade() -> None:
    op.drop_index("ix_alert_key", "alert")
    op.drop_index("ix_alert_site", "alert")
    op.drop_table("alert")
