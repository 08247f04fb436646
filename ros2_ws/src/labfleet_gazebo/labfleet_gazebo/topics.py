"""The one place that names topics and frames on both sides of the bridge.

ROS names are the built-in simulator's (DESIGN.md, "ROS 2 contract"); gz names are the ones the robot
models set in their systems (`/model/<robot_id>/...`), except the joint states, which keep the
JointStatePublisher default `/world/<world>/model/<robot_id>/joint_state`, and the odometry transforms,
which every robot's DiffDrive publishes on the one gz topic GZ_TF (bridged once, to /tf).

Frames (REP 105): `<map_frame> → <id>/odom → <id>/base_link`; DiffDrive's odometry starts at zero where the
robot spawns, and `<map_frame> → <id>/odom` is the spawn pose, a static transform (launch_plan.py).
"""

from __future__ import annotations

BATTERY_NAME = "main_battery"
GZ_TF = "/tf"  # gz.msgs.Pose_V of every robot's odom → base_link
SITE_FRAME = "map"  # the site map: gz's world frame, and the frame of the ground truth


def gz_cmd_vel(robot_id: str) -> str:
    return f"/model/{robot_id}/cmd_vel"


def gz_odometry(robot_id: str) -> str:
    return f"/model/{robot_id}/odometry"


def gz_scan(robot_id: str) -> str:
    return f"/model/{robot_id}/scan"


def gz_battery(robot_id: str) -> str:
    return f"/model/{robot_id}/battery/{BATTERY_NAME}/state"


def gz_ground_truth(robot_id: str) -> str:
    """The true pose of the model (OdometryPublisher), a test oracle like the built-in simulator's."""
    return f"/model/{robot_id}/ground_truth"


def gz_ground_truth_tf(robot_id: str) -> str:
    """Where OdometryPublisher's own Pose_V goes: never bridged (map → base_link would break the TF tree)."""
    return f"/model/{robot_id}/ground_truth/tf"


def gz_joint_state(world: str, robot_id: str) -> str:
    return f"/world/{world}/model/{robot_id}/joint_state"


def odom_frame(robot_id: str) -> str:
    return f"{robot_id}/odom"


def base_frame(robot_id: str) -> str:
    return f"{robot_id}/base_link"
