"""One task on a Nav2 robot: its released route as NavigateThroughPoses goals, docking, timed actions.

The job never sends a pose beyond the release: a goal holds the poses from the one the robot heads to up to
the last released one. When the release grows while a goal runs, a new goal preempts it (Nav2 aborts the old
one: expected, ignored). A goal that succeeds short of the route's end leaves the robot waiting for the next
release. Pause cancels the goal and resume sends it again from where the robot heads; an e-stop cancels it and
ends the task. An abort the job did not cause fails the task with Nav2's error code and message.

Nav2 rejects a goal while it cannot place the robot (bt_navigator: "Initial robot pose is not available"). The
robot's TF reaches Nav2 and the fleet manager separately, so in the moment localisation is lost or comes back
the two can disagree: a rejected goal is sent again every tick, and the task fails only when Nav2 has gone on
rejecting for REJECTED_FOR_S of wall time (a hold for lost localisation pauses the job and restarts the count).
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from action_msgs.msg import GoalStatus
from rclpy.action import ActionClient
from rclpy.action.client import ClientGoalHandle

from fleet_manager.adapters import nav2_conversions as conv
from fleet_manager.adapters.base import Accepted, OnFeedback
from fleet_manager.aio import wait_event
from fleet_manager.core.robots import RobotMode, TaskFeedback, TaskOutcome, TaskRequest, TaskResult, Waypoint
from fleet_manager.robots.roster import Registration
from fleet_manager.ros.bridge import RosBridge

log = logging.getLogger(__name__)

SERVER_WAIT_S = 5.0  # for navigate_through_poses; docking servers are looked for for 1 s
STILL_S = 3.0  # sim seconds without moving while a goal runs: reported as waiting for an obstacle
TICK_S = 0.25
DEFAULT_ACTION_S = 5.0
REJECTED_FOR_S = 10.0  # wall seconds of goals rejected one after another before the task fails


class Nav2Calls:
    """The Nav2 calls of one robot, from the event loop (rclpy runs on the bridge's thread)."""

    def __init__(self, bridge: RosBridge, nav: ActionClient | None, dock: ActionClient | None,
                 undock: ActionClient | None, set_speed_limit: Callable[[float], None], frame: str,
                 robot_id: str, servers: dict[str, bool]) -> None:
        self.bridge, self.nav, self.dock, self.undock = bridge, nav, dock, undock
        self.set_speed_limit = set_speed_limit
        self.frame = frame
        self.robot_id = robot_id
        self._has = servers  # which servers the robot has, kept with the robot (looked for once)

    async def available(self, which: str) -> bool:
        """Whether the robot serves `which` (navigate_through_poses, dock_robot, undock_robot)."""
        client = {"navigate_through_poses": self.nav, "dock_robot": self.dock, "undock_robot": self.undock}[which]
        if client is None:
            return False
        if which not in self._has:
            try:
                await self.bridge.wait_ready(client.server_is_ready, f"robot {self.robot_id!r} ({which})",
                                             SERVER_WAIT_S if which == "navigate_through_poses" else 1.0)
                self._has[which] = True
            except Exception:
                if which == "navigate_through_poses":
                    return False  # not up yet: looked for again on the next task
                self._has[which] = False
        return self._has[which]

    async def send(self, client: ActionClient, goal: Any, on_feedback: Callable[[Any], None]) -> ClientGoalHandle:
        loop = asyncio.get_running_loop()

        def feedback(msg: Any) -> None:
            loop.call_soon_threadsafe(on_feedback, msg.feedback)

        sent = self.bridge.ros_call(lambda: client.send_goal_async(goal, feedback))
        try:
            handle: ClientGoalHandle = await asyncio.shield(sent)
        except asyncio.CancelledError:  # the goal is on its way: cancel it as soon as the robot accepts it
            sent.add_done_callback(self._cancel_when_accepted)
            raise
        return handle

    def _cancel_when_accepted(self, sent: asyncio.Future[Any]) -> None:
        if sent.cancelled() or sent.exception() is not None:
            return
        handle = sent.result()
        if handle.accepted:
            self.cancel(handle)

    def result(self, handle: ClientGoalHandle) -> asyncio.Future[Any]:
        return self.bridge.ros_call(handle.get_result_async)

    def cancel(self, handle: ClientGoalHandle) -> None:
        if self.bridge.running:
            self.bridge.ros_call(handle.cancel_goal_async)


@dataclass
class _Goal:
    seq: int
    start: int  # first route index among its poses
    end: int  # one past the last
    handle: ClientGoalHandle | None = None
    result: asyncio.Future[Any] | None = None
    expected_end: bool = False  # preempted, paused or stopped by the job: its abort or cancel is no failure


class _Stopped(Exception):
    def __init__(self, outcome: TaskOutcome, reason: str) -> None:
        super().__init__(reason)
        self.outcome, self.reason = outcome, reason


class Job:
    def __init__(self, task: TaskRequest, robot: Registration, calls: Nav2Calls, on_feedback: OnFeedback,
                 pose: Callable[[], tuple[float, float, float] | None], clock: Callable[[], float | None],
                 docked: bool = False) -> None:
        self.task = task
        self.robot = robot
        self.calls = calls
        self._on_feedback = on_feedback
        self._pose = pose
        self._clock = clock
        self.docked = docked
        route = task.route
        self.released = len(route) if task.released <= 0 else min(task.released, len(route))
        self.heading = 1 if len(route) > 1 else 0  # waypoint 0 is where the robot stands
        self.state = "driving"
        self.mode = RobotMode.MOVING if route else RobotMode.ACTING
        self.error = ""
        self.paused = False
        self.distance_m = 0.0
        self.total_m = sum(math.dist((a.x, a.y), (b.x, b.y)) for a, b in itertools.pairwise(route))
        self._wake = asyncio.Event()
        self._goal: _Goal | None = None
        self._seq = 0
        self._stop: _Stopped | None = None
        self._accepted = False
        self._still_since: float | None = None
        self._distance_left = 0.0
        self._rejected_since: float | None = None  # wall time of the first of the goals Nav2 rejects in a row

    # -- from the adapter -----------------------------------------------------------------------
    def release(self, waypoints: int) -> None:
        n = len(self.task.route)
        waypoints = n if waypoints <= 0 else min(waypoints, n)
        if waypoints > self.released:
            self.released = waypoints
            self._wake.set()

    async def pause(self) -> None:
        self.paused = True
        self._end_goal()
        self._wake.set()

    def resume(self) -> None:
        self.paused = False
        self._rejected_since = None
        self._wake.set()

    async def stop(self, reason: str) -> None:
        """E-stop: the goal canceled, the task failed."""
        self._stop = _Stopped(TaskOutcome.FAILED, reason)
        self._end_goal()
        self._wake.set()

    def abandon(self, reason: str) -> None:
        self._stop = _Stopped(TaskOutcome.CANCELED, reason)
        self._end_goal()
        self._wake.set()

    def moved(self, metres: float) -> None:
        """The robot moved by `metres` since its last state (from the adapter's state tick)."""
        if metres < 1.0:  # a jump of a metre or more is a localisation correction, not driving
            self.distance_m += metres
        if metres > 0.005:
            self._still_since = None

    @property
    def progress(self) -> float:
        return max(0.0, min(1.0, self.distance_m / self.total_m)) if self.total_m > 0 else 0.0

    # -- running --------------------------------------------------------------------------------
    async def run(self, on_accepted: Accepted) -> TaskResult:
        try:
            await self._run(on_accepted)
        except _Stopped as stop:
            return self._result(stop.outcome, stop.reason)
        except asyncio.CancelledError:
            self._end_goal()
            raise
        return self._result(TaskOutcome.SUCCEEDED, "")

    def _result(self, outcome: TaskOutcome, reason: str) -> TaskResult:
        return TaskResult(outcome, reason, self._pose(), self.distance_m)

    async def _accept(self, on_accepted: Accepted) -> None:
        if not self._accepted:
            self._accepted = True
            await on_accepted()

    async def _run(self, on_accepted: Accepted) -> None:
        route = self.task.route
        if route:
            if not await self.calls.available("navigate_through_poses"):
                raise _Stopped(TaskOutcome.FAILED, f"robot {self.robot.id} serves no Nav2 navigate_through_poses "
                                                   f"in {self.robot.namespace}")
            docking = self.task.dock is not None and await self.calls.available("dock_robot")
            if self.docked and await self.calls.available("undock_robot"):
                await self._undock(on_accepted)
            self.docked = False
            await self._navigate(on_accepted, len(route) - 1 if docking else len(route))
            if docking:
                await self._dock(on_accepted)
        await self._accept(on_accepted)
        for action in self.task.actions:
            await self._act(action.name, action.duration_s)

    async def _wait(self) -> None:
        """Until something changes (a release, a pause, a goal's end, feedback) or a tick passes."""
        await wait_event(self._wake, TICK_S)
        self._wake.clear()
        if self._stop is not None:
            raise self._stop

    def _feedback(self) -> None:
        self._on_feedback(TaskFeedback(self.task.task_id, self.heading, self.progress, self._distance_left,
                                       "paused" if self.paused else self.state))

    def _set(self, state: str, mode: RobotMode) -> None:
        if (state, mode) != (self.state, self.mode):
            self.state, self.mode = state, mode
            self._feedback()

    # -- navigation -----------------------------------------------------------------------------
    async def _navigate(self, on_accepted: Accepted, end: int) -> None:
        """Drive to waypoint `end - 1`, never past the release."""
        while self.heading < end:
            if self.paused:
                self._set("paused", RobotMode.PAUSED)
                await self._wait()
                continue
            limit = min(self.released, end)
            goal = self._goal
            if goal is not None and goal.result is not None and goal.result.done():
                self._goal = None
                self._finished(goal)
                continue
            if self.heading >= limit:
                self._set("waiting_release", RobotMode.WAITING)
                await self._wait()
                continue
            if goal is None or goal.end < limit:  # nothing running, or the release grew: a (new) goal
                await self._send(on_accepted, self.heading, limit, end)
                continue
            self._watch_still()
            await self._wait()

    async def _send(self, on_accepted: Accepted, start: int, end: int, drive_end: int) -> None:
        route = self.task.route
        previous = self._goal
        if previous is not None:
            previous.expected_end = True  # Nav2 aborts it when the new goal arrives
        self._seq += 1
        goal = _Goal(self._seq, start, end)
        self._goal = goal
        pose = self._pose()
        here = (pose[0], pose[1]) if pose is not None else (route[start - 1].x, route[start - 1].y) if start else (
            route[0].x, route[0].y)
        last_yaw = route[end - 1].yaw if end == len(route) and end == drive_end else None
        msg = conv.through_poses_goal(here, route[start:end], self.calls.frame, last_yaw)
        self._apply_speed_limit()
        assert self.calls.nav is not None
        handle = await self.calls.send(self.calls.nav, msg, lambda fb: self._on_nav_feedback(goal, fb))
        if not handle.accepted:  # the goal before it, if any, runs on
            if self._goal is goal:
                self._goal = previous
                if previous is not None:
                    previous.expected_end = False
            await self._rejected()
            return
        self._rejected_since = None
        goal.handle = handle
        if self._goal is not goal or self._stop is not None or self.paused:
            self.calls.cancel(handle)  # paused, stopped or replaced while it was on its way
            goal.expected_end = True
        goal.result = self.calls.result(handle)
        goal.result.add_done_callback(lambda _f: self._wake.set())
        self._set("driving", RobotMode.MOVING)
        await self._accept(on_accepted)

    async def _rejected(self) -> None:
        """Nav2 refused a goal: sent again after a tick, unless it has refused for REJECTED_FOR_S."""
        now = time.monotonic()
        if self._rejected_since is None:
            self._rejected_since = now
        elif now - self._rejected_since >= REJECTED_FOR_S:
            self._end_goal()
            raise _Stopped(TaskOutcome.FAILED, f"Nav2 rejected the navigation goal for {REJECTED_FOR_S:g} s (is the "
                                               f"robot localised?)")
        log.info("robot %s: Nav2 rejected the navigation goal; sending it again", self.robot.id)
        if self._goal is None:  # else the robot drives on the goal before
            self._set("goal_rejected", RobotMode.WAITING)
        await self._wait()

    def _on_nav_feedback(self, goal: _Goal, fb: Any) -> None:
        if goal is not self._goal:
            return
        passed = (goal.end - goal.start) - max(int(fb.number_of_poses_remaining), 0)
        heading = min(max(self.heading, goal.start + passed), goal.end)
        self._distance_left = float(fb.distance_remaining)
        if heading != self.heading:
            self.heading = heading
            self._apply_speed_limit()
            self._feedback()

    def _finished(self, goal: _Goal) -> None:
        assert goal.result is not None
        response = goal.result.result()
        status = response.status
        if status == GoalStatus.STATUS_SUCCEEDED:
            self.heading = max(self.heading, goal.end)
            self._feedback()
            return
        if goal.expected_end:
            return
        if status == GoalStatus.STATUS_ABORTED:
            code, text = int(response.result.error_code), str(response.result.error_msg)
            self.error = f"Nav2: {conv.describe_error(code, text)}"
            raise _Stopped(TaskOutcome.FAILED, f"Nav2 aborted the navigation ({conv.describe_error(code, text)})")
        raise _Stopped(TaskOutcome.FAILED, "the robot's navigation goal was canceled by something other than "
                                           "the fleet manager")

    def _end_goal(self) -> None:
        goal, self._goal = self._goal, None
        if goal is not None:
            goal.expected_end = True
            if goal.handle is not None and (goal.result is None or not goal.result.done()):
                self.calls.cancel(goal.handle)

    def _watch_still(self) -> None:
        now = self._clock() or 0.0
        if self._still_since is None:
            self._still_since = now
            if self.state == "waiting_obstacle":
                self._set("driving", RobotMode.MOVING)
        elif now - self._still_since >= STILL_S:
            self._set("waiting_obstacle", RobotMode.WAITING)

    def _apply_speed_limit(self) -> None:
        """The cap of the segment into the waypoint it heads to and of the next one (0: no cap)."""
        route: tuple[Waypoint, ...] = self.task.route
        caps = [route[i].max_speed for i in (self.heading, self.heading + 1)
                if i < len(route) and route[i].max_speed > 0]
        self.calls.set_speed_limit(min(caps) if caps else 0.0)

    # -- docking and actions --------------------------------------------------------------------
    async def _dock(self, on_accepted: Accepted) -> None:
        route = self.task.route
        while self.released < len(route):
            self._set("waiting_release", RobotMode.WAITING)
            await self._wait()
        charger = route[-1]
        before = route[-2] if len(route) > 1 else None
        # the dock pose's heading is the robot's when docked: it drives in from the place before the charger
        yaw = math.atan2(charger.y - before.y, charger.x - before.x) if before is not None else (charger.yaw or 0.0)
        assert self.calls.dock is not None
        outcome = await self._one_goal(self.calls.dock, conv.dock_goal(charger.x, charger.y, yaw, self.calls.frame),
                                       "docking", RobotMode.DOCKING, on_accepted)
        if not outcome.success:
            raise _Stopped(TaskOutcome.FAILED, f"Nav2 docking at {charger.name or 'the charger'} failed "
                                               f"({conv.describe_error(outcome.error_code, outcome.error_msg)})")
        self.docked = True
        self.heading = len(route)
        self._feedback()

    async def _undock(self, on_accepted: Accepted) -> None:
        assert self.calls.undock is not None
        outcome = await self._one_goal(self.calls.undock, conv.undock_goal(), "undocking", RobotMode.DOCKING,
                                       on_accepted)
        if not outcome.success:
            raise _Stopped(TaskOutcome.FAILED, f"Nav2 undocking failed "
                                               f"({conv.describe_error(outcome.error_code, outcome.error_msg)})")

    async def _one_goal(self, client: ActionClient, msg: Any, state: str, mode: RobotMode,
                        on_accepted: Accepted) -> Any:
        """A docking goal, sent again after a pause; its result message."""
        while True:
            while self.paused:
                self._set("paused", RobotMode.PAUSED)
                await self._wait()
            self._seq += 1
            goal = _Goal(self._seq, self.heading, self.heading)
            self._goal = goal
            handle = await self.calls.send(client, msg, lambda _fb: None)
            if not handle.accepted:
                raise _Stopped(TaskOutcome.FAILED, f"Nav2 refused the {state} goal")
            goal.handle = handle
            goal.result = self.calls.result(handle)
            goal.result.add_done_callback(lambda _f: self._wake.set())
            self._set(state, mode)
            await self._accept(on_accepted)
            while not goal.result.done():
                await self._wait()
            self._goal = None
            response = goal.result.result()
            if response.status == GoalStatus.STATUS_SUCCEEDED or not goal.expected_end:
                return response.result
            # ended by a pause: send it again once resumed

    async def _act(self, name: str, duration_s: float) -> None:
        """A template action: the robot holds at the place for its duration (Nav2 has no action interface)."""
        spec = self.robot.config.model.actions.get(name)
        left = duration_s if duration_s > 0 else (spec.duration_s if spec is not None else DEFAULT_ACTION_S)
        self._set(f"acting:{name}", RobotMode.ACTING)
        last = self._clock()
        while left > 0:
            await self._wait()
            now = self._clock()
            step = TICK_S if now is None or last is None else max(now - last, 0.0)
            last = now
            if not self.paused:
                left -= step
