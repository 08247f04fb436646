"""The robot agent's core: one task at a time (a route, then timed actions), operator commands, and the
robot's mode. Pure Python and stepped with explicit time, so lock-step runs use the very same code."""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from enum import IntEnum, StrEnum

import numpy as np

from labfleet_robot.controller import Limits, PathFollower, Status, Tuning, obstacle_distance
from labfleet_robot.safety import Decision, Measure, SafetyLayer, SafetyParams


class Mode(IntEnum):  # RobotState.MODE_* of labfleet_interfaces
    IDLE = 0
    MOVING = 1
    PAUSED = 2
    ESTOP = 3
    CHARGING = 4
    DOCKING = 5
    MANUAL = 6
    ERROR = 7
    WAITING = 8
    ACTING = 9


@dataclass(frozen=True)
class SafetyEvent:
    """A protective stop or a slowdown the safety layer began at `time`."""

    time: float
    decision: Decision

    def describe(self) -> str:
        d = self.decision
        where = f" {d.distance:.2f} m away" if math.isfinite(d.distance) else ""
        return f"{d.action} ({d.reason}): {d.seen or 'nothing seen'}{where}"


EPISODE_GAP_S = 2.0


class Command(IntEnum):  # RobotCommand.Request constants
    PAUSE = 0
    RESUME = 1
    ESTOP = 2
    RELEASE = 3
    DOCK = 4


class CommandResult(IntEnum):  # RobotCommand.Response constants
    OK = 0
    REJECTED = 1
    UNKNOWN_COMMAND = 2


class Outcome(IntEnum):  # ExecuteTask.Result constants
    SUCCEEDED = 0
    FAILED = 1
    CANCELED = 2


LOCALISATION_LOST_STATE = "localisation_lost"  # feedback state while the robot is held without localisation


class Phase(StrEnum):
    DRIVING = "driving"
    ACTING = "acting"


@dataclass(frozen=True)
class Waypoint:
    name: str
    x: float
    y: float
    yaw: float | None = None
    max_speed: float = 0.0
    caution: bool = False  # the segment that ends here is driven at the caution level
    junction: bool = False  # lanes meet here: the caution level holds within caution_radius of it


@dataclass(frozen=True)
class Action:
    name: str
    duration_s: float = 0.0
    params: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Task:
    task_id: str
    route: tuple[Waypoint, ...]
    actions: tuple[Action, ...] = ()
    released: int = 0  # waypoints released; 0 = all
    mission_id: str = ""


@dataclass(frozen=True)
class TaskResult:
    task_id: str
    outcome: Outcome
    reason: str
    x: float
    y: float
    yaw: float
    distance_m: float


@dataclass(frozen=True)
class Feedback:
    waypoint_index: int
    progress: float
    distance_remaining_m: float
    state: str


@dataclass
class _Active:
    task: Task
    phase: Phase
    total_m: float
    action_index: int = 0
    action_end: float = 0.0
    distance_m: float = 0.0
    state: str = "driving"
    blocked_since: float | None = None


class RobotAgent:
    def __init__(self, limits: Limits, actions: dict[str, tuple[float, float]] | None = None, seed: int = 0,
                 tuning: Tuning | None = None, blocked_timeout_s: float = 60.0,
                 safety: SafetyParams | None = None) -> None:
        self.limits = limits
        self.safety = SafetyLayer(limits.radius, safety)  # between the follower and the base, always on
        self.safety_events: list[SafetyEvent] = []  # each stop or slowdown it began (taken by the node)
        self.safety_counts = {Measure.STOP: 0, Measure.SLOWDOWN: 0}
        self._safety_last = {Measure.STOP: -math.inf, Measure.SLOWDOWN: -math.inf}  # when each was last taken
        self._safety_stopped = False  # the last step's command was stopped by the safety layer
        self.blocked_timeout_s = blocked_timeout_s  # an obstacle-stop this long fails the task
        self.actions = dict(actions or {})  # name -> (default duration s, success rate)
        self.follower = PathFollower(limits, tuning)
        self._rng = random.Random(seed)
        self.mode = Mode.IDLE
        self.active: _Active | None = None
        self._finished: list[TaskResult] = []
        self._pose = (0.0, 0.0, 0.0)
        self._has_pose = False
        self._paused_at: float | None = None
        self._last_time: float | None = None
        self.localised = True  # as told by the last step

    # -- tasks ----------------------------------------------------------------------------------
    def start_task(self, task: Task, now: float, pose: tuple[float, float, float] | None = None) -> None:
        """Begin a task from `pose` (default: the pose of the last step); one already running ends
        CANCELED ("preempted"). While e-stopped the task ends FAILED at once."""
        if pose is not None:
            self._pose = pose
            self._has_pose = True
        if not self._has_pose:
            raise ValueError("the robot's pose is not known yet: step() once or pass pose")
        if self.active is not None:
            self._finish(Outcome.CANCELED, f"preempted by task {task.task_id}")
        if self.mode is Mode.ESTOP:
            self.active = _Active(task, Phase.DRIVING, 0.0)
            self._finish(Outcome.FAILED, "estop: release the e-stop first")
            return
        x, y, _ = self._pose
        route = task.route
        self.follower.set_path((x, y), [(w.x, w.y) for w in route], [w.max_speed for w in route],
                               route[-1].yaw if route else None, task.released)
        total = sum(math.dist(a, b) for a, b in zip(self.follower.points, self.follower.points[1:], strict=False))
        self.active = _Active(task, Phase.DRIVING if route else Phase.ACTING, total)
        if not route:
            self._begin_action(now)
        if self.mode is not Mode.PAUSED:
            self.mode = Mode.MOVING if route else self.mode

    def release(self, task_id: str, released_waypoints: int) -> bool:
        if self.active is None or self.active.task.task_id != task_id:
            return False
        self.follower.release(released_waypoints if released_waypoints > 0 else len(self.active.task.route))
        return True

    def cancel_task(self, reason: str = "canceled") -> None:
        if self.active is not None:
            self._finish(Outcome.CANCELED, reason)
        self.follower.stop()

    def take_results(self) -> list[TaskResult]:
        done, self._finished = self._finished, []
        return done

    def _finish(self, outcome: Outcome, reason: str) -> None:
        assert self.active is not None
        x, y, yaw = self._pose
        self._finished.append(TaskResult(self.active.task.task_id, outcome, reason, x, y, yaw,
                                         self.active.distance_m))
        self.active = None
        self._paused_at = None
        if self.mode is not Mode.ESTOP:
            self.mode = Mode.IDLE

    def _begin_action(self, now: float) -> None:
        active = self.active
        assert active is not None
        active.phase = Phase.ACTING
        if active.action_index >= len(active.task.actions):
            self._finish(Outcome.SUCCEEDED, "")
            return
        action = active.task.actions[active.action_index]
        default = self.actions.get(action.name)
        duration = action.duration_s if action.duration_s > 0 else (default[0] if default else 0.0)
        if duration <= 0:
            self._finish(Outcome.FAILED, f"unknown action {action.name!r} and no duration given")
            return
        active.action_end = now + duration
        active.state = f"acting:{action.name}"
        if self.mode is not Mode.PAUSED:
            self.mode = Mode.ACTING

    # -- commands -------------------------------------------------------------------------------
    def command(self, command: int, now: float) -> tuple[CommandResult, str]:
        if command == Command.ESTOP:
            self.follower.stop()
            if self.active is not None:
                self._finish(Outcome.FAILED, "estop")
            self.mode = Mode.ESTOP
            return CommandResult.OK, "emergency stop"
        if command == Command.RELEASE:
            if self.mode is not Mode.ESTOP:
                return CommandResult.REJECTED, "not e-stopped"
            self.mode = Mode.IDLE
            return CommandResult.OK, "e-stop released"
        if command == Command.PAUSE:
            if self.active is None:
                return CommandResult.REJECTED, "no task to pause"
            if self.mode is Mode.PAUSED:
                return CommandResult.OK, "already paused"
            self.mode = Mode.PAUSED
            self._paused_at = now
            return CommandResult.OK, "paused"
        if command == Command.RESUME:
            if self.mode is not Mode.PAUSED:
                return CommandResult.REJECTED, "not paused"
            if self.active is not None and self.active.phase is Phase.ACTING and self._paused_at is not None:
                self.active.action_end += now - self._paused_at
            self._paused_at = None
            self.mode = Mode.ACTING if self.active and self.active.phase is Phase.ACTING else Mode.MOVING
            return CommandResult.OK, "resumed"
        if command == Command.DOCK:
            return CommandResult.REJECTED, "docking needs a dock route: send a task to the charger"
        return CommandResult.UNKNOWN_COMMAND, f"unknown command {command}"

    # -- the control step -----------------------------------------------------------------------
    def step(self, now: float, pose: tuple[float, float, float], scan_ranges: np.ndarray | None = None,
             scan_angles: np.ndarray | None = None, localised: bool = True) -> tuple[float, float]:
        """One control cycle at time `now` (seconds): the velocity command (v, w) for the base.

        `localised` False: the robot does not know where it is (its map pose is missing or stale; `pose` is the
        last good one). The agent holds it: it brakes to a stop, and its task neither advances nor fails (the
        obstacle timer and an action's clock stand still) until the localisation returns."""
        dt = 0.05 if self._last_time is None else max(1e-3, min(0.5, now - self._last_time))
        self._last_time = now
        self.localised = localised
        if not localised:
            active = self.active
            if active is not None:
                if active.blocked_since is not None:
                    active.blocked_since += dt
                if active.phase is Phase.ACTING and self.mode is not Mode.PAUSED:
                    active.action_end += dt
            return self.follower.stop() if self.mode is Mode.ESTOP else self.follower.stop(dt)
        if self.active is not None and self.active.phase is Phase.DRIVING:
            self.active.distance_m += math.dist(self._pose[:2], pose[:2])
        self._pose = pose
        self._has_pose = True
        active = self.active
        if self.mode in (Mode.ESTOP,):
            return self.follower.stop()
        if active is None or self.mode is Mode.PAUSED:
            return self.follower.stop(dt)
        if active.phase is Phase.ACTING:
            if now >= active.action_end:
                action = active.task.actions[active.action_index]
                rate = self.actions.get(action.name, (0.0, 1.0))[1]
                if self._rng.random() >= rate:
                    self._finish(Outcome.FAILED, f"action {action.name} failed")
                else:
                    active.action_index += 1
                    self._begin_action(now)
            return self.follower.stop(dt)
        obstacle = math.inf
        if scan_ranges is not None and scan_angles is not None:
            obstacle = obstacle_distance(scan_ranges, scan_angles, self.limits, self.follower.tuning)
            self.safety.observe(scan_ranges, scan_angles, pose, now)
        v, w, status = self.follower.compute(*pose, dt, obstacle)
        v, w = self._safe(now, pose, v, w)
        if status is Status.DRIVING and self._safety_stopped:
            status = Status.WAITING_OBSTACLE  # held by the safety layer: an obstacle stop like the follower's own
        if status is Status.WAITING_OBSTACLE and active.blocked_since is None:
            # the follower stops for something on its way: a protective stop as much as the safety layer's
            self._protective(now, Decision(0.0, 0.0, Measure.STOP, "obstacle_ahead", obstacle - self.limits.radius,
                                           self.safety.describe_ahead(pose)))
        active.state = str(status) if status is not Status.TURNING else "driving"
        if status is Status.ARRIVED:
            self._begin_action(now)
            return self.follower.stop(dt)
        self.mode = Mode.WAITING if status in (Status.WAITING_OBSTACLE, Status.WAITING_RELEASE) else Mode.MOVING
        if status is not Status.WAITING_OBSTACLE:
            active.blocked_since = None
        elif active.blocked_since is None:
            active.blocked_since = now
        elif now - active.blocked_since >= self.blocked_timeout_s:
            self._finish(Outcome.FAILED, f"blocked by an obstacle for {self.blocked_timeout_s:g} s")
            return self.follower.stop(dt)
        return v, w

    def _safe(self, now: float, pose: tuple[float, float, float], v: float, w: float) -> tuple[float, float]:
        """The follower's command through the safety layer; the follower carries on from what was allowed."""
        decision = self.safety.guard(self.follower, pose, v, w, caution=self._caution(pose))
        self._safety_stopped = decision.action is Measure.STOP and decision.v == 0.0
        if decision.action is not Measure.NONE and decision.reason != "caution":
            self._protective(now, decision)  # (the route's caution level is planned, not a protective measure)
        return decision.v, decision.w

    def _caution(self, pose: tuple[float, float, float]) -> bool:
        """Whether the robot is where the route asks for caution: on a caution segment or within the safety
        layer's caution radius of a junction; or so near either that it must slow down now, braking at the
        layer's brake_decel, to be at the caution speed when it gets there."""
        active = self.active
        if active is None:
            return False
        p = self.safety.params
        v = abs(self.follower.v)
        lead = max(0.0, (v * v - p.caution_speed ** 2) / (2.0 * p.brake_decel))
        route, seg = active.task.route, self.follower._seg  # path point k is route[k - 1]; seg heads to route[seg]
        here = pose[:2]
        if seg < len(route) and route[seg].caution:
            return True
        if seg + 1 < len(route) and route[seg + 1].caution and math.dist(here, (route[seg].x, route[seg].y)) <= lead:
            return True
        return any(route[k].junction and math.dist(here, (route[k].x, route[k].y)) <= p.caution_radius + lead
                   for k in (seg - 1, seg, seg + 1) if 0 <= k < len(route))

    def _protective(self, now: float, decision: Decision) -> None:
        """Count and report a stop or slowdown: one event per episode (a stop, or a slowdown, that comes back
        within EPISODE_GAP_S of the last continues it: a robot creeping on behind a person stops and goes)."""
        if now - self._safety_last[decision.action] > EPISODE_GAP_S:
            self.safety_counts[decision.action] += 1
            self.safety_events.append(SafetyEvent(now, decision))
        self._safety_last[decision.action] = now

    def take_safety_events(self) -> list[SafetyEvent]:
        events, self.safety_events = self.safety_events, []
        return events

    def feedback(self) -> Feedback | None:
        active = self.active
        if active is None:
            return None
        x, y, _ = self._pose
        if active.phase is Phase.DRIVING and len(self.follower.points) > 1:
            _, left = self.follower.remaining(x, y)
        else:
            left = 0.0
        progress = 1.0 - left / active.total_m if active.total_m > 0 else 1.0
        state = "paused" if self.mode is Mode.PAUSED else active.state if self.localised else LOCALISATION_LOST_STATE
        heading = self.follower._seg
        if active.phase is Phase.DRIVING and active.state == Status.WAITING_RELEASE:
            heading += 1  # it stands on the last released waypoint: it has left the ones before
        return Feedback(min(heading, max(len(active.task.route) - 1, 0)), max(0.0, min(1.0, progress)), left, state)
