"""The built-in simulator as a ROS 2 node: it owns /clock and presents each robot's driver topics and frames.

Per robot: `/<id>/cmd_vel` (in), `/<id>/odom` (odometry in `<id>/odom`, zero at spawn), `/<id>/ground_truth`
(the true pose in the site's `map`), `/<id>/scan`, `/<id>/battery_state`; one /tf message per odom tick holding
every robot's `<map_frame> → <id>/odom` and `<id>/odom → <id>/base_link`, and the robot's own on `/<id>/tf`
(a namespaced robot's `tf`, as Nav2's multi-robot bringup remaps it: its agent listens there and does not decode
the whole fleet's frames 20 times a second): odom → base_link at `odom_rate_hz`, map → odom at
`localisation_rate_hz` (5 Hz, as AMCL publishes at its laser updates); each only while it has a subscriber;
`/sim/contacts`; `/sim/pedestrians` (where the pedestrians are, PEDESTRIANS_RATE_HZ, while read); the
service `/sim/fault` (faults.py).

A robot with `robot_api: vda5050` is a VDA 5050 vehicle on the MQTT broker (vda_fleet.py): it keeps its sensor
topics and frames but takes no cmd_vel, only the orders of a master control. Parameters `mqtt_url`,
`mqtt_username`, `mqtt_password` (empty: the environment's LABFLEET_MQTT_PASSWORD, so that no secret sits on a
command line), `vda5050_interface`, `vda5050_map_id` (empty: the fleet's site), `vda5050_rate_hz`. Without ROS,
`labfleet-sim --vda5050-only` runs the same vehicles (vda_bench.py).
"""

from __future__ import annotations

import logging
import sys
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import rclpy
from geometry_msgs.msg import Twist
from labfleet_interfaces.msg import Contact as ContactMsg
from labfleet_interfaces.msg import Pedestrians as PedestriansMsg
from labfleet_interfaces.srv import SimFault
from labfleet_robot import command_auth
from labfleet_robot.spin import spin
from nav_msgs.msg import Odometry
from rclpy.clock import Clock, ClockType
from rclpy.executors import ExternalShutdownException
from rclpy.impl.rcutils_logger import RcutilsLogger
from rclpy.logging import get_logger
from rclpy.node import Node
from rclpy.publisher import Publisher
from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy, qos_profile_sensor_data
from rosgraph_msgs.msg import Clock as ClockMsg
from sensor_msgs.msg import BatteryState, LaserScan
from tf2_msgs.msg import TFMessage

from labfleet_sim import conversions
from labfleet_sim.faults import FaultInjector
from labfleet_sim.physics import Every
from labfleet_sim.site import SimConfigError, load_simulation
from labfleet_sim.vda_fleet import VdaFleet, broker_settings, mqtt_bus, vda_robots

PEDESTRIANS_RATE_HZ = 5.0  # sim time: the fleet manager's pilot watch measures near misses against them

# as tf2_ros's TransformBroadcaster (DynamicBroadcasterQoS): reliable, volatile, depth 100
TF_QOS = QoSProfile(depth=100, reliability=ReliabilityPolicy.RELIABLE, durability=DurabilityPolicy.VOLATILE)


@dataclass(frozen=True)
class RobotPublishers:
    odom: Publisher
    ground_truth: Publisher
    scan: Publisher
    battery: Publisher
    # refilled and published at every odom tick (building them anew would cost most of the tick)
    odom_msg: Odometry = field(default_factory=Odometry)
    ground_truth_msg: Odometry = field(default_factory=Odometry)


class SimNode(Node):
    def __init__(self) -> None:
        super().__init__("labfleet_sim")
        world_file = self.declare_parameter("world_file", "").value
        fleet_file = self.declare_parameter("fleet_file", "").value
        rate_hz = float(self.declare_parameter("rate_hz", 50.0).value)
        rtf = float(self.declare_parameter("real_time_factor", 1.0).value)
        seed = int(self.declare_parameter("seed", 0).value)
        navgraph_file = str(self.declare_parameter("navgraph_file", "").value)
        self._odom = Every(float(self.declare_parameter("odom_rate_hz", 20.0).value))  # and odom → base_link on TF
        # map → odom on each robot's own /<id>/tf (the whole fleet's /tf carries it at the odometry rate)
        self._localisation = Every(float(self.declare_parameter("localisation_rate_hz", 5.0).value))
        self._scan = Every(float(self.declare_parameter("scan_rate_hz", 10.0).value))
        self._battery = Every(float(self.declare_parameter("battery_rate_hz", 1.0).value))
        # /clock at the robots' control rate (20 Hz) by default: every node of the lab wakes for each one (an idle
        # six-robot lab at 4x: 93 % of a core with /clock every 50 Hz physics step, 85 % at 20 Hz)
        self._clock_due = Every(float(self.declare_parameter("clock_rate_hz", min(rate_hz, 20.0)).value))
        mqtt_url = str(self.declare_parameter("mqtt_url", "mqtt://127.0.0.1:1883").value)
        mqtt_username = str(self.declare_parameter("mqtt_username", "").value)
        mqtt_password = str(self.declare_parameter("mqtt_password", "").value)
        interface = str(self.declare_parameter("vda5050_interface", "uagv").value)
        map_id = str(self.declare_parameter("vda5050_map_id", "").value)
        vda_rate_hz = float(self.declare_parameter("vda5050_rate_hz", 20.0).value)
        if not world_file or not fleet_file:
            raise SimConfigError("parameters world_file and fleet_file are required (-p world_file:=... ); without "
                                 "ROS: labfleet-sim --vda5050-only --world WORLD.sdf --fleet FLEET.yaml")
        if rtf <= 0:
            raise SimConfigError(f"real_time_factor ({rtf}) must be positive")
        loaded = load_simulation(Path(world_file), Path(fleet_file), rate_hz=rate_hz, seed=seed,
                                 navgraph_file=Path(navgraph_file) if navgraph_file else None)
        world, fleet, self.sim = loaded.world, loaded.fleet, loaded.sim
        self.faults = FaultInjector(self.sim)
        self.vda: VdaFleet | None = None
        vehicles = vda_robots(fleet)
        if vehicles:
            try:
                settings = broker_settings(mqtt_url, interface, mqtt_username, mqtt_password)
                self.vda = VdaFleet(self.sim, vehicles, mqtt_bus(settings), map_id=map_id or fleet.site or world.name,
                                    faults=self.faults, rate_hz=vda_rate_hz, seed=seed)
            except ValueError as exc:
                raise SimConfigError(f"VDA 5050 vehicles: {exc}") from None
        try:  # the lab's command key (labfleet up hands it over): the contacts are signed with it (issue 19)
            self._key = command_auth.load_key()
        except (OSError, command_auth.BadKey) as exc:
            raise SimConfigError(f"the lab's command key: {exc}") from None
        self._clock_pub = self.create_publisher(ClockMsg, "/clock", 10)
        self._contact_pub = self.create_publisher(
            ContactMsg, "/sim/contacts", QoSProfile(depth=100, reliability=ReliabilityPolicy.RELIABLE))
        self._tf_pub = self.create_publisher(TFMessage, "/tf", TF_QOS)
        self._people_pub = (self.create_publisher(PedestriansMsg, "/sim/pedestrians", 10) if len(self.sim.crowd)
                            else None)
        self._people = Every(PEDESTRIANS_RATE_HZ)
        self._tf = conversions.TfBuilder(self.sim.frames)
        self._own_tf_pubs = {rid: self.create_publisher(TFMessage, f"/{rid}/tf", TF_QOS) for rid in self.sim.frames}
        self.create_service(SimFault, "/sim/fault", self._on_fault)
        self._pubs: dict[str, RobotPublishers] = {}
        self._angles = {rid: self.sim.scan_angles(rid) for rid in self.sim.bodies}
        for rid in self.sim.bodies:
            if self.vda is None or rid not in self.vda.vehicles:  # a VDA 5050 vehicle takes no cmd_vel
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
            f"{len(loaded.chargers)} chargers, {rate_hz:g} Hz, real-time factor {rtf:g}, seed {seed}")
        if len(self.sim.crowd):
            self.get_logger().info(f"pedestrians: {self.sim.crowd.describe()}")
        if self.vda is not None:
            self._log_handler = _RosLogHandler(self.get_logger())
            for name in ("vda5050", "labfleet_sim"):
                logging.getLogger(name).addHandler(self._log_handler)
                logging.getLogger(name).setLevel(logging.INFO)
            self.get_logger().info(
                f"VDA 5050 vehicles {', '.join(f'{rid} ({self.vda.serial(rid)})' for rid in self.vda.vehicles)} on "
                f"{mqtt_url} (interface {interface!r}, map {self.vda.map_id!r}); they take no cmd_vel")
            self.vda.start()

    def destroy_node(self) -> None:
        if self.vda is not None:
            self.vda.stop()  # connection OFFLINE, then a clean disconnect
            for name in ("vda5050", "labfleet_sim"):
                logging.getLogger(name).removeHandler(self._log_handler)
            self.vda = None
        super().destroy_node()

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
            if c.by == "robot":
                self.get_logger().warning(f"contact: {c.robot_id} hit {c.other} at ({c.x:.2f}, {c.y:.2f}), "
                                          f"{c.robot_speed:.2f} m/s")
            else:  # not a "contact:" line: the robot did not move into them
                self.get_logger().warning(
                    f"pedestrian {c.other} walked into {c.robot_id} at ({c.x:.2f}, {c.y:.2f}), closing at "
                    f"{c.relative_speed:.2f} m/s, the robot at {c.robot_speed:.2f} m/s")
            self._contact_pub.publish(conversions.contact(c, self._key))
        for fault in self.faults.expire():
            self.get_logger().info(f"/sim/fault: {fault.robot_id}: {fault.kind} ended")
        if self.vda is not None:
            self.vda.step()
        now = self.sim.time
        if self._people_pub is not None and self._people.due(now) and self._people_pub.get_subscription_count() > 0:
            self._people_pub.publish(conversions.pedestrians(self.sim.pedestrians(), now))
        if self._clock_due.due(now):
            self._clock_pub.publish(conversions.clock(now))
        odom, scan, battery = self._odom.due(now), self._scan.due(now), self._battery.due(now)
        ranges = self.sim.scans() if scan else {}  # every lidar cast together, only when the scans are due
        when = conversions.stamp(now)
        if odom:
            dropped = self.faults.dropped_robots
            tf = self._tf.message(self.sim.frames, when, dropped)
            if tf is not None and self._tf_pub.get_subscription_count() > 0:
                self._tf_pub.publish(tf)
            localisation = self._localisation.due(now)
            for rid, own in self._own_tf_pubs.items():
                if rid not in dropped and own.get_subscription_count() > 0:
                    own.publish(self._tf.own(rid, localisation))
        for rid, body in self.sim.bodies.items():
            pubs = self._pubs[rid]
            if odom:  # each built only when read (odom: a Nav2 robot or a recording; our agents read TF)
                if pubs.odom.get_subscription_count() > 0:
                    pubs.odom.publish(conversions.odometry(body, self.sim.frames[rid], when, pubs.odom_msg))
                if pubs.ground_truth.get_subscription_count() > 0:  # a test's or a tool's
                    pubs.ground_truth.publish(conversions.ground_truth(body, when, pubs.ground_truth_msg))
            if scan:
                pubs.scan.publish(conversions.laser_scan(body, self._angles[rid], ranges[rid], now, self._scan.period))
            if battery:
                pubs.battery.publish(conversions.battery(body, now))


class _RosLogHandler(logging.Handler):
    """Python logging (the VDA 5050 vehicles and their MQTT links) into the node's ROS log."""

    def __init__(self, logger: RcutilsLogger) -> None:
        super().__init__()
        self.logger = logger

    def emit(self, record: logging.LogRecord) -> None:
        text = f"{record.name}: {record.getMessage()}"
        if record.levelno >= logging.ERROR:  # one severity per call site: rclpy refuses a call that changes it
            self.logger.error(text)
        elif record.levelno >= logging.WARNING:
            self.logger.warning(text)
        elif record.levelno >= logging.INFO:
            self.logger.info(text)
        else:
            self.logger.debug(text)


def main(args: list[str] | None = None) -> None:
    rclpy.init(args=args)
    node = None
    failed = False
    try:
        node = SimNode()
        spin(node)
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
