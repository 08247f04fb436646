"""The Nav2 stand-in's core: what a Nav2 Jazzy robot (bt_navigator, controller_server, docking_server) does with
the goals a fleet manager sends it, driven by our PathFollower. Pure Python, stepped with explicit time, fed
from a TfBuffer; `labfleet_robot.nav2_node` is its ROS adapter.

One goal runs at a time:
- a new goal on the action server of the running one preempts it, as Nav2's SimpleActionServer: the running
  goal is aborted with an empty result (error_code 0, no message) and the robot carries on toward the new goal
  from where it is, without stopping;
- a NavigateToPose while a NavigateThroughPoses runs (or the other way round) is aborted at once with error_code
  0, as bt_navigator's navigator muxer does ("another navigator is processing");
- any other new goal (docking while navigating, navigating while docking) preempts the running one (ours: the
  docking server and bt_navigator are one node here);
- cancel: the goal ends canceled and the base is commanded to zero at once (Nav2's publishZeroVelocity).
Localisation: the robot's pose is `map_frame → base_frame` from TF. Older than `transform_tolerance_s` (with none
newer for as long in wall time: a TF that keeps coming late is not lost), or missing, the robot brakes and waits
(progress and docking clocks stand still); lost for `tf_abort_s` the goal
aborts (FollowPath TF_ERROR 102; FAILED_TO_STAGE / FAILED_TO_CONTROL while docking).
Speed limit: nav2_msgs/SpeedLimit as controller_server applies it (percent of the top speed, or m/s; 0: none).
Collision monitor (nav2_collision_monitor's place, between the controller and the base; on unless the robot's
parameters turn it off): while navigating, the command goes through the same safety layer as our agent's
(labfleet_robot/safety.py: stop, slowdown and approach against the scan). A robot it holds makes no progress, so
the controller's progress checker and the behavior tree's recoveries act as in Nav2. Docking and undocking
bypass it (the dock is meant to be touched).
"""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np

from labfleet_robot.controller import Limits, PathFollower, Tuning, obstacle_distance
from labfleet_robot.docking import Docking, Undocking
from labfleet_robot.frames import TfBuffer
from labfleet_robot.navigation import (
    Admission,
    BatteryReading,
    DockFeedback,
    DockRequest,
    ErrorCode,
    Finished,
    GoalKind,
    GoalStatus,
    Job,
    NavFeedback,
    NavigateRequest,
    Navigation,
    NavigatorConfig,
    Pose,
    Request,
    Step,
    UndockRequest,
)
from labfleet_robot.safety import SafetyLayer, SafetyParams

UNDOCK_RADIUS_FACTOR = 2.0  # the robot counts as docked within this many docking thresholds of a dock


def _refused(goal_id: str, kind: GoalKind, now: float, code: int, msg: str) -> Job:
    """A goal that ends aborted as it starts."""
    job = Job(goal_id, kind, now)
    job.finish(GoalStatus.ABORTED, code, msg)
    return job


class Navigator:
    def __init__(self, limits: Limits, config: NavigatorConfig, tf: TfBuffer, tuning: Tuning | None = None,
                 monitor: SafetyParams | None = None) -> None:
        self.limits = limits
        self.monitor = SafetyLayer(limits.radius, monitor) if monitor is not None else None  # the collision monitor
        self.config = config
        self.tf = tf
        self.follower = PathFollower(limits, tuning)
        self.job: Job | None = None
        self.pose: Pose | None = None  # the last good map pose
        self.localised = False
        self.speed_limit = 0.0  # m/s, 0: none
        self.docked_on: Pose | None = None  # the dock the robot last docked on
        self._lost_since: float | None = None
        self._finished: list[Finished] = []
        self._last_time: float | None = None

    # -- localisation ---------------------------------------------------------------------------
    def localise(self, now: float) -> bool:
        located = self.tf.locate(self.config.map_frame, self.config.base_frame, now, self.config.transform_tolerance_s)
        self.localised = located.ok
        if located.ok:
            self.pose = located.pose
            self._lost_since = None
        elif self._lost_since is None:
            self._lost_since = now
        return self.localised

    def _to_map(self, frame: str, x: float, y: float, yaw: float) -> Pose | None:
        return self.tf.transform_pose2d(self.config.map_frame, frame, (x, y, yaw))

    # -- goals ----------------------------------------------------------------------------------
    def admit(self, kind: GoalKind, poses: int, now: float) -> Admission:
        """Whether a goal is accepted (the action server's goal callback)."""
        if kind is GoalKind.THROUGH_POSES and poses == 0:
            return Admission.NO_POSES
        if not self.localise(now):
            return Admission.POSE_UNKNOWN
        return Admission.ACCEPT

    def start(self, goal_id: str, kind: GoalKind, request: Request, now: float) -> None:
        """Begin an accepted goal; its result comes from take_finished()."""
        self.localise(now)
        running = self.job
        if running is not None and kind.navigates and running.kind.navigates and running.kind is not kind:
            self._finished.append(Finished(goal_id, kind, GoalStatus.ABORTED, ErrorCode.NONE,
                                           f"Requested navigation from {kind} while another navigator "
                                           f"({running.kind}) is processing"))
            return
        if running is not None:
            running.finish(GoalStatus.ABORTED)  # preempted: an empty result
            self._collect()
        pose = self.pose
        if pose is None:
            self._finished.append(Finished(goal_id, kind, GoalStatus.ABORTED, ErrorCode.NONE,
                                           "Initial robot pose is not available."))
            return
        self.job = self._make_job(goal_id, kind, request, now, pose)
        self._collect()

    def _make_job(self, goal_id: str, kind: GoalKind, request: Request, now: float, pose: Pose) -> Job:
        cfg = self.config
        if isinstance(request, NavigateRequest):
            poses = [self._to_map(p.frame, p.x, p.y, p.yaw) for p in request.poses]
            bad = next((p.frame for p, m in zip(request.poses, poses, strict=True) if m is None), None)
            if not poses:
                return _refused(goal_id, kind, now, ErrorCode.NONE, "No goal poses given.")
            if bad is not None:  # bt_navigator fails the goal before its tree runs: no node has set an error code
                return _refused(goal_id, kind, now, ErrorCode.NONE, f"Failed to transform a goal pose provided with "
                                f"frame_id '{bad}' to the global frame '{cfg.map_frame}'.")
            return Navigation(goal_id, kind, now, [p for p in poses if p is not None], pose, self.follower, cfg)
        if isinstance(request, DockRequest):
            if request.pose is None:
                dock = cfg.docks.get(request.dock_id)
                if dock is None:
                    return _refused(goal_id, kind, now, ErrorCode.DOCK_NOT_IN_DB, f"Dock id {request.dock_id!r} is "
                                    f"not in the dock database {sorted(cfg.docks)}")
            else:
                p = request.pose
                dock = self._to_map(p.frame, p.x, p.y, p.yaw)
                if dock is None:
                    return _refused(goal_id, kind, now, ErrorCode.DOCK_NOT_VALID, f"Cannot transform the dock pose "
                                    f"from frame '{p.frame}' to '{cfg.map_frame}'")
            return Docking(goal_id, now, dock, pose, request.navigate_to_staging_pose, request.max_staging_time,
                           self.follower, cfg)
        assert isinstance(request, UndockRequest)
        return Undocking(goal_id, now, self._dock_under(pose), request.max_undocking_time, self.follower, cfg)

    def _dock_under(self, pose: Pose) -> Pose | None:
        """The dock the robot stands on, if any: the one it docked on last, else one of the database."""
        near = UNDOCK_RADIUS_FACTOR * self.config.docking_threshold
        candidates = ([self.docked_on] if self.docked_on is not None else []) + list(self.config.docks.values())
        return next((d for d in candidates if math.dist(d[:2], pose[:2]) <= near), None)

    def cancel(self, goal_id: str) -> bool:
        """Cancel a running goal: it ends canceled and the base gets a zero command at once."""
        if self.job is None or self.job.goal_id != goal_id:
            return False
        self.job.finish(GoalStatus.CANCELED)
        self.follower.stop()
        self._collect()
        return True

    def take_finished(self) -> list[Finished]:
        done, self._finished = self._finished, []
        return done

    def _collect(self) -> None:
        job = self.job
        if job is not None and job.outcome is not None:
            self._finished.append(job.outcome)
            if isinstance(job, Docking) and job.outcome.status is GoalStatus.SUCCEEDED:
                self.docked_on = job.dock
            elif isinstance(job, Undocking) and job.outcome.status is GoalStatus.SUCCEEDED:
                self.docked_on = None
            self.job = None

    @property
    def active_goal(self) -> str | None:
        return self.job.goal_id if self.job is not None else None

    # -- speed limit ----------------------------------------------------------------------------
    def set_speed_limit(self, limit: float, percentage: bool) -> float:
        """controller_server's speed limit: `limit` percent of the top speed, or m/s; 0 (or less): no limit.
        Returns the top speed from now on."""
        top = self.limits.max_speed
        if limit <= 0.0:
            self.speed_limit = 0.0
        else:
            self.speed_limit = min(top, top * limit / 100.0 if percentage else limit)
        self.follower.limits = replace(self.limits, max_speed=self.speed_limit or top)
        return self.follower.limits.max_speed

    # -- the control step -----------------------------------------------------------------------
    def step(self, now: float, scan_ranges: np.ndarray | None = None, scan_angles: np.ndarray | None = None,
             speed: float = 0.0, battery: BatteryReading | None = None,
             odom: Pose | None = None) -> tuple[float, float]:
        """One control cycle at `now` (seconds): the velocity command (v, w) for the base."""
        dt = 0.05 if self._last_time is None else max(1e-3, min(0.5, now - self._last_time))
        self._last_time = now
        self.localise(now)
        job = self.job
        if job is None:
            return self.follower.stop(dt)
        if not self.localised or self.pose is None:
            lost_for = now - (self._lost_since if self._lost_since is not None else now)
            if lost_for >= self.config.tf_abort_s:
                job.lost_too_long(lost_for)
                self._collect()
            return self.follower.stop(dt)
        ahead = behind = math.inf
        if scan_ranges is not None and scan_angles is not None:
            ahead = obstacle_distance(scan_ranges, scan_angles, self.follower.limits, self.follower.tuning)
            behind = obstacle_distance(scan_ranges, scan_angles + math.pi, self.follower.limits, self.follower.tuning)
        v, w = job.step(Step(now, dt, self.pose, speed, ahead, behind, battery, odom))
        if isinstance(job, Navigation) and job.outcome is None:
            v, w = self._monitored(now, v, w, scan_ranges, scan_angles)
        self._collect()
        return v, w

    def _monitored(self, now: float, v: float, w: float, ranges: np.ndarray | None,
                   angles: np.ndarray | None) -> tuple[float, float]:
        """The controller's command through the collision monitor (unchanged without one or without a scan)."""
        if self.monitor is None or ranges is None or angles is None or self.pose is None:
            return v, w
        self.monitor.observe(ranges, angles, self.pose, now)
        decision = self.monitor.guard(self.follower, self.pose, v, w)
        return decision.v, decision.w

    def feedback(self, now: float, speed: float = 0.0) -> NavFeedback | DockFeedback | None:
        """The running goal's feedback (None when there is none, or for UndockRobot, whose feedback is empty)."""
        if self.job is None or self.pose is None or self.job.kind is GoalKind.UNDOCK:
            return None
        return self.job.feedback(now, self.pose, speed)
