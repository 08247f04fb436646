"""The built-in simulator as a ROS 2 node: it owns /clock and presents each robot's driver topics and frames.

Per robot: `/<id>/cmd_vel` (in), `/<id>/odom` (odometry in `<id>/odom`, zero at spawn), `/<id>/ground_truth`
(the true pose in the site's `map`), `/<id>/scan`, `/<id>/battery_state`; one /tf message per odom tick holding
every robot's `<map_frame> → <id>/odom` and `<id>/odom → <id>/base_link`; `/sim/contacts`; the service
`/sim/fault` (faults.py).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import rclpy
import yaml
from geometry_msgs.msg import Twist
from labfleet_interfaces.msg import Contact as ContactMsg
from labfleet_interfaces.srv import SimFault
from nav_msgs.msg import Odometry
from rclpy.clock import Clock, ClockType
from rclpy.executors import ExternalShutdownException
from rclpy.logging import get_logger
from rclpy.node import Node
from rclpy.publisher import Publisher
from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy, qos_profile_sensor_data
from rosgraph_msgs.msg import Clock as ClockMsg
from sensor_msgs.msg import BatteryState, LaserScan
from tf2_msgs.msg import TFMessage

from labfleet_sim import conversions
from labfleet_sim.faults import FaultInjector
from labfleet_sim.fleet_config import FleetConfigError, load_fleet
from labfleet_sim.physics import Simulator
from labfleet_sim.world import WorldError, load_world

# as tf2_ros's TransformBroadcaster (DynamicBroadcasterQoS): reliable, volatile, depth 100
TF_QOS = QoSProfile(depth=100, reliability=ReliabilityPolicy.RELIABLE, durability=DurabilityPolicy.VOLATILE)


class Every:
    """Fires once per period of sim time."""

    def __init__(self, rate_hz: float) -> None:
        self.period = 1.0 / rate_hz
        self.next = 0.0

    def due(self, now: float) -> bool:
        if now + 1e-9 < self.next:
            return False
        self.next = max(self.next + self.period, now)
        return True


class SimConfigError(ValueError):
    """The node's parameters or site files are unusable; the message says which and why."""


@dataclass(frozen=True)
class RobotPublishers:
    odom: Publisher
    ground_truth: Publisher
    scan: Publisher
    battery: Publisher
    # refilled and published at every odom tick (building them anew would cost most of the tick)
    odom_msg: Odometry = field(default_factory=Odometry)
    ground_truth_msg: Odometry = field(default_factory=Odometry)


def load_chargers(path: Path) -> list[tuple[float, float]]:
    """The charger places (kind: charger) of a site's navgraph.yaml; none when the file is absent."""
    if not path.exists():
        return []
    try:
        places = (yaml.safe_load(path.read_text()) or {}).get("places") or {}
        return [(float(p["x"]), float(p["y"])) for p in places.values() if p.get("kind") == "charger"]
    except (yaml.YAMLError, AttributeError, KeyError, TypeError, ValueError) as exc:
        raise SimConfigError(f"{path}: cannot read the chargers: {exc}") from None


class SimNode(Node):
    def __init__(self) -> None:
        super().__init__("labfleet_sim")
        world_file = self.declare_parameter("world_file", "").value
        fleet_file = self.declare_parameter("fleet_file", "").value
        rate_hz = float(self.declare_parameter("rate_hz", 50.0).value)
        rtf = float(self.declare_parameter("real_time_factor", 1.0).value)
        seed = int(self.declare_parameter("seed", 0).value)
        navgraph_file = str(self.declare_parameter("navgraph_file", "").value)
        self._odom = Every(float(self.declare_parameter("odom_rate_hz", 20.0).value))
        self._scan = Every(float(self.declare_parameter("scan_rate_hz", 10.0).value))
        self._battery = Every(float(self.declare_parameter("battery_rate_hz", 1.0).value))
        if not world_file or not fleet_file:
            raise SimConfigError("parameters world_file and fleet_file are required (-p world_file:=... )")
        if rate_hz <= 0 or rtf <= 0:
            raise SimConfigError(f"rate_hz ({rate_hz}) and real_time_factor ({rtf}) must be positive")
        try:
            world = load_world(Path(world_file))
            fleet = load_fleet(Path(fleet_file))
        except (WorldError, FleetConfigError) as exc:
            raise SimConfigError(str(exc)) from None
        chargers = load_chargers(Path(navgraph_file) if navgraph_file else Path(world_file).with_name("navgraph.yaml"))
        self.sim = Simulator(world, fleet, dt=1.0 / rate_hz, seed=seed, chargers=chargers)
        self._clock_pub = self.create_publisher(ClockMsg, "/clock", 10)
        self._contact_pub = self.create_publisher(
            ContactMsg, "/sim/contacts", QoSProfile(depth=100, reliability=ReliabilityPolicy.RELIABLE))
        self._tf_pub = self.create_publisher(TFMessage, "/tf", TF_QOS)
        self._tf = conversions.TfBuilder(self.sim.frames)
        self.faults = FaultInjector(self.sim)
        self.create_service(SimFault, "/sim/fault", self._on_fault)
        self._pubs: dict[str, RobotPublishers] = {}
        for rid in self.sim.bodies:
            self.create_subscription(Twist, f"/{rid}/cmd_vel", partial(self._on_cmd, rid), 10)
            self._pubs[rid] = RobotPublishers(
                odom=self.create_publisher(Odometry, f"/{rid}/odom", 10),
                ground_truth=self.create_publisher(Odometry, f"/{rid}/ground_truth", 10),
                scan=self.create_publisher(LaserScan, f"/{rid}/scan", qos_profile_sensor_data),
                battery=self.create_publisher(BatteryState, f"/{rid}/battery_state", 10),
            )
        # the simulator makes sim time, so it is paced by the steady wall clock
        self.create_timer(self.sim.dt / rtf, self._tick, clock=Clock(clock_type=ClockType.STEADY_TIME))
        self.get_logger().info(
            f"simulating {world.name!r}: {len(world.obstacles)} obstacles, robots {sorted(self.sim.bodies)}, "
            f"{len(chargers)} chargers, {rate_hz:g} Hz, real-time factor {rtf:g}, seed {seed}")

    def _on_cmd(self, robot_id: str, msg: Twist) -> None:
        self.sim.set_command(robot_id, *conversions.command(msg))

    def _on_fault(self, request: SimFault.Request, response: SimFault.Response) -> SimFault.Response:
        answer = self.faults.inject(request.robot_id, request.fault, request.duration_s, request.value)
        if answer.ok:  # (one severity per call site: rclpy refuses a logger call that changes it)
            self.get_logger().info(f"/sim/fault: {answer.message}")
        else:
            self.get_logger().warning(f"/sim/fault: refused: {answer.message}")
        response.ok, response.message = answer.ok, answer.message
        return response

    def _tick(self) -> None:
        for c in self.sim.step():
            self.get_logger().warning(f"contact: {c.robot_id} hit {c.other} at ({c.x:.2f}, {c.y:.2f})")
            self._contact_pub.publish(conversions.contact(c))
        for fault in self.faults.expire():
            self.get_logger().info(f"/sim/fault: {fault.robot_id}: {fault.kind} ended")
        now = self.sim.time
        self._clock_pub.publish(conversions.clock(now))
        odom, scan, battery = self._odom.due(now), self._scan.due(now), self._battery.due(now)
        when = conversions.stamp(now)
        if odom:
            tf = self._tf.message(self.sim.frames, when, self.faults.dropped_robots)
            if tf is not None:
                self._tf_pub.publish(tf)
        for rid, body in self.sim.bodies.items():
            pubs = self._pubs[rid]
            if odom:
                pubs.odom.publish(conversions.odometry(body, self.sim.frames[rid], when, pubs.odom_msg))
                pubs.ground_truth.publish(conversions.ground_truth(body, when, pubs.ground_truth_msg))
            if scan:
                pubs.scan.publish(conversions.laser_scan(body, self.sim.scan_angles(rid), self.sim.scan(rid), now,
                                                         self._scan.period))
            if battery:
                pubs.battery.publish(conversions.battery(body, now))


def main(args: list[str] | None = None) -> None:
    rclpy.init(args=args)
    node = None
    failed = False
    try:
        node = SimNode()
        rclpy.spin(node)
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    except SimConfigError as exc:
        get_logger("labfleet_sim").fatal(str(exc))
        failed = True
    except Exception:
        if rclpy.ok():  # a real failure, not SIGTERM racing a callback (RCLError: context is not valid)
            raise
    finally:
        if node is not None:
            node.destroy_node()
        rclpy.try_shutdown()
    if failed:
        sys.exit(2)


if __name__ == "__main__":
    main()
