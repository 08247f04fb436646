"""The one place where Nav2's and tf2's ROS messages (upstream Jazzy definitions) meet the fleet manager's types."""

from __future__ import annotations

import math
from collections.abc import Sequence

from geometry_msgs.msg import PoseStamped, TransformStamped
from labfleet_robot.frames import TfBuffer, Transform
from nav2_msgs.action import DockRobot, NavigateThroughPoses, UndockRobot
from nav2_msgs.msg import SpeedLimit
from sensor_msgs.msg import BatteryState
from tf2_msgs.msg import TFMessage

from fleet_manager.core.robots import Waypoint

# Nav2 Jazzy's error codes (nav2_msgs actions), by the BT node that reports them through bt_navigator
ERROR_NAMES = {
    100: "UNKNOWN (FollowPath)", 101: "INVALID_CONTROLLER", 102: "TF_ERROR (FollowPath)", 103: "INVALID_PATH",
    104: "PATIENCE_EXCEEDED", 105: "FAILED_TO_MAKE_PROGRESS", 106: "NO_VALID_CONTROL", 107: "CONTROLLER_TIMED_OUT",
    200: "UNKNOWN (ComputePathToPose)", 201: "INVALID_PLANNER", 202: "TF_ERROR (ComputePathToPose)",
    203: "START_OUTSIDE_MAP", 204: "GOAL_OUTSIDE_MAP", 205: "START_OCCUPIED", 206: "GOAL_OCCUPIED", 207: "TIMEOUT",
    208: "NO_VALID_PATH",
    300: "UNKNOWN (ComputePathThroughPoses)", 301: "INVALID_PLANNER", 302: "TF_ERROR (ComputePathThroughPoses)",
    303: "START_OUTSIDE_MAP", 304: "GOAL_OUTSIDE_MAP", 305: "START_OCCUPIED", 306: "GOAL_OCCUPIED",
    307: "TIMEOUT", 308: "NO_VALID_PATH", 309: "NO_VIAPOINTS_GIVEN",
    710: "UNKNOWN (BackUp)", 711: "TIMEOUT (BackUp)", 712: "TF_ERROR (BackUp)", 714: "COLLISION_AHEAD (BackUp)",
    720: "UNKNOWN (DriveOnHeading)", 723: "COLLISION_AHEAD (DriveOnHeading)",
    901: "DOCK_NOT_IN_DB", 902: "DOCK_NOT_VALID", 903: "FAILED_TO_STAGE", 904: "FAILED_TO_DETECT_DOCK",
    905: "FAILED_TO_CONTROL", 906: "FAILED_TO_CHARGE", 999: "UNKNOWN (docking)",
}


def describe_error(code: int, message: str) -> str:
    """`error 105 FAILED_TO_MAKE_PROGRESS: Failed to make progress` (the code named when Nav2 names it)."""
    name = ERROR_NAMES.get(code)
    text = f"error {code}" + (f" {name}" if name else "")
    return f"{text}: {message}" if message else text


def yaw_quaternion(yaw: float) -> tuple[float, float, float, float]:
    return 0.0, 0.0, math.sin(yaw / 2), math.cos(yaw / 2)


def pose_stamped(x: float, y: float, yaw: float, frame: str) -> PoseStamped:
    msg = PoseStamped()
    msg.header.frame_id = frame  # stamp zero: "the latest", as Nav2 goals usually are
    msg.pose.position.x, msg.pose.position.y = float(x), float(y)
    q = msg.pose.orientation
    q.x, q.y, q.z, q.w = yaw_quaternion(yaw)
    return msg


def headings(start: tuple[float, float], points: Sequence[Waypoint], last_yaw: float | None) -> list[float]:
    """An orientation for each goal pose: the direction of travel into it (Nav2 ignores those of intermediate
    poses); the last one's own yaw when the route ends there with one."""
    out: list[float] = []
    px, py = start
    for w in points:
        out.append(math.atan2(w.y - py, w.x - px) if math.hypot(w.x - px, w.y - py) > 1e-6 else (out[-1] if out
                                                                                                  else 0.0))
        px, py = w.x, w.y
    if out and last_yaw is not None:
        out[-1] = last_yaw
    return out


def through_poses_goal(start: tuple[float, float], points: Sequence[Waypoint], frame: str,
                       last_yaw: float | None) -> NavigateThroughPoses.Goal:
    goal = NavigateThroughPoses.Goal()
    goal.poses = [pose_stamped(w.x, w.y, yaw, frame) for w, yaw in zip(points, headings(start, points, last_yaw),
                                                                       strict=True)]
    goal.behavior_tree = ""  # the robot's default navigator tree
    return goal


def dock_goal(x: float, y: float, yaw: float, frame: str) -> DockRobot.Goal:
    goal = DockRobot.Goal()
    goal.use_dock_id = False
    goal.dock_pose = pose_stamped(x, y, yaw, frame)
    goal.navigate_to_staging_pose = True
    return goal


def undock_goal() -> UndockRobot.Goal:
    return UndockRobot.Goal()


def speed_limit(limit_mps: float) -> SpeedLimit:
    """An absolute limit in m/s; 0 lifts it (Nav2's NO_SPEED_LIMIT)."""
    msg = SpeedLimit()
    msg.percentage = False
    msg.speed_limit = float(max(limit_mps, 0.0))
    return msg


def battery(msg: BatteryState) -> tuple[float | None, bool]:
    """(percent 0..100 or None when the robot does not know it, charging)."""
    pct = None if math.isnan(msg.percentage) else 100.0 * max(0.0, min(1.0, float(msg.percentage)))
    return pct, msg.power_supply_status == BatteryState.POWER_SUPPLY_STATUS_CHARGING


def _transform(t: TransformStamped) -> Transform:
    tr, q = t.transform.translation, t.transform.rotation
    return Transform(tr.x, tr.y, tr.z, q.x, q.y, q.z, q.w)


def into_buffer(buffer: TfBuffer, msg: TFMessage, static: bool) -> None:
    for t in msg.transforms:
        stamp = t.header.stamp.sec + t.header.stamp.nanosec * 1e-9
        buffer.set(t.header.frame_id, t.child_frame_id, _transform(t), stamp, static)
