"""A simulated robot that speaks Nav2 Jazzy as a real one does, driven by our PathFollower: the Nav2 stand-in.

    labfleet-nav2 --ros-args -r __ns:=/delivery_1 --params-file delivery_1.nav2.params.yaml

Node `bt_navigator` in the robot's namespace. Actions (nav2_msgs): `navigate_through_poses`, `navigate_to_pose`,
and, with `docking` true, `dock_robot` and `undock_robot`; topic `speed_limit` (nav2_msgs/SpeedLimit). It reads
`odom` (velocity only), `scan`, `battery_state` and /tf, and writes `cmd_vel` while it has something to do (then
a few zero commands). Nothing fleet-specific: a fleet manager sees only Nav2's interfaces. The behaviour lives in
labfleet_robot.navigator.
"""

from __future__ import annotations

import json
import time
from functools import partial

import numpy as np
import rclpy
from geometry_msgs.msg import Twist
from nav2_msgs.msg import SpeedLimit
from nav_msgs.msg import Odometry
from rclpy.action import ActionServer, CancelResponse, GoalResponse
from rclpy.action.server import ServerGoalHandle
from rclpy.executors import ExternalShutdownException
from rclpy.node import Node
from rclpy.qos import qos_profile_sensor_data
from rclpy.task import Future
from sensor_msgs.msg import BatteryState, LaserScan

from labfleet_robot import conversions, nav2_conversions
from labfleet_robot.controller import Limits
from labfleet_robot.navigation import Admission, BatteryReading, Finished, GoalKind, GoalStatus, NavigatorConfig
from labfleet_robot.navigator import Navigator
from labfleet_robot.params import declared_safety, parse_docks
from labfleet_robot.spin import spin
from labfleet_robot.tf_listener import TfListener

IDLE_ZERO_TICKS = 10  # zero commands sent after stopping, then the base is left alone


class Nav2Node(Node):
    def __init__(self) -> None:
        super().__init__("bt_navigator")
        p = self.declare_parameter
        self.robot_id = str(p("robot_id", "").value)
        if not self.robot_id:
            raise ValueError("parameter robot_id is required")
        limits = Limits(
            max_speed=float(p("max_speed", 1.0).value), max_accel=float(p("max_accel", 0.6).value),
            max_yaw_rate=float(p("max_yaw_rate", 1.5).value), max_yaw_accel=float(p("max_yaw_accel", 3.0).value),
            radius=float(p("radius", 0.3).value),
        )
        config = NavigatorConfig(
            map_frame=str(p("map_frame", "map").value),
            base_frame=str(p("base_frame", f"{self.robot_id}/base_link").value),
            transform_tolerance_s=float(p("transform_tolerance_s", 2.0).value),
            tf_abort_s=float(p("tf_abort_s", 15.0).value),
            progress_timeout_s=float(p("progress_timeout_s", 10.0).value),
            required_movement_radius=float(p("required_movement_radius", 0.5).value),
            max_recoveries=int(p("max_recoveries", 2).value),
            recovery_wait_s=float(p("recovery_wait_s", 5.0).value),
            viapoint_radius=float(p("viapoint_radius", 0.5).value),
            docks=parse_docks(list(p("docks", [""]).value)),
            staging_offset=float(p("staging_offset", 0.7).value),
            approach_speed=float(p("approach_speed", 0.15).value),
            docking_threshold=float(p("docking_threshold", 0.05).value),
            dock_approach_timeout_s=float(p("dock_approach_timeout_s", 30.0).value),
            wait_charge_timeout=float(p("wait_charge_timeout", 5.0).value),
            undock_clearance=float(p("undock_clearance", 0.3).value),
        )
        docking = bool(p("docking", True).value)
        # a test oracle: every accepted goal appended as one JSON line (wall time, sim time, kind, poses)
        self._goal_log = str(p("goal_log", "").value)
        control_hz = float(p("control_rate_hz", 20.0).value)
        feedback_hz = float(p("feedback_rate_hz", 10.0).value)
        self.config = config
        self._tf = TfListener(self, str(p("tf_topic", "/tf").value), str(p("tf_static_topic", "/tf_static").value))
        monitor = declared_safety(p) if bool(p("collision_monitor", True).value) else None
        problems = monitor.problems(limits.radius, monitor.brake_decel) if monitor is not None else []
        if problems:
            raise ValueError(f"unsafe collision monitor parameters: {'; '.join(problems)}")
        self.navigator = Navigator(limits, config, self._tf.buffer, monitor=monitor)
        self._speed = 0.0
        self._odom_pose: tuple[float, float, float] | None = None
        self._scan: tuple[np.ndarray, np.ndarray] | None = None
        self._battery: BatteryReading | None = None
        self._goals: dict[str, tuple[ServerGoalHandle, Future, GoalKind]] = {}
        self._zero_ticks = IDLE_ZERO_TICKS + 1  # nothing to say until there is something to do
        self._localised = False

        self._cmd_pub = self.create_publisher(Twist, "cmd_vel", 10)
        self.create_subscription(Odometry, "odom", self._on_odom, 10)
        self.create_subscription(LaserScan, "scan", self._on_scan, qos_profile_sensor_data)
        self.create_subscription(BatteryState, "battery_state", self._on_battery, 10)
        self.create_subscription(SpeedLimit, "speed_limit", self._on_speed_limit, 10)  # controller_server's QoS
        kinds = [GoalKind.THROUGH_POSES, GoalKind.TO_POSE] + ([GoalKind.DOCK, GoalKind.UNDOCK] if docking else [])
        for kind in kinds:
            ActionServer(self, nav2_conversions.ACTION_TYPES[kind], str(kind),
                         execute_callback=partial(self._execute, kind), goal_callback=partial(self._on_goal, kind),
                         cancel_callback=lambda _: CancelResponse.ACCEPT)
        self.create_timer(1.0 / control_hz, self._control)
        self.create_timer(1.0 / feedback_hz, self._feedback)
        self.get_logger().info(
            f"Nav2 stand-in for {self.robot_id} ready: {', '.join(kinds)}; pose from TF {config.map_frame} → "
            f"{config.base_frame}; docks {sorted(config.docks)}")

    def _now(self) -> float:
        return self.get_clock().now().nanoseconds * 1e-9

    # -- driver inputs --------------------------------------------------------------------------
    def _on_odom(self, msg: Odometry) -> None:
        self._speed = conversions.odom_twist(msg)[0]
        self._odom_pose = conversions.odom_pose(msg)  # the docking approach drives on it

    def _on_scan(self, msg: LaserScan) -> None:
        self._scan = conversions.scan_arrays(msg)

    def _on_battery(self, msg: BatteryState) -> None:
        self._battery = nav2_conversions.battery(msg)

    def _on_speed_limit(self, msg: SpeedLimit) -> None:
        top = self.navigator.set_speed_limit(*nav2_conversions.speed_limit(msg))
        unit = "%" if msg.percentage else "m/s"
        self.get_logger().info(f"speed limit {msg.speed_limit:g} {unit}: top speed {top:g} m/s")

    # -- Nav2's actions -------------------------------------------------------------------------
    def _on_goal(self, kind: GoalKind, goal: object) -> GoalResponse:
        admission = self.navigator.admit(kind, nav2_conversions.goal_poses(goal), self._now())
        if admission is not Admission.ACCEPT:
            self.get_logger().warning(f"{kind} goal rejected: {admission}")
            return GoalResponse.REJECT
        return GoalResponse.ACCEPT

    async def _execute(self, kind: GoalKind, goal_handle: ServerGoalHandle) -> object:
        goal_id = bytes(goal_handle.goal_id.uuid).hex()
        done: Future = Future()
        self._goals[goal_id] = (goal_handle, done, kind)
        self.get_logger().info(f"{kind} goal {goal_id[:8]} accepted")
        request = nav2_conversions.request(kind, goal_handle.request)
        if self._goal_log:
            self._log_goal(kind, request)
        self.navigator.start(goal_id, kind, request, self._now())
        self._deliver()
        finished: Finished = await done
        if finished.status is GoalStatus.SUCCEEDED:
            goal_handle.succeed()
        elif finished.status is GoalStatus.CANCELED and goal_handle.is_cancel_requested:
            goal_handle.canceled()
        else:
            goal_handle.abort()
        self.get_logger().info(f"{kind} goal {goal_id[:8]} {finished.status}: error_code {finished.error_code} "
                               f"{finished.error_msg}".rstrip())
        return nav2_conversions.result(finished)

    def _log_goal(self, kind: GoalKind, request: object) -> None:
        poses = [[p.x, p.y] for p in getattr(request, "poses", ())]
        pose = getattr(request, "pose", None)
        if pose is not None:
            poses.append([pose.x, pose.y])
        line = json.dumps({"wall": time.time(), "sim": self._now(), "kind": str(kind), "poses": poses})
        with open(self._goal_log, "a") as log:
            log.write(line + "\n")

    def _deliver(self) -> None:
        for finished in self.navigator.take_finished():
            entry = self._goals.pop(finished.goal_id, None)
            if entry is not None and not entry[1].done():
                entry[1].set_result(finished)

    # -- loops ----------------------------------------------------------------------------------
    def _control(self) -> None:
        for goal_id, (goal_handle, _, _) in list(self._goals.items()):
            if goal_handle.is_cancel_requested:
                self.navigator.cancel(goal_id)
        scan = self._scan or (None, None)
        v, w = self.navigator.step(self._now(), scan[0], scan[1], self._speed, self._battery, self._odom_pose)
        self._deliver()
        self._log_localisation()
        moving = self.navigator.active_goal is not None or v != 0.0 or w != 0.0
        self._zero_ticks = 0 if moving else self._zero_ticks + 1
        if moving or self._zero_ticks <= IDLE_ZERO_TICKS:
            cmd = Twist()
            cmd.linear.x, cmd.angular.z = float(v), float(w)
            self._cmd_pub.publish(cmd)

    def _log_localisation(self) -> None:
        if self.navigator.localised != self._localised:
            self._localised = self.navigator.localised
            frames = f"{self.config.map_frame} → {self.config.base_frame}"
            if self._localised:
                self.get_logger().info(f"localised: {frames}")
            else:
                self.get_logger().warning(f"localisation lost: no fresh transform {frames}; the robot stops")

    def _feedback(self) -> None:
        goal_id = self.navigator.active_goal
        entry = self._goals.get(goal_id) if goal_id is not None else None
        fb = self.navigator.feedback(self._now(), self._speed)
        if entry is None or fb is None:
            return
        entry[0].publish_feedback(nav2_conversions.feedback(entry[2], fb, self.config.map_frame,
                                                            self.get_clock().now().to_msg()))


def main(args: list[str] | None = None) -> None:
    rclpy.init(args=args)
    node = None
    try:
        node = Nav2Node()
        spin(node)
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    except Exception:
        if rclpy.ok():  # a real failure, not SIGTERM racing a callback (RCLError: context is not valid)
            raise
    finally:
        if node is not None:
            node.destroy_node()
        rclpy.try_shutdown()


if __name__ == "__main__":
    main()
