"""Pilot, intervention and incident persistence; also reads the missions a pilot's KPIs are computed over."""

from __future__ import annotations

from sqlalchemy import or_
from sqlmodel import Session, col, select

from fleet_manager.core.errors import NotFound
from fleet_manager.db.tables import Incident, Intervention, Mission, Pilot


def get_pilot(session: Session, pilot_id: str) -> Pilot:
    row = session.get(Pilot, pilot_id)
    if row is None:
        raise NotFound(f"unknown pilot {pilot_id!r}", field="pilot_id")
    return row


def pilots(session: Session, site: str | None = None) -> list[Pilot]:
    stmt = select(Pilot)
    if site is not None:
        stmt = stmt.where(Pilot.site == site)
    return list(session.exec(stmt.order_by(col(Pilot.created_at), col(Pilot.id))))


def get_intervention(session: Session, intervention_id: str) -> Intervention:
    row = session.get(Intervention, intervention_id)
    if row is None:
        raise NotFound(f"unknown intervention {intervention_id!r}", field="intervention_id")
    return row


def open_intervention(session: Session, robot_id: str) -> Intervention | None:
    stmt = select(Intervention).where(Intervention.robot_id == robot_id, col(Intervention.ended_at).is_(None))
    return session.exec(stmt).first()


def interventions(
    session: Session, *, pilot_id: str | None = None, robot_id: str | None = None, is_open: bool | None = None,
    limit: int | None = None, offset: int = 0,
) -> list[Intervention]:
    stmt = select(Intervention)
    if pilot_id is not None:
        stmt = stmt.where(Intervention.pilot_id == pilot_id)
    if robot_id is not None:
        stmt = stmt.where(Intervention.robot_id == robot_id)
    if is_open is not None:
        ended = col(Intervention.ended_at)
        stmt = stmt.where(ended.is_(None) if is_open else ended.is_not(None))
    stmt = stmt.order_by(col(Intervention.started_at), col(Intervention.id)).offset(offset).limit(limit)
    return list(session.exec(stmt))


def get_incident(session: Session, incident_id: str) -> Incident:
    row = session.get(Incident, incident_id)
    if row is None:
        raise NotFound(f"unknown incident {incident_id!r}", field="incident_id")
    return row


def incidents(
    session: Session, *, pilot_id: str | None = None, severity: str | None = None, kind: str | None = None,
    limit: int | None = None, offset: int = 0,
) -> list[Incident]:
    stmt = select(Incident)
    if pilot_id is not None:
        stmt = stmt.where(Incident.pilot_id == pilot_id)
    if severity is not None:
        stmt = stmt.where(Incident.severity == severity)
    if kind is not None:
        stmt = stmt.where(Incident.kind == kind)
    stmt = stmt.order_by(col(Incident.time), col(Incident.id)).offset(offset).limit(limit)
    return list(session.exec(stmt))


def mission(session: Session, mission_id: int) -> Mission | None:
    return session.get(Mission, mission_id)


def missions_of(session: Session, pilot: Pilot) -> list[Mission]:
    """The pilot's missions; a site's default pilot also has the site's missions that name no pilot."""
    stmt = select(Mission)
    if pilot.is_default:
        stmt = stmt.where(Mission.site == pilot.site,
                          or_(col(Mission.pilot_id).is_(None), col(Mission.pilot_id) == pilot.id))
    else:
        stmt = stmt.where(Mission.pilot_id == pilot.id)
    return list(session.exec(stmt.order_by(col(Mission.id))))
