"""nav2_msgs (and the driver messages the stand-in reads) ↔ the navigator's own types: the one module that
knows both. TF and scan conversions are shared with the agent (labfleet_robot.conversions)."""

from __future__ import annotations

import math

from builtin_interfaces.msg import Duration, Time
from geometry_msgs.msg import PoseStamped
from nav2_msgs.action import DockRobot, NavigateThroughPoses, NavigateToPose, UndockRobot
from nav2_msgs.msg import SpeedLimit
from sensor_msgs.msg import BatteryState

from labfleet_robot.conversions import seconds
from labfleet_robot.navigation import (
    BatteryReading,
    DockFeedback,
    DockRequest,
    Finished,
    GoalKind,
    GoalStatus,
    NavFeedback,
    NavigateRequest,
    StampedPose,
    UndockRequest,
)

ACTION_TYPES = {GoalKind.THROUGH_POSES: NavigateThroughPoses, GoalKind.TO_POSE: NavigateToPose,
                GoalKind.DOCK: DockRobot, GoalKind.UNDOCK: UndockRobot}
FULL_FRACTION = 0.999  # a battery at least this full has nothing left to charge


def stamped_pose(msg: PoseStamped) -> StampedPose:
    q = msg.pose.orientation
    yaw = math.atan2(2.0 * (q.w * q.z + q.x * q.y), 1.0 - 2.0 * (q.y * q.y + q.z * q.z))
    return StampedPose(msg.header.frame_id, msg.pose.position.x, msg.pose.position.y, yaw)


def pose_stamped(pose: tuple[float, float, float], frame: str, stamp: Time) -> PoseStamped:
    msg = PoseStamped()
    msg.header.frame_id, msg.header.stamp = frame, stamp
    msg.pose.position.x, msg.pose.position.y = float(pose[0]), float(pose[1])
    msg.pose.orientation.z, msg.pose.orientation.w = math.sin(pose[2] / 2), math.cos(pose[2] / 2)
    return msg


def duration(s: float) -> Duration:
    s = max(0.0, s)
    sec = int(s)
    return Duration(sec=sec, nanosec=min(999_999_999, round((s - sec) * 1e9)))


def goal_poses(goal: object) -> int:
    """How many poses a goal holds (the goal callback's check): NavigateThroughPoses its list, others one."""
    return len(goal.poses) if isinstance(goal, NavigateThroughPoses.Goal) else 1


def request(kind: GoalKind, goal: object) -> NavigateRequest | DockRequest | UndockRequest:
    if isinstance(goal, NavigateThroughPoses.Goal):
        return NavigateRequest(tuple(stamped_pose(p) for p in goal.poses))
    if isinstance(goal, NavigateToPose.Goal):
        return NavigateRequest((stamped_pose(goal.pose),))
    if isinstance(goal, DockRobot.Goal):
        pose = None if goal.use_dock_id else stamped_pose(goal.dock_pose)
        return DockRequest(goal.dock_id, pose, bool(goal.navigate_to_staging_pose), float(goal.max_staging_time))
    if isinstance(goal, UndockRobot.Goal):
        return UndockRequest(float(goal.max_undocking_time))
    raise TypeError(f"not a goal of {kind}: {type(goal).__name__}")


def result(f: Finished) -> object:
    """The action result of a finished goal (NavigateThroughPoses/NavigateToPose: error_code and error_msg;
    DockRobot/UndockRobot: success too)."""
    msg = ACTION_TYPES[f.kind].Result()
    msg.error_code, msg.error_msg = int(f.error_code), f.error_msg
    if f.kind in (GoalKind.DOCK, GoalKind.UNDOCK):
        msg.success = f.status is GoalStatus.SUCCEEDED
    return msg


def feedback(kind: GoalKind, fb: NavFeedback | DockFeedback, map_frame: str, stamp: Time) -> object:
    msg = ACTION_TYPES[kind].Feedback()
    if isinstance(fb, DockFeedback):
        msg.state, msg.docking_time, msg.num_retries = int(fb.state), duration(fb.docking_time), int(fb.num_retries)
        return msg
    msg.current_pose = pose_stamped(fb.pose, map_frame, stamp)
    msg.navigation_time = duration(fb.navigation_time)
    msg.estimated_time_remaining = duration(fb.estimated_time_remaining)
    msg.number_of_recoveries = int(fb.number_of_recoveries)
    msg.distance_remaining = float(fb.distance_remaining)
    if kind is GoalKind.THROUGH_POSES:
        msg.number_of_poses_remaining = int(fb.number_of_poses_remaining)
    return msg


def speed_limit(msg: SpeedLimit) -> tuple[float, bool]:
    return float(msg.speed_limit), bool(msg.percentage)


def battery(msg: BatteryState) -> BatteryReading:
    charging = msg.power_supply_status == BatteryState.POWER_SUPPLY_STATUS_CHARGING
    full = msg.power_supply_status == BatteryState.POWER_SUPPLY_STATUS_FULL or msg.percentage >= FULL_FRACTION
    return BatteryReading(charging, full, seconds(msg.header.stamp))
