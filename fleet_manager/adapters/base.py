"""The robot-adapter seam: the one interface through which the dispatcher, the traffic manager and the
recorder speak to robots, whatever protocol the robot speaks.

An adapter (labfleet: our agent's ExecuteTask; nav2: a robot's own Nav2; vda5050: MQTT orders) starts a task
from a released route, extends the release, pauses, resumes, cancels (cancelling the `execute` coroutine),
e-stops, and reports each robot's state. Adapters work in the robot's own map frame; `RobotLink` routes each
call to the robot's adapter and converts poses both ways with the robot's map transform (goals out, states
in), so nothing else in the fleet manager ever sees a robot's own frame.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from typing import Protocol

from labfleet_sim.fleet_config import MapTransform

from fleet_manager.core.errors import NotFound
from fleet_manager.core.robots import (
    Command,
    CommandResult,
    RobotReport,
    TaskFeedback,
    TaskRequest,
    TaskResult,
)
from fleet_manager.robots.roster import Registration

log = logging.getLogger(__name__)

Accepted = Callable[[], Awaitable[None]]
OnFeedback = Callable[[TaskFeedback], None]


class RobotAdapter(Protocol):
    """What the fleet manager asks of every adapter. Poses, routes and reports are in the robot's own map."""

    name: str

    def attach(self, robot: Registration) -> None:
        """Start talking to a registered robot (subscriptions, clients); called again when it is edited."""

    def detach(self, robot_id: str) -> None:
        """Stop talking to a robot (retired, or moved to another adapter)."""

    async def execute(self, robot: Registration, task: TaskRequest, on_accepted: Accepted,
                      on_feedback: OnFeedback) -> TaskResult:
        """Run the task (drive its released route, then its actions); cancelling the coroutine cancels it."""

    async def release(self, robot: Registration, task_id: str, waypoints: int) -> None:
        """The robot may now drive its task's route up to and including waypoint `waypoints - 1`."""

    async def command(self, robot: Registration, command: Command, reason: str) -> tuple[CommandResult, str]:
        """Pause, resume, e-stop, release an e-stop, dock."""

    async def close(self) -> None:
        """Stop every robot's plumbing (the fleet manager is stopping)."""


@dataclass(frozen=True)
class Announced:
    """A robot that made itself known without being registered: listed, never dispatched."""

    id: str
    adapter: str
    detail: str = ""


class RobotLink:
    """Routes robot calls to each robot's adapter and keeps robots' own frames out of the fleet manager."""

    def __init__(self, clock: Callable[[], float | None], on_states: Callable[[list[RobotReport]], None],
                 on_task_state: Callable[[str, str, str], None] | None = None,
                 adapter_of: dict[str, str] | None = None) -> None:
        self.adapters: dict[str, RobotAdapter] = {}
        self.robots: dict[str, Registration] = {}
        self.announced: dict[str, Announced] = {}  # robots seen but not registered, by id
        self.adapter_of = adapter_of if adapter_of is not None else {}  # an announced robot's adapter, by id
        self.clock = clock
        self._on_states = on_states
        self._on_task_state = on_task_state  # (robot id, task id, state) of every task feedback (the pilot watch)

    # -- set-up ---------------------------------------------------------------------------------
    def use(self, adapter: RobotAdapter) -> None:
        self.adapters[adapter.name] = adapter
        for robot in self.robots.values():
            if robot.adapter == adapter.name:
                adapter.attach(robot)

    def set_robots(self, registrations: list[Registration]) -> None:
        """The registered robots now (after every roster change): adapters attach and detach accordingly."""
        new = {r.id: r for r in registrations}
        for rid, old in self.robots.items():
            if (rid not in new or new[rid].adapter != old.adapter) and old.adapter in self.adapters:
                self.adapters[old.adapter].detach(rid)
        for rid, robot in new.items():
            self.announced.pop(rid, None)
            if robot.adapter in self.adapters and self.robots.get(rid) != robot:
                self.adapters[robot.adapter].attach(robot)
        self.robots = new

    def now(self) -> float | None:
        """The fleet manager's clock (sim time when simulated)."""
        return self.clock()

    # -- calls out ------------------------------------------------------------------------------
    def _route(self, robot_id: str) -> tuple[Registration, RobotAdapter]:
        robot = self.robots.get(robot_id)
        if robot is None:
            if robot_id in self.announced:
                raise NotFound(f"robot {robot_id!r} is not registered: an admin must register it first "
                               f"(POST /robots)", field="robot_id")
            raise NotFound(f"unknown robot {robot_id!r}", field="robot_id")
        adapter = self.adapters.get(robot.adapter)
        if adapter is None:
            raise NotFound(f"robot commands need the {robot.adapter} adapter, which is not running here"
                           + (" (the ROS bridge is disabled)" if robot.adapter in ("labfleet", "nav2") else ""),
                           field="robot_id")
        return robot, adapter

    async def execute(self, robot_id: str, task: TaskRequest, on_accepted: Accepted,
                      on_feedback: OnFeedback) -> TaskResult:
        robot, adapter = self._route(robot_id)
        watch = self._on_task_state

        def feedback(fb: TaskFeedback) -> None:
            on_feedback(fb)
            if watch is not None:
                watch(robot_id, fb.task_id, fb.state)

        result = await adapter.execute(robot, to_robot_task(robot.map_transform, task), on_accepted, feedback)
        return to_site_result(robot.map_transform, result)

    async def release(self, robot_id: str, task_id: str, waypoints: int) -> None:
        robot, adapter = self._route(robot_id)
        await adapter.release(robot, task_id, waypoints)

    async def command(self, robot_id: str, command: Command, reason: str = "") -> tuple[CommandResult, str]:
        robot, adapter = self._route(robot_id)
        return await adapter.command(robot, command, reason)

    async def close(self) -> None:
        for adapter in self.adapters.values():
            try:
                await adapter.close()
            except Exception:
                log.exception("the %s adapter did not close cleanly", adapter.name)

    # -- states in ------------------------------------------------------------------------------
    def states(self, adapter: str, batch: list[RobotReport]) -> None:
        """Reports from an adapter, in the robots' own frames, on the event loop: into the site frame and on to
        the lab. A robot that reports through an adapter it is not registered with is announced, not passed on."""
        out = []
        for report in batch:
            robot = self.robots.get(report.id)
            if robot is None or robot.adapter != adapter:
                self.announce(Announced(report.id, adapter))
                out.append(report)  # listed as unregistered; the registry never dispatches it
                continue
            out.append(to_site_report(robot.map_transform, report))
        if out:
            self._on_states(out)

    def announce(self, robot: Announced) -> None:
        self.adapter_of[robot.id] = robot.adapter
        if robot.id not in self.announced:
            log.info("robot %s announces itself over %s but is not registered%s", robot.id, robot.adapter,
                     f" ({robot.detail})" if robot.detail else "")
        self.announced[robot.id] = robot


# -- frame conversions --------------------------------------------------------------------------
def to_robot_task(t: MapTransform, task: TaskRequest) -> TaskRequest:
    if t.is_identity:
        return task
    route = []
    for w in task.route:
        x, y, yaw = t.to_map(w.x, w.y, w.yaw or 0.0)
        width = w.lane_width / t.scale if w.lane_width is not None else None
        route.append(replace(w, x=x, y=y, yaw=yaw if w.yaw is not None else None, max_speed=w.max_speed / t.scale,
                             lane_width=width))
    return replace(task, route=tuple(route))


def to_site_result(t: MapTransform, result: TaskResult) -> TaskResult:
    if t.is_identity:
        return result
    pose = t.to_site(*result.final_pose) if result.final_pose is not None else None
    return replace(result, final_pose=pose, distance_m=result.distance_m * t.scale)


def to_site_report(t: MapTransform, report: RobotReport) -> RobotReport:
    if t.is_identity:
        return report
    x, y, yaw = t.to_site(report.x, report.y, report.yaw)
    return replace(report, x=x, y=y, yaw=yaw, linear=report.linear * t.scale)
