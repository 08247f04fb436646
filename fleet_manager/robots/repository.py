"""Robot rows: the robots the fleet manager has seen, kept across restarts."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Engine
from sqlmodel import Session

from fleet_manager.core.robots import RobotReport
from fleet_manager.db.tables import Robot


def save_seen(engine: Engine, site: str, seen: list[tuple[RobotReport, float]]) -> None:
    """Upsert each robot with the wall time it was last heard from."""
    with Session(engine) as session:
        for report, last_seen in seen:
            when = datetime.fromtimestamp(last_seen, UTC)
            row = session.get(Robot, report.id)
            if row is None:
                row = Robot(id=report.id, site=site, kind=report.kind, model=report.model, first_seen=when,
                            last_seen=when)
            row.last_seen = when
            row.kind, row.model = report.kind, report.model
            row.last_pose = {"x": report.x, "y": report.y, "yaw": report.yaw}
            row.battery_percentage = report.battery
            session.add(row)
        session.commit()
