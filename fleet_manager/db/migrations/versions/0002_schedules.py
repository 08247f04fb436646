"""Recurring mission schedules.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    ts = sa.DateTime(timezone=True)
    op.create_table(
        "schedule",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("site", sa.String(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("template", sa.String(), nullable=False),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("priority", sa.String(), nullable=False),
        sa.Column("robot_id", sa.String(), nullable=True),
        sa.Column("every_s", sa.Integer(), nullable=False),
        sa.Column("window_start", sa.String(), nullable=True),
        sa.Column("window_end", sa.String(), nullable=True),
        sa.Column("timezone", sa.String(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("next_run_at", ts, nullable=False),
        sa.Column("last_mission_id", sa.Integer(), nullable=True),
        sa.Column("created_at", ts, nullable=False),
    )
    op.create_index("ix_schedule_site", "schedule", ["site"])


def downgrade() -> None:
    op.drop_index("ix_schedule_site", "schedule")
    op.drop_table("schedule")
