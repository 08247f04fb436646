"""Mission use cases: submit, read, and record every status and step change (stored, then streamed)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import Engine
from sqlmodel import Session

from fleet_manager.core.errors import InvalidInput, NotFound
from fleet_manager.core.missions import (
    MissionStatus,
    Step,
    check_transition,
    expand,
    parse_steps,
    validate_steps,
)
from fleet_manager.core.templates import TemplateLibrary
from fleet_manager.core.zone_access import check_zone_access
from fleet_manager.db.tables import Mission, MissionEvent, utcnow
from fleet_manager.missions import repository
from fleet_manager.missions.schemas import MissionCreate, MissionPublic
from fleet_manager.sites.service import Site
from fleet_manager.telemetry.hub import TelemetryHub

_STAMP = {
    MissionStatus.ASSIGNED: "assigned_at",
    MissionStatus.UNDERWAY: "started_at",
    MissionStatus.COMPLETED: "ended_at",
    MissionStatus.FAILED: "ended_at",
    MissionStatus.CANCELED: "ended_at",
}


_STEP_RUN_KEYS = frozenset({"started_at", "ended_at", "message", "attempt"})


_OPEN_STEP = frozenset({"active", "awaiting_confirmation", "retrying"})


def _close_step(step: dict[str, Any], status: MissionStatus) -> dict[str, Any]:
    """A step still running when its mission ends is marked as ended with it (canceled or failed)."""
    if step.get("status") not in _OPEN_STEP:
        return step
    return {**step, "status": str(status), "ended_at": utcnow().isoformat()}


class MissionService:
    def __init__(
        self,
        engine: Engine,
        site: Site,
        templates: TemplateLibrary,
        hub: TelemetryHub,
        sim_now: Callable[[], float | None] = lambda: None,
    ) -> None:
        self.engine = engine
        self.site = site
        self.templates = templates
        self.hub = hub
        self.sim_now = sim_now

    # -- submit ---------------------------------------------------------------------------------
    def _steps(self, body: MissionCreate) -> tuple[dict[str, Any], list[Step], str | None, list[str]]:
        graph = self.site.navgraph
        if body.template is not None:
            try:
                template = self.templates.get(body.template)
            except NotFound as exc:
                raise InvalidInput(exc.message, field="template") from None
            params, steps = template.instantiate(body.params, set(graph.places), zones=set(self.site.cleaning_zones))
            validate_steps(steps, graph, f"template {template.name}.steps", self.site.cleaning_zones)
            self._check_zones(steps, f"template {template.name}.steps")
            return params, steps, template.robot_kind, list(template.capabilities)
        assert body.spec is not None
        steps = parse_steps(body.spec.steps)
        validate_steps(steps, graph, zones=self.site.cleaning_zones)
        self._check_zones(steps, "spec.steps")
        return {}, steps, None, []

    def _check_zones(self, steps: list[Step], where: str) -> None:
        check_zone_access(steps, self.site.navgraph, self.site.operating_zones, self.site.cleaning_zones, where)

    def _check_robots(self, body: MissionCreate, kind: str | None, caps: list[str]) -> None:
        """A pinned robot must exist and be able to do the mission; some robot of the site must."""
        robots = {r.id: r for r in self.site.fleet.robots}
        needs = f"a {kind} robot" if kind else "a robot"
        if caps:
            needs += f" with {', '.join(caps)}"
        if body.robot_id is not None:
            robot = robots.get(body.robot_id)
            if robot is None:
                raise InvalidInput(f"unknown robot {body.robot_id!r}", field="robot_id")
            missing = sorted(set(caps) - set(robot.model.capabilities))
            if missing:
                raise InvalidInput(f"robot {body.robot_id!r} lacks the capability {', '.join(missing)} this mission "
                                   f"needs", field="robot_id")
            if kind is not None and robot.model.kind != kind:
                raise InvalidInput(f"robot {body.robot_id!r} is a {robot.model.kind} robot; this mission needs {needs}",
                                   field="robot_id")
        elif not any((kind is None or r.model.kind == kind) and set(caps) <= set(r.model.capabilities)
                     for r in robots.values()):
            raise InvalidInput(f"no robot of site {self.site.name!r} can do this mission: it needs {needs}",
                               field="template" if body.template else "spec")

    def check(self, body: MissionCreate) -> None:
        """Validate a mission without storing it (schedules check the mission they will submit)."""
        _, _, kind, caps = self._steps(body)
        self._check_robots(body, kind, caps)

    def submit(self, body: MissionCreate, move_aside: bool = False) -> MissionPublic:
        """Queue a mission; `move_aside` marks one the dispatcher sends to make way (never a client's)."""
        params, steps, kind, caps = self._steps(body)
        self._check_robots(body, kind, caps)
        records = [{"index": i, **s.to_dict(), "status": "pending"} for i, s in enumerate(expand(steps))]
        row = Mission(
            site=self.site.name,
            template=body.template,
            params=params,
            steps=records,
            robot_kind=kind,
            capabilities=caps,
            status=MissionStatus.QUEUED,
            priority=body.priority,
            requested_robot_id=body.robot_id,
            pilot_id=body.pilot_id,
            not_before=body.not_before,
            created_at=utcnow(),
            move_aside=move_aside,
        )
        with Session(self.engine, expire_on_commit=False) as session:
            session.add(row)
            session.flush()
            assert row.id is not None
            event = self._event(row.id, "status", MissionStatus.QUEUED, None, "submitted")
            repository.add_event(session, event)
            session.commit()
            session.refresh(row)
            public = MissionPublic.of(row)
        self._stream_status(public, event)
        return public

    # -- read -----------------------------------------------------------------------------------
    def get(self, mission_id: int, with_events: bool = True) -> MissionPublic:
        with Session(self.engine, expire_on_commit=False) as session:
            row = repository.get(session, mission_id)
            return MissionPublic.of(row, repository.events(session, mission_id) if with_events else None)

    def search(
        self, status: Sequence[str] = (), robot_id: str | None = None, limit: int = 100, offset: int = 0
    ) -> list[MissionPublic]:
        with Session(self.engine, expire_on_commit=False) as session:
            rows = repository.search(session, status=status, robot_id=robot_id, limit=limit, offset=offset)
            return [MissionPublic.of(r) for r in rows]

    # -- changes --------------------------------------------------------------------------------
    def transition(self, mission_id: int, new: MissionStatus, message: str = "", **fields: Any) -> MissionPublic:
        """Apply a status change (checked against the state machine), store its event, stream it."""
        with Session(self.engine, expire_on_commit=False) as session:
            row = repository.get(session, mission_id)
            check_transition(MissionStatus(row.status), new)
            row.status = new
            row.status_reason = message or None
            stamp = _STAMP.get(new)
            if stamp is not None and getattr(row, stamp) is None:
                setattr(row, stamp, utcnow())
            now = self.sim_now()
            if new is MissionStatus.UNDERWAY and row.sim_started_at is None:
                row.sim_started_at = now
            if new.terminal:
                row.sim_ended_at = now
            for key, value in fields.items():
                setattr(row, key, value)
            if new in (MissionStatus.CANCELED, MissionStatus.FAILED) and "steps" not in fields:
                row.steps = [_close_step(s, new) for s in row.steps]
            event = self._event(mission_id, "status", new, None, message)
            repository.add_event(session, event)
            session.add(row)
            session.commit()
            session.refresh(row)
            public = MissionPublic.of(row)
        self._stream_status(public, event)
        return public

    def update_step(self, mission_id: int, index: int, status: str, message: str = "", **fields: Any) -> None:
        with Session(self.engine, expire_on_commit=False) as session:
            row = repository.get(session, mission_id)
            steps = [dict(s) for s in row.steps]
            step = steps[index]
            step["status"] = status
            step.update(fields)
            key = "started_at" if status == "active" else "ended_at"
            step[key] = utcnow().isoformat()
            if message:
                step["message"] = message
            row.steps = steps
            text = f"step {index} {status}" + (f": {message}" if message else "")
            event = self._event(mission_id, "step", None, index, text)
            repository.add_event(session, event)
            session.add(row)
            session.commit()
        self.hub.publish_event(
            {"type": "mission_step", "mission_id": mission_id, "step_index": index, "status": status,
             "message": message, "time": event.time.isoformat(), "sim_time": event.sim_time}
        )

    def requeue(self, mission_id: int, message: str) -> MissionPublic:
        """Back to queued (robot lost, preempted, restart): the robot is let go, every step is pending again."""
        steps = [{k: v for k, v in s.items() if k not in _STEP_RUN_KEYS} | {"status": "pending"}
                 for s in self.get(mission_id, False).steps]
        return self.transition(mission_id, MissionStatus.QUEUED, message, robot_id=None, steps=steps,
                               assigned_at=None, sim_started_at=None)

    def add_event(self, mission_id: int, message: str, step_index: int | None = None) -> None:
        """An informational event (confirmations, reconciliation) on the mission's record."""
        with Session(self.engine, expire_on_commit=False) as session:
            repository.get(session, mission_id)
            event = self._event(mission_id, "info", None, step_index, message)
            repository.add_event(session, event)
            session.commit()
        self.hub.publish_event(
            {"type": "mission_step" if step_index is not None else "mission_info", "mission_id": mission_id,
             "step_index": step_index, "status": None, "message": message, "time": event.time.isoformat(),
             "sim_time": event.sim_time}
        )

    def set_fields(self, mission_id: int, **fields: Any) -> None:
        with Session(self.engine, expire_on_commit=False) as session:
            row = repository.get(session, mission_id)
            for key, value in fields.items():
                setattr(row, key, value)
            session.add(row)
            session.commit()

    def _event(self, mission_id: int, kind: str, status: str | None, step: int | None, message: str) -> MissionEvent:
        return MissionEvent(mission_id=mission_id, time=utcnow(), sim_time=self.sim_now(), kind=kind,
                            status=status, step_index=step, message=message)

    def _stream_status(self, mission: MissionPublic, event: MissionEvent) -> None:
        self.hub.publish_event(
            {
                "type": "mission_event",
                "mission_id": mission.id,
                "status": str(mission.status),
                "robot_id": mission.robot_id,
                "message": event.message,
                "time": event.time.isoformat(),
                "sim_time": event.sim_time,
                "mission": mission.model_dump(mode="json"),
            }
        )
