"""Robot rows: the robots the fleet manager has seen, kept across restarts."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Engine
from sqlmodel import Session, col, select

from fleet_manager.core.robots import RobotReport
from fleet_manager.db.tables import Robot


def save_seen(engine: Engine, site: str, seen: list[tuple[RobotReport, float]]) -> None:
    """Upsert each robot with the wall time it was last heard from."""
    with Session(engine) as session:
        ids = [report.id for report, _ in seen]
        known = {row.id: row for row in session.exec(select(Robot).where(col(Robot.id).in_(ids)))} if ids else {}
        for report, last_seen in seen:  # (one query for the rows, not one per robot: a city fleet has hundreds)
            when = datetime.fromtimestamp(last_seen, UTC)
            row = known.get(report.id)
            if row is None:
                row = Robot(id=report.id, site=site, kind=report.kind, model=report.model, first_seen=when,
                            last_seen=when)
            row.last_seen = when
            row.kind, row.model = report.kind, report.model
            row.last_pose = {"x": report.x, "y": report.y, "yaw": report.yaw}
            row.battery_percentage = report.battery
            session.add(row)
        session.commit()
