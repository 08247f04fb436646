"""Docking and undocking as opennav_docking (Nav2 Jazzy) does them, pure Python, for a simple charging dock.

DockRobot: the staging pose lies `staging_offset` in front of the dock (back along the dock's yaw, the heading
the robot has when docked; opennav's staging_x_offset -0.7). NAV_TO_STAGING_POSE drives there as a navigation
would (progress checker and recoveries; failing, or over max_staging_time: FAILED_TO_STAGE); CONTROLLING drives
straight onto the dock at no more than `approach_speed` (blocked without progress for progress_timeout_s, or
over dock_approach_timeout_s: FAILED_TO_CONTROL); within `docking_threshold` it is docked; WAIT_FOR_CHARGE
waits up to `wait_charge_timeout` for a battery reading taken after docking that says charging (or full:
nothing left to charge), else FAILED_TO_CHARGE. A robot already docked there succeeds at once ("Robot already
docked", as opennav). No perception (INITIAL_PERCEPTION is skipped: the dock pose is known) and no retries.

UndockRobot: docked (the robot stands within 2 x docking_threshold of the dock it last docked on, or of a dock
of the database), it backs off straight to the staging pose at `approach_speed`, stopping while anything is
within `undock_clearance` behind its footprint; blocked for progress_timeout_s, or over max_undocking_time:
FAILED_TO_CONTROL. Not docked: it succeeds at once ("Robot is not in the dock, no need to undock").
"""

from __future__ import annotations

import math
from dataclasses import replace

from labfleet_robot.controller import PathFollower, wrap
from labfleet_robot.frames import Transform
from labfleet_robot.navigation import (
    DockFeedback,
    DockState,
    Drive,
    DriveStatus,
    ErrorCode,
    GoalKind,
    GoalStatus,
    Job,
    NavigatorConfig,
    Pose,
    ProgressChecker,
    Step,
)

APPROACH_GOAL_TOLERANCE = 0.03  # m: the follower's arrival band on the approach, inside docking_threshold
HEADING_GAIN = 1.5  # rad/s per rad of heading error while backing off
STAGED_TOLERANCE = 0.02  # m: the back-off ends this close to the staging pose


def in_odom(target: Pose, map_pose: Pose, odom_pose: Pose) -> Pose:
    """A map-frame pose in the odometry frame, from where the robot stands in both. The approach onto the dock
    then runs on smooth odometry, as a docking controller drives on the dock it perceives, not on a map pose
    that jumps at every localisation correction."""
    return (Transform.planar(*odom_pose) * Transform.planar(*map_pose).inverse() * Transform.planar(*target)).pose2d()


def staging_pose(dock: Pose, offset: float) -> Pose:
    """Where the approach to `dock` starts: `offset` back along its yaw, facing the dock's yaw."""
    x, y, yaw = dock
    return x - offset * math.cos(yaw), y - offset * math.sin(yaw), yaw


class Docking(Job):
    def __init__(self, goal_id: str, now: float, dock: Pose, pose: Pose, navigate_to_staging_pose: bool,
                 max_staging_time: float, follower: PathFollower, config: NavigatorConfig) -> None:
        super().__init__(goal_id, GoalKind.DOCK, now)
        self.dock, self.config, self.follower = dock, config, follower
        self.max_staging_time = max_staging_time
        self.base_tuning = follower.tuning
        self.state = DockState.NONE
        self.docked_at: float | None = None
        self._elapsed = 0.0  # in the present state, counted only while the robot is localised
        self._drive: Drive | None = None
        self._target = dock  # where the approach ends, in the frame it drives in
        self._on_odom = False  # the approach drives on odometry (Step.odom), the dock taken into the odom frame
        if math.dist(pose[:2], dock[:2]) <= config.docking_threshold:
            self.docked_at = now
            self.finish(GoalStatus.SUCCEEDED)  # "Robot already docked" (opennav_docking)
        elif navigate_to_staging_pose:
            self.state = DockState.NAV_TO_STAGING_POSE
            staging = staging_pose(dock, config.staging_offset)
            self._drive = Drive(follower, config, pose, [staging[:2]], staging[2])
        else:
            self._approach(pose)

    def _approach(self, pose: Pose, odom: Pose | None = None) -> None:
        self.state, self._elapsed = DockState.CONTROLLING, 0.0
        self.follower.tuning = replace(self.base_tuning, goal_tolerance=APPROACH_GOAL_TOLERANCE)
        self._on_odom = odom is not None
        self._target = in_odom(self.dock, pose, odom) if odom is not None else self.dock
        start = odom if odom is not None else pose
        self._drive = Drive(self.follower, self.config, start, [self._target[:2]], self._target[2],
                            speed_cap=self.config.approach_speed, max_recoveries=0)

    def finish(self, status: GoalStatus, code: int = ErrorCode.NONE, msg: str = "") -> None:
        self.follower.tuning = self.base_tuning
        super().finish(status, code, msg)

    def step(self, s: Step) -> tuple[float, float]:
        self._elapsed += s.dt
        cfg = self.config
        if self.state is DockState.WAIT_FOR_CHARGE:
            b = s.battery
            if b is not None and self.docked_at is not None and b.stamp >= self.docked_at and (b.charging or b.full):
                self.finish(GoalStatus.SUCCEEDED)
            elif self._elapsed >= cfg.wait_charge_timeout:
                self.finish(GoalStatus.ABORTED, ErrorCode.FAILED_TO_CHARGE,
                            f"Timed out waiting for charge: the battery did not report charging within "
                            f"{cfg.wait_charge_timeout:g} s of docking")
            return self.follower.stop(s.dt)
        assert self._drive is not None
        if self._on_odom and self.state is DockState.CONTROLLING and s.odom is not None:
            s = replace(s, pose=s.odom)
        v, w, status = self._drive.step(s)
        if self.state is DockState.NAV_TO_STAGING_POSE:
            if status is DriveStatus.ARRIVED:
                self._approach(s.pose, s.odom)
            elif status is DriveStatus.FAILED:
                self.finish(GoalStatus.ABORTED, ErrorCode.FAILED_TO_STAGE,
                            "Failed to navigate to the staging pose: no progress (blocked)")
            elif self._elapsed > self.max_staging_time:
                self.finish(GoalStatus.ABORTED, ErrorCode.FAILED_TO_STAGE,
                            f"Failed to reach the staging pose within max_staging_time {self.max_staging_time:g} s")
            return v, w
        # CONTROLLING: the straight approach, then standing still on the dock
        if status is DriveStatus.ARRIVED:
            if v != 0.0 or w != 0.0:
                return v, w  # braking to a stop on the dock
            off = math.dist(s.pose[:2], self._target[:2])
            if off <= cfg.docking_threshold:
                self.state, self._elapsed, self.docked_at = DockState.WAIT_FOR_CHARGE, 0.0, s.now
                self.follower.tuning = self.base_tuning
            else:
                self.finish(GoalStatus.ABORTED, ErrorCode.FAILED_TO_CONTROL,
                            f"Stopped {off:.2f} m from the dock, outside docking_threshold {cfg.docking_threshold:g} m")
        elif status is DriveStatus.FAILED:
            self.finish(GoalStatus.ABORTED, ErrorCode.FAILED_TO_CONTROL,
                        f"Failed to approach the dock: blocked for {cfg.progress_timeout_s:g} s")
        elif self._elapsed > cfg.dock_approach_timeout_s:
            self.finish(GoalStatus.ABORTED, ErrorCode.FAILED_TO_CONTROL,
                        f"Timed out approaching the dock after {cfg.dock_approach_timeout_s:g} s")
        return v, w

    def lost_too_long(self, seconds: float) -> None:
        staging = self.state is DockState.NAV_TO_STAGING_POSE
        self.finish(GoalStatus.ABORTED, ErrorCode.FAILED_TO_STAGE if staging else ErrorCode.FAILED_TO_CONTROL,
                    f"Transform from {self.config.map_frame} to {self.config.base_frame} unavailable for "
                    f"{seconds:.1f} s: localisation lost")

    def feedback(self, now: float, pose: Pose, speed: float) -> DockFeedback:
        return DockFeedback(self.state, now - self.started)


class Undocking(Job):
    def __init__(self, goal_id: str, now: float, dock: Pose | None, max_undocking_time: float,
                 follower: PathFollower, config: NavigatorConfig) -> None:
        super().__init__(goal_id, GoalKind.UNDOCK, now)
        self.dock, self.config, self.follower = dock, config, follower
        self.max_undocking_time = max_undocking_time
        self._elapsed = 0.0
        self.blocked = False
        self._checker = ProgressChecker(config.required_movement_radius, config.progress_timeout_s)
        if dock is None:
            self.finish(GoalStatus.SUCCEEDED)  # "Robot is not in the dock, no need to undock"
        else:
            self.staging = staging_pose(dock, config.staging_offset)

    def step(self, s: Step) -> tuple[float, float]:
        cfg, lim = self.config, self.follower.limits
        self._elapsed += s.dt
        assert self.dock is not None
        x, y, yaw = s.pose
        back = (-math.cos(self.dock[2]), -math.sin(self.dock[2]))  # the way out of the dock
        left = (self.staging[0] - x) * back[0] + (self.staging[1] - y) * back[1]
        if left <= STAGED_TOLERANCE:
            self.finish(GoalStatus.SUCCEEDED)
            return self.follower.stop(s.dt)
        self.blocked = s.behind - lim.radius < cfg.undock_clearance
        speed = 0.0 if self.blocked else min(cfg.approach_speed, math.sqrt(lim.max_accel * left) + 0.02)
        turn = max(-lim.max_yaw_rate, min(lim.max_yaw_rate, HEADING_GAIN * wrap(self.dock[2] - yaw)))
        v, w = self.follower.slew(-speed, turn, s.dt)
        if self.blocked:  # people first: nothing may come closer than the clearance, whatever the ramp
            v = self.follower.v = max(v, 0.0)
        if not self._checker.check(s.pose, s.dt) and self.blocked:
            self.finish(GoalStatus.ABORTED, ErrorCode.FAILED_TO_CONTROL,
                        f"Failed to undock: something stayed within {cfg.undock_clearance:g} m behind the robot for "
                        f"{cfg.progress_timeout_s:g} s")
        elif self._elapsed > self.max_undocking_time:
            self.finish(GoalStatus.ABORTED, ErrorCode.FAILED_TO_CONTROL,
                        f"Timed out undocking after {self.max_undocking_time:g} s")
        return v, w

    def lost_too_long(self, seconds: float) -> None:
        self.finish(GoalStatus.ABORTED, ErrorCode.FAILED_TO_CONTROL,
                    f"Transform from {self.config.map_frame} to {self.config.base_frame} unavailable for "
                    f"{seconds:.1f} s: localisation lost")

    def feedback(self, now: float, pose: Pose, speed: float) -> DockFeedback:
        return DockFeedback(DockState.NONE, now - self.started)
