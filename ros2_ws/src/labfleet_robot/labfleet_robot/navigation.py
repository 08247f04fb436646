"""The Nav2 stand-in's building blocks, pure Python: goal and result types with Nav2's error codes, the control
step's inputs, Nav2's progress checker, a drive along a polyline with recoveries (our PathFollower in place of
Nav2's planner and controller), and the navigation job behind NavigateThroughPoses / NavigateToPose.

Nav2 Jazzy semantics mirrored here (navigation2 1.3):
- RemovePassedGoals (`radius` 0.5 m): a pose is passed when the robot comes within `viapoint_radius` of it or of
  a later one; the last pose is never removed while the goal runs (number_of_poses_remaining >= 1).
- SimpleProgressChecker (`required_movement_radius` 0.5 m, `movement_time_allowance` 10 s): not moving that far
  for that long is a failure; each failure costs one recovery (a wait, Nav2's BT `Wait` 5 s) until
  `max_recoveries` are spent, then FollowPath's FAILED_TO_MAKE_PROGRESS (105) ends the goal.
- Feedback as bt_navigator's: distance along the path, time remaining = distance / odometry speed when faster
  than 1 cm/s and more than 10 cm to go (else 0).
Goal tolerance: our follower's 0.08 m / 0.08 rad, tighter than SimpleGoalChecker's 0.25 m / 0.25 rad.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from enum import IntEnum, StrEnum

from labfleet_robot.controller import PathFollower, Status

Pose = tuple[float, float, float]


class GoalKind(StrEnum):  # the action names
    THROUGH_POSES = "navigate_through_poses"
    TO_POSE = "navigate_to_pose"
    DOCK = "dock_robot"
    UNDOCK = "undock_robot"

    @property
    def navigates(self) -> bool:
        return self in (GoalKind.THROUGH_POSES, GoalKind.TO_POSE)


class GoalStatus(StrEnum):
    SUCCEEDED = "succeeded"
    ABORTED = "aborted"
    CANCELED = "canceled"


class Admission(StrEnum):
    """The goal callback's answer: accepted, or why not."""

    ACCEPT = "accept"
    NO_POSES = "no poses given"
    POSE_UNKNOWN = "the robot's pose is unknown (no fresh map → base_link transform)"


class ErrorCode(IntEnum):
    """Nav2 Jazzy's error codes that the stand-in reports (nav2_msgs action results)."""

    # success; a preempted goal (SimpleActionServer aborts it with an empty result); bt_navigator's own failures
    NONE = 0
    FOLLOW_PATH_TF_ERROR = 102  # FollowPath.TF_ERROR: the robot's pose stayed unavailable for tf_abort_s
    FAILED_TO_MAKE_PROGRESS = 105  # FollowPath.FAILED_TO_MAKE_PROGRESS: blocked after every recovery
    DOCK_NOT_IN_DB = 901  # DockRobot: no dock of that id in the `docks` parameter
    DOCK_NOT_VALID = 902  # DockRobot: the dock pose cannot be put into the map frame
    FAILED_TO_STAGE = 903  # DockRobot: the staging pose was not reached (blocked, lost, or max_staging_time)
    FAILED_TO_CONTROL = 905  # DockRobot approach / UndockRobot back-off failed (blocked, lost, timed out)
    FAILED_TO_CHARGE = 906  # DockRobot: docked, but the battery did not report charging in wait_charge_timeout


class DockState(IntEnum):  # DockRobot.Feedback states
    NONE = 0
    NAV_TO_STAGING_POSE = 1
    INITIAL_PERCEPTION = 2
    CONTROLLING = 3
    WAIT_FOR_CHARGE = 4
    RETRY = 5


@dataclass(frozen=True)
class StampedPose:
    frame: str  # "" counts as the map frame
    x: float
    y: float
    yaw: float = 0.0


@dataclass(frozen=True)
class NavigateRequest:
    poses: tuple[StampedPose, ...]


@dataclass(frozen=True)
class DockRequest:
    dock_id: str = ""  # used when `pose` is None
    pose: StampedPose | None = None
    navigate_to_staging_pose: bool = True
    max_staging_time: float = 1000.0


@dataclass(frozen=True)
class UndockRequest:
    max_undocking_time: float = 30.0


Request = NavigateRequest | DockRequest | UndockRequest


@dataclass(frozen=True)
class Finished:
    goal_id: str
    kind: GoalKind
    status: GoalStatus
    error_code: int = ErrorCode.NONE
    error_msg: str = ""


@dataclass(frozen=True)
class NavFeedback:
    pose: Pose  # map frame
    navigation_time: float
    estimated_time_remaining: float
    number_of_recoveries: int
    distance_remaining: float
    number_of_poses_remaining: int


@dataclass(frozen=True)
class DockFeedback:
    state: DockState
    docking_time: float
    num_retries: int = 0


@dataclass(frozen=True)
class BatteryReading:
    charging: bool
    full: bool
    stamp: float  # when the battery said so (sim time)


@dataclass(frozen=True)
class NavigatorConfig:
    map_frame: str = "map"
    base_frame: str = "base_link"
    transform_tolerance_s: float = 2.0  # map → base_link older than this: localisation lost, the robot stops
    tf_abort_s: float = 15.0  # lost this long: the goal aborts
    progress_timeout_s: float = 10.0  # Nav2's movement_time_allowance
    required_movement_radius: float = 0.5  # Nav2's SimpleProgressChecker
    max_recoveries: int = 2
    recovery_wait_s: float = 5.0  # each recovery waits this long (Nav2's BT Wait)
    viapoint_radius: float = 0.5  # Nav2's RemovePassedGoals radius
    docks: dict[str, Pose] = field(default_factory=dict)  # dock id → pose in the map frame
    staging_offset: float = 0.7  # the staging pose lies this far in front of the dock (opennav_docking -0.7 m)
    approach_speed: float = 0.15  # m/s, the straight approach to the dock and the back-off out of it
    docking_threshold: float = 0.05  # m: docked this close to the dock pose
    dock_approach_timeout_s: float = 30.0
    wait_charge_timeout: float = 5.0
    undock_clearance: float = 0.3  # m behind the footprint that must stay free while backing off


@dataclass(frozen=True)
class Step:
    """One control cycle's inputs, as the jobs see them."""

    now: float
    dt: float
    pose: Pose
    speed: float  # odometry's linear speed
    ahead: float  # distance from the robot's centre to the nearest return in its path ahead (inf: clear)
    behind: float  # the same behind it
    battery: BatteryReading | None
    odom: Pose | None = None  # the odometry pose (odom frame: smooth, never corrected), when known


class ProgressChecker:
    """Nav2's SimpleProgressChecker: the robot must get `radius` away from where it last made progress within
    `timeout` seconds. Time only counts in the steps it is checked (not while the robot is held)."""

    def __init__(self, radius: float, timeout: float) -> None:
        self.radius, self.timeout = radius, timeout
        self._baseline: tuple[float, float] | None = None
        self._stalled = 0.0

    def reset(self) -> None:
        self._baseline, self._stalled = None, 0.0

    def check(self, pose: Pose, dt: float) -> bool:
        """False once the robot has made no progress for the timeout."""
        if self._baseline is None or math.dist(self._baseline, pose[:2]) > self.radius:
            self._baseline, self._stalled = (pose[0], pose[1]), 0.0
            return True
        self._stalled += dt
        return self._stalled < self.timeout


class DriveStatus(StrEnum):
    DRIVING = "driving"
    RECOVERING = "recovering"
    ARRIVED = "arrived"
    FAILED = "failed"  # no progress after every recovery


class Drive:
    """A drive along a polyline with the robot's one PathFollower (a new drive keeps the follower's speed, so a
    preempting goal carries on without a stop), Nav2's progress checker and up to `max_recoveries` waits."""

    def __init__(self, follower: PathFollower, config: NavigatorConfig, start: Pose,
                 points: list[tuple[float, float]], final_yaw: float, speed_cap: float = 0.0,
                 max_recoveries: int | None = None) -> None:
        self.follower = follower
        self.config = config
        self.max_recoveries = config.max_recoveries if max_recoveries is None else max_recoveries
        self.recoveries = 0
        self._recovery_left = 0.0
        self.checker = ProgressChecker(config.required_movement_radius, config.progress_timeout_s)
        follower.set_path((start[0], start[1]), points, [speed_cap] * len(points), final_yaw, 0)

    def step(self, s: Step) -> tuple[float, float, DriveStatus]:
        if self._recovery_left > 0:
            self._recovery_left -= s.dt
            if self._recovery_left <= 0:
                self.checker.reset()
            v, w = self.follower.stop(s.dt)
            return v, w, DriveStatus.RECOVERING
        v, w, status = self.follower.compute(*s.pose, s.dt, s.ahead)
        if status is Status.ARRIVED:
            v, w = self.follower.stop(s.dt)
            return v, w, DriveStatus.ARRIVED
        if not self.checker.check(s.pose, s.dt):
            if self.recoveries >= self.max_recoveries:
                return *self.follower.stop(s.dt), DriveStatus.FAILED
            self.recoveries += 1
            self._recovery_left = self.config.recovery_wait_s
            v, w = self.follower.stop(s.dt)
            return v, w, DriveStatus.RECOVERING
        return v, w, DriveStatus.DRIVING

    def remaining(self, pose: Pose) -> float:
        """Distance along the path to its end."""
        return self.follower.remaining(pose[0], pose[1])[1]


class Job:
    """One goal the robot works on; `outcome` is set when it is over."""

    def __init__(self, goal_id: str, kind: GoalKind, now: float) -> None:
        self.goal_id, self.kind, self.started = goal_id, kind, now
        self.outcome: Finished | None = None

    def finish(self, status: GoalStatus, code: int = ErrorCode.NONE, msg: str = "") -> None:
        if self.outcome is None:
            self.outcome = Finished(self.goal_id, self.kind, status, int(code), msg)

    def step(self, s: Step) -> tuple[float, float]:
        raise NotImplementedError

    def lost_too_long(self, seconds: float) -> None:
        """The robot's pose has been unavailable for `seconds` (tf_abort_s): end the goal."""
        raise NotImplementedError

    def feedback(self, now: float, pose: Pose, speed: float) -> NavFeedback | DockFeedback:
        raise NotImplementedError


class Navigation(Job):
    """NavigateThroughPoses / NavigateToPose: a polyline through the poses (map frame), the last one's heading."""

    def __init__(self, goal_id: str, kind: GoalKind, now: float, poses: list[Pose], pose: Pose,
                 follower: PathFollower, config: NavigatorConfig) -> None:
        super().__init__(goal_id, kind, now)
        self.poses = poses
        self.config = config
        self.passed = 0
        self._update_passed(pose)  # poses the robot already stands by are skipped, as RemovePassedGoals does
        self.drive = Drive(follower, config, pose, [(p[0], p[1]) for p in poses[self.passed:]], poses[-1][2])

    def _update_passed(self, pose: Pose) -> None:
        radius = self.config.viapoint_radius
        for i in range(len(self.poses) - 1, self.passed - 1, -1):
            if math.dist(pose[:2], self.poses[i][:2]) <= radius:
                self.passed = max(self.passed, min(i + 1, len(self.poses) - 1))
                return

    def step(self, s: Step) -> tuple[float, float]:
        self._update_passed(s.pose)
        v, w, status = self.drive.step(s)
        if status is DriveStatus.ARRIVED:
            self.finish(GoalStatus.SUCCEEDED)
        elif status is DriveStatus.FAILED:
            self.finish(GoalStatus.ABORTED, ErrorCode.FAILED_TO_MAKE_PROGRESS,
                        f"Failed to make progress: no progress for {self.config.progress_timeout_s:g} s after "
                        f"{self.drive.recoveries} recoveries (blocked by an obstacle)")
        return v, w

    def lost_too_long(self, seconds: float) -> None:
        self.finish(GoalStatus.ABORTED, ErrorCode.FOLLOW_PATH_TF_ERROR,
                    f"Transform from {self.config.map_frame} to {self.config.base_frame} unavailable for "
                    f"{seconds:.1f} s: localisation lost")

    def feedback(self, now: float, pose: Pose, speed: float) -> NavFeedback:
        remaining = self.drive.remaining(pose)
        eta = remaining / abs(speed) if abs(speed) > 0.01 and remaining > 0.1 else 0.0
        return NavFeedback(pose, now - self.started, eta, self.drive.recoveries, remaining,
                           len(self.poses) - self.passed)
