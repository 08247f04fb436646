"""Replays (issue 6): re-simulations of recorded missions, with their comparison to the original.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    ts = sa.DateTime(timezone=True)
    op.create_table(
        "replay",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("mission_id", sa.Integer(), sa.ForeignKey("mission.id"), nullable=False),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("overrides", sa.JSON(), nullable=False),
        sa.Column("recording", sa.String(), nullable=False),
        sa.Column("seed", sa.Integer(), nullable=True),
        sa.Column("created_at", ts, nullable=False),
        sa.Column("finished_at", ts, nullable=True),
        sa.Column("sim_s", sa.Float(), nullable=True),
        sa.Column("wall_s", sa.Float(), nullable=True),
        sa.Column("error", sa.String(), nullable=True),
        sa.Column("result", sa.JSON(), nullable=True),
        sa.Column("comparison", sa.JSON(), nullable=True),
    )
    op.create_index("ix_replay_mission_id", "replay", ["mission_id"])
    op.create_index("ix_replay_status", "replay", ["status"])


def downgrade() -> None:
    op.drop_index("ix_replay_status", "replay")
    op.drop_index("ix_replay_mission_id", "replay")
    op.drop_table("replay")
