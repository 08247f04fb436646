"""Missions, their events, and the robots seen.

Revision ID: 0001
Revises:
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    ts = sa.DateTime(timezone=True)
    op.create_table(
        "mission",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("site", sa.String(), nullable=False),
        sa.Column("template", sa.String(), nullable=True),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("steps", sa.JSON(), nullable=False),
        sa.Column("robot_kind", sa.String(), nullable=True),
        sa.Column("capabilities", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("priority", sa.String(), nullable=False),
        sa.Column("robot_id", sa.String(), nullable=True),
        sa.Column("requested_robot_id", sa.String(), nullable=True),
        sa.Column("pilot_id", sa.String(), nullable=True),
        sa.Column("not_before", ts, nullable=True),
        sa.Column("route", sa.JSON(), nullable=False),
        sa.Column("failure_reason", sa.String(), nullable=True),
        sa.Column("distance_m", sa.Float(), nullable=True),
        sa.Column("final_pose", sa.JSON(), nullable=True),
        sa.Column("created_at", ts, nullable=False),
        sa.Column("assigned_at", ts, nullable=True),
        sa.Column("started_at", ts, nullable=True),
        sa.Column("ended_at", ts, nullable=True),
        sa.Column("sim_started_at", sa.Float(), nullable=True),
        sa.Column("sim_ended_at", sa.Float(), nullable=True),
    )
    op.create_index("ix_mission_site", "mission", ["site"])
    op.create_index("ix_mission_status", "mission", ["status"])
    op.create_index("ix_mission_robot_id", "mission", ["robot_id"])
    op.create_table(
        "mission_event",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("mission_id", sa.Integer(), sa.ForeignKey("mission.id"), nullable=False),
        sa.Column("time", ts, nullable=False),
        sa.Column("sim_time", sa.Float(), nullable=True),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("status", sa.String(), nullable=True),
        sa.Column("step_index", sa.Integer(), nullable=True),
        sa.Column("message", sa.String(), nullable=False),
    )
    op.create_index("ix_mission_event_mission_id", "mission_event", ["mission_id"])
    op.create_table(
        "robot",
        sa.Column("id", sa.String(), primary_key=True),
        sa.Column("site", sa.String(), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("model", sa.String(), nullable=False),
        sa.Column("first_seen", ts, nullable=False),
        sa.Column("last_seen", ts, nullable=False),
        sa.Column("last_pose", sa.JSON(), nullable=False),
        sa.Column("battery_percentage", sa.Float(), nullable=True),
    )


def downgrade() -> None:
    op.drop_table("robot")
    op.drop_index("ix_mission_event_mission_id", "mission_event")
    op.drop_table("mission_event")
    op.drop_index("ix_mission_robot_id", "mission")
    op.drop_index("ix_mission_status", "mission")
    op.drop_index("ix_mission_site", "mission")
    op.drop_table("mission")
