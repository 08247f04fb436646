"""Dispatch: assign queued missions to robots and carry each mission out step by step over ROS."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import UTC, datetime
from typing import Any

from fleet_manager.core.allocation import MissionRequest, RobotCandidate, assign
from fleet_manager.core.errors import Conflict, DomainError, Unavailable
from fleet_manager.core.missions import MissionStatus, Priority
from fleet_manager.core.robots import TaskAction, TaskOutcome, TaskRequest, TaskResult, Waypoint
from fleet_manager.missions.schemas import MissionPublic, as_utc
from fleet_manager.missions.service import MissionService
from fleet_manager.robots.service import RobotRegistry
from fleet_manager.ros.bridge import RosBridge

log = logging.getLogger(__name__)

_PRIORITY_ORDER = {Priority.EMERGENCY: 0, Priority.HIGH: 1, Priority.NORMAL: 2, Priority.LOW: 3}
ON_PLACE_M = 0.3  # a robot this close to a place starts its route from there


class Dispatcher:
    def __init__(
        self, service: MissionService, registry: RobotRegistry, bridge: RosBridge | None, period_s: float = 1.0
    ) -> None:
        self.service = service
        self.registry = registry
        self.bridge = bridge
        self.period_s = period_s
        self.site = service.site
        self._tasks: dict[int, asyncio.Task[None]] = {}
        self._wake = asyncio.Event()

    def wake(self) -> None:
        self._wake.set()

    # -- the loop -------------------------------------------------------------------------------
    async def recover(self) -> None:
        """Missions left in flight by a previous run of the fleet manager."""
        for m in await asyncio.to_thread(self.service.search, ("assigned", "underway", "paused"), None, 10_000):
            if m.status is MissionStatus.ASSIGNED:
                await asyncio.to_thread(self.service.transition, m.id, MissionStatus.QUEUED,
                                        "requeued: the fleet manager restarted before the robot started",
                                        robot_id=None)
            else:
                await asyncio.to_thread(self.service.transition, m.id, MissionStatus.FAILED,
                                        "the fleet manager restarted while the mission was underway",
                                        failure_reason="fleet manager restarted while underway")

    async def run(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self.period_s)
            self._wake.clear()
            try:
                await self.dispatch_once()
            except Exception:
                log.exception("dispatch round failed")

    async def stop(self) -> None:
        tasks = list(self._tasks.values())
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    async def dispatch_once(self) -> dict[int, str]:
        if self.bridge is None:
            return {}
        robots = self.registry.available()
        if not robots:
            return {}
        queued = await asyncio.to_thread(self.service.search, ("queued",), None, 10_000)
        now = datetime.now(UTC)
        ready = [m for m in queued if m.not_before is None or as_utc(m.not_before) <= now]
        ready.sort(key=lambda m: (_PRIORITY_ORDER[m.priority], m.id))
        graph = self.site.navgraph
        candidates = []
        for r in robots:
            place, offset = graph.nearest_place(r.x, r.y)
            try:
                model = self.site.fleet.robot(r.id).model
                caps, speed = frozenset(model.capabilities), model.max_speed
            except KeyError:
                caps, speed = frozenset(), 0.5
            candidates.append(RobotCandidate(r.id, r.kind, caps, place.name, offset, speed))
        requests = [
            MissionRequest(m.id, m.robot_kind, frozenset(m.capabilities), _first_target(m.steps),
                           m.requested_robot_id)
            for m in ready
        ]
        chosen = assign(requests, candidates, graph)
        for mission_id, robot_id in chosen.items():
            self.registry.assignments[robot_id] = mission_id
            try:
                await asyncio.to_thread(self.service.transition, mission_id, MissionStatus.ASSIGNED,
                                        f"assigned to {robot_id}", robot_id=robot_id)
            except Conflict:  # canceled meanwhile
                self.registry.assignments.pop(robot_id, None)
                continue
            self._tasks[mission_id] = asyncio.create_task(self._execute(mission_id, robot_id),
                                                          name=f"mission-{mission_id}")
        return chosen

    # -- one mission ----------------------------------------------------------------------------
    async def _execute(self, mission_id: int, robot_id: str) -> None:
        try:
            mission = await asyncio.to_thread(self.service.get, mission_id, False)
            distance, route, final_pose = 0.0, list(mission.route), None
            for record in mission.steps:
                index = record["index"]
                await asyncio.to_thread(self.service.update_step, mission_id, index, "active")
                if record["kind"] == "wait":
                    await self._sleep_sim(float(record["seconds"]))
                    result = TaskResult(TaskOutcome.SUCCEEDED)
                else:
                    task, names = self._task_for(mission_id, robot_id, record)
                    route.extend(names)
                    if names:
                        await asyncio.to_thread(self.service.set_fields, mission_id, route=list(route))
                    result = await self._run_task(mission_id, robot_id, task)
                    distance += result.distance_m
                    final_pose = result.final_pose or final_pose
                if result.outcome is not TaskOutcome.SUCCEEDED:
                    reason = result.reason or f"task {result.outcome}"
                    await asyncio.to_thread(self.service.update_step, mission_id, index, "failed", reason)
                    await self._finish(mission_id, MissionStatus.FAILED, f"step {index} failed: {reason}",
                                       failure_reason=reason, distance_m=distance, final_pose=_pose(final_pose))
                    return
                await asyncio.to_thread(self.service.update_step, mission_id, index, "done")
            if mission.status is MissionStatus.ASSIGNED or not mission.steps:
                await self._underway(mission_id)
            await self._finish(mission_id, MissionStatus.COMPLETED, "completed", distance_m=distance,
                               final_pose=_pose(final_pose))
        except asyncio.CancelledError:
            raise
        except DomainError as exc:
            await self._finish(mission_id, MissionStatus.FAILED, exc.message, failure_reason=exc.message)
        except Exception as exc:
            log.exception("mission %s failed unexpectedly", mission_id)
            await self._finish(mission_id, MissionStatus.FAILED, f"internal error: {exc}",
                               failure_reason=f"internal error: {exc}")
        finally:
            if self.registry.assignments.get(robot_id) == mission_id:
                del self.registry.assignments[robot_id]
            self._tasks.pop(mission_id, None)
            self.wake()

    async def _underway(self, mission_id: int) -> None:
        with contextlib.suppress(Conflict):  # already underway (later steps)
            await asyncio.to_thread(self.service.transition, mission_id, MissionStatus.UNDERWAY, "underway")

    async def _finish(self, mission_id: int, status: MissionStatus, message: str, **fields: Any) -> None:
        try:
            await asyncio.to_thread(self.service.transition, mission_id, status, message, **fields)
        except Conflict:
            log.info("mission %s was already final when it ended %s", mission_id, status)

    async def _run_task(self, mission_id: int, robot_id: str, task: TaskRequest) -> TaskResult:
        assert self.bridge is not None

        async def accepted() -> None:
            await self._underway(mission_id)

        run = asyncio.create_task(self.bridge.execute(robot_id, task, accepted, lambda fb: None))
        try:
            while True:
                done, _ = await asyncio.wait({run}, timeout=0.5)
                if done:
                    return run.result()
                if not self.registry.online(robot_id):
                    run.cancel()
                    raise Unavailable(f"robot {robot_id} stopped reporting for {self.registry.timeout_s:g} s")
        finally:
            if not run.done():
                run.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await run

    def _task_for(self, mission_id: int, robot_id: str, record: dict[str, Any]) -> tuple[TaskRequest, list[str]]:
        task_id = f"{mission_id}.{record['index']}"
        if record["kind"] == "action":
            action = TaskAction(record["action"], dict(record.get("params") or {}))
            return TaskRequest(task_id, mission_id, (), (action,)), []
        waypoints, names = self.plan_route(robot_id, record["target"])
        return TaskRequest(task_id, mission_id, tuple(waypoints)), names

    def plan_route(self, robot_id: str, target: str) -> tuple[list[Waypoint], list[str]]:
        """Shortest navgraph path from where the robot is to the target place."""
        graph = self.site.navgraph
        report = self.registry.entry(robot_id).report
        start, offset = graph.nearest_place(report.x, report.y)
        path = graph.shortest_path(start.name, target)
        names = path if offset > ON_PLACE_M else path[1:]
        if not names:
            names = [target]
        waypoints = []
        for i, name in enumerate(names):
            place = graph.place(name)
            prev = path[path.index(name) - 1] if path.index(name) > 0 else None
            limit = graph.lane_between(prev, name).speed_limit if prev is not None else None
            last = i == len(names) - 1
            waypoints.append(Waypoint(name, place.x, place.y, place.yaw if last else None, limit or 0.0))
        return waypoints, names

    async def _sleep_sim(self, seconds: float) -> None:
        clock = self.bridge.now if self.bridge is not None else (lambda: None)
        start = clock()
        if start is None:
            await asyncio.sleep(seconds)
            return
        while (clock() or start) - start < seconds:
            await asyncio.sleep(0.05)

    # -- operator actions -----------------------------------------------------------------------
    async def cancel(self, mission_id: int) -> MissionPublic:
        mission = await asyncio.to_thread(self.service.get, mission_id)
        if mission.status.terminal:
            return mission  # idempotent: the same final state
        try:
            await asyncio.to_thread(self.service.transition, mission_id, MissionStatus.CANCELED,
                                    "canceled by operator")
        except Conflict:
            return await asyncio.to_thread(self.service.get, mission_id)
        task = self._tasks.get(mission_id)
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        if mission.robot_id and self.registry.assignments.get(mission.robot_id) == mission_id:
            del self.registry.assignments[mission.robot_id]
        self.wake()
        return await asyncio.to_thread(self.service.get, mission_id)


def _first_target(steps: list[dict[str, Any]]) -> str | None:
    return next((s["target"] for s in steps if s.get("target")), None)


def _pose(pose: tuple[float, float, float] | None) -> dict[str, float] | None:
    return None if pose is None else {"x": pose[0], "y": pose[1], "yaw": pose[2]}
