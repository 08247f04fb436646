"""Building the simulator's ROS messages: the one place that knows their layout."""

from __future__ import annotations

import math

import numpy as np
from builtin_interfaces.msg import Time
from geometry_msgs.msg import Quaternion, Twist
from labfleet_interfaces.msg import Contact as ContactMsg
from labfleet_interfaces.msg import Pose2D
from nav_msgs.msg import Odometry
from rosgraph_msgs.msg import Clock
from sensor_msgs.msg import BatteryState, LaserScan

from labfleet_sim.physics import Body, Contact

NOMINAL_VOLTAGE = 48.0


def stamp(seconds: float) -> Time:
    ns = round(seconds * 1e9)  # whole nanoseconds first, so 4.9999999999 is 5 s, not 4 s + 0 ns
    return Time(sec=ns // 1_000_000_000, nanosec=ns % 1_000_000_000)


def clock(seconds: float) -> Clock:
    return Clock(clock=stamp(seconds))


def yaw_quaternion(yaw: float) -> Quaternion:
    return Quaternion(x=0.0, y=0.0, z=math.sin(yaw / 2), w=math.cos(yaw / 2))


def odometry(body: Body, now: float) -> Odometry:
    rid = body.config.id
    msg = Odometry()
    msg.header.stamp = stamp(now)
    msg.header.frame_id = f"{rid}/odom"
    msg.child_frame_id = f"{rid}/base_link"
    msg.pose.pose.position.x = body.x
    msg.pose.pose.position.y = body.y
    msg.pose.pose.orientation = yaw_quaternion(body.yaw)
    msg.twist.twist.linear.x = body.v
    msg.twist.twist.angular.z = body.w
    return msg


def laser_scan(body: Body, angles: np.ndarray, ranges: np.ndarray, now: float, period: float) -> LaserScan:
    lidar = body.config.model.lidar
    msg = LaserScan()
    msg.header.stamp = stamp(now)
    msg.header.frame_id = f"{body.config.id}/base_link"
    msg.angle_min = float(angles[0])
    msg.angle_max = float(angles[-1])
    msg.angle_increment = float(angles[1] - angles[0]) if len(angles) > 1 else 0.0
    msg.scan_time = period
    msg.time_increment = 0.0
    msg.range_min = 0.05
    msg.range_max = float(lidar.range_max)
    msg.ranges = ranges.astype(np.float32).tolist()
    return msg


def battery(body: Body, now: float) -> BatteryState:
    msg = BatteryState()
    msg.header.stamp = stamp(now)
    msg.header.frame_id = f"{body.config.id}/base_link"
    fraction = body.battery_percentage / 100.0
    msg.percentage = float(fraction)
    msg.voltage = float(NOMINAL_VOLTAGE * (0.85 + 0.15 * fraction))
    msg.capacity = float(body.config.model.battery_capacity_wh / NOMINAL_VOLTAGE)
    msg.design_capacity = msg.capacity
    msg.charge = float(msg.capacity * fraction)
    msg.present = True
    msg.power_supply_status = (BatteryState.POWER_SUPPLY_STATUS_CHARGING if body.charging
                               else BatteryState.POWER_SUPPLY_STATUS_DISCHARGING)
    msg.power_supply_technology = BatteryState.POWER_SUPPLY_TECHNOLOGY_LION
    return msg


def contact(c: Contact) -> ContactMsg:
    return ContactMsg(stamp=stamp(c.time), robot_id=c.robot_id, other=c.other, pose=Pose2D(x=c.x, y=c.y, yaw=c.yaw))


def command(msg: Twist) -> tuple[float, float]:
    return float(msg.linear.x), float(msg.angular.z)
