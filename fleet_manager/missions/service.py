"""Mission use cases: submit, read, and record every status and step change (stored, then streamed)."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine
from sqlmodel import Session

from fleet_manager.core.allocation_energy import MissionRequest, RobotCandidate, completion_time
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
from fleet_manager.missions import public_json, repository
from fleet_manager.missions.schemas import MissionCreate, MissionPublic, as_utc
from fleet_manager.missions.texts import ENGLISH, Message, coded, say
from fleet_manager.pilots.service import mission_carbon, site_carbon
from fleet_manager.sites.profile import Carbon
from fleet_manager.sites.service import Site
from fleet_manager.telemetry.hub import TelemetryHub

_STAMP = {
    MissionStatus.ASSIGNED: "assigned_at",
    MissionStatus.UNDERWAY: "started_at",
    MissionStatus.COMPLETED: "ended_at",
    MissionStatus.FAILED: "ended_at",
    MissionStatus.CANCELED: "ended_at",
}


_STEP_RUN_KEYS = frozenset({"started_at", "ended_at", "message", "message_code", "message_params", "attempt"})


_OPEN_STEP = frozenset({"active", "awaiting_confirmation", "retrying"})


_RUNNING = frozenset({MissionStatus.ASSIGNED, MissionStatus.UNDERWAY, MissionStatus.PAUSED})
_ENDED_STEP = frozenset({"done", "skipped", "failed", "canceled"})
Where = Callable[[str], tuple[float, float] | None]  # where a robot stands (x, y), None when unknown


def step_work(site: Site, steps: Sequence[dict[str, Any]], action_s: Mapping[str, float],
              now: datetime) -> tuple[list[str], float]:
    """What the steps not ended yet ask of a robot, as the allocator reckons a mission: the places to drive to, in
    order, and the seconds of work at them: the waits (what is left of one under way), the actions (`action_s`,
    5 s for one it does not know) and the coverage of cleaning zones. Confirmations count nothing: nobody can say
    when the recipient comes."""
    places: list[str] = []
    work = 0.0
    for step in steps:
        if step.get("status") in _ENDED_STEP:
            continue
        if step.get("target"):
            places.append(step["target"])
        elif step.get("zone") in site.cleaning_zones:
            zone = site.cleaning_zones[step["zone"]]
            places.append(zone.entry)
            work += zone.shape.area / max(float(step.get("spacing") or 0.6), 0.1) / 0.5
        elif step.get("kind") == "wait":
            started = step.get("started_at") if step.get("status") == "active" else None
            done = (now - as_utc(datetime.fromisoformat(started))).total_seconds() if started else 0.0
            work += max(float(step.get("seconds") or 0.0) - done, 0.0)
        elif step.get("kind") == "action":
            work += action_s.get(str(step.get("action")), 5.0)
    return places, work


def remaining_s(site: Site, steps: Sequence[dict[str, Any]], robot_id: str, x: float, y: float,
                now: datetime) -> float | None:
    """Seconds the robot at (x, y) needs for the steps not ended yet (`step_work`), as the allocator reckons a
    mission (`completion_time`): the places still to drive to at its top speed here, and the work at them. None for
    a robot the site does not know or a place it cannot reach."""
    try:
        robot = site.fleet.robot(robot_id)
        speed = site.max_speed(robot_id)
    except KeyError:
        return None
    places, work = step_work(site, steps, {name: spec.duration_s for name, spec in robot.model.actions.items()}, now)
    place, offset = site.navgraph.nearest_place(x, y)
    request = MissionRequest(0, None, frozenset(), places[0] if places else None, None, tuple(places), work)
    seconds = completion_time(request, RobotCandidate(robot_id, robot.model.kind, frozenset(), place.name, offset,
                                                      speed), site.navgraph)
    return seconds if math.isfinite(seconds) else None


def _close_step(step: dict[str, Any], status: MissionStatus) -> dict[str, Any]:
    """A step still running when its mission ends is marked as ended with it (canceled or failed)."""
    if step.get("status") not in _OPEN_STEP:
        return step
    return {**step, "status": str(status), "ended_at": utcnow().isoformat()}


def _step_text(index: int, status: str, detail: Message) -> Message:
    """"step {index} {status}[: {detail}]", coded when its status has a text (missions/texts.py)."""
    code = f"step_{status}_detail" if detail else f"step_{status}"
    if code in ENGLISH:
        return say(code, step=index, **({"detail": detail} if detail else {}))
    return f"step {index} {status}" + (f": {detail}" if detail else "")


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
        # other sites' emission factors, read once each (this site's profile is read once, at start-up, too)
        self._carbon: dict[str, Carbon | None] = {site.name: site.profile.carbon}

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
            event = self._event(row.id, "status", MissionStatus.QUEUED, None, say("submitted"))
            repository.add_event(session, event)
            session.commit()
            session.refresh(row)
            public = self._public(row)
        self._stream_status(public, event)
        return public

    # -- read -----------------------------------------------------------------------------------
    def get(self, mission_id: int, with_events: bool = True, where: Where | None = None) -> MissionPublic:
        """The mission; with `where`, a running one with its estimated time left and end."""
        with Session(self.engine, expire_on_commit=False) as session:
            row = repository.get(session, mission_id)
            public = self._public(row, repository.events(session, mission_id) if with_events else None)
        return self.estimate(public, where) if where is not None else public

    def search(
        self, status: Sequence[str] = (), robot_id: str | None = None, limit: int = 100, offset: int = 0,
        where: Where | None = None,
    ) -> list[MissionPublic]:
        with Session(self.engine, expire_on_commit=False) as session:
            rows = repository.search(session, status=status, robot_id=robot_id, limit=limit, offset=offset)
            found = [self._public(r) for r in rows]
        return [self.estimate(m, where) for m in found] if where is not None else found

    def public(self, mission_id: int, where: Where | None = None) -> dict[str, Any]:
        """`get` with its events as the API answers it: MissionPublic's data, serialised by model_json.response
        (read as columns, without a model: GET /missions/{id} is among the console's costliest requests)."""
        with self.engine.connect() as conn:
            row, events = repository.mission_rows(conn, mission_id, public_json.COLUMNS, public_json.EVENT_COLUMNS)
        return self._answer(public_json.mission(row, events), where)

    def publics(
        self, status: Sequence[str] = (), robot_id: str | None = None, limit: int = 100, offset: int = 0,
        where: Where | None = None,
    ) -> list[dict[str, Any]]:
        """`search` as the API answers it (`public`)."""
        with self.engine.connect() as conn:
            rows = repository.search_rows(conn, public_json.COLUMNS, status=status, robot_id=robot_id, limit=limit,
                                          offset=offset)
        return [self._answer(public_json.mission(r), where) for r in rows]

    def _answer(self, mission: dict[str, Any], where: Where | None) -> dict[str, Any]:
        """A public_json mission with what `_public` and `estimate` add to a MissionPublic; their figures, put
        without validation, as the float fields' serializer writes them."""
        if mission["energy_wh"] is not None:
            figures = self._carbon_figures(mission["site"], mission["energy_wh"], mission["distance_m"])
            mission.update((k, public_json.as_float(v)) for k, v in figures.items())
        estimate = None if where is None else self._estimate(
            mission["status"], mission["robot_id"], mission["site"], mission["steps"], where)
        if estimate is not None:
            mission["remaining_s"], mission["eta"] = public_json.as_float(estimate[0]), estimate[1].isoformat()
        return mission

    def _carbon_figures(self, site: str, energy_wh: float, distance_m: float | None) -> dict[str, Any]:
        """A mission's energy per km and CO2 at its site's factors (site.yaml), each site's read once."""
        if site not in self._carbon:
            self._carbon[site] = site_carbon(self.site.directory.parent, site)
        return dataclasses.asdict(mission_carbon(energy_wh, distance_m, self._carbon[site]))

    def _public(self, row: Mission, events: list[MissionEvent] | None = None) -> MissionPublic:
        """The mission as the API gives it, with its energy per km and CO2 at its site's factors (site.yaml)."""
        public = MissionPublic.of(row, events)
        if public.energy_wh is None:
            return public
        return public.model_copy(update=self._carbon_figures(row.site, public.energy_wh, public.distance_m))

    def estimate(self, mission: MissionPublic, where: Where) -> MissionPublic:
        """A running mission of this site with the time its robot needs for the steps left (`remaining_s`) and when
        that ends it (`eta`); any other mission as it is."""
        estimate = self._estimate(mission.status, mission.robot_id, mission.site, mission.steps, where)
        if estimate is None:
            return mission
        return mission.model_copy(update={"remaining_s": estimate[0], "eta": estimate[1]})

    def _estimate(self, status: str, robot_id: str | None, site: str, steps: Sequence[dict[str, Any]],
                  where: Where) -> tuple[float, datetime] | None:
        """(`remaining_s`, `eta`) of a running mission of this site whose robot's place is known, else None."""
        if status not in _RUNNING or robot_id is None or site != self.site.name:
            return None
        pose = where(robot_id)
        now = utcnow()
        left = None if pose is None else remaining_s(self.site, steps, robot_id, *pose, now)
        if left is None:
            return None
        return round(left, 1), as_utc(now) + timedelta(seconds=left)

    # -- changes --------------------------------------------------------------------------------
    def transition(self, mission_id: int, new: MissionStatus, message: Message = "", **fields: Any) -> MissionPublic:
        """Apply a status change (checked against the state machine), store its event, stream it."""
        with Session(self.engine, expire_on_commit=False) as session:
            row = repository.get(session, mission_id)
            check_transition(MissionStatus(row.status), new)
            row.status = new
            english, row.status_code, row.status_params = coded(message)
            row.status_reason = english or None
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
            public = self._public(row)
        self._stream_status(public, event)
        return public

    def update_step(self, mission_id: int, index: int, status: str, message: Message = "", **fields: Any) -> None:
        with Session(self.engine, expire_on_commit=False) as session:
            row = repository.get(session, mission_id)
            steps = [dict(s) for s in row.steps]
            step = steps[index]
            step["status"] = status
            step.update(fields)
            key = "started_at" if status == "active" else "ended_at"
            step[key] = utcnow().isoformat()
            if message:
                step["message"], code, params = coded(message)
                step.update(message_code=code, message_params=params)  # (None for a plain text)
            row.steps = steps
            event = self._event(mission_id, "step", None, index, _step_text(index, status, message))
            repository.add_event(session, event)
            session.add(row)
            session.commit()
        self.hub.publish_event(
            {"type": "mission_step", "mission_id": mission_id, "step_index": index, "status": status,
             "message": str(message), "time": event.time.isoformat(), "sim_time": event.sim_time,
             "code": event.code, "params": event.params}
        )

    def requeue(self, mission_id: int, message: Message) -> MissionPublic:
        """Back to queued (robot lost, preempted, restart): the robot is let go, every step is pending again."""
        steps = [{k: v for k, v in s.items() if k not in _STEP_RUN_KEYS} | {"status": "pending"}
                 for s in self.get(mission_id, False).steps]
        return self.transition(mission_id, MissionStatus.QUEUED, message, robot_id=None, steps=steps,
                               assigned_at=None, sim_started_at=None)

    def add_event(self, mission_id: int, message: Message, step_index: int | None = None) -> None:
        """An informational event (confirmations, reconciliation) on the mission's record."""
        with Session(self.engine, expire_on_commit=False) as session:
            repository.get(session, mission_id)
            event = self._event(mission_id, "info", None, step_index, message)
            repository.add_event(session, event)
            session.commit()
        self.hub.publish_event(
            {"type": "mission_step" if step_index is not None else "mission_info", "mission_id": mission_id,
             "step_index": step_index, "status": None, "message": event.message, "time": event.time.isoformat(),
             "sim_time": event.sim_time, "code": event.code, "params": event.params}
        )

    def set_fields(self, mission_id: int, **fields: Any) -> None:
        with Session(self.engine, expire_on_commit=False) as session:
            row = repository.get(session, mission_id)
            for key, value in fields.items():
                setattr(row, key, value)
            session.add(row)
            session.commit()

    def _event(self, mission_id: int, kind: str, status: str | None, step: int | None,
               message: Message) -> MissionEvent:
        text, code, params = coded(message)
        return MissionEvent(mission_id=mission_id, time=utcnow(), sim_time=self.sim_now(), kind=kind,
                            status=status, step_index=step, message=text, code=code, params=params)

    def _stream_status(self, mission: MissionPublic, event: MissionEvent) -> None:
        self.hub.publish_event(
            {
                "type": "mission_event",
                "mission_id": mission.id,
                "status": str(mission.status),
                "robot_id": mission.robot_id,
                "message": event.message,
                "code": event.code,
                "params": event.params,
                "time": event.time.isoformat(),
                "sim_time": event.sim_time,
                "mission": mission.model_dump(mode="json"),
            }
        )
