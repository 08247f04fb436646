"""Dispatch: assign queued missions to robots (battery-aware, by priority, emergencies preempt), run
them, send low robots to chargers, and carry out the operator's pause, resume, confirm and cancel."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

from fleet_manager.adapters.base import RobotLink
from fleet_manager.aio import wait_event
from fleet_manager.audit.writer import AuditWriter
from fleet_manager.core.allocation import MissionRequest, RobotCandidate, assign, suitable
from fleet_manager.core.errors import Conflict, DomainError
from fleet_manager.core.missions import PRIORITY_RANK, MissionStatus, Priority
from fleet_manager.core.robots import STANDING_MPS, Command, CommandResult
from fleet_manager.db.retry import to_thread_retrying, unreachable
from fleet_manager.db.tables import utcnow
from fleet_manager.missions.charging import ChargerBook, needs_charge
from fleet_manager.missions.holds import Holds, check_resume
from fleet_manager.missions.making_way import WayMaking
from fleet_manager.missions.runner import (
    MissionRunner,
    RobotLost,
    RunState,
    StepFailed,
    mark_underway,
)
from fleet_manager.missions.schemas import MissionCreate, MissionPublic, as_utc
from fleet_manager.missions.service import MissionService, step_work
from fleet_manager.missions.texts import Message, say
from fleet_manager.missions.texts import reason as coded_reason
from fleet_manager.missions.traffic import TrafficManager
from fleet_manager.robots.service import RobotRegistry
from fleet_manager.settings import Settings

log = logging.getLogger(__name__)

CHARGE_TEMPLATE = "charge"


class Dispatcher:
    def __init__(self, service: MissionService, registry: RobotRegistry, robots: RobotLink | None,
                 settings: Settings | None = None) -> None:
        self.service = service
        self.registry = registry
        self.robots = robots  # every call to a robot goes through its adapter (None: no robots can be reached)
        self.settings = settings or Settings()
        self.period_s = self.settings.dispatch_period_s
        self.site = service.site
        self.paused = False  # queue-wide: no new assignments while set
        self.chargers = ChargerBook(self.site.navgraph)
        self._runs: dict[int, RunState] = {}
        self._tasks: dict[int, asyncio.Task[None]] = {}
        self._started: set[int] = set()
        self._wake = asyncio.Event()
        self.before_round: Callable[[], Awaitable[Any]] | None = None  # e.g. submit the schedules that are due
        self.audit: AuditWriter | None = None  # records every robot command sent
        # routes keep off no-go zones and keep the zones' speed limits and each robot's speed cap; hours
        # zones count as open (no site clock yet: the sim clock has no time of day)
        self.traffic = TrafficManager(self.site.navgraph, zones=self.site.operating_zones,
                                      robot_caps={r.id: self.site.max_speed(r.id) for r in self.site.fleet.robots})
        self.traffic.locate = self._last_seen_at
        self.way = WayMaking(service, registry, self.traffic, self._runs, self._start)
        self._durations: dict[str | None, dict[str, float]] = {}
        self.holds = Holds(service, registry,
                                       lambda robot_id, command: self._command(robot_id, command, audit_refusal=False))
        self.runner = (MissionRunner(service, registry, robots, self._mark_started, self.traffic, self.way.make_way)
                       if robots else None)

    def wake(self) -> None:
        self._wake.set()

    def fleet_changed(self) -> None:
        """The site's fleet changed (a robot registered, edited or retired): plan with the new one."""
        self.traffic.robot_caps = {r.id: self.site.max_speed(r.id) for r in self.site.fleet.robots}
        self._durations.clear()

    def _last_seen_at(self, robot_id: str) -> tuple[float, float] | None:
        """Where the robot was last reported (a robot gone quiet still stands there)."""
        try:
            report = self.registry.entry(robot_id).report
        except DomainError:
            return None
        return report.x, report.y

    # -- the loop -------------------------------------------------------------------------------
    async def run(self) -> None:
        while True:
            await wait_event(self._wake, self.period_s)
            self._wake.clear()
            try:
                if self.before_round is not None:
                    await self.before_round()
                await self.dispatch_once()
            except Exception as exc:
                if unreachable(exc):  # nothing to assign without the queue: the next round tries again
                    log.warning("dispatch round skipped: the database is out of reach (%s)", type(exc).__name__)
                else:
                    log.exception("dispatch round failed")

    async def stop(self) -> None:
        tasks = list(self._tasks.values())
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    async def dispatch_once(self) -> dict[int, str]:
        if self.robots is None or self.paused:
            return {}
        self._park_new_robots()
        queued = await asyncio.to_thread(self.service.search, ("queued",), None, 10_000)
        now = datetime.now(UTC)
        ready = [m for m in queued if m.not_before is None or as_utc(m.not_before) <= now]
        ready.sort(key=lambda m: (PRIORITY_RANK[m.priority], m.id))
        await self._preempt_for_emergencies(ready)
        robots = [r for r in self.registry.available() if r.id not in self.way.busy]
        if self.settings.auto_charge:
            robots = await self._send_low_robots_to_charge(robots)
        if not robots or not ready:
            return {}
        candidates = [self._candidate(r) for r in robots]
        requests = self.way.not_held_back([self._request(m) for m in ready])
        chosen = assign(requests, candidates, self.site.navgraph, self.chargers.chargers)
        for mission_id, robot_id in chosen.items():
            await self._start(mission_id, robot_id, say("assigned", robot=robot_id))
        return chosen

    def _park_new_robots(self) -> None:
        """Robots the traffic manager does not know yet hold the place they stand on; so does a robot that went
        silent on its route (holding all that was released to it) once it reports again, standing."""
        now = (self.robots.now() if self.robots else None) or 0.0
        for rid in self.registry.ids():
            report = self.registry.entry(rid).report
            self.traffic.ensure_parked(rid, report.x, report.y, now)
            if (rid in self.traffic.adrift and rid not in self.registry.assignments and self.registry.online(rid)
                    and abs(report.linear) < STANDING_MPS):
                self.traffic.park(rid, report.x, report.y, now)

    # -- allocation inputs ----------------------------------------------------------------------
    def _candidate(self, report: Any) -> RobotCandidate:
        place, offset = self.site.navgraph.nearest_place(report.x, report.y)
        try:
            model = self.site.fleet.robot(report.id).model
        except KeyError:
            return RobotCandidate(report.id, report.kind, frozenset(), place.name, offset, 0.5)
        capacity = model.battery_capacity_wh
        return RobotCandidate(
            report.id, report.kind, frozenset(model.capabilities), place.name, offset, self.site.max_speed(report.id),
            battery_wh=capacity * report.battery / 100.0, drive_power_w=model.drive_power_w,
            idle_power_w=model.idle_power_w, reserve_wh=capacity * self.settings.battery_reserve_pct / 100.0)

    def _request(self, mission: MissionPublic) -> MissionRequest:
        # (a queued mission: every step pending)
        places, work_s = step_work(self.site, mission.steps, self._action_durations(mission.robot_kind), utcnow())
        return MissionRequest(mission.id, mission.robot_kind, frozenset(mission.capabilities),
                              places[0] if places else None, mission.requested_robot_id, tuple(places), work_s,
                              PRIORITY_RANK[mission.priority])

    def _action_durations(self, kind: str | None) -> dict[str, float]:
        """The longest duration of each action among the robots of a kind (the fleet is fixed: computed once)."""
        out = self._durations.get(kind)
        if out is None:
            out = {}
            for robot in self.site.fleet.robots:
                if kind is None or robot.model.kind == kind:
                    for name, spec in robot.model.actions.items():
                        out[name] = max(out.get(name, 0.0), spec.duration_s)
            self._durations[kind] = out
        return out

    # -- starting, preempting, charging ---------------------------------------------------------
    async def _start(self, mission_id: int, robot_id: str, message: Message, start_index: int = 0,
                     transition: bool = True, making_way: bool = False) -> bool:
        assert self.runner is not None
        if transition and not making_way and (robot_id in self.registry.assignments or robot_id in self.way.busy):
            return False  # taken meanwhile (a robot asked to make way): the mission stays queued
        self.registry.assignments[robot_id] = mission_id
        if transition:
            try:
                mission = await to_thread_retrying(self.service.transition, mission_id, MissionStatus.ASSIGNED,
                                                   message, robot_id=robot_id)
            except Conflict:  # canceled meanwhile
                self.registry.assignments.pop(robot_id, None)
                return False
        else:
            mission = await to_thread_retrying(self.service.get, mission_id, False)
        if mission.template != CHARGE_TEMPLATE:
            self.chargers.release(robot_id)
        state = RunState(mission_id, robot_id, mission.template)
        self._runs[mission_id] = state
        self._tasks[mission_id] = asyncio.create_task(self._execute(state, start_index), name=f"mission-{mission_id}")
        return True

    async def _preempt_for_emergencies(self, ready: list[MissionPublic]) -> None:
        """An emergency mission no idle robot can take takes a suitable robot from a lower-priority one."""
        idle = [self._candidate(r) for r in self.registry.available() if r.id not in self.way.busy]
        for mission in ready:
            if mission.priority is not Priority.EMERGENCY:
                break
            request = self._request(mission)
            if any(suitable(request, c) for c in idle):
                continue
            victims = []
            for robot_id, victim_id in list(self.registry.assignments.items()):
                run = self._runs.get(victim_id)
                if run is None or not self.registry.online(robot_id):
                    continue
                victim = await asyncio.to_thread(self.service.get, victim_id, False)
                if victim.priority is Priority.EMERGENCY:
                    continue
                report = self.registry.entry(robot_id).report
                if suitable(request, self._candidate(report)):
                    victims.append((PRIORITY_RANK[victim.priority], victim_id, robot_id))
            if not victims:
                continue
            _, victim_id, robot_id = max(victims)  # the least urgent mission gives way
            await self._requeue(victim_id, say("preempted", mission=mission.id))
            await self._start(mission.id, robot_id, say("assigned_preempting", robot=robot_id, victim=victim_id))

    async def _send_low_robots_to_charge(self, robots: list[Any]) -> list[Any]:
        """Robots below the threshold get a charge mission to a free charger (reserved); the rest are returned."""
        threshold = self.settings.charge_threshold_pct
        everyone = self._everyone()
        keep = []
        for robot in robots:
            if not needs_charge(robot, threshold, self.chargers, everyone):
                keep.append(robot)
                continue
            charger = self.chargers.free_for(robot, everyone)
            if charger is None:
                continue  # every charger is taken: the robot waits, it takes no new work
            self.chargers.reserve(charger, robot.id)
            body = MissionCreate(template=CHARGE_TEMPLATE, params={"charger": charger}, robot_id=robot.id,
                                 priority=Priority.HIGH)
            charge = await to_thread_retrying(self.service.submit, body)
            log.info("robot %s at %.0f%% < %.0f%%: sent to %s (mission %s)", robot.id, robot.battery, threshold,
                     charger, charge.id)
            await self._start(charge.id, robot.id, say("assigned_charge", robot=robot.id, battery=round(robot.battery),
                                                       threshold=threshold, charger=charger))
        return keep

    def _everyone(self) -> list[Any]:
        """Where every robot of the site stands: its last report, or its spawn pose when it has not
        reported yet (at start-up, so a charger a robot stands on is never given to another)."""
        reports: list[Any] = [self.registry.entry(rid).report for rid in self.registry.ids()]
        seen = {r.id for r in reports}
        for robot in self.site.fleet.robots:
            if robot.id not in seen:
                reports.append(SimpleNamespace(id=robot.id, x=robot.spawn.x, y=robot.spawn.y))
        return reports

    # -- one mission ----------------------------------------------------------------------------
    async def _mark_started(self, mission_id: int) -> None:
        if mission_id not in self._runs:
            return  # late word of a run that ended (a VDA 5050 order accepted once the broker came back, after the
            #         mission was requeued): the mission's next run marks it for itself
        if mission_id not in self._started:
            self._started.add(mission_id)
            await mark_underway(self.service, mission_id)

    async def _execute(self, state: RunState, start_index: int) -> None:
        assert self.runner is not None
        mission_id, robot_id = state.mission_id, state.robot_id
        try:
            await self.runner.run(state, start_index)
            await self._finish(state, MissionStatus.COMPLETED, say("completed"))
        except asyncio.CancelledError:
            raise
        except StepFailed as exc:
            await self._finish(state, MissionStatus.FAILED,
                               say("mission_step_failed", step=exc.index, reason=coded_reason(exc.reason)),
                               failure_reason=exc.reason)
        except RobotLost as exc:
            if self.settings.offline_policy == "requeue":
                await self._requeue(mission_id, say("requeued", reason=coded_reason(exc.message)), cancel_task=False)
            else:
                await self._finish(state, MissionStatus.FAILED, coded_reason(exc.message), failure_reason=exc.message)
        except DomainError as exc:
            await self._finish(state, MissionStatus.FAILED, exc.message, failure_reason=exc.message)
        except Exception as exc:
            log.exception("mission %s failed unexpectedly", mission_id)
            await self._finish(state, MissionStatus.FAILED, f"internal error: {exc}",
                               failure_reason=f"internal error: {exc}")
        finally:
            await self.holds.end(state)
            self._release(mission_id, robot_id)
            self.wake()

    def _release(self, mission_id: int, robot_id: str) -> None:
        current = self._tasks.get(mission_id)
        if current is not None and current is not asyncio.current_task():
            return  # requeued and started again meanwhile (its robot back): the new run owns the robot and flags
        if self.registry.assignments.get(robot_id) == mission_id:
            del self.registry.assignments[robot_id]
        if self._tasks.get(mission_id) is asyncio.current_task():
            self._tasks.pop(mission_id, None)
            self._runs.pop(mission_id, None)
        self._started.discard(mission_id)

    async def _finish(self, state: RunState, status: MissionStatus, message: Message, **fields: Any) -> None:
        pose = state.final_pose
        fields.setdefault("distance_m", state.distance_m)
        if pose is not None:
            fields.setdefault("final_pose", {"x": pose[0], "y": pose[1], "yaw": pose[2]})
        if status is MissionStatus.COMPLETED:
            await mark_underway(self.service, state.mission_id)  # (a no-op unless it is still assigned)
        elif state.template == CHARGE_TEMPLATE:
            self.chargers.release(state.robot_id)
        try:
            await to_thread_retrying(self.service.transition, state.mission_id, status, message, **fields)
        except Conflict:
            log.info("mission %s was already final when it ended %s", state.mission_id, status)

    async def _requeue(self, mission_id: int, message: Message, cancel_task: bool = True) -> None:
        """Back to the queue, every step pending again, the robot stopped and freed."""
        task = self._tasks.pop(mission_id, None)
        state = self._runs.pop(mission_id, None)
        if cancel_task and task is not None and task is not asyncio.current_task():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        if state is not None and self.registry.assignments.get(state.robot_id) == mission_id:
            del self.registry.assignments[state.robot_id]
        self._started.discard(mission_id)
        try:
            await to_thread_retrying(self.service.requeue, mission_id, message)
        except Conflict:
            log.info("mission %s could not be requeued: already final", mission_id)

    # -- restart --------------------------------------------------------------------------------
    async def recover(self, grace_s: float | None = None) -> None:
        """Missions in flight when a previous fleet manager stopped: reconcile with what robots report.

        Wait up to `grace_s` (default: the robot timeout) for their robots; a robot that reports again
        carries on from the step that was active (its new task replaces whatever it still runs); the
        missions of robots that stay silent follow the offline policy. Assigned, not started: requeued.
        """
        in_flight = await to_thread_retrying(self.service.search, ("assigned", "underway", "paused"), None, 10_000)
        for m in in_flight:
            if m.status is MissionStatus.ASSIGNED:
                await to_thread_retrying(self.service.requeue, m.id, say("requeued_before_start"))
        running = [m for m in in_flight if m.status is not MissionStatus.ASSIGNED]
        if not running:
            return
        for m in running:  # held: no new work for these robots while they are reconciled
            if m.robot_id:
                self.registry.assignments[m.robot_id] = m.id
        loop = asyncio.get_running_loop()
        deadline = loop.time() + (self.registry.timeout_s if grace_s is None else grace_s)
        pending = {m.id: m for m in running}
        while pending and loop.time() < deadline:
            for mid, m in list(pending.items()):
                if m.robot_id and self.registry.online(m.robot_id) and self.runner is not None:
                    del pending[mid]
                    await self._resume_after_restart(m)
            await asyncio.sleep(0.1)
        for m in pending.values():
            if m.robot_id and self.registry.assignments.get(m.robot_id) == m.id:
                del self.registry.assignments[m.robot_id]
            reason = say("silent_after_restart", robot=m.robot_id)
            if self.settings.offline_policy == "requeue":
                await to_thread_retrying(self.service.requeue, m.id, say("requeued", reason=reason))
            else:
                await to_thread_retrying(self.service.transition, m.id, MissionStatus.FAILED, reason,
                                         failure_reason=str(reason))

    async def _resume_after_restart(self, mission: MissionPublic) -> None:
        assert mission.robot_id is not None
        index = next((s["index"] for s in mission.steps if s["status"] not in ("done",)), len(mission.steps))
        if mission.status is MissionStatus.PAUSED:
            with contextlib.suppress(DomainError):  # the agent may still hold the pause
                await self._command(mission.robot_id, Command.RESUME)
            await to_thread_retrying(self.service.transition, mission.id, MissionStatus.UNDERWAY,
                                     say("resumed_after_restart"))
        await to_thread_retrying(self.service.add_event, mission.id,
                                 say("reconciled", robot=mission.robot_id, step=index))
        self._started.add(mission.id)
        await self._start(mission.id, mission.robot_id, "", start_index=index, transition=False)

    # -- operator actions -----------------------------------------------------------------------
    async def cancel(self, mission_id: int) -> dict[str, Any]:
        """Cancel the mission; the answer is the mission as the API gives it (MissionService.public: read without
        building a model, once before and once after, as it was read twice with its events before)."""
        mission = await asyncio.to_thread(self.service.public, mission_id)
        if MissionStatus(mission["status"]).terminal:
            return mission  # idempotent: the same final state
        robot_id, template = mission["robot_id"], mission["template"]
        task = self._tasks.get(mission_id)
        if task is not None:
            task.cancel()  # the robot stops first (its goal is canceled at once); the records follow
        try:
            await asyncio.to_thread(self.service.transition, mission_id, MissionStatus.CANCELED,
                                    say("canceled_by_operator"))
            canceled = True
        except Conflict:
            canceled = False  # it ended on its own meanwhile; its own outcome stands
        if task is not None:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
            self._tasks.pop(mission_id, None)
            self._runs.pop(mission_id, None)
        if robot_id:
            if self.registry.assignments.get(robot_id) == mission_id:
                del self.registry.assignments[robot_id]
            if canceled and template == CHARGE_TEMPLATE:
                self.chargers.release(robot_id)
        self.wake()
        return await asyncio.to_thread(self.service.public, mission_id)

    async def pause(self, mission_id: int) -> MissionPublic:
        mission, state = await self._running(mission_id, MissionStatus.UNDERWAY, "pause")
        await self._command(mission.robot_id, Command.PAUSE)
        state.paused = True
        return await asyncio.to_thread(self.service.transition, mission_id, MissionStatus.PAUSED,
                                       say("paused_by_operator"))

    async def resume(self, mission_id: int) -> MissionPublic:
        mission, state = await self._running(mission_id, MissionStatus.PAUSED, "resume")
        check_resume(state, mission_id)  # only a hold by the robot's own pause ends with the resume
        if not state.stopped:  # (an e-stop ended its task: the runner sends the step again once resumed)
            await self._command(mission.robot_id, Command.RESUME)
        self.holds.lift(state)
        state.paused = False
        return await asyncio.to_thread(self.service.transition, mission_id, MissionStatus.UNDERWAY,
                                       say("resumed_by_operator"))

    async def confirm(self, mission_id: int, step_index: int | None, by: str | None) -> MissionPublic:
        mission = await asyncio.to_thread(self.service.get, mission_id, False)
        state = self._runs.get(mission_id)
        if state is None or state.awaiting is None:
            raise Conflict(f"mission {mission_id} ({mission.status}) has no step waiting for confirmation",
                           field="step_index")
        if step_index is not None and step_index != state.awaiting:
            raise Conflict(f"step {step_index} is not waiting for confirmation; step {state.awaiting} is",
                           field="step_index")
        step = state.awaiting
        said = say("step_confirmed_by", step=step, by=by) if by else say("step_confirmed", step=step)
        await asyncio.to_thread(self.service.add_event, mission_id, said, step_index=state.awaiting)
        state.confirmed.set()
        return await asyncio.to_thread(self.service.get, mission_id)

    # -- holds ----------------------------------------------------------------------------------
    async def watch_holds(self) -> None:
        """Missions of robots e-stopped, unlocalised, paused or protective-stopped are held until the cause is gone
        (holds.py)."""
        await self.holds.watch(self._runs.values())

    def runs(self) -> list[RunState]:
        """The missions running now."""
        return list(self._runs.values())

    async def _running(self, mission_id: int, expected: MissionStatus, verb: str) -> tuple[MissionPublic, RunState]:
        mission = await asyncio.to_thread(self.service.get, mission_id, False)
        state = self._runs.get(mission_id)
        if mission.status is not expected or state is None or mission.robot_id is None:
            raise Conflict(f"cannot {verb} mission {mission_id}: it is {mission.status}", field="status")
        return mission, state

    async def _command(self, robot_id: str | None, command: Command, audit_refusal: bool = True) -> None:
        assert self.robots is not None and robot_id is not None
        result, message = await self.robots.command(robot_id, command, "operator")
        if self.audit is not None and (audit_refusal or result is CommandResult.OK):
            self.audit.record_command(robot_id, command, result, message)
        if result is not CommandResult.OK:
            raise Conflict(f"robot {robot_id} refused {command}: {message or result}", field="robot_id")
