"""The `labfleet-agent` node as a real process, driven by a tiny unicycle "base" in the test process that
publishes odometry (zero where it started, in the odom frame) and /tf (map → odom: the start pose, as a
localisation would; odom → base_link: the odometry), as a real robot does (REP 105). The agent holds a lab command
key (command_auth.py); the test signs its commands with it as the fleet manager does, unless a test plays a foreign
caller."""

from __future__ import annotations

import itertools
import math
import os
import secrets
import subprocess
import time
from collections.abc import Iterator

import pytest
from action_msgs.msg import GoalStatus
from geometry_msgs.msg import TransformStamped, Twist
from labfleet_interfaces.action import ExecuteTask
from labfleet_interfaces.msg import CommandReport, RobotState, Waypoint
from labfleet_interfaces.srv import RobotCommand
from labfleet_robot import command_auth
from labfleet_robot.frames import Transform
from nav_msgs.msg import Odometry
from rclpy.action import ActionClient
from rclpy.qos import QoSProfile, ReliabilityPolicy, qos_profile_sensor_data
from sensor_msgs.msg import LaserScan
from tf2_msgs.msg import TFMessage

from fleet_manager.audit.entries import AuditEntry, Outcome
from fleet_manager.audit.reported import ReportedCommands
from fleet_manager.audit.writer import AuditWriter
from fleet_manager.ros import conversions
from tests import ros_helpers
from tests.conftest import VENV_BIN, next_domain_id
from tests.lab_process import stop_group

pytestmark = pytest.mark.ros
NS = "/test_bot"
SPAWN = (3.0, -2.0, 0.5)  # where the base starts on the map: its odometry is zero there
LOCALISATION_TIMEOUT_S = 0.5


def transform_stamped(parent: str, child: str, t: Transform, stamp) -> TransformStamped:
    msg = TransformStamped()
    msg.header.frame_id, msg.header.stamp, msg.child_frame_id = parent, stamp, child
    msg.transform.translation.x, msg.transform.translation.y = t.x, t.y
    msg.transform.rotation.z, msg.transform.rotation.w = t.qz, t.qw
    return msg


class Bench:
    """The agent process plus a test node playing the robot base (odom from cmd_vel) and the fleet."""

    def __init__(self, proc: subprocess.Popen[bytes], log_path, t: ros_helpers.TestNode, key: bytes) -> None:
        self.proc, self.log_path, self.t = proc, log_path, t
        self.signer = command_auth.Signer(key, "fleet_manager")  # the fleet manager's, with the lab's key
        self.reports: list[CommandReport] = []  # /fleet/command_log
        node = t.node
        self.odom = [0.0, 0.0, 0.0]  # odom → base_link
        self.tf_on = True  # publish /tf (off: the localisation is lost)
        self.person: tuple[float, float] | None = None  # a person there (map), seen by the base's lidar
        self.person_velocity = (0.0, 0.0)  # m/s, map frame
        self.closest = math.inf  # m between the robot's footprint and the person's, since the person came
        self.cmd = (0.0, 0.0)
        self.cmds: list[tuple[float, float, float]] = []  # (monotonic time, v, w)
        self.states: list[tuple[float, RobotState]] = []
        self.feedback: list[ExecuteTask.Feedback] = []
        self._last = time.monotonic()
        node.create_subscription(Twist, f"{NS}/cmd_vel", self._on_cmd, 10)
        node.create_subscription(RobotState, "/fleet/robot_states", self._on_state,
                                 QoSProfile(depth=50, reliability=ReliabilityPolicy.RELIABLE))
        node.create_subscription(CommandReport, "/fleet/command_log", self.reports.append,
                                 QoSProfile(depth=100, reliability=ReliabilityPolicy.RELIABLE))
        self.odom_pub = node.create_publisher(Odometry, f"{NS}/odom", 10)
        self.scan_pub = node.create_publisher(LaserScan, f"{NS}/scan", qos_profile_sensor_data)
        self.tf_pub = node.create_publisher(TFMessage, "/tf",
                                            QoSProfile(depth=100, reliability=ReliabilityPolicy.RELIABLE))
        node.create_timer(0.05, self._integrate)
        self.action = ActionClient(node, ExecuteTask, f"{NS}/execute_task")
        self.command_client = node.create_client(RobotCommand, f"{NS}/command")

    def _on_cmd(self, msg: Twist) -> None:
        self.cmd = (msg.linear.x, msg.angular.z)
        self.cmds.append((time.monotonic(), msg.linear.x, msg.angular.z))

    def _on_state(self, msg: RobotState) -> None:
        if msg.id == "test_bot":
            self.states.append((time.monotonic(), msg))

    @property
    def pose(self) -> tuple[float, float, float]:
        """The base's map pose: map → odom (the start pose) · odom → base_link."""
        return (Transform.planar(*SPAWN) * Transform.planar(*self.odom)).pose2d()

    def _integrate(self) -> None:
        now = time.monotonic()
        dt, self._last = min(now - self._last, 0.2), now
        v, w = self.cmd
        x, y, yaw = self.odom
        mid = yaw + w * dt / 2
        self.odom = [x + v * math.cos(mid) * dt, y + v * math.sin(mid) * dt,
                     math.atan2(math.sin(yaw + w * dt), math.cos(yaw + w * dt))]
        stamp = self.t.node.get_clock().now().to_msg()
        odom = Odometry()
        odom.header.stamp = stamp
        odom.header.frame_id, odom.child_frame_id = "test_bot/odom", "test_bot/base_link"
        odom.pose.pose.position.x, odom.pose.pose.position.y = self.odom[0], self.odom[1]
        odom.pose.pose.orientation.z = math.sin(self.odom[2] / 2)
        odom.pose.pose.orientation.w = math.cos(self.odom[2] / 2)
        odom.twist.twist.linear.x, odom.twist.twist.angular.z = v, w
        self.odom_pub.publish(odom)
        if self.person is not None:
            px, py = self.person
            self.person = (px + self.person_velocity[0] * dt, py + self.person_velocity[1] * dt)
            x, y, _ = self.pose
            self.closest = min(self.closest, math.hypot(self.person[0] - x, self.person[1] - y) - 0.6)
        self.scan_pub.publish(self._scan(stamp))
        if self.tf_on:
            self.tf_pub.publish(TFMessage(transforms=[
                transform_stamped("map", "test_bot/odom", Transform.planar(*SPAWN), stamp),
                transform_stamped("test_bot/odom", "test_bot/base_link", Transform.planar(*self.odom), stamp)]))

    def _scan(self, stamp) -> LaserScan:
        """360 rays from the base: the person (a 0.3 m disc) where there is one, nothing else."""
        msg = LaserScan()
        msg.header.stamp, msg.header.frame_id = stamp, "test_bot/base_link"
        msg.angle_min, msg.angle_increment, msg.range_min, msg.range_max = -math.pi, math.radians(1), 0.05, 8.0
        msg.angle_max = math.pi - math.radians(1)
        ranges = [math.inf] * 360
        if self.person is not None:
            x, y, yaw = self.pose
            px, py = self.person[0] - x, self.person[1] - y
            for i in range(360):
                a = yaw + msg.angle_min + i * msg.angle_increment
                proj = px * math.cos(a) + py * math.sin(a)
                gap2 = 0.09 - (px * px + py * py - proj * proj)
                if gap2 >= 0 and proj - math.sqrt(gap2) > 0:
                    ranges[i] = proj - math.sqrt(gap2)
        msg.ranges = ranges
        return msg

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def wait(self, future, timeout: float, what: str):
        self.t.spin_until(future.done, timeout, f"{what}\n--- agent log ---\n{self.log()}")
        return future.result()

    def request(self, command: int, *, signer: command_auth.Signer | None = None,
                origin: str = "") -> RobotCommand.Request:
        """A request signed by `signer` (by default the fleet manager's); with signer=None and an origin, unsigned."""
        request = RobotCommand.Request(command=command, reason="test")
        if signer is None and origin:
            request.origin, request.nonce = origin, secrets.token_hex(12)  # a foreign caller: no signature
            return request
        signed = (signer or self.signer).sign("test_bot", command, request.reason)
        request.origin, request.stamp_ns, request.nonce, request.signature = (
            signed.origin, signed.stamp_ns, signed.nonce, signed.signature)
        return request

    def call(self, request: RobotCommand.Request) -> RobotCommand.Response:
        return self.wait(self.command_client.call_async(request), 10, f"command {request.command}")

    def command(self, command: int) -> RobotCommand.Response:
        return self.call(self.request(command))

    def report_of(self, request: RobotCommand.Request) -> CommandReport:
        """The agent's report on /fleet/command_log of that request (found by its nonce)."""
        def found() -> CommandReport | None:
            return next((r for r in self.reports if r.nonce == request.nonce), None)
        self.t.spin_until(lambda: found() is not None, 5, f"the report of command {request.command}")
        report = found()
        assert report is not None
        return report

    def goal(self, task_id: str, points: list[tuple[float, float]]) -> ExecuteTask.Goal:
        goal = ExecuteTask.Goal()
        goal.task_id = task_id
        for i, (x, y) in enumerate(points):
            wp = Waypoint()
            wp.name, wp.pose.x, wp.pose.y = f"p{i}", float(x), float(y)
            goal.route.append(wp)
        return goal

    def send(self, goal: ExecuteTask.Goal, while_localised: bool = True):
        """Send a goal; its handle. `while_localised`: the test means the robot to be localised, so a goal the
        agent refused while not e-stopped (for a stale TF: this test's own TF publisher starved on a loaded host,
        the agent allows LOCALISATION_TIMEOUT_S) is sent again once it is localised, up to three times."""
        for _ in range(3):
            future = self.action.send_goal_async(goal, feedback_callback=lambda fb: self.feedback.append(fb.feedback))
            handle = self.wait(future, 10, f"goal {goal.task_id} response")
            if handle.accepted or not while_localised or self.states[-1][1].mode == RobotState.MODE_ESTOP:
                return handle
            self.t.spin_until(lambda: self.states and "localisation lost" not in self.states[-1][1].errors, 10,
                              "the agent localised again")
        return handle


@pytest.fixture(scope="module")
def bench(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Bench]:
    env = dict(os.environ)
    domain = next_domain_id()  # a domain of its own (the fixed band 76-80 could meet another xdist worker's)
    env.update(ROS_DOMAIN_ID=str(domain), ROS_AUTOMATIC_DISCOVERY_RANGE="LOCALHOST", PYTHONUNBUFFERED="1",
               PATH=f"{VENV_BIN}:{env.get('PATH', '')}")
    log_path = tmp_path_factory.mktemp("agent") / "agent.log"
    key = command_auth.new_key()  # the lab's command key, by the environment as `labfleet up` hands it over
    command_auth.write_key_file(log_path.parent / "command.key", key)
    env[command_auth.KEY_FILE_ENV] = str(log_path.parent / "command.key")
    argv = [str(VENV_BIN / "labfleet-agent"), "--ros-args", "-r", f"__ns:={NS}", "-p", "robot_id:=test_bot",
            "-p", "max_speed:=1.0", "-p", f"localisation_timeout_s:={LOCALISATION_TIMEOUT_S}"]
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(argv, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    t = None
    try:
        t = ros_helpers.TestNode("agent_probe", domain)
        b = Bench(proc, log_path, t, key)
        t.spin_until(lambda: b.action.server_is_ready() and b.command_client.service_is_ready(), 30,
                     "the agent's action server and command service")
        t.spin_until(lambda: len(b.states) >= 2, 15, "RobotState from the agent")
        yield b
    finally:
        if t is not None:
            t.close()
        if proc.poll() is None:
            stop_group(proc)


def test_robot_state_is_published_at_least_2_hz(bench):
    start = len(bench.states)
    bench.t.spin_for(3.0)
    got = bench.states[start:]
    assert len(got) >= 6, f"{len(got)} states in 3 s"
    stamps = [s.stamp.sec + s.stamp.nanosec * 1e-9 for _, s in got]  # when the agent published (not when received)
    assert max(b - a for a, b in itertools.pairwise(stamps)) < 0.5
    last = got[-1][1]
    assert last.mode == RobotState.MODE_IDLE and last.current_task_id == ""
    assert (last.pose.x, last.pose.y) == pytest.approx((bench.pose[0], bench.pose[1]), abs=0.05)


def test_a_two_waypoint_task_succeeds(bench):
    x0, y0 = bench.pose[0], bench.pose[1]
    points = [(x0 + 1.5, y0), (x0 + 1.5, y0 + 1.0)]
    handle = bench.send(bench.goal("drive_1", points))
    assert handle.accepted
    bench.feedback.clear()
    response = bench.wait(handle.get_result_async(), 40, "the task result")
    assert response.status == GoalStatus.STATUS_SUCCEEDED
    result = response.result
    assert result.outcome == ExecuteTask.Result.OUTCOME_SUCCEEDED and result.reason == ""
    assert math.hypot(result.final_pose.x - points[-1][0], result.final_pose.y - points[-1][1]) < 0.1
    assert math.hypot(bench.pose[0] - points[-1][0], bench.pose[1] - points[-1][1]) < 0.1
    assert result.distance_m == pytest.approx(2.5, abs=0.2)
    assert math.hypot(bench.odom[0] - points[-1][0], bench.odom[1] - points[-1][1]) > 2.0  # odometry is not the map
    assert len(bench.feedback) > 10
    progress = [fb.progress for fb in bench.feedback]
    assert progress[-1] > 0.9 and progress[0] < 0.3
    assert {fb.state for fb in bench.feedback} <= {"driving", "waiting_obstacle", "waiting_release"}
    assert any(mode == RobotState.MODE_MOVING for mode in (s.mode for _, s in bench.states))
    # the base is left at rest
    bench.t.spin_for(1.0)
    assert bench.cmd == (0.0, 0.0)


def test_cancel_stops_the_robot_and_the_result_is_canceled(bench):
    x0, y0 = bench.pose[0], bench.pose[1]
    handle = bench.send(bench.goal("drive_2", [(x0, y0 + 4.0)]))
    assert handle.accepted
    bench.t.spin_until(lambda: abs(bench.cmd[0]) > 0.5, 15, "the robot at speed")
    t_cancel = time.monotonic()
    cancel = handle.cancel_goal_async()
    bench.wait(cancel, 5, "cancel response")
    response = bench.wait(handle.get_result_async(), 10, "the canceled result")
    bench.t.spin_for(0.5)
    stops = [t for t, v, w in bench.cmds if t >= t_cancel and v == 0.0 and w == 0.0]
    assert stops and stops[0] - t_cancel <= 0.3, f"first zero cmd_vel {stops[:1]} after cancel at {t_cancel}"
    assert all(v == 0.0 for t, v, _ in bench.cmds if t >= stops[0])  # and it stays stopped
    assert response.status == GoalStatus.STATUS_CANCELED
    assert response.result.outcome == ExecuteTask.Result.OUTCOME_CANCELED
    assert 0.15 < bench.pose[1] - y0 < 3.5  # it had started, and it did not go on to the goal


def test_the_safety_layer_stops_the_robot_short_of_a_person_with_no_fleet_manager(bench):
    """Issue 20, acceptance 3: no fleet manager runs here (the test plays the fleet, and says nothing once the
    task is sent). A person 2 m ahead and 1.5 m to the side of the robot at speed walks across its path at
    1 m/s, stopping on it: the agent's safety layer, seeing them move, stops the robot short of them before
    they are in front of it, reports a protective stop in its state, and drives on when they have gone."""
    x0, y0, yaw = bench.pose
    c, s = math.cos(yaw), math.sin(yaw)
    goal = (x0 + 6.0 * c, y0 + 6.0 * s)
    handle = bench.send(bench.goal("drive_person", [goal]))
    assert handle.accepted
    bench.t.spin_until(lambda: abs(bench.cmd[0]) > 0.6, 15, "the robot at speed")
    x, y, _ = bench.pose
    bench.closest = math.inf
    bench.person_velocity = (s * 1.0, -c * 1.0)  # toward the path, from its left
    bench.person = (x + 2.0 * c - 1.5 * s, y + 2.0 * s + 1.5 * c)
    bench.t.spin_for(1.5)  # it reaches the path
    bench.person_velocity = (0.0, 0.0)  # and stands there
    bench.t.spin_until(lambda: bench.cmd[0] == 0.0, 5, "a stop")
    bench.t.spin_for(1.0)
    assert abs(bench.cmd[0]) == 0.0  # it stays stopped
    assert bench.closest > 0.0, f"the robot touched the person ({bench.closest:.2f} m)"
    assert any(e.startswith("protective stop") for _, s in bench.states for e in s.errors), bench.log()
    bench.person = None
    response = bench.wait(handle.get_result_async(), 30, "the task result once the person has gone")
    assert response.result.outcome == ExecuteTask.Result.OUTCOME_SUCCEEDED


def test_commands_pause_estop_release(bench):
    bench.t.spin_for(0.5)
    response = bench.command(RobotCommand.Request.PAUSE)
    assert response.result == RobotCommand.Response.RESULT_REJECTED  # no task to pause
    assert response.mode == RobotState.MODE_IDLE
    response = bench.command(RobotCommand.Request.ESTOP)
    assert response.result == RobotCommand.Response.RESULT_OK and response.mode == RobotState.MODE_ESTOP
    bench.t.spin_until(lambda: bench.states[-1][1].mode == RobotState.MODE_ESTOP, 3, "mode ESTOP in RobotState")
    handle = bench.send(bench.goal("while_estopped", [(bench.pose[0] + 1.0, bench.pose[1])]))
    assert not handle.accepted
    response = bench.command(RobotCommand.Request.RELEASE)
    assert response.result == RobotCommand.Response.RESULT_OK and response.mode == RobotState.MODE_IDLE
    response = bench.command(RobotCommand.Request.RELEASE)
    assert response.result == RobotCommand.Response.RESULT_REJECTED
    response = bench.command(99)
    assert response.result == RobotCommand.Response.RESULT_UNKNOWN_COMMAND
    assert bench.proc.poll() is None, bench.log()


def test_without_tf_the_agent_reports_localisation_lost_holds_refuses_tasks_and_then_carries_on(bench):
    x0, y0, yaw0 = bench.pose
    goal_xy = (x0 + 4.0 * math.cos(yaw0), y0 + 4.0 * math.sin(yaw0))
    handle = bench.send(bench.goal("through_the_blackout", [goal_xy]))
    assert handle.accepted
    bench.feedback.clear()
    bench.t.spin_until(lambda: bench.cmd[0] > 0.5, 15, "the robot at speed")
    bench.tf_on = False
    t_lost = time.monotonic()
    bench.t.spin_until(lambda: "localisation lost" in bench.states[-1][1].errors, 3, "'localisation lost' reported")
    bench.t.spin_until(lambda: bench.cmd == (0.0, 0.0), 5, "the robot held")
    held_at = tuple(bench.pose)
    lost = bench.states[-1][1]
    assert math.hypot(lost.pose.x - x0, lost.pose.y - y0) < math.hypot(held_at[0] - x0, held_at[1] - y0)  # last good
    # from its first word of the loss on: it decelerated, never sped up again (timed by the agent's own report, not
    # by the wall clock: a loaded machine delays both the loss and the commands sent before it)
    said_lost = next(t for t, state in bench.states if t >= t_lost and "localisation lost" in state.errors)
    braking = [v for t, v, _ in bench.cmds if t > said_lost]
    assert braking == sorted(braking, reverse=True), braking
    assert bench.feedback and bench.feedback[-1].state == "localisation_lost"
    refused = bench.send(bench.goal("while_lost", [(x0, y0)]), while_localised=False)
    assert not refused.accepted
    bench.t.spin_for(1.5)
    assert math.dist(bench.pose[:2], held_at[:2]) < 0.01 and not handle.get_result_async().done()  # held
    bench.tf_on = True
    bench.t.spin_until(lambda: bench.states[-1][1].errors == [], 3, "the localisation back")
    response = bench.wait(handle.get_result_async(), 20, "the task result after the blackout")
    assert response.status == GoalStatus.STATUS_SUCCEEDED
    assert math.hypot(bench.pose[0] - goal_xy[0], bench.pose[1] - goal_xy[1]) < 0.1
    assert "rejected: localisation" in bench.log()


# -- who sent a command (issue 19, item 5a) ---------------------------------------------------------------------
def fleet_manager_audit(reports: list[CommandReport], signer: command_auth.Signer) -> list[AuditEntry]:
    """The fleet manager's side: the agent's reports, converted as the bridge does, through ReportedCommands into an
    AuditWriter (its database stood in for by a list); the entries it stored."""
    stored: list[AuditEntry] = []
    writer = AuditWriter(stored.extend)
    writer.start()
    handler = ReportedCommands(writer, signer.sent)
    for report in reports:
        handler.on_report(conversions.command_report(report))
    assert writer.flush(5)
    writer.stop()
    return stored


def test_a_foreign_unsigned_estop_stops_the_robot_and_is_reported_and_audited_flagged(bench):
    x0, y0, yaw = bench.pose
    handle = bench.send(bench.goal("foreign_estop", [(x0 + 4.0 * math.cos(yaw), y0 + 4.0 * math.sin(yaw))]))
    assert handle.accepted
    bench.t.spin_until(lambda: bench.cmd[0] > 0.3, 15, "the robot at speed")
    intruder = bench.request(RobotCommand.Request.ESTOP, origin="intruder")
    response = bench.call(intruder)
    # safety first: carried out though nobody vouches for it
    assert response.result == RobotCommand.Response.RESULT_OK and response.mode == RobotState.MODE_ESTOP
    bench.t.spin_until(lambda: bench.cmd == (0.0, 0.0), 3, "the robot stopped")
    stopped_at = bench.pose
    bench.t.spin_for(1.0)
    assert math.dist(bench.pose[:2], stopped_at[:2]) < 0.05 and bench.cmd == (0.0, 0.0)
    assert bench.wait(handle.get_result_async(), 10, "the aborted task").result.reason == "estop"
    report = bench.report_of(intruder)
    assert (report.robot_id, report.command, report.origin) == ("test_bot", RobotCommand.Request.ESTOP, "intruder")
    assert not report.authenticated and report.auth_detail == "unsigned"
    assert report.result == RobotCommand.Response.RESULT_OK and report.mode == RobotState.MODE_ESTOP
    assert "unauthenticated (unsigned) command 2 from 'intruder'" in bench.log()
    [entry] = fleet_manager_audit([report], bench.signer)
    assert entry.username == "ros:intruder" and entry.action == "robot estop" and entry.target == "robot_id=test_bot"
    assert entry.outcome is Outcome.OK  # the robot did stop
    assert entry.detail.startswith("unauthenticated command from intruder (unsigned): ok: emergency stop")
    # a signed release (the fleet manager's) is reported authenticated, and not audited again from the report
    release = bench.request(RobotCommand.Request.RELEASE)
    assert bench.call(release).result == RobotCommand.Response.RESULT_OK
    mine = bench.report_of(release)
    assert mine.authenticated and mine.auth_detail == "" and mine.origin == "fleet_manager"
    assert fleet_manager_audit([mine], bench.signer) == []
    # the same report seen by a fleet manager that did not send it: audited, as signed but not its own
    [other] = fleet_manager_audit([mine], command_auth.Signer(None, "other"))
    assert other.username == "ros:fleet_manager" and not other.detail.startswith("unauthenticated")


def test_an_unsigned_resume_is_refused_and_the_fleet_managers_carries_on(bench):
    bench.t.spin_until(lambda: bench.states[-1][1].mode == RobotState.MODE_IDLE, 5, "the robot idle")
    x0, y0, yaw = bench.pose
    goal = (x0 + 2.5 * math.cos(yaw), y0 + 2.5 * math.sin(yaw))
    handle = bench.send(bench.goal("held_by_pause", [goal]))
    assert handle.accepted
    bench.t.spin_until(lambda: bench.cmd[0] > 0.3, 15, "the robot at speed")
    pause = bench.request(RobotCommand.Request.PAUSE, origin="intruder")  # stopping: carried out, flagged
    assert bench.call(pause).result == RobotCommand.Response.RESULT_OK
    assert not bench.report_of(pause).authenticated
    bench.t.spin_until(lambda: bench.cmd == (0.0, 0.0), 5, "the robot paused")
    resume = bench.request(RobotCommand.Request.RESUME, origin="intruder")
    response = bench.call(resume)
    assert response.result == RobotCommand.Response.RESULT_REJECTED, response.message
    assert "unauthenticated command refused (unsigned)" in response.message
    assert response.mode == RobotState.MODE_PAUSED
    report = bench.report_of(resume)
    assert not report.authenticated and report.result == RobotCommand.Response.RESULT_REJECTED
    [entry] = fleet_manager_audit([report], bench.signer)
    assert entry.username == "ros:intruder" and entry.outcome is Outcome.REFUSED
    # signed with another key, or the fleet manager's own request sent again: refused too
    forged = bench.request(RobotCommand.Request.RESUME, signer=command_auth.Signer(command_auth.new_key(), "fm"))
    assert bench.call(forged).result == RobotCommand.Response.RESULT_REJECTED
    assert bench.report_of(forged).auth_detail == "bad signature"
    bench.t.spin_for(0.5)
    assert bench.cmd == (0.0, 0.0)  # still held
    resume = bench.request(RobotCommand.Request.RESUME)
    assert bench.call(resume).result == RobotCommand.Response.RESULT_OK
    assert bench.report_of(resume).authenticated
    replayed = bench.call(resume)
    assert replayed.result == RobotCommand.Response.RESULT_REJECTED and "replayed" in replayed.message
    response = bench.wait(handle.get_result_async(), 30, "the task result after the signed resume")
    assert response.result.outcome == ExecuteTask.Result.OUTCOME_SUCCEEDED
