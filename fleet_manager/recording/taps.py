"""The recording's ROS adapter: raw subscriptions to the driver topics of the robots being recorded.

Subscriptions are created on the bridge's node (on its ROS thread) when a recording starts for a
robot and destroyed when no recording needs it any more. They are raw: odom, cmd_vel and
battery_state reach the recorder as the CDR bytes the driver published (no decoding, no re-encoding,
the exact message); only scans that are kept (one per rate slot of sim time) are decoded, to keep
every k-th ray. Log times are the messages' header stamps (sim time when simulated); cmd_vel has no
header and takes the node's clock.
"""

from __future__ import annotations

import logging
import struct
from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, Any

from geometry_msgs.msg import Twist
from nav_msgs.msg import Odometry
from rclpy.node import Node
from rclpy.qos import QoSProfile, ReliabilityPolicy, qos_profile_sensor_data
from rclpy.serialization import deserialize_message
from sensor_msgs.msg import BatteryState, LaserScan

from fleet_manager.recording.messages import BATTERY, CMD_VEL, ODOM

if TYPE_CHECKING:
    from fleet_manager.recording.writer import MissionRecorder
    from fleet_manager.ros.bridge import RosBridge

log = logging.getLogger(__name__)

_STAMP = {1: struct.Struct("<iI"), 0: struct.Struct(">iI")}  # by the CDR encapsulation's endianness byte
_SECOND = 1_000_000_000


def header_stamp_ns(data: bytes) -> int:
    """The header stamp of a serialized message that starts with a std_msgs/Header; 0 if there is none."""
    if len(data) < 12:
        return 0
    sec, nanosec = _STAMP[data[1] & 1].unpack_from(data, 4)
    return max(0, sec * _SECOND + nanosec)


class RobotTaps:
    def __init__(self, bridge: RosBridge, scan_max_hz: float) -> None:
        self._bridge = bridge
        self._scan_period_ns = max(1, round(_SECOND / scan_max_hz))
        # robot id -> the recorders fed by its topics; replaced (never mutated) on the event loop, read on
        # the ROS thread
        self._recorders: dict[str, tuple[MissionRecorder, ...]] = {}
        self._subs: dict[str, list[Any]] = {}  # ROS thread only
        self._scan_slot: dict[str, int] = {}  # ROS thread only
        self._node: Node | None = None
        self.failures = 0

    # -- on the event loop ------------------------------------------------------------------------
    async def attach(self, robot_id: str, recorder: MissionRecorder) -> None:
        self._recorders = {**self._recorders, robot_id: (*self._recorders.get(robot_id, ()), recorder)}
        await self._bridge.in_ros(partial(self._sync, robot_id))

    async def detach(self, robot_id: str, recorder: MissionRecorder) -> None:
        left = tuple(r for r in self._recorders.get(robot_id, ()) if r is not recorder)
        recorders = dict(self._recorders)
        if left:
            recorders[robot_id] = left
        else:
            recorders.pop(robot_id, None)
        self._recorders = recorders
        await self._bridge.in_ros(partial(self._sync, robot_id))

    def subscribed(self) -> set[str]:
        return set(self._subs)

    # -- on the ROS thread ------------------------------------------------------------------------
    def _sync(self, robot_id: str, node: Node) -> None:
        """Subscribe or unsubscribe as the robot's recorders now require (calls may come in any order)."""
        self._node = node
        wanted = robot_id in self._recorders
        if wanted and robot_id not in self._subs:
            reliable = QoSProfile(depth=50, reliability=ReliabilityPolicy.RELIABLE)
            self._subs[robot_id] = [
                node.create_subscription(Odometry, f"/{robot_id}/odom", partial(self._on_raw, robot_id, ODOM),
                                         reliable, raw=True),
                node.create_subscription(Twist, f"/{robot_id}/cmd_vel", partial(self._on_cmd_vel, robot_id),
                                         reliable, raw=True),
                node.create_subscription(BatteryState, f"/{robot_id}/battery_state",
                                         partial(self._on_raw, robot_id, BATTERY), reliable, raw=True),
                node.create_subscription(LaserScan, f"/{robot_id}/scan", partial(self._on_scan, robot_id),
                                         qos_profile_sensor_data, raw=True),
            ]
        elif not wanted and robot_id in self._subs:
            for sub in self._subs.pop(robot_id):
                node.destroy_subscription(sub)
            self._scan_slot.pop(robot_id, None)

    def _guard(self, fn: Callable[[], None]) -> None:
        try:
            fn()
        except Exception:  # never into the executor: it would stop the bridge's thread
            self.failures += 1
            if self.failures == 1:
                log.exception("recording a driver message failed (logged once)")

    def _now_ns(self) -> int:
        return self._node.get_clock().now().nanoseconds if self._node is not None else 0

    def _on_raw(self, robot_id: str, kind: int, data: bytes) -> None:
        def record() -> None:
            t_ns = header_stamp_ns(data) or self._now_ns()
            for rec in self._recorders.get(robot_id, ()):
                rec.record_raw(t_ns, robot_id, kind, data)
        self._guard(record)

    def _on_cmd_vel(self, robot_id: str, data: bytes) -> None:
        def record() -> None:
            t_ns = self._now_ns()
            for rec in self._recorders.get(robot_id, ()):
                rec.record_raw(t_ns, robot_id, CMD_VEL, data)
        self._guard(record)

    def _on_scan(self, robot_id: str, data: bytes) -> None:
        def record() -> None:
            t_ns = header_stamp_ns(data) or self._now_ns()
            slot = t_ns // self._scan_period_ns
            if self._scan_slot.get(robot_id) == slot:
                return  # downsampled: only the first scan of each slot is decoded
            self._scan_slot[robot_id] = slot
            scan = deserialize_message(data, LaserScan)
            for rec in self._recorders.get(robot_id, ()):
                rec.record_scan(t_ns, robot_id, scan.ranges, angle_min=scan.angle_min,
                                angle_increment=scan.angle_increment, range_min=scan.range_min,
                                range_max=scan.range_max, scan_time=scan.scan_time)
        self._guard(record)
