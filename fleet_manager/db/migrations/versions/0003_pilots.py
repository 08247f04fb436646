"""Pilots, interventions and incidents (issue 5); missions indexed by pilot.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    ts = sa.DateTime(timezone=True)
    op.create_table(
        "pilot",
        sa.Column("id", sa.String(), primary_key=True),
        sa.Column("site", sa.String(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("description", sa.String(), nullable=False),
        sa.Column("period_start", ts, nullable=False),
        sa.Column("period_end", ts, nullable=False),
        sa.Column("robots", sa.JSON(), nullable=False),
        sa.Column("targets", sa.JSON(), nullable=False),
        sa.Column("is_default", sa.Boolean(), nullable=False),
        sa.Column("created_at", ts, nullable=False),
    )
    op.create_index("ix_pilot_site", "pilot", ["site"])
    op.create_table(
        "intervention",
        sa.Column("id", sa.String(), primary_key=True),
        sa.Column("pilot_id", sa.String(), sa.ForeignKey("pilot.id"), nullable=False),
        sa.Column("robot_id", sa.String(), nullable=False),
        sa.Column("mission_id", sa.Integer(), sa.ForeignKey("mission.id"), nullable=True),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("source", sa.String(), nullable=False),
        sa.Column("reason", sa.String(), nullable=False),
        sa.Column("started_at", ts, nullable=False),
        sa.Column("sim_started_at", sa.Float(), nullable=True),
        sa.Column("ended_at", ts, nullable=True),
        sa.Column("sim_ended_at", sa.Float(), nullable=True),
        sa.Column("distance_m", sa.Float(), nullable=False),
    )
    op.create_index("ix_intervention_pilot_id", "intervention", ["pilot_id"])
    op.create_index("ix_intervention_robot_id", "intervention", ["robot_id"])
    # at most one open intervention per robot, also under concurrent writers
    open_ = sa.text("ended_at IS NULL")
    op.create_index("ux_intervention_open_robot", "intervention", ["robot_id"], unique=True,
                    sqlite_where=open_, postgresql_where=open_)
    op.create_table(
        "incident",
        sa.Column("id", sa.String(), primary_key=True),
        sa.Column("pilot_id", sa.String(), sa.ForeignKey("pilot.id"), nullable=False),
        sa.Column("robot_id", sa.String(), nullable=False),
        sa.Column("mission_id", sa.Integer(), sa.ForeignKey("mission.id"), nullable=True),
        sa.Column("severity", sa.String(), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("source", sa.String(), nullable=False),
        sa.Column("time", ts, nullable=False),
        sa.Column("sim_time", sa.Float(), nullable=True),
        sa.Column("x", sa.Float(), nullable=False),
        sa.Column("y", sa.Float(), nullable=False),
        sa.Column("place", sa.String(), nullable=True),
        sa.Column("description", sa.String(), nullable=False),
        sa.Column("evidence", sa.JSON(), nullable=False),
    )
    op.create_index("ix_incident_pilot_id", "incident", ["pilot_id"])
    op.create_index("ix_incident_robot_id", "incident", ["robot_id"])
    op.create_index("ix_mission_pilot_id", "mission", ["pilot_id"])


def downgrade() -> None:
    op.drop_index("ix_mission_pilot_id", "mission")
    op.drop_index("ix_incident_robot_id", "incident")
    op.drop_index("ix_incident_pilot_id", "incident")
    op.drop_table("incident")
    op.drop_index("ux_intervention_open_robot", "intervention")
    op.drop_index("ix_intervention_robot_id", "intervention")
    op.drop_index("ix_intervention_pilot_id", "intervention")
    op.drop_table("intervention")
    op.drop_index("ix_pilot_site", "pilot")
    op.drop_table("pilot")
