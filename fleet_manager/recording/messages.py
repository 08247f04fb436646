"""The one place that knows how recorded items become ROS 2 messages (CDR) and which topics hold them.

Recorded items are plain tuples (cheap to build in the hot path, cheap to pickle to the writer
process); each starts with its kind and its log time in nanoseconds. The typestore is rosbags' ROS 2
Jazzy store plus labfleet_interfaces, read from the same .msg files the robots are built from, so the
recording carries the exact definitions (and RIHS01 hashes) the live system uses.
"""

from __future__ import annotations

import logging
import math
import re
import struct
import sys
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
from rosbags.interfaces import Qos, QosDurability, QosHistory, QosLiveliness, QosReliability, QosTime
from rosbags.serde import SerdeError
from rosbags.typesys import Stores, get_types_from_msg, get_typestore
from rosbags.typesys.store import Typestore

from fleet_manager.recording import fastcdr

log = logging.getLogger(__name__)

# -- item kinds and their tuple layouts (the producer in writer.py builds exactly these) -----------
STATE = 0  # (STATE, t_ns, id, kind, model, mode_code, x, y, yaw, linear, angular, battery_pct, charging,
#            task_id, task_progress, errors, stamp_s, wall_time)
ODOM = 1  # (ODOM, t_ns, robot_id, x, y, yaw, linear, angular)
CMD_VEL = 2  # (CMD_VEL, t_ns, robot_id, linear, angular)
BATTERY = 3  # (BATTERY, t_ns, robot_id, percentage 0..100, charging)
SCAN = 4  # (SCAN, t_ns, robot_id, angle_min, angle_increment, range_min, range_max, scan_time, ranges f32)
EVENT = 5  # (EVENT, t_ns, json_text)
STATES = 6  # (STATES, t_ns, [row, ...]): one on_states batch, a row being a STATE item without its first two
#             fields; each row is logged at its own stamp (t_ns when it has none). The sink expands it.
RAW = 7  # (RAW, t_ns, robot_id, kind, cdr_bytes): a driver message as received (kind ODOM, CMD_VEL or BATTERY)

STATES_TOPIC = "/fleet/robot_states"
EVENTS_TOPIC = "/mission/events"
ROBOT_STATE = "labfleet_interfaces/msg/RobotState"
ODOMETRY = "nav_msgs/msg/Odometry"
TWIST = "geometry_msgs/msg/Twist"
BATTERY_STATE = "sensor_msgs/msg/BatteryState"
LASER_SCAN = "sensor_msgs/msg/LaserScan"
STRING = "std_msgs/msg/String"

_ROBOT_TOPICS = {ODOM: ("odom", ODOMETRY), CMD_VEL: ("cmd_vel", TWIST), BATTERY: ("battery_state", BATTERY_STATE),
                 SCAN: ("scan", LASER_SCAN)}
_ROBOT_ID = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")  # one ROS name token: /<id>/odom must be a valid topic


def check_robot_id(robot_id: str) -> None:
    if not _ROBOT_ID.match(robot_id):
        raise ValueError(f"robot id {robot_id!r} cannot name a ROS topic (letters, digits, '_'; no leading digit)")


def topic_of(kind: int, robot_id: str) -> tuple[str, str]:
    """(topic, message type) of an item kind; robot_id is ignored for the fleet-wide topics."""
    if kind == STATE:
        return STATES_TOPIC, ROBOT_STATE
    if kind == EVENT:
        return EVENTS_TOPIC, STRING
    name, typename = _ROBOT_TOPICS[kind]
    return f"/{robot_id}/{name}", typename


def _qos(depth: int, reliability: QosReliability) -> list[Qos]:
    default = QosTime(0, 0)  # 0: the RMW default (no deadline, lifespan or lease), as rosbag2 reads it
    return [Qos(QosHistory.KEEP_LAST, depth, reliability, QosDurability.VOLATILE, default, default,
                QosLiveliness.AUTOMATIC, default, False)]


def expand_states(item: tuple[Any, ...]) -> list[tuple[Any, ...]]:
    """A STATES batch as STATE items, each logged at its robot's stamp (the batch's time when it has none)."""
    batch_ns = item[1]
    out = []
    for row in item[2]:
        try:
            stamp_ns = round(row[-2] * 1e9)
        except (TypeError, ValueError, OverflowError):  # not a number: the codec reports the row
            stamp_ns = 0
        out.append((STATE, stamp_ns if 0 < stamp_ns < 1 << 63 else batch_ns, *row))
    return out


def offered_qos(kind: int) -> list[Qos]:
    """The QoS the live publishers offer (DESIGN.md), so `ros2 bag play` republishes alike."""
    if kind == SCAN:
        return _qos(5, QosReliability.BEST_EFFORT)  # sensor-data QoS
    if kind == STATE:
        return _qos(1000, QosReliability.RELIABLE)
    return _qos(10, QosReliability.RELIABLE)


# -- the typestore ----------------------------------------------------------------------------------
def interface_dirs() -> list[Path]:
    """Where labfleet_interfaces' .msg files are: the source tree, else the build installed in the venv."""
    repo = Path(__file__).resolve().parents[2]
    return [repo / "ros2_ws" / "src" / "labfleet_interfaces" / "msg",
            Path(sys.prefix) / "share" / "labfleet_interfaces" / "msg"]


@cache
def labfleet_typestore() -> Typestore:
    """rosbags' ROS 2 Jazzy typestore with labfleet_interfaces registered from its .msg files."""
    for folder in interface_dirs():
        files = sorted(folder.glob("*.msg"))
        if files:
            break
    else:
        raise FileNotFoundError(f"no labfleet_interfaces .msg files in {[str(d) for d in interface_dirs()]}")
    store = get_typestore(Stores.ROS2_JAZZY)
    types: dict[str, Any] = {}
    for path in files:
        types.update(get_types_from_msg(path.read_text(encoding="utf-8"), f"labfleet_interfaces/msg/{path.stem}"))
    store.register(types)
    return store


class Codec:
    """Items to little-endian CDR: fastcdr for the high-rate kinds, else rosbags message objects."""

    def __init__(self, store: Typestore | None = None) -> None:
        self.store = store or labfleet_typestore()
        t = self.store.types
        self._time, self._header = t["builtin_interfaces/msg/Time"], t["std_msgs/msg/Header"]
        self._state, self._pose2d = t[ROBOT_STATE], t["labfleet_interfaces/msg/Pose2D"]
        self._twist, self._vector3 = t[TWIST], t["geometry_msgs/msg/Vector3"]
        self._odom, self._pose, self._point = t[ODOMETRY], t["geometry_msgs/msg/Pose"], t["geometry_msgs/msg/Point"]
        self._quat = t["geometry_msgs/msg/Quaternion"]
        self._pose_cov, self._twist_cov = t["geometry_msgs/msg/PoseWithCovariance"], t[
            "geometry_msgs/msg/TwistWithCovariance"]
        self._battery, self._scan, self._string = t[BATTERY_STATE], t[LASER_SCAN], t[STRING]
        self._cov = np.zeros(36, dtype=np.float64)
        self._no_f32 = np.zeros(0, dtype=np.float32)
        self._fast: dict[int, Callable[[tuple[Any, ...]], bytes]] = {}
        for kind, encoder in ((STATE, fastcdr.robot_state), (ODOM, fastcdr.odometry), (CMD_VEL, fastcdr.twist)):
            if self._agrees(encoder, _SAMPLES[kind]):
                self._fast[kind] = encoder
            else:
                log.warning("the fast %s encoder disagrees with rosbags (a .msg changed?): using rosbags",
                            topic_of(kind, "r")[1])

    def msgdef(self, typename: str) -> str:
        """The full concatenated message definition (ros2msg, as rosbag2 and Foxglove expect)."""
        return self.store.generate_msgdef(typename, ros_version=2)[0]

    def type_hash(self, typename: str) -> str:
        return self.store.hash_rihs01(typename)

    def _agrees(self, encoder: Callable[[tuple[Any, ...]], bytes], samples: list[tuple[Any, ...]]) -> bool:
        try:
            return all(encoder(item) == self.reference(item) for item in samples)
        except (TypeError, ValueError, struct.error, SerdeError):  # the definition no longer fits the item
            return False

    @property
    def fast_kinds(self) -> set[int]:
        """Item kinds encoded by fastcdr (checked against rosbags when this codec was built)."""
        return set(self._fast)

    def encode(self, item: tuple[Any, ...]) -> tuple[str, str, bytes]:
        """(topic, message type, CDR bytes) of one item."""
        kind = item[0]
        if kind == RAW:
            return (*topic_of(item[3], item[2]), bytes(item[4]))
        topic, typename = topic_of(kind, "" if kind in (STATE, EVENT) else item[2])
        fast = self._fast.get(kind)
        return topic, typename, fast(item) if fast is not None else self.reference(item)

    def reference(self, item: tuple[Any, ...]) -> bytes:
        """rosbags' encoding of an item: build the message object, serialise it."""
        typename = topic_of(item[0], "r")[1]
        return bytes(self.store.serialize_cdr(self._build(item[0], item), typename, little_endian=True))

    def _stamp(self, t_ns: int) -> Any:
        return self._time(sec=t_ns // 1_000_000_000, nanosec=t_ns % 1_000_000_000)

    def _vec(self, x: float, y: float = 0.0, z: float = 0.0) -> Any:
        return self._vector3(x=x, y=y, z=z)

    def _build(self, kind: int, item: tuple[Any, ...]) -> Any:
        if kind == STATE:
            (_, _, rid, rkind, model, mode, x, y, yaw, linear, angular, battery, charging, task_id, progress, errors,
             stamp_s, wall_time) = item
            return self._state(
                stamp=self._stamp(round(stamp_s * 1e9)), wall_time=float(wall_time), id=rid, kind=rkind, model=model,
                mode=int(mode), pose=self._pose2d(x=float(x), y=float(y), yaw=float(yaw)),
                velocity=self._twist(linear=self._vec(float(linear)), angular=self._vec(0.0, 0.0, float(angular))),
                battery_percentage=float(battery), charging=bool(charging), current_task_id=task_id,
                task_progress=float(progress), errors=list(errors))
        if kind == ODOM:
            _, t_ns, rid, x, y, yaw, linear, angular = item
            pose = self._pose(position=self._point(x=x, y=y, z=0.0),
                              orientation=self._quat(x=0.0, y=0.0, z=math.sin(yaw / 2), w=math.cos(yaw / 2)))
            twist = self._twist(linear=self._vec(linear), angular=self._vec(0.0, 0.0, angular))
            return self._odom(header=self._header(stamp=self._stamp(t_ns), frame_id=f"{rid}/odom"),
                              child_frame_id=f"{rid}/base_link", pose=self._pose_cov(pose=pose, covariance=self._cov),
                              twist=self._twist_cov(twist=twist, covariance=self._cov))
        if kind == CMD_VEL:
            _, _, _, linear, angular = item
            return self._twist(linear=self._vec(linear), angular=self._vec(0.0, 0.0, angular))
        if kind == BATTERY:
            _, t_ns, rid, percentage, charging = item
            b: Any = self._battery
            nan = math.nan  # not measured (sensor_msgs/BatteryState)
            return b(header=self._header(stamp=self._stamp(t_ns), frame_id=f"{rid}/base_link"), voltage=nan,
                     temperature=nan, current=nan, charge=nan, capacity=nan, design_capacity=nan,
                     percentage=percentage / 100.0,
                     power_supply_status=(b.POWER_SUPPLY_STATUS_CHARGING if charging
                                          else b.POWER_SUPPLY_STATUS_DISCHARGING),
                     power_supply_health=b.POWER_SUPPLY_HEALTH_UNKNOWN,
                     power_supply_technology=b.POWER_SUPPLY_TECHNOLOGY_UNKNOWN, present=True,
                     cell_voltage=self._no_f32, cell_temperature=self._no_f32, location="", serial_number="")
        if kind == SCAN:
            _, t_ns, rid, angle_min, increment, range_min, range_max, scan_time, ranges = item
            return self._scan(header=self._header(stamp=self._stamp(t_ns), frame_id=f"{rid}/base_link"),
                              angle_min=angle_min, angle_max=angle_min + increment * max(len(ranges) - 1, 0),
                              angle_increment=increment, time_increment=0.0, scan_time=scan_time,
                              range_min=range_min, range_max=range_max, ranges=ranges, intensities=self._no_f32)
        if kind == EVENT:
            return self._string(data=item[2])
        raise ValueError(f"unknown item kind {kind!r}")


# Items the fast encoders must encode exactly as rosbags does: odd lengths and alignments, empty strings.
_SAMPLES: dict[int, list[tuple[Any, ...]]] = {
    STATE: [(STATE, 0, "r1", "delivery", "deliverybot", 1, 1.5, -2.25, 0.3, 0.5, -0.1, 80.5, True, "42-1", 0.25,
             ("obstacle", "x"), 12.345678901, 1.7e9),
            (STATE, 0, "robot_007", "", "m", 9, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, False, "", 0.0, (), 0.0, 0.0)],
    ODOM: [(ODOM, 5_000_000_001, "r1", 1.5, -2.0, 0.7, 0.5, -0.1), (ODOM, 0, "tug_12", 0.0, 0.0, -3.0, 0.0, 0.0)],
    CMD_VEL: [(CMD_VEL, 0, "r1", 0.5, -0.25)],
}
