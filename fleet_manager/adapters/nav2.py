"""The nav2 adapter: ROS 2 robots that navigate with their own Nav2 (Jazzy), a TurtleBot 4 or a hospital AMR.

What the fleet manager uses of such a robot is only what Nav2 and REP 105 define, in the robot's namespace:
- `navigate_through_poses` (nav2_msgs/NavigateThroughPoses): a goal holds only the *released* poses of the
  route, never one beyond the release; a longer release preempts with a new goal from where the robot is
  heading (Nav2 aborts the old goal, which the adapter expects); cancel cancels the goal; pause cancels it
  and resume sends it again; an e-stop cancels it and holds the robot (not a safety-rated stop);
- `dock_robot` / `undock_robot` (DockRobot / UndockRobot) for a route that ends on a charger, when the robot
  serves them; otherwise the charger is driven to like any place;
- `speed_limit` (nav2_msgs/SpeedLimit, absolute m/s): the lane, zone and robot caps of the segment it drives;
- its pose from TF (`map_frame → base_frame` on its TF topics), velocity from `odom`, battery from
  `battery_state` (sensor_msgs/BatteryState).
Nav2's error codes and messages become the reason a step failed. Template actions (load, unload, ...) have no
Nav2 counterpart: the robot holds at the place for the action's duration. The task logic is in nav2_job.py;
the conversions in nav2_conversions.py.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from labfleet_robot.frames import TfBuffer
from nav2_msgs.action import DockRobot, NavigateThroughPoses, UndockRobot
from nav2_msgs.msg import SpeedLimit
from nav_msgs.msg import Odometry
from rclpy.action import ActionClient
from rclpy.node import Node
from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy
from sensor_msgs.msg import BatteryState
from tf2_msgs.msg import TFMessage

from fleet_manager.adapters import nav2_conversions as conv
from fleet_manager.adapters.base import Accepted, Announced, OnFeedback
from fleet_manager.adapters.nav2_job import Job, Nav2Calls
from fleet_manager.core.errors import Unavailable
from fleet_manager.core.robots import (
    LOCALISATION_LOST,
    Command,
    CommandResult,
    RobotMode,
    RobotReport,
    TaskRequest,
    TaskResult,
    with_caution_caps,
)
from fleet_manager.robots.roster import Registration
from fleet_manager.ros.bridge import RosBridge

log = logging.getLogger(__name__)

STATE_HZ = 5.0
# localisation is lost when the map → base_link transform is older than this (on the robot's clock) and none newer
# has come for this long (wall time, TfBuffer.locate): a lagging but steady TF is no loss, a TF that stopped is
LOCALISATION_TIMEOUT_S = 2.0
DISCOVERY_PERIOD_S = 5.0
NAV_SUFFIX = "/navigate_through_poses/_action/status"
TF_QOS = QoSProfile(depth=100, reliability=ReliabilityPolicy.RELIABLE)
TF_STATIC_QOS = QoSProfile(depth=100, reliability=ReliabilityPolicy.RELIABLE,
                           durability=DurabilityPolicy.TRANSIENT_LOCAL)


@dataclass
class _Robot:
    """One nav2 robot: its ROS plumbing (ROS thread) and what it last reported (read on both threads)."""

    reg: Registration
    map_frame: str
    base_frame: str
    tf_topic: str
    tf_static_topic: str
    entities: list[Any] = field(default_factory=list)  # subscriptions and publishers, destroyed on detach
    nav: ActionClient | None = None
    dock: ActionClient | None = None
    undock: ActionClient | None = None
    speed_pub: Any = None
    pose: tuple[float, float, float] | None = None
    localised: bool = False
    velocity: tuple[float, float] = (0.0, 0.0)
    battery: float = 100.0  # until its first BatteryState
    charging: bool = False
    job: Job | None = None
    paused: bool = False
    estopped: bool = False
    docked: bool = False
    speed_limit: float | None = None
    servers: dict[str, bool] = field(default_factory=dict)  # the Nav2 servers it has (dock_robot, ...)
    heard_at: float = -math.inf  # monotonic time of its last odom or battery message (ROS thread)

    @property
    def namespace(self) -> str:
        return self.reg.namespace


class Nav2Adapter:
    name = "nav2"

    def __init__(self, bridge: RosBridge, on_states: Callable[[str, list[RobotReport]], None],
                 on_announce: Callable[[Announced], None]) -> None:
        self.bridge = bridge
        self._on_states = on_states  # (adapter name, reports in the robots' own maps), on the event loop
        self._on_announce = on_announce
        self._loop = asyncio.get_running_loop()
        self._robots: dict[str, _Robot] = {}
        self._tf: dict[str, TfBuffer] = {}  # TF topic → buffer (ROS thread writes, both read)
        self._tf_subs: dict[str, Any] = {}
        self._timers: list[Any] = []
        self._since_discovery = 0.0
        self._announced: dict[str, str] = {}  # unregistered robot id → its namespace (ROS thread)

    # -- robots ---------------------------------------------------------------------------------
    def attach(self, robot: Registration) -> None:
        old = self._robots.get(robot.id)
        if old is not None:
            self.detach(robot.id)
        r = _Robot(robot, robot.setting("map_frame", robot.config.map_frame),
                   robot.setting("base_frame", f"{robot.id}/base_link"),
                   robot.setting("tf_topic", "/tf"), robot.setting("tf_static_topic", "/tf_static"))
        if old is not None:  # an edit keeps what is known of the robot
            r.pose, r.battery, r.charging, r.docked = old.pose, old.battery, old.charging, old.docked
        self._robots[robot.id] = r
        self._announced.pop(robot.id, None)  # registered now: only its own reports from here on
        if self.bridge.running:
            self.bridge.in_ros(partial(self._plumb, r))

    def detach(self, robot_id: str) -> None:
        r = self._robots.pop(robot_id, None)
        if r is None:
            return
        if r.job is not None:
            r.job.abandon("the robot was retired or moved to another adapter")
        if self.bridge.running:
            self.bridge.in_ros(partial(self._unplumb, r))

    async def close(self) -> None:
        for r in list(self._robots.values()):
            if r.job is not None:
                r.job.abandon("the fleet manager is stopping")

    # -- ROS plumbing (ROS thread) --------------------------------------------------------------
    def _plumb(self, r: _Robot, node: Node) -> None:
        ns = r.namespace
        for topic, qos, static in ((r.tf_topic, TF_QOS, False), (r.tf_static_topic, TF_STATIC_QOS, True)):
            if topic not in self._tf_subs:
                buffer = self._tf.setdefault(r.tf_topic, TfBuffer())  # static frames join the dynamic ones
                self._tf_subs[topic] = node.create_subscription(
                    TFMessage, topic, partial(self._on_tf, buffer, static), qos)
        reliable = QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE)
        r.entities = [
            node.create_subscription(BatteryState, f"{ns}/battery_state", partial(self._on_battery, r), 10),
            node.create_subscription(Odometry, f"{ns}/odom", partial(self._on_odom, r), 10),
        ]
        r.speed_pub = node.create_publisher(SpeedLimit, f"{ns}/speed_limit", reliable)
        r.nav = ActionClient(node, NavigateThroughPoses, f"{ns}/navigate_through_poses")
        r.dock = ActionClient(node, DockRobot, f"{ns}/dock_robot")
        r.undock = ActionClient(node, UndockRobot, f"{ns}/undock_robot")
        if not self._timers:
            self._timers.append(node.create_timer(1.0 / STATE_HZ, partial(self._tick, node)))

    def _unplumb(self, r: _Robot, node: Node) -> None:
        for entity in r.entities:
            entity.destroy()
        for client in (r.nav, r.dock, r.undock):
            if client is not None:
                client.destroy()
        if r.speed_pub is not None:
            node.destroy_publisher(r.speed_pub)

    def _on_tf(self, buffer: TfBuffer, static: bool, msg: TFMessage) -> None:
        conv.into_buffer(buffer, msg, static)

    def _on_battery(self, r: _Robot, msg: BatteryState) -> None:
        r.heard_at = time.monotonic()
        pct, r.charging = conv.battery(msg)
        if pct is not None:
            r.battery = pct

    def _on_odom(self, r: _Robot, msg: Odometry) -> None:
        r.heard_at = time.monotonic()
        r.velocity = (msg.twist.twist.linear.x, msg.twist.twist.angular.z)

    def _tick(self, node: Node) -> None:
        """STATE_HZ on the node's clock: every robot's state; every DISCOVERY_PERIOD_S, unregistered robots."""
        now = node.get_clock().now().nanoseconds * 1e-9
        batch = [report for r in list(self._robots.values()) if (report := self._report(r, now)) is not None]
        batch += self._unregistered(now)
        if batch:
            self._loop.call_soon_threadsafe(self._on_states, self.name, batch)
        self._since_discovery += 1.0 / STATE_HZ
        if self._since_discovery >= DISCOVERY_PERIOD_S:
            self._since_discovery = 0.0
            self._discover(node)

    def _report(self, r: _Robot, now: float) -> RobotReport | None:
        """The robot's state; None while nothing is heard of it (then it goes offline), or before its pose was
        ever known (a state without a pose would put it somewhere it is not)."""
        located = self._tf.get(r.tf_topic, TfBuffer()).locate(r.map_frame, r.base_frame, now, LOCALISATION_TIMEOUT_S)
        fresh = located.ok
        pose = located.pose
        if pose is not None:
            if r.job is not None and r.pose is not None:
                r.job.moved(math.dist(r.pose[:2], pose[:2]))
            r.pose = pose
        r.localised = fresh
        heard = fresh or time.monotonic() - r.heard_at <= LOCALISATION_TIMEOUT_S
        if r.pose is None or not heard:
            return None
        x, y, yaw = r.pose
        job = r.job
        errors = [] if r.localised else [LOCALISATION_LOST]
        if job is not None and job.error:
            errors.append(job.error)
        return RobotReport(
            id=r.reg.id, kind=r.reg.config.model.kind, model=r.reg.config.model.name, mode=self._mode(r),
            x=x, y=y, yaw=yaw, linear=r.velocity[0], angular=r.velocity[1], battery=r.battery, charging=r.charging,
            task_id=job.task.task_id if job is not None else "", task_progress=job.progress if job else 0.0,
            errors=tuple(errors), stamp=now, wall_time=time.time())

    def _mode(self, r: _Robot) -> RobotMode:
        if r.estopped:
            return RobotMode.ESTOP
        if r.paused:
            return RobotMode.PAUSED
        job = r.job
        if job is not None:
            return job.mode
        return RobotMode.CHARGING if r.charging else RobotMode.IDLE

    def _discover(self, node: Node) -> None:
        """Namespaces serving navigate_through_poses that no registered robot uses: announced, not dispatched."""
        known = {r.namespace for r in self._robots.values()}
        announced = {}
        for name, _types in node.get_topic_names_and_types():
            if name.endswith(NAV_SUFFIX):
                ns = name[: -len(NAV_SUFFIX)]
                if ns and ns not in known:
                    robot_id = ns.rsplit("/", 1)[-1]
                    announced[robot_id] = ns
                    self._loop.call_soon_threadsafe(
                        self._on_announce, Announced(robot_id, self.name, f"Nav2 in namespace {ns}"))
        if announced and "/tf" not in self._tf_subs:  # where they stand, if they publish the usual frames
            buffer = self._tf.setdefault("/tf", TfBuffer())
            self._tf_subs["/tf"] = node.create_subscription(TFMessage, "/tf", partial(self._on_tf, buffer, False),
                                                            TF_QOS)
        self._announced = announced

    def _unregistered(self, now: float) -> list[RobotReport]:
        """Unregistered Nav2 robots that publish `map → <id>/base_link` on /tf: reported where they stand, so that
        they are listed with their pose and the traffic manager keeps other robots off their place."""
        out = []
        buffer = self._tf.get("/tf")
        for robot_id in list(self._announced):
            if robot_id in self._robots:
                continue
            located = buffer.locate("map", f"{robot_id}/base_link", now, LOCALISATION_TIMEOUT_S) if buffer else None
            if located is None or not located.ok or located.pose is None:
                continue
            x, y, yaw = located.pose
            out.append(RobotReport(robot_id, "", "", RobotMode.IDLE, x, y, yaw, 0.0, 0.0, 0.0, False, "", 0.0,
                                   ("not registered: never dispatched",), now, time.time()))
        return out

    # -- tasks ----------------------------------------------------------------------------------
    def _robot(self, robot: Registration) -> _Robot:
        r = self._robots.get(robot.id)
        if r is None:
            raise Unavailable(f"robot {robot.id!r} is not attached to the nav2 adapter")
        return r

    async def execute(self, robot: Registration, task: TaskRequest, on_accepted: Accepted,
                      on_feedback: OnFeedback) -> TaskResult:
        r = self._robot(robot)
        if r.estopped:
            raise Unavailable(f"robot {robot.id!r} is e-stopped: release the e-stop first")
        if r.job is not None:
            r.job.abandon(f"preempted by task {task.task_id}")
        calls = Nav2Calls(self.bridge, r.nav, r.dock, r.undock, partial(self._set_speed_limit, r), r.map_frame,
                          robot.id, r.servers)
        task = with_caution_caps(task, robot.config.model.safety_params().caution_speed)  # as Nav2 speed limits
        job = Job(task, robot, calls, on_feedback, lambda: r.pose, self.bridge.now, docked=r.docked)
        r.job = job
        job.paused = r.paused
        try:
            result = await job.run(on_accepted)
            r.docked = job.docked
            return result
        finally:
            if r.job is job:
                r.job = None
                r.paused = False  # a pause is of the task (it canceled the goal): Nav2 itself holds none

    async def release(self, robot: Registration, task_id: str, waypoints: int) -> None:
        r = self._robot(robot)
        if r.job is not None and r.job.task.task_id == task_id:
            r.job.release(waypoints)

    def _set_speed_limit(self, r: _Robot, limit: float) -> None:
        if r.speed_limit == limit or r.speed_pub is None:
            return
        r.speed_limit = limit
        msg = conv.speed_limit(limit)
        self.bridge.in_ros(lambda _node: r.speed_pub.publish(msg))

    # -- commands -------------------------------------------------------------------------------
    async def command(self, robot: Registration, command: Command, reason: str) -> tuple[CommandResult, str]:
        r = self._robot(robot)
        job = r.job
        if command is Command.ESTOP:
            r.estopped = True
            if job is not None:
                await job.stop("estop")
            return CommandResult.OK, "navigation canceled and the robot held (Nav2 has no remote e-stop)"
        if command is Command.RELEASE:
            if not r.estopped:
                return CommandResult.REJECTED, "not e-stopped"
            r.estopped = False
            return CommandResult.OK, "e-stop released"
        if command is Command.PAUSE:
            if job is None:
                return CommandResult.REJECTED, "no task to pause"
            r.paused = True
            await job.pause()
            return CommandResult.OK, "paused: navigation goal canceled"
        if command is Command.RESUME:
            if not r.paused:
                return CommandResult.REJECTED, "not paused"
            r.paused = False
            if job is not None:
                job.resume()
            return CommandResult.OK, "resumed: navigation goal sent again"
        if command is Command.DOCK:
            return CommandResult.REJECTED, "docking needs a dock route: send a task to the charger"
        return CommandResult.UNKNOWN_COMMAND, f"unknown command {command}"

