"""Alerts in the database, per site (issue 18): raised, cleared, acknowledged (by whom, when), each change
streamed to the console as an `alert` frame. Called from worker threads (db/retry.py retries them)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import Engine, or_
from sqlmodel import Session, col, func, select

from fleet_manager.alerts.rules import CONDITIONS, Raise
from fleet_manager.alerts.schemas import AlertPublic
from fleet_manager.core.errors import NotFound
from fleet_manager.db.tables import Alert, Incident, Mission, Pilot, utcnow


class EventSink(Protocol):
    def publish_event(self, frame: dict[str, Any]) -> None: ...


class AlertService:
    def __init__(self, engine: Engine, site: str, hub: EventSink) -> None:
        self.engine = engine
        self.site = site
        self.hub = hub

    def apply(self, conditions: list[Raise], events: list[Raise]) -> list[AlertPublic]:
        """The conditions that hold now (those open and no longer among them are cleared; new ones raised) and
        new events (raised once per key, ever); returns the alerts changed, each streamed."""
        now = utcnow()
        holding = {c.key: c for c in conditions}
        changed: list[Alert] = []
        with Session(self.engine, expire_on_commit=False) as session:
            open_rows = session.exec(select(Alert).where(Alert.site == self.site, col(Alert.cleared_at).is_(None),
                                                         col(Alert.kind).in_(list(CONDITIONS)))).all()
            open_keys = set()
            for row in open_rows:
                if row.key in holding:
                    open_keys.add(row.key)
                else:
                    row.cleared_at = now
                    session.add(row)
                    changed.append(row)
            for key, condition in holding.items():
                if key not in open_keys:
                    changed.append(self._add(session, condition, now, cleared=False))
            if events:
                known = set(session.exec(select(Alert.key).where(
                    Alert.site == self.site, col(Alert.key).in_([e.key for e in events]))).all())
                for event in events:
                    if event.key not in known:
                        known.add(event.key)
                        changed.append(self._add(session, event, now, cleared=True))
            session.commit()
        out = [AlertPublic.of(row) for row in changed]
        for alert in out:
            self._publish(alert)
        return out

    def _add(self, session: Session, alert: Raise, now: datetime, cleared: bool) -> Alert:
        row = Alert(site=self.site, key=alert.key, kind=str(alert.kind), severity=alert.severity,
                    robot_id=alert.robot_id, mission_id=alert.mission_id, incident_id=alert.incident_id,
                    message=alert.message, raised_at=now, cleared_at=now if cleared else None, acknowledged_at=None)
        session.add(row)
        return row

    def search(self, open_only: bool = True, limit: int = 100) -> list[AlertPublic]:
        """Newest first; open: not yet acknowledged, or still holding."""
        query = select(Alert).where(Alert.site == self.site)
        if open_only:
            query = query.where(or_(col(Alert.acknowledged_at).is_(None), col(Alert.cleared_at).is_(None)))
        with Session(self.engine) as session:
            rows = session.exec(query.order_by(col(Alert.id).desc()).limit(limit)).all()
            return [AlertPublic.of(r) for r in rows]

    def acknowledge(self, alert_id: int, username: str) -> AlertPublic:
        """Acknowledged by `username`, now; once (a second acknowledgement changes nothing)."""
        with Session(self.engine, expire_on_commit=False) as session:
            row = session.get(Alert, alert_id)
            if row is None or row.site != self.site:  # another site's alert is not this lab's to show
                raise NotFound(f"no alert {alert_id} at site {self.site}")
            if row.acknowledged_at is not None:
                return AlertPublic.of(row)
            row.acknowledged_at, row.acknowledged_by = utcnow(), username
            session.add(row)
            session.commit()
            alert = AlertPublic.of(row)
        self._publish(alert)
        return alert

    def _publish(self, alert: AlertPublic) -> None:
        self.hub.publish_event({"type": "alert", "alert": alert.model_dump(mode="json")})

    # -- what happened since ---------------------------------------------------------------------
    def last_event_at(self) -> datetime | None:
        """When the newest event alert was raised: after a restart, events since then are looked at again."""
        with Session(self.engine) as session:
            return session.exec(select(func.max(Alert.raised_at)).where(
                Alert.site == self.site, col(Alert.kind).not_in(list(CONDITIONS)))).one()

    def failed_since(self, since: datetime) -> list[tuple[int, str | None, str | None]]:
        """(id, robot, reason) of the site's missions that failed at or after `since`."""
        with Session(self.engine) as session:
            rows = session.exec(select(Mission.id, Mission.robot_id, Mission.failure_reason).where(
                Mission.site == self.site, Mission.status == "failed", col(Mission.ended_at) >= since)).all()
            return [(int(i or 0), r, f) for i, r, f in rows]

    def incidents_since(self, since: datetime) -> list[Incident]:
        """The incidents of the site's pilots recorded at or after `since`."""
        with Session(self.engine, expire_on_commit=False) as session:
            return list(session.exec(select(Incident).join(Pilot, col(Pilot.id) == col(Incident.pilot_id)).where(
                Pilot.site == self.site, col(Incident.time) >= since)).all())
