"""The Nav2 stand-in (`labfleet-nav2`) as a real process on the living lab's simulator, commanded through Nav2's
own actions by an rclpy ActionClient, as a fleet manager's nav2 adapter would: delivery_1 (spawned on charger_1
at (24.9, 2.0) facing north) navigates, is preempted, canceled, docks on charger_1 and undocks.

/tf: the simulator publishes map → <id>/odom → <id>/base_link itself once it does REP 105; until then the test
broadcasts both edges from the simulator's odometry (map → odom fixed where the first odometry says the robot
is, i.e. its spawn pose). Either way the robot's map pose is checked as spawn · odometry.
"""

from __future__ import annotations

import math
import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from action_msgs.msg import GoalStatus
from geometry_msgs.msg import PoseStamped, TransformStamped, Twist
from labfleet_robot.frames import Transform
from labfleet_robot.params import NAV2_NODE, nav2_params, write_params_file
from nav2_msgs.action import DockRobot, NavigateThroughPoses, UndockRobot
from nav2_msgs.msg import SpeedLimit
from nav_msgs.msg import Odometry
from rclpy.action import ActionClient
from rclpy.qos import QoSProfile, ReliabilityPolicy
from tf2_msgs.msg import TFMessage

from tests import ros_helpers
from tests.conftest import VENV_BIN, next_domain_id
from tests.lab_process import stop_group

pytestmark = pytest.mark.ros
SITE = Path(__file__).resolve().parents[2] / "sim_worlds" / "living_lab"
ROBOT = "delivery_1"
SPAWN = (24.9, 2.0, math.pi / 2)
CHARGER_1 = (24.9, 2.0, -math.pi / 2)  # docked facing south: the robot drives in from the bay, staging at y 2.7
SPEED = 2.0  # the simulator's real-time factor: sim time runs twice as fast as the wall clock
TF_QOS = QoSProfile(depth=100, reliability=ReliabilityPolicy.RELIABLE)


def pose_stamped(x: float, y: float, yaw: float = 0.0, frame: str = "map") -> PoseStamped:
    msg = PoseStamped()
    msg.header.frame_id = frame
    msg.pose.position.x, msg.pose.position.y = x, y
    msg.pose.orientation.z, msg.pose.orientation.w = math.sin(yaw / 2), math.cos(yaw / 2)
    return msg


def transform_stamped(parent: str, child: str, t: Transform, stamp) -> TransformStamped:
    msg = TransformStamped()
    msg.header.frame_id, msg.header.stamp, msg.child_frame_id = parent, stamp, child
    msg.transform.translation.x, msg.transform.translation.y = t.x, t.y
    msg.transform.rotation.z, msg.transform.rotation.w = t.qz, t.qw
    return msg


def odom_transform(msg: Odometry) -> Transform:
    p, q = msg.pose.pose.position, msg.pose.pose.orientation
    return Transform(p.x, p.y, 0.0, q.x, q.y, q.z, q.w)


class Bench:
    def __init__(self, t: ros_helpers.TestNode, logs: dict[str, Path]) -> None:
        self.t, self.logs = t, logs
        node = t.node
        self.map_to_odom: Transform | None = None
        self.odom: Transform | None = None
        self.odoms: list[tuple[float, float, float]] = []  # (monotonic time, v, w) of the simulated base
        self.cmds: list[tuple[float, float]] = []
        self.sim_tf = False  # the simulator publishes /tf itself
        self.broadcast = False
        self._tf_seen = 0
        node.create_subscription(Odometry, f"/{ROBOT}/odom", self._on_odom, 10)
        node.create_subscription(TFMessage, "/tf", self._on_tf, TF_QOS)
        node.create_subscription(Twist, f"/{ROBOT}/cmd_vel", lambda m: self.cmds.append((m.linear.x, m.angular.z)),
                                 10)
        self.tf_pub = node.create_publisher(TFMessage, "/tf", TF_QOS)
        self.speed_limit = node.create_publisher(SpeedLimit, f"/{ROBOT}/speed_limit", 10)
        self.navigate = ActionClient(node, NavigateThroughPoses, f"/{ROBOT}/navigate_through_poses")
        self.dock = ActionClient(node, DockRobot, f"/{ROBOT}/dock_robot")
        self.undock = ActionClient(node, UndockRobot, f"/{ROBOT}/undock_robot")
        self.feedback: list[object] = []

    def _on_tf(self, msg: TFMessage) -> None:
        if not self.broadcast and any(t.child_frame_id == f"{ROBOT}/base_link" for t in msg.transforms):
            self._tf_seen += 1

    def _on_odom(self, msg: Odometry) -> None:
        self.odom = odom_transform(msg)
        if self.map_to_odom is None:  # the robot stands on its spawn pose: map → odom is where odometry says it is
            self.map_to_odom = Transform.planar(*SPAWN) * self.odom.inverse()
        self.odoms.append((time.monotonic(), msg.twist.twist.linear.x, msg.twist.twist.angular.z))
        if self.broadcast:
            self.tf_pub.publish(TFMessage(transforms=[
                transform_stamped("map", f"{ROBOT}/odom", self.map_to_odom, msg.header.stamp),
                transform_stamped(f"{ROBOT}/odom", f"{ROBOT}/base_link", self.odom, msg.header.stamp)]))

    def start_tf(self) -> None:
        self.t.spin_until(lambda: self.odom is not None, 30, "the simulator's odometry")
        first = time.monotonic()
        self.t.spin_until(lambda: self._tf_seen > 0 or time.monotonic() - first > 1.0, 5, "/tf")
        self.sim_tf = self._tf_seen > 0
        self.broadcast = not self.sim_tf

    @property
    def pose(self) -> tuple[float, float, float]:
        """The robot's map pose: spawn · odometry."""
        assert self.map_to_odom is not None and self.odom is not None
        return (self.map_to_odom * self.odom).pose2d()

    def log(self) -> str:
        return "\n".join(f"--- {name} ---\n{path.read_text(errors='replace')[-6000:]}"
                         for name, path in self.logs.items())

    def wait(self, future, timeout: float, what: str):
        self.t.spin_until(future.done, timeout, f"{what}\n{self.log()}")
        return future.result()

    def send(self, client: ActionClient, goal):
        handle = self.wait(client.send_goal_async(goal, feedback_callback=lambda f: self.feedback.append(f.feedback)),
                           10, "the goal response")
        assert handle.accepted, self.log()
        return handle

    def through(self, *poses: tuple[float, ...]):
        goal = NavigateThroughPoses.Goal()
        goal.poses = [pose_stamped(*p) for p in poses]
        return self.send(self.navigate, goal)


@pytest.fixture(scope="module")
def bench(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Bench]:
    domain = next_domain_id()
    env = dict(os.environ)
    env.update(ROS_DOMAIN_ID=str(domain), ROS_AUTOMATIC_DISCOVERY_RANGE="LOCALHOST", PYTHONUNBUFFERED="1",
               PATH=f"{VENV_BIN}:{env.get('PATH', '')}")
    tmp = tmp_path_factory.mktemp("nav2")
    params = tmp / f"{ROBOT}.nav2.params.yaml"
    write_params_file(params, ROBOT, nav2_params(robot_id=ROBOT, radius=0.3, max_speed=1.0, max_accel=0.6,
                                                 max_yaw_rate=1.5, max_yaw_accel=3.0,
                                                 docks={"charger_1": CHARGER_1}), node=NAV2_NODE)
    sim_argv = [str(VENV_BIN / "labfleet-sim"), "--ros-args", "-p", f"world_file:={SITE / 'world.sdf'}",
                "-p", f"fleet_file:={SITE / 'fleet.yaml'}", "-p", f"real_time_factor:={SPEED}"]
    nav_argv = [str(VENV_BIN / "labfleet-nav2"), "--ros-args", "-r", f"__ns:=/{ROBOT}", "--params-file", str(params)]
    logs = {"labfleet-sim": tmp / "sim.log", "labfleet-nav2": tmp / "nav2.log"}
    procs: list[subprocess.Popen[bytes]] = []
    try:
        for argv, log in ((sim_argv, logs["labfleet-sim"]), (nav_argv, logs["labfleet-nav2"])):
            with open(log, "wb") as out:  # a file, not a pipe nobody reads
                procs.append(subprocess.Popen(argv, env=env, stdout=out, stderr=subprocess.STDOUT,
                                              start_new_session=True))
        with ros_helpers.ros_test_node("nav2_probe", domain) as t:
            b = Bench(t, logs)
            b.start_tf()
            t.spin_until(lambda: all(c.server_is_ready() for c in (b.navigate, b.dock, b.undock)), 30,
                         f"the stand-in's action servers\n{b.log()}")
            t.spin_until(lambda: "localised" in logs["labfleet-nav2"].read_text(), 10, f"a map pose\n{b.log()}")
            yield b
            assert all(p.poll() is None for p in procs), b.log()
    finally:
        for proc in procs:
            if proc.poll() is None:
                stop_group(proc)


def test_navigate_through_poses_ends_on_the_last_pose_at_the_speed_limit(bench: Bench):
    limit = SpeedLimit(percentage=True, speed_limit=50.0)
    bench.speed_limit.publish(limit)
    try:
        bench.t.spin_until(lambda: "top speed 0.5" in bench.logs["labfleet-nav2"].read_text(), 5,
                           "the speed limit taken")
        bench.feedback.clear()
        start = time.monotonic()
        handle = bench.through((24.9, 4.0, 1.0), (25.6, 5.5, 0.0))
        response = bench.wait(handle.get_result_async(), 40, "the result")
        assert response.status == GoalStatus.STATUS_SUCCEEDED
        assert (response.result.error_code, response.result.error_msg) == (0, "")
        # the pose once the base stands: on a loaded host the odometry of the last turn can come after the result
        bench.t.spin_until(lambda: max(abs(bench.odoms[-1][1]), abs(bench.odoms[-1][2])) < 1e-3, 5,
                           "the robot standing")
        x, y, yaw = bench.pose
        assert math.dist((x, y), (25.6, 5.5)) < 0.1 and abs(yaw) < 0.1, bench.pose
        assert max(v for t, v, _ in bench.odoms if t >= start) <= 0.5 + 0.02  # 50 % of 1 m/s
        remaining = [f.number_of_poses_remaining for f in bench.feedback]
        assert remaining[0] == 2 and remaining[-1] == 1 and remaining == sorted(remaining, reverse=True)
        assert all(f.current_pose.header.frame_id == "map" for f in bench.feedback)
        assert bench.feedback[-1].distance_remaining < 0.3 and bench.feedback[0].distance_remaining > 3.0
    finally:  # lifted whatever happened: the module's later tests need the robot's full speed
        bench.speed_limit.publish(SpeedLimit(percentage=False, speed_limit=0.0))  # no limit
        bench.t.spin_until(lambda: "top speed 1 m/s" in bench.logs["labfleet-nav2"].read_text(), 5,
                           "the limit lifted")


def test_a_second_goal_preempts_the_first_without_stopping(bench: Bench):
    first = bench.through((28.8, 5.5))
    bench.t.spin_until(lambda: bench.pose[0] > 26.3, 20, f"the robot under way east\n{bench.log()}")
    t_preempt = time.monotonic()
    second = bench.through((28.0, 5.5), (28.0, 6.2, math.pi / 2))
    aborted = bench.wait(first.get_result_async(), 5, "the first goal's end")
    assert aborted.status == GoalStatus.STATUS_ABORTED
    assert (aborted.result.error_code, aborted.result.error_msg) == (0, "")
    done = bench.wait(second.get_result_async(), 30, "the second goal's result")
    assert done.status == GoalStatus.STATUS_SUCCEEDED
    assert math.dist(bench.pose[:2], (28.0, 6.2)) < 0.1
    # from the preemption until it reached the new corner, the base never stopped
    t_corner = next(t for t, v, _ in bench.odoms if t > t_preempt and v < 0.3)
    speeds = [v for t, v, _ in bench.odoms if t_preempt <= t < t_corner]
    assert len(speeds) > 5 and min(speeds) > 0.3
    assert bench.pose[0] > 27.5  # it slowed only at the corner


def test_cancel_ends_the_goal_canceled_and_stops_the_robot(bench: Bench):
    handle = bench.through((24.9, 6.2))
    bench.t.spin_until(lambda: bench.odoms[-1][1] > 0.5, 20, f"the robot at speed\n{bench.log()}")
    t_cancel = time.monotonic()
    bench.wait(handle.cancel_goal_async(), 5, "the cancel response")
    response = bench.wait(handle.get_result_async(), 5, "the canceled result")
    assert response.status == GoalStatus.STATUS_CANCELED
    bench.t.spin_until(lambda: abs(bench.odoms[-1][1]) < 1e-3, 3, "the robot stopped")
    assert time.monotonic() - t_cancel < 2.0
    bench.t.spin_for(0.5)
    assert abs(bench.odoms[-1][1]) < 1e-3 and bench.pose[0] > 25.5  # stopped well short of the goal
    assert bench.cmds[-1] == (0.0, 0.0)


def test_dock_robot_on_charger_1_then_undock(bench: Bench):
    unknown = DockRobot.Goal(use_dock_id=True, dock_id="charger_9")
    result = bench.wait(bench.send(bench.dock, unknown).get_result_async(), 5, "the unknown dock's result")
    assert result.status == GoalStatus.STATUS_ABORTED
    assert (result.result.success, result.result.error_code) == (False, DockRobot.Result.DOCK_NOT_IN_DB)

    bench.feedback.clear()
    handle = bench.send(bench.dock, DockRobot.Goal(use_dock_id=True, dock_id="charger_1"))
    response = bench.wait(handle.get_result_async(), 60, "the docking result")
    assert response.status == GoalStatus.STATUS_SUCCEEDED, response.result.error_msg
    assert (response.result.success, response.result.error_code) == (True, DockRobot.Result.NONE)
    x, y, yaw = bench.pose
    assert math.dist((x, y), CHARGER_1[:2]) <= 0.06 and abs(abs(yaw) - math.pi / 2) < 0.1, bench.pose
    states = [f.state for f in bench.feedback]
    seen = [s for i, s in enumerate(states) if i == 0 or states[i - 1] != s]
    assert seen == [DockRobot.Feedback.NAV_TO_STAGING_POSE, DockRobot.Feedback.CONTROLLING,
                    DockRobot.Feedback.WAIT_FOR_CHARGE]

    start = time.monotonic()
    handle = bench.send(bench.undock, UndockRobot.Goal())
    response = bench.wait(handle.get_result_async(), 30, "the undocking result")
    assert response.status == GoalStatus.STATUS_SUCCEEDED and response.result.success
    assert math.dist(bench.pose[:2], (24.9, 2.7)) < 0.07, bench.pose  # backed off to the staging pose
    backing = [v for t, v, _ in bench.odoms if t >= start]
    assert min(backing) < -0.1 and max(backing) <= 1e-3 and min(backing) >= -0.15 - 0.01  # straight back, slowly
