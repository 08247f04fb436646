"""The one place that names topics and frames on both sides of the bridge.

ROS names are the built-in simulator's (DESIGN.md, "ROS 2 contract"); gz names are the ones the robot
models set in their systems (`/model/<robot_id>/...`), except the joint states, which keep the
JointStatePublisher default `/world/<world>/model/<robot_id>/joint_state`.
"""

from __future__ import annotations

BATTERY_NAME = "main_battery"


def gz_cmd_vel(robot_id: str) -> str:
    return f"/model/{robot_id}/cmd_vel"


def gz_odometry(robot_id: str) -> str:
    return f"/model/{robot_id}/odometry"


def gz_scan(robot_id: str) -> str:
    return f"/model/{robot_id}/scan"


def gz_battery(robot_id: str) -> str:
    return f"/model/{robot_id}/battery/{BATTERY_NAME}/state"


def gz_joint_state(world: str, robot_id: str) -> str:
    return f"/world/{world}/model/{robot_id}/joint_state"


def odom_frame(robot_id: str) -> str:
    return f"{robot_id}/odom"


def base_frame(robot_id: str) -> str:
    return f"{robot_id}/base_link"
