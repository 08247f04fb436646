"""Building the simulator's ROS messages: the one place that knows their layout.

Frames (REP 105): `/<id>/odom` is odometry in `<id>/odom` (zero where the robot spawned), `/<id>/ground_truth`
the true pose in the site's `map`, and /tf carries `<map_frame> → <id>/odom` and `<id>/odom → <id>/base_link`.
"""

from __future__ import annotations

import array
import math
from collections.abc import Sequence
from collections.abc import Set as AbstractSet

import numpy as np
from builtin_interfaces.msg import Time
from geometry_msgs.msg import Quaternion, TransformStamped, Twist
from labfleet_interfaces.msg import Contact as ContactMsg
from labfleet_interfaces.msg import Pedestrians as PedestriansMsg
from labfleet_interfaces.msg import Pose2D
from labfleet_robot.command_auth import sign_contact
from labfleet_robot.frames import Transform
from nav_msgs.msg import Odometry
from rosgraph_msgs.msg import Clock
from sensor_msgs.msg import BatteryState, LaserScan
from tf2_msgs.msg import TFMessage

from labfleet_sim.odometry import RobotFrames
from labfleet_sim.pedestrians import PedestrianPose
from labfleet_sim.physics import LIDAR_RANGE_MIN, Body, Contact

NOMINAL_VOLTAGE = 48.0
SITE_FRAME = "map"  # the site map: ground truth is in it


def stamp(seconds: float) -> Time:
    ns = round(seconds * 1e9)  # whole nanoseconds first, so 4.9999999999 is 5 s, not 4 s + 0 ns
    return Time(sec=ns // 1_000_000_000, nanosec=ns % 1_000_000_000)


def clock(seconds: float) -> Clock:
    return Clock(clock=stamp(seconds))


def yaw_quaternion(yaw: float) -> Quaternion:
    return Quaternion(x=0.0, y=0.0, z=math.sin(yaw / 2), w=math.cos(yaw / 2))


def _odometry(into: Odometry | None, when: Time, frame_id: str, child_frame_id: str, x: float, y: float, yaw: float,
              v: float, w: float) -> Odometry:
    msg = Odometry() if into is None else into
    msg.header.stamp = when
    msg.header.frame_id = frame_id
    msg.child_frame_id = child_frame_id
    position, q = msg.pose.pose.position, msg.pose.pose.orientation
    position.x, position.y = x, y
    q.z, q.w = math.sin(yaw / 2), math.cos(yaw / 2)
    msg.twist.twist.linear.x = v
    msg.twist.twist.angular.z = w
    return msg


def odometry(body: Body, frames: RobotFrames, when: Time, into: Odometry | None = None) -> Odometry:
    """/<id>/odom: the odometry pose (zero at spawn, drifting) in `<id>/odom`, the body's velocities. `into`: a
    message of this robot's to fill again instead of building one (publishing serialises it at once)."""
    return _odometry(into, when, frames.odom_frame, frames.base_frame, frames.x, frames.y, frames.yaw, body.v,
                     body.w)


def ground_truth(body: Body, when: Time, into: Odometry | None = None) -> Odometry:
    """/<id>/ground_truth: the true pose in the site's map and the body's velocities (a test oracle)."""
    return _odometry(into, when, SITE_FRAME, f"{body.config.id}/base_link", body.x, body.y, body.yaw, body.v,
                     body.w)


def _set_transform(msg: TransformStamped, when: Time, t: Transform) -> None:
    msg.header.stamp = when
    tr, rot = msg.transform.translation, msg.transform.rotation
    tr.x, tr.y, tr.z = t.x, t.y, t.z
    rot.x, rot.y, rot.z, rot.w = t.qx, t.qy, t.qz, t.qw


def _transform_stamped(parent: str, child: str) -> TransformStamped:
    msg = TransformStamped()
    msg.header.frame_id = parent
    msg.child_frame_id = child
    return msg


class TfBuilder:
    """The /tf message of every robot, built once and updated in place each tick (20 robots at 20 Hz stay
    cheap): per robot `<map_frame> → <id>/odom` then `<id>/odom → <id>/base_link`."""

    def __init__(self, frames: dict[str, RobotFrames]) -> None:
        self._edges = {rid: (_transform_stamped(f.map_frame, f.odom_frame), _transform_stamped(f.odom_frame,
                                                                                               f.base_frame))
                       for rid, f in frames.items()}
        self._msg = TFMessage()
        self._own = {rid: TFMessage(transforms=list(edges)) for rid, edges in self._edges.items()}
        self._own_odom = {rid: TFMessage(transforms=[edges[1]]) for rid, edges in self._edges.items()}

    def message(self, frames: dict[str, RobotFrames], when: Time, skip: AbstractSet[str] = frozenset()
                ) -> TFMessage | None:
        """The TFMessage of every robot but those in `skip` (None when that leaves none)."""
        transforms: list[TransformStamped] = []
        for rid, f in frames.items():
            if rid in skip:
                continue
            map_odom, odom_base = self._edges[rid]
            _set_transform(map_odom, when, f.map_to_odom)
            _set_transform(odom_base, when, f.odom)
            transforms += (map_odom, odom_base)
        if not transforms:
            return None
        self._msg.transforms = transforms
        return self._msg

    def own(self, robot_id: str, localisation: bool = True) -> TFMessage:
        """The robot's own transforms, as `message` last set them (for its `/<id>/tf`): both, or (`localisation`
        False) only odom → base_link, as a robot's localisation publishes map → odom less often than its odometry
        (AMCL at each laser update)."""
        return self._own[robot_id] if localisation else self._own_odom[robot_id]


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
    msg.range_min = LIDAR_RANGE_MIN
    msg.range_max = float(lidar.range_max)
    msg.ranges = array.array("f", ranges.astype(np.float32).tobytes())  # as it is (a list is checked item by item)
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


def contact(c: Contact, key: bytes | None = None) -> ContactMsg:
    """The contact's message, signed with the lab's command key when there is one (the fleet manager records a
    contact as an incident only when it is signed: issue 19)."""
    msg = ContactMsg(stamp=stamp(c.time), robot_id=c.robot_id, other=c.other, pose=Pose2D(x=c.x, y=c.y, yaw=c.yaw),
                     by=c.by, robot_speed=float(c.robot_speed), relative_speed=float(c.relative_speed),
                     other_kind=c.other_kind)
    stamp_ns = msg.stamp.sec * 1_000_000_000 + msg.stamp.nanosec
    msg.nonce, msg.signature = sign_contact(key, c.robot_id, c.other, c.by, c.other_kind, stamp_ns)
    return msg


def pedestrians(people: Sequence[PedestrianPose], t: float) -> PedestriansMsg:
    return PedestriansMsg(stamp=stamp(t), names=[p.name for p in people], x=[float(p.x) for p in people],
                          y=[float(p.y) for p in people])


def command(msg: Twist) -> tuple[float, float]:
    return float(msg.linear.x), float(msg.angular.z)
