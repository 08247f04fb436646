"""Mission persistence: the only module that writes mission rows and their events."""

from __future__ import annotations

from collections.abc import Sequence

from sqlmodel import Session, col, select

from fleet_manager.core.errors import NotFound
from fleet_manager.db.tables import Mission, MissionEvent


def get(session: Session, mission_id: int) -> Mission:
    row = session.get(Mission, mission_id)
    if row is None:
        raise NotFound(f"unknown mission {mission_id}", field="mission_id")
    return row


def events(session: Session, mission_id: int) -> list[MissionEvent]:
    stmt = select(MissionEvent).where(MissionEvent.mission_id == mission_id).order_by(col(MissionEvent.id))
    return list(session.exec(stmt))


def search(
    session: Session, *, status: Sequence[str] = (), robot_id: str | None = None, limit: int = 100, offset: int = 0
) -> list[Mission]:
    stmt = select(Mission)
    if status:
        stmt = stmt.where(col(Mission.status).in_(list(status)))
    if robot_id is not None:
        stmt = stmt.where(Mission.robot_id == robot_id)
    stmt = stmt.order_by(col(Mission.id).desc()).offset(offset).limit(limit)
    return list(session.exec(stmt))


def add_event(session: Session, event: MissionEvent) -> None:
    session.add(event)
