"""Carrying out one mission on one robot, step by step: routes, actions, waits, confirmations,
coverage sweeps and per-step retries. The dispatcher owns the runners and decides what happens when
a robot is lost (fail or requeue). Its database work is tried again while the database is out of
reach (db/retry.py): an outage holds a mission up at its next record, it does not fail it."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from fleet_manager.adapters.base import RobotLink
from fleet_manager.core.coverage import SWEEP_SPEED, sweep_legs
from fleet_manager.core.errors import Conflict, Unavailable
from fleet_manager.core.missions import MissionStatus
from fleet_manager.core.robots import (
    TASK_ESTOPPED,
    RobotMode,
    TaskAction,
    TaskFeedback,
    TaskOutcome,
    TaskRequest,
    TaskResult,
    Waypoint,
)
from fleet_manager.core.traffic import Mover
from fleet_manager.db.retry import to_thread_retrying
from fleet_manager.missions.drive_watch import DriveWatch, released_count
from fleet_manager.missions.service import MissionService
from fleet_manager.missions.texts import reason as coded_reason
from fleet_manager.missions.texts import say
from fleet_manager.missions.traffic import (
    REROUTE,
    ROUTE_WAIT_S,
    YIELD,
    NoRoute,
    Route,
    TrafficManager,
    ZoneBlocked,
)
from fleet_manager.robots.service import RobotRegistry

log = logging.getLogger(__name__)

ESTOP_HOLD = TASK_ESTOPPED  # the causes of a hold (holds.py)
LOCALISATION_HOLD = "localisation"
ROBOT_PAUSE_HOLD = "robot_paused"  # the robot itself was paused (its card, the robot), not its mission
PROTECTIVE_HOLD = "protective_stop"  # the robot's safety layer has stopped it for a while
ESTOP_SEEN_WAIT_S = 3.0  # a task ended "estop": how long the robot's reports may take to show the e-stop
UNREACHABLE_RETRY_S = 2.0  # a robot out of reach (its link down): the step is tried again this often


class RobotLost(Unavailable):
    """The robot stopped reporting while it carried out the mission."""


@dataclass
class StepFailed(Exception):
    index: int
    reason: str


@dataclass
class RunState:
    """What the dispatcher and the operator can see and change of a running mission."""

    mission_id: int
    robot_id: str
    template: str | None = None
    paused: bool = False
    confirmed: asyncio.Event = field(default_factory=asyncio.Event)
    awaiting: int | None = None  # index of the step waiting for confirmation
    awaiting_prompt: str = ""  # what its recipient is asked
    distance_m: float = 0.0
    final_pose: tuple[float, float, float] | None = None
    yields: int = 0
    sends: int = 0
    waiting_route: bool = False  # planning found no clear route yet: it waits where it stands
    goal: str | None = None  # the place its drive under way goes to (where it steps aside toward)
    ahead: tuple[str, ...] = ()  # the places its steps still to come drive to (core/dead_ends.py)
    aside: list[str] = field(default_factory=list)  # places it stepped aside through, for the mission's route
    held: str | None = None  # why the mission is held (one of the *_HOLD causes; holds.py), None if not
    hold_paused: bool = False  # the hold paused the mission (it was underway): its release carries it on
    stopped: bool = False  # its task ended by an e-stop: nothing runs on the robot to pause or resume
    unreachable_since: float | None = None  # monotonic time its robot's link was first found down, while it is
    # task ids are unique per run, so a task re-sent after a restart never shares an id with the old one
    token: str = field(default_factory=lambda: secrets.token_hex(3))

    def task_id(self, index: int, attempt: int) -> str:
        """A new id for every task sent: a robot never sees two tasks with the same id."""
        self.sends += 1
        return f"{self.mission_id}.{index}.{self.token}.{attempt}.{self.sends}"


class MissionRunner:
    def __init__(self, service: MissionService, registry: RobotRegistry, robots: RobotLink,
                 on_started: Callable[[int], Any], traffic: TrafficManager,
                 make_way: Callable[[str, str], Awaitable[None]]) -> None:
        self.service = service
        self.registry = registry
        self.robots = robots  # every call to a robot goes through its adapter
        self.site = service.site
        self.traffic = traffic
        self._on_started = on_started
        self._make_way = make_way

    async def run(self, state: RunState, start_index: int = 0) -> None:
        """Every step from start_index on; raises StepFailed or RobotLost, returns when all are done."""
        used_before = self.registry.battery_used_pct(state.robot_id)
        try:
            await self._run(state, start_index)
        finally:
            await self._add_energy(state, self.registry.battery_used_pct(state.robot_id) - used_before)

    async def _add_energy(self, state: RunState, used_pct: float) -> None:
        """Add the battery energy this run used (percent points times the model's capacity) to the mission's."""
        try:
            capacity = self.site.fleet.robot(state.robot_id).model.battery_capacity_wh
        except KeyError:  # not a robot of the site's fleet: its battery size is unknown
            return

        def add() -> None:
            before = self.service.get(state.mission_id, False).energy_wh or 0.0
            self.service.set_fields(state.mission_id, energy_wh=before + max(used_pct, 0.0) / 100.0 * capacity)

        try:
            await to_thread_retrying(add)
        except Exception:
            log.exception("could not store the energy of mission %s", state.mission_id)

    async def _run(self, state: RunState, start_index: int) -> None:
        mission = await to_thread_retrying(self.service.get, state.mission_id, False)
        route = list(mission.route)
        for record in mission.steps[start_index:]:
            await self._while_paused(state)
            index = record["index"]
            state.ahead = tuple(str(r["target"]) for r in mission.steps[index:] if r.get("target"))
            retries = int(record.get("retries", 0))
            attempt, again = 0, False
            while True:
                note = say("attempt", attempt=attempt + 1, attempts=retries + 1) if attempt and not again else ""
                await to_thread_retrying(self.service.update_step, state.mission_id, index, "active", note,
                                        attempt=attempt + 1)
                result = await self._held_step(state, record, route, attempt + 1)
                if result is None:  # stopped by an e-stop: carried out again once released, not counted
                    again = True
                    continue
                if result.outcome is TaskOutcome.SUCCEEDED:
                    break
                reason = result.reason or f"task {result.outcome}"
                if attempt < retries:
                    await to_thread_retrying(self.service.update_step, state.mission_id, index, "retrying",
                                             coded_reason(reason))
                    attempt, again = attempt + 1, False
                    continue
                await to_thread_retrying(self.service.update_step, state.mission_id, index, "failed",
                                         coded_reason(reason))
                raise StepFailed(index, reason)
            await to_thread_retrying(self.service.update_step, state.mission_id, index, "done")
        await self._on_started(state.mission_id)

    async def _held_step(self, state: RunState, record: dict[str, Any], route: list[str],
                         attempt: int) -> TaskResult | None:
        """The step once; None when an e-stop ended it (or the robot refused it, e-stopped), after the e-stop
        was released and the robot is free to go on."""
        try:
            result = await self._step(state, record, route, attempt)
        except RobotLost:
            raise
        except Unavailable as exc:
            if self.registry.mode(state.robot_id) is not RobotMode.ESTOP:
                await self._out_of_reach(state, record, exc)
                return None  # tried again, not counted as an attempt
            result = TaskResult(TaskOutcome.FAILED, TASK_ESTOPPED)  # refused while e-stopped
        state.unreachable_since = None
        if result.outcome is TaskOutcome.SUCCEEDED or not result.reason.startswith(TASK_ESTOPPED):
            return result
        await to_thread_retrying(self.service.add_event, state.mission_id,
                                 say("step_estopped", step=record["index"], robot=state.robot_id))
        await self._until_released(state)
        return None

    async def _out_of_reach(self, state: RunState, record: dict[str, Any], exc: Unavailable) -> None:
        """The robot cannot be reached now (a VDA 5050 vehicle's broker is down, a link is lost): the step is tried
        again every UNREACHABLE_RETRY_S, as when the robot stops reporting; after the robot timeout it is lost
        (RobotLost: the mission is requeued or failed by the offline policy), not failed at the first try."""
        now = time.monotonic()
        if state.unreachable_since is None:
            state.unreachable_since = now
            await to_thread_retrying(self.service.add_event, state.mission_id,
                                     say("step_unreachable", step=record["index"], error=exc.message,
                                         timeout=self.registry.timeout_s))
        elif now - state.unreachable_since > self.registry.timeout_s:
            state.unreachable_since = None
            raise RobotLost(f"{exc.message} for {self.registry.timeout_s:g} s")
        self.check_online(state.robot_id)
        await asyncio.sleep(UNREACHABLE_RETRY_S)

    async def _until_released(self, state: RunState) -> None:
        """Wait while the robot is e-stopped, or the mission paused (the hold, holds.py, pauses it and resumes it
        on release). Its reports may show the e-stop a moment after its task ended: if they never do within
        ESTOP_SEEN_WAIT_S, the e-stop was released meanwhile."""
        seen, waited = False, 0.0
        state.stopped = True
        try:
            while True:
                self.check_online(state.robot_id)
                estopped = self.registry.mode(state.robot_id) is RobotMode.ESTOP
                seen = seen or estopped
                if (not estopped and not state.paused and state.held is None
                        and (seen or waited >= ESTOP_SEEN_WAIT_S)):
                    return
                await asyncio.sleep(0.2)
                waited += 0.2
        finally:
            state.stopped = False

    async def _step(self, state: RunState, record: dict[str, Any], route: list[str], attempt: int) -> TaskResult:
        kind = record["kind"]
        if kind == "wait":
            await self._on_started(state.mission_id)
            await self._sleep_sim(state, float(record["seconds"]))
            return TaskResult(TaskOutcome.SUCCEEDED)
        if kind == "confirm":
            return await self._confirm(state, record)
        if kind == "action":
            task_id = state.task_id(record["index"], attempt)
            action = TaskAction(record["action"], dict(record.get("params") or {}))
            return await self._run_task(state, TaskRequest(task_id, state.mission_id, (), (action,)), None)
        return await self._drive(state, record, route, attempt)

    async def _drive(self, state: RunState, record: dict[str, Any], route: list[str], attempt: int) -> TaskResult:
        """A go_to, dock or cover step: a route planned in time, released step by step."""
        task_id = state.task_id(record["index"], attempt)
        robot_id = state.robot_id
        zone = self.site.cleaning_zones[record["zone"]] if record["kind"] == "cover" else None
        goal = zone.entry if zone is not None else record["target"]
        planned = await self._plan(state, goal)
        if isinstance(planned, TaskResult):
            return planned
        waypoints, names = list(planned.waypoints), [w.name for w in planned.waypoints[1:]]
        if zone is not None:
            waypoints += self.sweep(robot_id, record["zone"], record.get("spacing"))
            names = [*names, f"{zone.name} (coverage)", zone.entry]
        route.extend([*state.aside, *names])  # (where it stepped aside to while it waited, then its way on)
        state.aside.clear()
        await to_thread_retrying(self.service.set_fields, state.mission_id, route=list(route))
        task = TaskRequest(task_id, state.mission_id, tuple(waypoints),
                           released=released_count(planned, len(waypoints)),
                           dock=record["target"] if record["kind"] == "dock" else None)
        result = await self._run_task(state, task, planned)
        state.distance_m += result.distance_m
        state.final_pose = result.final_pose or state.final_pose
        if result.reason in (REROUTE, YIELD):  # plan again from where the robot is
            why = "step_replan_closed" if result.reason == REROUTE else "step_replan_yield"
            await to_thread_retrying(self.service.add_event, state.mission_id, say(why, step=record["index"]))
            return await self._drive(state, record, route, attempt)
        return result

    async def _plan(self, state: RunState, goal: str) -> Route | TaskResult:
        """Plan in time from the place the robot is at; while no route is clear (a robot parked on the
        way, a closed lane), ask parked robots to make way and try again, up to ROUTE_WAIT_S."""
        robot_id = state.robot_id
        model = self.site.fleet.robot(robot_id).model
        mover = self.traffic.mover(robot_id, model.radius, self.site.max_speed(robot_id), model.safety_params())
        waited, noted = 0.0, False
        state.goal = goal
        try:
            while True:
                report = self.registry.entry(robot_id).report
                try:
                    return self.traffic.plan(mover, report.x, report.y, goal, self._now())
                except ZoneBlocked as exc:  # no robot moving away can open a way: fail at once
                    return TaskResult(TaskOutcome.FAILED, str(exc))
                except NoRoute as exc:
                    if waited >= ROUTE_WAIT_S:
                        return TaskResult(TaskOutcome.FAILED, f"{exc} for {ROUTE_WAIT_S:g} s")
                    if not noted:
                        noted = True
                        await to_thread_retrying(self.service.add_event, state.mission_id,
                                                 say("waiting_route", goal=goal, error=str(exc)))
                state.waiting_route = True
                await self._make_way(robot_id, goal)
                spot = self.traffic.asked.pop(robot_id, None)
                if spot is not None:  # while it waits, it is in another robot's way: it moves aside first
                    await self._step_aside(state, mover, spot)
                await self._sleep_sim(state, 1.0)
                waited += 1.0
        finally:
            state.waiting_route = False
            self.traffic.asked.pop(robot_id, None)

    async def _step_aside(self, state: RunState, mover: Mover, spot: str) -> None:
        report = self.registry.entry(state.robot_id).report
        try:
            aside = self.traffic.plan(mover, report.x, report.y, spot, self._now())
        except NoRoute:
            return
        await to_thread_retrying(self.service.add_event, state.mission_id,
                                 say("steps_aside", robot=state.robot_id, spot=spot))
        task = TaskRequest(state.task_id(-1, 1), state.mission_id, tuple(aside.waypoints),
                           released=released_count(aside, len(aside.waypoints)))
        result = await self._run_task(state, task, aside)
        state.distance_m += result.distance_m
        state.aside.extend(w.name for w in aside.waypoints[1:])

    def _now(self) -> float:
        return self.robots.now() or 0.0

    # -- step kinds -----------------------------------------------------------------------------
    def sweep(self, robot_id: str, zone_name: str, spacing: float | None) -> list[Waypoint]:
        """A back-and-forth sweep inside the zone's polygon, then back to its entry place, at a cleaning
        pace kept within the robot's speed cap and, on each leg, the operating zones' limits."""
        zone = self.site.cleaning_zones[zone_name]
        entry = self.site.navgraph.place(zone.entry)
        legs = sweep_legs(zone, (entry.x, entry.y, entry.yaw), self.site.fleet.robot(robot_id).model.radius, spacing,
                          min(SWEEP_SPEED, self.site.max_speed(robot_id)), self.site.operating_zones.limit_on_segment)
        return [Waypoint(*leg) for leg in legs]

    async def _confirm(self, state: RunState, record: dict[str, Any]) -> TaskResult:
        await self._on_started(state.mission_id)
        index = record["index"]
        state.confirmed.clear()
        state.awaiting, state.awaiting_prompt = index, str(record.get("prompt", ""))
        await to_thread_retrying(self.service.update_step, state.mission_id, index, "awaiting_confirmation",
                                 str(record.get("prompt", "")))
        timeout = float(record["timeout"]) if record.get("timeout") is not None else math.inf
        try:
            waited = await self._sleep_sim(state, timeout, until=state.confirmed)
        finally:
            state.awaiting = None
        if not waited:
            return TaskResult(TaskOutcome.FAILED, f"not confirmed within {timeout:g} s")
        return TaskResult(TaskOutcome.SUCCEEDED)

    # -- plumbing -------------------------------------------------------------------------------
    async def _run_task(self, state: RunState, task: TaskRequest, route: Route | None) -> TaskResult:
        robot_id = state.robot_id
        heading = [0]

        async def accepted() -> None:
            await self._on_started(state.mission_id)

        agent_state = [""]

        def feedback(fb: TaskFeedback) -> None:
            heading[0] = max(heading[0], fb.waypoint_index)
            agent_state[0] = fb.state

        run = asyncio.create_task(self.robots.execute(robot_id, task, accepted, feedback))
        watch = (DriveWatch.start(robot_id, route, len(task.route), self._now(), state.yields)
                 if route is not None else None)
        moving_on = False  # stopped to plan again at once
        paused_at: float | None = None
        try:
            while True:
                done, _ = await asyncio.wait({run}, timeout=0.2)
                if done:
                    return run.result()
                self.check_online(robot_id)
                if watch is None:
                    continue
                if state.paused and state.held != PROTECTIVE_HOLD:  # paused, or held with the robot still: its
                    paused_at = self._now() if paused_at is None else paused_at  # waits for the way do not count
                    continue
                if paused_at is not None:
                    watch.moved_at, paused_at = watch.moved_at + self._now() - paused_at, None
                    watch.blocked_since = None
                verdict, value = watch.tick(self.traffic, heading[0], self._now(), agent_state[0])
                if verdict == "release":
                    await self.robots.release(robot_id, task.task_id, int(value))
                elif verdict == "stop":
                    if value == YIELD:
                        state.yields += 1
                    moving_on = value in (REROUTE, YIELD)
                    outcome = TaskOutcome.CANCELED if moving_on else TaskOutcome.FAILED
                    return TaskResult(outcome, str(value))
        finally:
            if not run.done():
                run.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await run
            if route is not None and not self.registry.online(robot_id):
                self.traffic.lost(robot_id, self._now())  # it may drive on: what was released stays its
            elif route is not None:
                report = self.registry.entry(robot_id).report
                self.traffic.finish(robot_id, report.x, report.y, self._now(), moving_on)

    def check_online(self, robot_id: str) -> None:
        """RobotLost when the robot stopped reporting, or has been without localisation, for the robot timeout."""
        if not self.registry.online(robot_id):
            raise RobotLost(f"robot {robot_id} stopped reporting for {self.registry.timeout_s:g} s")
        if self.registry.lost_for(robot_id) > self.registry.timeout_s:
            raise RobotLost(f"robot {robot_id} lost its localisation for more than {self.registry.timeout_s:g} s")

    async def _while_paused(self, state: RunState) -> None:
        while state.paused:
            await asyncio.sleep(0.1)

    async def _sleep_sim(self, state: RunState, seconds: float, until: asyncio.Event | None = None) -> bool:
        """Let `seconds` of robot time pass (not counting time paused); True when `until` was set first."""
        clock = self.robots.now
        last = clock()
        elapsed = 0.0
        while elapsed < seconds:
            if until is not None and until.is_set():
                return True
            await asyncio.sleep(0.05)
            self.check_online(state.robot_id)
            now = clock()
            step = 0.05 if now is None or last is None else now - last
            last = now
            if not state.paused:
                elapsed += max(step, 0.0)
        return until is not None and until.is_set()


async def mark_underway(service: MissionService, mission_id: int) -> None:
    """assigned → underway, once: later calls (and a mission paused meanwhile) change nothing."""
    mission = await to_thread_retrying(service.get, mission_id, False)
    if mission.status is MissionStatus.ASSIGNED:
        with contextlib.suppress(Conflict):
            await to_thread_retrying(service.transition, mission_id, MissionStatus.UNDERWAY, say("underway"))
