"""What the fleet manager knows of a robot, and the task/command vocabulary it speaks to robots."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any


class RobotMode(StrEnum):
    IDLE = "idle"
    MOVING = "moving"
    PAUSED = "paused"
    ESTOP = "estop"
    CHARGING = "charging"
    DOCKING = "docking"
    MANUAL = "manual"
    ERROR = "error"
    WAITING = "waiting"
    ACTING = "acting"
    OFFLINE = "offline"


# What a robot reports among its errors while it cannot localise (its map → base_link transform is missing or
# stale): it is not dispatched, and a mission it runs is held until the localisation returns.
LOCALISATION_LOST = "localisation lost"
# ... and, for about a second, each protective stop of its safety layer: "protective stop: <what it saw>"
PROTECTIVE_STOP = "protective stop"
# the reason (its start) of a task that an e-stop ended, in every adapter: the mission is held, not failed
TASK_ESTOPPED = "estop"
STANDING_MPS = 0.05  # a robot reporting (or hit at) a slower speed stands

# RobotState.MODE_* codes in labfleet_interfaces, in order.
MODE_BY_CODE = (
    RobotMode.IDLE, RobotMode.MOVING, RobotMode.PAUSED, RobotMode.ESTOP, RobotMode.CHARGING,
    RobotMode.DOCKING, RobotMode.MANUAL, RobotMode.ERROR, RobotMode.WAITING, RobotMode.ACTING,
)


@dataclass(frozen=True)
class RobotReport:
    """One RobotState as received from a robot agent."""

    id: str
    kind: str
    model: str
    mode: RobotMode
    x: float
    y: float
    yaw: float
    linear: float
    angular: float
    battery: float  # percent
    charging: bool
    task_id: str
    task_progress: float
    errors: tuple[str, ...]
    stamp: float  # robot clock, seconds (sim time when simulated)
    wall_time: float  # seconds since the epoch when the robot took the state

    @property
    def localised(self) -> bool:
        return LOCALISATION_LOST not in self.errors


class Command(StrEnum):
    PAUSE = "pause"
    RESUME = "resume"
    ESTOP = "estop"
    RELEASE = "release"
    DOCK = "dock"


class CommandResult(StrEnum):
    OK = "ok"
    REJECTED = "rejected"
    UNKNOWN_COMMAND = "unknown_command"
    UNAVAILABLE = "unavailable"


@dataclass(frozen=True)
class CommandReport:
    """A command a robot reports it received (its agent's /fleet/command_log), whoever sent it."""

    robot_id: str
    command: str  # Command's value, or "command <code>" for a code the fleet manager does not know
    reason: str
    origin: str  # as the caller stated it: proves nothing unless authenticated
    authenticated: bool  # signed with the lab's command key (labfleet_robot/command_auth.py)
    auth_detail: str  # why not, when not (unsigned, bad signature, stale, replayed, no key)
    nonce: str
    result: CommandResult
    message: str


@dataclass(frozen=True)
class Waypoint:
    name: str
    x: float
    y: float
    yaw: float | None = None
    max_speed: float = 0.0
    caution: bool = False  # the lane into it is driven at the robot's caution level
    junction: bool = False  # lanes meet here: the caution level holds near it
    lane_width: float | None = None  # metres of floor the robot has across the lane into it (None: unknown)


@dataclass(frozen=True)
class TaskAction:
    name: str
    params: dict[str, Any] = field(default_factory=dict)
    duration_s: float = 0.0


@dataclass(frozen=True)
class TaskRequest:
    task_id: str
    mission_id: int
    route: tuple[Waypoint, ...]
    actions: tuple[TaskAction, ...] = ()
    released: int = 0  # waypoints the robot may drive at first (0: the whole route)
    dock: str | None = None  # the route ends on this charger: a robot that can dock docks there


def with_caution_caps(task: TaskRequest, caution_speed: float) -> TaskRequest:
    """The task with the navgraph's caution level as speed caps, for robots whose own safety does not hear of it
    (a Nav2 robot's collision monitor, a VDA 5050 vehicle's fields): the lane into a caution waypoint, and the
    lanes into and out of a junction, at most `caution_speed` (the model's safety.caution_speed). Our agents drive
    the caution level themselves (slower and with wider margins): they get the task as it is."""
    route = task.route
    if caution_speed <= 0 or not any(w.caution or w.junction for w in route):
        return task
    capped = []
    for i, w in enumerate(route):
        if w.caution or w.junction or (i > 0 and route[i - 1].junction):
            w = replace(w, max_speed=min(w.max_speed, caution_speed) if w.max_speed > 0 else caution_speed)
        capped.append(w)
    return replace(task, route=tuple(capped))


class TaskOutcome(StrEnum):
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELED = "canceled"


@dataclass(frozen=True)
class TaskResult:
    outcome: TaskOutcome
    reason: str = ""
    final_pose: tuple[float, float, float] | None = None
    distance_m: float = 0.0


@dataclass(frozen=True)
class TaskFeedback:
    task_id: str
    waypoint_index: int
    progress: float
    distance_remaining_m: float
    state: str
