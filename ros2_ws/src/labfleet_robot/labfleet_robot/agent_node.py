"""The robot agent as a ROS 2 node: driver topics in its namespace, the fleet protocol outside.

    labfleet-agent --ros-args -r __ns:=/delivery_1 --params-file delivery_1.params.yaml

Its pose on the site map comes from TF (REP 105): `map_frame → base_frame` through the robot's localisation
(`map → <id>/odom`) and odometry (`<id>/odom → <id>/base_link`); the velocity it reports is that of base_link in
odom between the last two odometry transforms (frames.Velocity; no odometry message is decoded). Without a
fresh transform (missing, or older than `localisation_timeout_s` on the node's clock with none newer for as long
in wall time: frames.TfBuffer.locate) the robot is held where it is, reports "localisation lost" and takes no
new task, and carries on by itself when the transform is back.

Every request on `<ns>/command` is checked against the lab's command key (command_auth.py: LABFLEET_COMMAND_KEY_FILE)
and reported on /fleet/command_log (CommandReport) with its stated origin and whether it was authenticated. One
that is not is still carried out when it stops the robot (e-stop, pause: safety first); resume, release and dock
are refused.
"""

from __future__ import annotations

import time

import numpy as np
import rclpy
from geometry_msgs.msg import Twist
from labfleet_interfaces.action import ExecuteTask
from labfleet_interfaces.msg import CommandReport, RobotState, RouteRelease
from labfleet_interfaces.srv import RobotCommand
from rclpy.action import ActionServer, CancelResponse, GoalResponse
from rclpy.action.server import ServerGoalHandle
from rclpy.executors import ExternalShutdownException
from rclpy.node import Node
from rclpy.qos import QoSProfile, ReliabilityPolicy, qos_profile_sensor_data
from rclpy.task import Future
from sensor_msgs.msg import BatteryState, LaserScan

from labfleet_robot import command_auth, conversions
from labfleet_robot.agent import CommandResult, Mode, Outcome, RobotAgent, TaskResult
from labfleet_robot.controller import Limits
from labfleet_robot.frames import Localisation, Velocity
from labfleet_robot.params import declared_safety
from labfleet_robot.safety import Measure
from labfleet_robot.spin import spin
from labfleet_robot.tf_listener import TfListener

IDLE_ZERO_TICKS = 10  # zero commands sent after stopping, then the base is left alone
LOCALISATION_LOST = "localisation lost"  # in RobotState.errors (fleet_manager.core.robots.LOCALISATION_LOST)
PROTECTIVE_STOP = "protective stop"  # in RobotState.errors, with what the safety layer saw (core.robots too)
PROTECTIVE_SHOWN_S = 1.0  # s a protective stop stays among the errors: the 5 Hz states never miss it
COMMAND_LOG_TOPIC = "/fleet/command_log"  # every command received, reported (fleet_manager/ros/bridge.py)


class AgentNode(Node):
    def __init__(self) -> None:
        super().__init__("agent")
        p = self.declare_parameter
        self.robot_id = str(p("robot_id", "").value)
        if not self.robot_id:
            raise ValueError("parameter robot_id is required")
        self.kind = str(p("kind", "delivery").value)
        self.model = str(p("model", "").value)
        limits = Limits(
            max_speed=float(p("max_speed", 1.0).value), max_accel=float(p("max_accel", 0.6).value),
            max_yaw_rate=float(p("max_yaw_rate", 1.5).value), max_yaw_accel=float(p("max_yaw_accel", 3.0).value),
            radius=float(p("radius", 0.3).value),
        )
        names = list(p("action_names", [""]).value)
        durations = list(p("action_durations", [0.0]).value)
        rates = list(p("action_success_rates", [0.0]).value)
        actions = {n: (float(d), float(r)) for n, d, r in zip(names, durations, rates, strict=False) if n}
        control_hz = float(p("control_rate_hz", 20.0).value)
        state_hz = float(p("state_rate_hz", 5.0).value)
        safety = declared_safety(p)
        problems = safety.problems(limits.radius, float(p("max_decel", safety.brake_decel).value))
        if problems:
            raise ValueError(f"unsafe safety parameters: {'; '.join(problems)}")
        self.agent = RobotAgent(limits, actions, seed=int(p("seed", 0).value),
                                blocked_timeout_s=float(p("blocked_timeout_s", 60.0).value), safety=safety)
        self.map_frame = str(p("map_frame", "map").value)
        self.base_frame = str(p("base_frame", f"{self.robot_id}/base_link").value)
        self.odom_frame = str(p("odom_frame", f"{self.robot_id}/odom").value)
        self.localisation_timeout_s = float(p("localisation_timeout_s", 2.0).value)
        self._tf = TfListener(self, str(p("tf_topic", "/tf").value), str(p("tf_static_topic", "/tf_static").value))
        self._pose: tuple[float, float, float] | None = None  # the last good map pose
        self._localisation = Localisation.MISSING
        self._velocity = Velocity()
        self._protective: tuple[float, str] | None = None  # (shown until, text) of the last protective stop
        self._scan: tuple[np.ndarray, np.ndarray] | None = None
        self._battery = 100.0
        self._charging = False
        self._goals: dict[str, tuple[ServerGoalHandle, Future]] = {}
        self._zero_ticks = 0
        key = command_auth.load_key()  # a key file others may read stops the agent here (BadKey)
        self._verifier = command_auth.Verifier(key, self.robot_id)
        if key is None:
            self.get_logger().warning(
                f"no command key ({command_auth.KEY_FILE_ENV}): no command is authenticated; only e-stop and "
                "pause will be carried out")

        self._cmd_pub = self.create_publisher(Twist, "cmd_vel", 10)
        self._state_pub = self.create_publisher(
            RobotState, "/fleet/robot_states", QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE))
        self.create_subscription(LaserScan, "scan", self._on_scan, qos_profile_sensor_data)
        self.create_subscription(BatteryState, "battery_state", self._on_battery, 10)
        self.create_subscription(RouteRelease, "route_release", self._on_release, 10)
        self.create_service(RobotCommand, "command", self._on_command)
        self._command_log = self.create_publisher(
            CommandReport, COMMAND_LOG_TOPIC, QoSProfile(depth=100, reliability=ReliabilityPolicy.RELIABLE))
        ActionServer(self, ExecuteTask, "execute_task", execute_callback=self._execute,
                     goal_callback=self._on_goal, cancel_callback=lambda _: CancelResponse.ACCEPT)
        # the control loop rests while the robot stands idle (its last zero commands sent): a task, a command or
        # a cancel wakes it; meanwhile the state timer keeps the pose and the localisation up to date
        self._control_timer = self.create_timer(1.0 / control_hz, self._control)
        self._state_ns = -1  # the clock of the last state published
        self.create_timer(1.0 / state_hz, self._publish_state)
        self.get_logger().info(
            f"agent for {self.robot_id} ({self.kind}/{self.model}) ready; actions {sorted(actions)}; pose from TF "
            f"{self.map_frame} → {self.base_frame} (stale after {self.localisation_timeout_s:g} s)")

    def _now(self) -> float:
        return self.get_clock().now().nanoseconds * 1e-9

    # -- driver inputs --------------------------------------------------------------------------
    def _on_scan(self, msg: LaserScan) -> None:
        self._scan = conversions.scan_arrays(msg)

    def _on_battery(self, msg: BatteryState) -> None:
        self._battery = 100.0 * float(msg.percentage)
        self._charging = msg.power_supply_status == BatteryState.POWER_SUPPLY_STATUS_CHARGING

    def _on_release(self, msg: RouteRelease) -> None:
        self.agent.release(msg.task_id, int(msg.released_waypoints))

    # -- fleet protocol -------------------------------------------------------------------------
    def _on_goal(self, goal: ExecuteTask.Goal) -> GoalResponse:
        self._localise()  # as the robot stands now (the control loop may be resting)
        if self.agent.mode is Mode.ESTOP:
            self.get_logger().warning(f"task {goal.task_id} rejected: e-stopped")
            return GoalResponse.REJECT
        if self._localisation is not Localisation.OK:
            self.get_logger().warning(
                f"task {goal.task_id} rejected: localisation {self._localisation} (no fresh transform "
                f"{self.map_frame} → {self.base_frame})")
            return GoalResponse.REJECT
        return GoalResponse.ACCEPT

    async def _execute(self, goal_handle: ServerGoalHandle) -> ExecuteTask.Result:
        task = conversions.task(goal_handle.request)
        done: Future = Future()
        self._goals[task.task_id] = (goal_handle, done)
        self.get_logger().info(f"task {task.task_id}: {len(task.route)} waypoints, {len(task.actions)} actions")
        self.agent.start_task(task, self._now(), self._pose)
        self._wake()
        self._deliver_results()
        result: TaskResult = await done
        if result.outcome is Outcome.SUCCEEDED:
            goal_handle.succeed()
        elif result.outcome is Outcome.CANCELED and goal_handle.is_cancel_requested:
            goal_handle.canceled()
        else:
            goal_handle.abort()
        self.get_logger().info(f"task {task.task_id}: {result.outcome.name.lower()} {result.reason}".rstrip())
        return conversions.result(result)

    def _deliver_results(self) -> None:
        for result in self.agent.take_results():
            entry = self._goals.pop(result.task_id, None)
            if entry is not None and not entry[1].done():
                entry[1].set_result(result)

    def _on_command(self, request: RobotCommand.Request, response: RobotCommand.Response) -> RobotCommand.Response:
        command = int(request.command)
        auth = self._verifier.check(command, request.reason, request.origin, int(request.stamp_ns), request.nonce,
                                    request.signature)
        if auth is command_auth.Auth.OK or command_auth.carried_out_unauthenticated(command):
            result, message = self.agent.command(command, self._now())
            self._wake()
            if command == RobotCommand.Request.ESTOP:
                self._cmd_pub.publish(Twist())
            self._deliver_results()
        else:
            result, message = CommandResult.REJECTED, f"unauthenticated command refused ({auth})"
        response.result, response.message, response.mode = int(result), message, int(self.agent.mode)
        origin = request.origin or "?"
        if auth is command_auth.Auth.OK:
            self.get_logger().info(f"command {command} from {origin}: {result.name.lower()} ({message})")
        else:
            self.get_logger().warning(
                f"unauthenticated ({auth}) command {command} from {origin!r}: {result.name.lower()} ({message})")
        report = CommandReport(robot_id=self.robot_id, command=command, reason=request.reason,
                               origin=request.origin, authenticated=auth is command_auth.Auth.OK,
                               auth_detail="" if auth is command_auth.Auth.OK else str(auth), nonce=request.nonce,
                               result=int(result), message=message, mode=int(self.agent.mode))
        report.stamp = self.get_clock().now().to_msg()
        self._command_log.publish(report)
        return response

    # -- loops ----------------------------------------------------------------------------------
    def _localise(self) -> None:
        located = self._tf.buffer.locate(self.map_frame, self.base_frame, self._now(), self.localisation_timeout_s)
        if located.status is not self._localisation:
            if located.ok:
                self.get_logger().info(f"localised: {self.map_frame} → {self.base_frame}")
            elif self._localisation is Localisation.OK:
                self.get_logger().warning(
                    f"localisation lost ({located.status}: {self.map_frame} → {self.base_frame}, age "
                    f"{located.age:.1f} s): holding the robot")
            self._localisation = located.status
        if located.ok:
            self._pose = located.pose
        self._velocity.update(self._tf.buffer.lookup(self.odom_frame, self.base_frame))

    def _control(self) -> None:
        self._localise()
        if self._pose is None:
            return
        for goal_handle, _ in list(self._goals.values()):
            if goal_handle.is_cancel_requested and self.agent.active is not None \
                    and self.agent.active.task.task_id == goal_handle.request.task_id:
                self.agent.cancel_task("canceled")
        scan = self._scan or (None, None)
        v, w = self.agent.step(self._now(), self._pose, scan[0], scan[1],
                               localised=self._localisation is Localisation.OK)
        self._deliver_results()
        for event in self.agent.take_safety_events():
            self.get_logger().info(f"safety: {event.describe()}")
            if event.decision.action is Measure.STOP:
                self._protective = (event.time + PROTECTIVE_SHOWN_S, f"{PROTECTIVE_STOP}: {event.describe()}")
        moving = self.agent.active is not None or v != 0.0 or w != 0.0
        self._zero_ticks = 0 if moving else self._zero_ticks + 1
        if moving or self._zero_ticks <= IDLE_ZERO_TICKS:
            cmd = Twist()
            cmd.linear.x, cmd.angular.z = float(v), float(w)
            self._cmd_pub.publish(cmd)
        elif not self._goals:  # standing idle, nothing to wait for: the loop rests until woken
            self._control_timer.cancel()
        fb = self.agent.feedback()
        active = self.agent.active
        if fb is not None and active is not None:
            entry = self._goals.get(active.task.task_id)
            if entry is not None:
                entry[0].publish_feedback(conversions.feedback(fb))

    def _wake(self) -> None:
        """The control loop runs again (a task, a command)."""
        self._zero_ticks = 0
        if self._control_timer.is_canceled():
            self._control_timer.reset()

    def _publish_state(self) -> None:
        if self._control_timer.is_canceled():
            self._localise()  # the control loop rests: the pose and the localisation from here
        now = self.get_clock().now()
        if self._pose is None or now.nanoseconds <= self._state_ns:
            return  # no pose yet, or a timer catching up on a sim clock that jumped: one state per instant
        self._state_ns = now.nanoseconds
        fb = self.agent.feedback()
        active = self.agent.active
        mode = Mode.CHARGING if self._charging and self.agent.mode is Mode.IDLE else self.agent.mode
        msg = conversions.robot_state(
            self.robot_id, self.kind, self.model, mode, self._pose, self._velocity.value, self._battery,
            active.task.task_id if active else "", fb.progress if fb else 0.0,
            self._errors(now.nanoseconds * 1e-9))
        msg.charging = self._charging
        msg.stamp = now.to_msg()
        msg.wall_time = time.time()
        self._state_pub.publish(msg)


    def _errors(self, now: float) -> list[str]:
        errors = [] if self._localisation is Localisation.OK else [LOCALISATION_LOST]
        if self._protective is not None and now <= self._protective[0]:
            errors.append(self._protective[1])
        return errors


def main(args: list[str] | None = None) -> None:
    rclpy.init(args=args)
    node = None
    try:
        node = AgentNode()
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
