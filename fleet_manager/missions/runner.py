"""Carrying out one mission on one robot, step by step: routes, actions, waits, confirmations,
coverage sweeps and per-step retries. The dispatcher owns the runners and decides what happens when
a robot is lost (fail or requeue)."""

from __future__ import annotations

import asyncio
import contextlib
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from fleet_manager.core.coverage import coverage_path
from fleet_manager.core.errors import Conflict, Unavailable
from fleet_manager.core.missions import MissionStatus
from fleet_manager.core.navgraph import keep_right
from fleet_manager.core.robots import TaskAction, TaskOutcome, TaskRequest, TaskResult, Waypoint
from fleet_manager.missions.service import MissionService
from fleet_manager.robots.service import RobotRegistry
from fleet_manager.ros.bridge import RosBridge

ON_PLACE_M = 0.3  # a robot this close to a place starts its route from there


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
    paused: bool = False
    confirmed: asyncio.Event = field(default_factory=asyncio.Event)
    awaiting: int | None = None  # index of the step waiting for confirmation
    distance_m: float = 0.0
    final_pose: tuple[float, float, float] | None = None


class MissionRunner:
    def __init__(self, service: MissionService, registry: RobotRegistry, bridge: RosBridge,
                 on_started: Callable[[int], Any]) -> None:
        self.service = service
        self.registry = registry
        self.bridge = bridge
        self.site = service.site
        self._on_started = on_started

    async def run(self, state: RunState, start_index: int = 0) -> None:
        """Every step from start_index on; raises StepFailed or RobotLost, returns when all are done."""
        mission = await asyncio.to_thread(self.service.get, state.mission_id, False)
        route = list(mission.route)
        for record in mission.steps[start_index:]:
            await self._while_paused(state)
            index = record["index"]
            retries = int(record.get("retries", 0))
            for attempt in range(retries + 1):
                note = f"attempt {attempt + 1} of {retries + 1}" if attempt else ""
                await asyncio.to_thread(self.service.update_step, state.mission_id, index, "active", note,
                                        attempt=attempt + 1)
                result = await self._step(state, record, route)
                if result.outcome is TaskOutcome.SUCCEEDED:
                    break
                reason = result.reason or f"task {result.outcome}"
                if attempt < retries:
                    await asyncio.to_thread(self.service.update_step, state.mission_id, index, "retrying", reason)
                    continue
                await asyncio.to_thread(self.service.update_step, state.mission_id, index, "failed", reason)
                raise StepFailed(index, reason)
            await asyncio.to_thread(self.service.update_step, state.mission_id, index, "done")
        await self._on_started(state.mission_id)

    async def _step(self, state: RunState, record: dict[str, Any], route: list[str]) -> TaskResult:
        kind = record["kind"]
        if kind == "wait":
            await self._on_started(state.mission_id)
            await self._sleep_sim(state, float(record["seconds"]))
            return TaskResult(TaskOutcome.SUCCEEDED)
        if kind == "confirm":
            return await self._confirm(state, record)
        task, names = self.task_for(state, record)
        route.extend(names)
        if names:
            await asyncio.to_thread(self.service.set_fields, state.mission_id, route=list(route))
        result = await self._run_task(state, task)
        state.distance_m += result.distance_m
        state.final_pose = result.final_pose or state.final_pose
        return result

    # -- step kinds -----------------------------------------------------------------------------
    def task_for(self, state: RunState, record: dict[str, Any]) -> tuple[TaskRequest, list[str]]:
        task_id = f"{state.mission_id}.{record['index']}.{record.get('attempt', 1)}"
        if record["kind"] == "action":
            action = TaskAction(record["action"], dict(record.get("params") or {}))
            return TaskRequest(task_id, state.mission_id, (), (action,)), []
        if record["kind"] == "cover":
            waypoints, names = self.plan_cover(state.robot_id, record["zone"], record.get("spacing"))
            return TaskRequest(task_id, state.mission_id, tuple(waypoints)), names
        waypoints, names = self.plan_route(state.robot_id, record["target"])
        return TaskRequest(task_id, state.mission_id, tuple(waypoints)), names

    def plan_route(self, robot_id: str, target: str) -> tuple[list[Waypoint], list[str]]:
        """Shortest navgraph path from where the robot is to the target place."""
        graph = self.site.navgraph
        report = self.registry.entry(robot_id).report
        start, offset = graph.nearest_place(report.x, report.y)
        path = graph.shortest_path(start.name, target)
        points = keep_right(graph, path)
        first = 0 if offset > ON_PLACE_M else 1
        if first >= len(path):  # already there: drive onto the place itself
            place = graph.place(target)
            return [Waypoint(target, place.x, place.y, place.yaw, 0.0)], [target]
        waypoints = []
        for i in range(first, len(path)):
            name, (x, y) = path[i], points[i]
            limit = graph.lane_between(path[i - 1], name).speed_limit if i > 0 else None
            last = i == len(path) - 1
            waypoints.append(Waypoint(name, x, y, graph.place(name).yaw if last else None, limit or 0.0))
        return waypoints, path[first:]

    def plan_cover(self, robot_id: str, zone_name: str, spacing: float | None) -> tuple[list[Waypoint], list[str]]:
        """To the zone's entry place, a back-and-forth sweep inside its polygon, back to the entry."""
        zone = self.site.cleaning_zones[zone_name]
        radius = self.site.fleet.robot(robot_id).model.radius
        sweep = coverage_path(zone.shape, spacing or 2 * radius, margin=radius + 0.1)
        waypoints, names = self.plan_route(robot_id, zone.entry)
        entry = self.site.navgraph.place(zone.entry)
        speed = 0.5  # m/s: a cleaning pace
        waypoints = [w if w.name != zone.entry else Waypoint(w.name, w.x, w.y, None, w.max_speed) for w in waypoints]
        waypoints += [Waypoint(f"{zone_name}#{k}", x, y, None, speed) for k, (x, y) in enumerate(sweep)]
        waypoints.append(Waypoint(zone.entry, entry.x, entry.y, entry.yaw, speed))
        return waypoints, [*names, f"{zone_name} ({len(sweep)} sweep points)", zone.entry]

    async def _confirm(self, state: RunState, record: dict[str, Any]) -> TaskResult:
        await self._on_started(state.mission_id)
        index = record["index"]
        state.confirmed.clear()
        state.awaiting = index
        await asyncio.to_thread(self.service.update_step, state.mission_id, index, "awaiting_confirmation",
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
    async def _run_task(self, state: RunState, task: TaskRequest) -> TaskResult:
        async def accepted() -> None:
            await self._on_started(state.mission_id)

        run = asyncio.create_task(self.bridge.execute(state.robot_id, task, accepted, lambda fb: None))
        try:
            while True:
                done, _ = await asyncio.wait({run}, timeout=0.5)
                if done:
                    return run.result()
                self.check_online(state.robot_id)
        finally:
            if not run.done():
                run.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await run

    def check_online(self, robot_id: str) -> None:
        if not self.registry.online(robot_id):
            raise RobotLost(f"robot {robot_id} stopped reporting for {self.registry.timeout_s:g} s")

    async def _while_paused(self, state: RunState) -> None:
        while state.paused:
            await asyncio.sleep(0.1)

    async def _sleep_sim(self, state: RunState, seconds: float, until: asyncio.Event | None = None) -> bool:
        """Let `seconds` of robot time pass (not counting time paused); True when `until` was set first."""
        clock = self.bridge.now
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
    mission = await asyncio.to_thread(service.get, mission_id, False)
    if mission.status is MissionStatus.ASSIGNED:
        with contextlib.suppress(Conflict):
            await asyncio.to_thread(service.transition, mission_id, MissionStatus.UNDERWAY, "underway")
