"""ROS messages ↔ the agent's own types: the one module that knows both."""

from __future__ import annotations

import math

import numpy as np
from builtin_interfaces.msg import Time
from labfleet_interfaces.action import ExecuteTask
from labfleet_interfaces.msg import Pose2D, RobotState
from nav_msgs.msg import Odometry
from sensor_msgs.msg import LaserScan
from tf2_msgs.msg import TFMessage

from labfleet_robot.agent import Action, Feedback, Task, TaskResult, Waypoint
from labfleet_robot.frames import Transform


def seconds(stamp: Time) -> float:
    return stamp.sec + stamp.nanosec * 1e-9


def tf_edges(msg: TFMessage) -> list[tuple[str, str, Transform, float]]:
    """(parent, child, parent → child, stamp in seconds) of every transform of a /tf or /tf_static message."""
    edges = []
    for t in msg.transforms:
        tr, q = t.transform.translation, t.transform.rotation
        edges.append((t.header.frame_id, t.child_frame_id, Transform(tr.x, tr.y, tr.z, q.x, q.y, q.z, q.w),
                      seconds(t.header.stamp)))
    return edges


def odom_twist(msg: Odometry) -> tuple[float, float]:
    """(v, w) of the base from odometry: its velocity, never its pose (odometry lives in the odom frame)."""
    return msg.twist.twist.linear.x, msg.twist.twist.angular.z


def odom_pose(msg: Odometry) -> tuple[float, float, float]:
    """The odometry pose (x, y, yaw) in the odom frame: smooth, drifting, never a map pose."""
    q = msg.pose.pose.orientation
    yaw = math.atan2(2.0 * (q.w * q.z + q.x * q.y), 1.0 - 2.0 * (q.y * q.y + q.z * q.z))
    return msg.pose.pose.position.x, msg.pose.pose.position.y, yaw


def scan_arrays(msg: LaserScan) -> tuple[np.ndarray, np.ndarray]:
    ranges = np.asarray(msg.ranges, dtype=float)
    angles = msg.angle_min + msg.angle_increment * np.arange(len(ranges))
    ranges = np.where((ranges >= msg.range_min) & (ranges <= msg.range_max), ranges, np.inf)
    return ranges, angles


def task(goal: ExecuteTask.Goal) -> Task:
    route = tuple(
        Waypoint(w.name, w.pose.x, w.pose.y, w.pose.yaw if w.has_yaw else None, float(w.max_speed), w.caution,
                 w.junction)
        for w in goal.route
    )
    actions = tuple(
        Action(a.name, float(a.duration_s), dict(zip(a.param_keys, a.param_values, strict=False)))
        for a in goal.actions
    )
    return Task(goal.task_id, route, actions, int(goal.released_waypoints), goal.mission_id)


def result(r: TaskResult) -> ExecuteTask.Result:
    msg = ExecuteTask.Result()
    msg.outcome = int(r.outcome)
    msg.reason = r.reason
    msg.final_pose = Pose2D(x=r.x, y=r.y, yaw=r.yaw)
    msg.distance_m = float(r.distance_m)
    return msg


def feedback(fb: Feedback) -> ExecuteTask.Feedback:
    msg = ExecuteTask.Feedback()
    msg.waypoint_index = int(fb.waypoint_index)
    msg.progress = float(fb.progress)
    msg.distance_remaining_m = float(fb.distance_remaining_m)
    msg.state = fb.state
    return msg


def robot_state(robot_id: str, kind: str, model: str, mode: int, pose: tuple[float, float, float],
                velocity: tuple[float, float], battery: float, task_id: str, progress: float,
                errors: list[str]) -> RobotState:
    msg = RobotState()
    msg.id, msg.kind, msg.model, msg.mode = robot_id, kind, model, int(mode)
    msg.pose = Pose2D(x=pose[0], y=pose[1], yaw=pose[2])
    msg.velocity.linear.x, msg.velocity.angular.z = velocity
    msg.battery_percentage = float(battery)
    msg.current_task_id = task_id
    msg.task_progress = float(progress)
    msg.errors = errors
    return msg
