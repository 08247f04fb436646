"""Backend contract: what any simulator backend (built-in `labfleet-sim`, Gazebo + ros_gz_bridge, ...) presents.

Per robot of the fleet: driver topics with their types, odom/scan frames, scan QoS (sensor data, best
effort), rates against sim time (the median spacing of stamps: odom and ground truth >= 10 Hz, scan >= 5 Hz,
battery >= 0.5 Hz), a `/clock` that advances, and a cmd_vel that moves odom forward. Frames (REP 105), from
/tf and /tf_static (transient local) read into labfleet_robot.frames.TfBuffer: every robot has the chain
`<map_frame> → <id>/odom → <id>/base_link` with exactly those frame ids, its odometry starts at zero (the
first odom within 5 cm of the origin), and the first map pose it reports, taken to the site with its
map_transform, is its spawn pose (within 5 cm), as is its first ground truth (`/<id>/ground_truth`, in
`map`). Here it runs against the built-in simulator. On a machine with ROS 2 Jazzy + Gazebo Harmonic, run
the very same suite against Gazebo with

    LABFLEET_BACKEND_CMD='ros2 launch labfleet_gazebo labfleet_gazebo.launch.py sites_dir={sites_dir} \
      site={site} agents:=false' .venv/bin/python -m pytest tests/gazebo/test_backend_contract.py

(`{world}`, `{fleet}`, `{site_dir}`, `{sites_dir}` and `{site}` are filled in; LABFLEET_BACKEND_SITE picks the
site, LABFLEET_BACKEND_STARTUP_S the start-up allowance).
"""

from __future__ import annotations

import itertools
import math
import os
import shlex
import statistics
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from geometry_msgs.msg import Twist
from labfleet_gazebo.bridge_config import bridge_entries, world_name
from labfleet_robot.frames import TfBuffer, Transform
from labfleet_sim.fleet_config import FleetConfig, load_fleet
from nav_msgs.msg import Odometry
from rclpy.qos import (
    DurabilityPolicy,
    QoSDurabilityPolicy,
    QoSProfile,
    QoSReliabilityPolicy,
    ReliabilityPolicy,
)
from rosgraph_msgs.msg import Clock
from sensor_msgs.msg import BatteryState, LaserScan
from tf2_msgs.msg import TFMessage

from tests import ros_helpers
from tests.conftest import REPO, VENV_BIN, next_domain_id
from tests.ros_helpers import child_process

pytestmark = pytest.mark.ros

SITE_DIR = REPO / "sim_worlds" / os.environ.get("LABFLEET_BACKEND_SITE", "living_lab")
FLEET = load_fleet(SITE_DIR / "fleet.yaml")
ROBOT_IDS = [r.id for r in FLEET.robots]
STARTUP_S = float(os.environ.get("LABFLEET_BACKEND_STARTUP_S", "60"))
WINDOW_S = 4.0  # sim seconds of traffic measured
DOMAIN_ID = next_domain_id()  # a domain of its own, like every ROS test
DRIVER_TYPES = {
    "cmd_vel": "geometry_msgs/msg/Twist",
    "odom": "nav_msgs/msg/Odometry",
    "ground_truth": "nav_msgs/msg/Odometry",
    "scan": "sensor_msgs/msg/LaserScan",
    "battery_state": "sensor_msgs/msg/BatteryState",
}
MIN_RATE_HZ = {"odom": 10.0, "ground_truth": 10.0, "scan": 5.0, "battery_state": 0.5}
MSG_TYPES: dict[str, Any] = {"odom": Odometry, "ground_truth": Odometry, "scan": LaserScan,
                             "battery_state": BatteryState}
# as tf2_ros's listener: /tf reliable, depth 100; /tf_static also transient local (late joiners get it)
TF_QOS = QoSProfile(depth=100, reliability=ReliabilityPolicy.RELIABLE)
TF_STATIC_QOS = QoSProfile(depth=100, reliability=ReliabilityPolicy.RELIABLE,
                           durability=DurabilityPolicy.TRANSIENT_LOCAL)
# the probe's queues hold a whole window (20 Hz odom: 80 messages in 4 s), so a busy probe loses nothing
DEEP_QOS = QoSProfile(depth=1000, reliability=ReliabilityPolicy.RELIABLE)
DEEP_SENSOR_QOS = QoSProfile(depth=1000, reliability=ReliabilityPolicy.BEST_EFFORT)
TOLERANCE_M = 0.05
TOLERANCE_RAD = 0.05


@dataclass
class Observed:
    fleet: FleetConfig
    node: ros_helpers.TestNode
    topics: dict[str, list[str]] = field(default_factory=dict)
    msgs: dict[str, list[Any]] = field(default_factory=dict)  # topic -> messages received in the window
    last: dict[str, Any] = field(default_factory=dict)  # topic -> newest message
    clock: list[float] = field(default_factory=list)  # sim seconds of every /clock in the window
    sim_elapsed: float = 0.0
    first: dict[str, Any] = field(default_factory=dict)  # topic -> first message
    tf: TfBuffer = field(default_factory=TfBuffer)  # everything /tf and /tf_static said
    parents: dict[str, set[str]] = field(default_factory=dict)  # child frame id -> parent frame ids, verbatim
    first_map_pose: dict[str, tuple[float, float, float]] = field(default_factory=dict)  # robot -> own map pose


def _seconds(stamp: Any) -> float:
    return stamp.sec + stamp.nanosec * 1e-9


def _stamp(topic: str, msg: Any) -> float:
    """Sim seconds a message speaks for: /clock's clock, anything else's header stamp."""
    return _seconds(msg.clock if topic == "/clock" else msg.header.stamp)


def _yaw(odom: Odometry) -> float:
    q = odom.pose.pose.orientation
    return math.atan2(2 * (q.w * q.z + q.x * q.y), 1 - 2 * (q.y * q.y + q.z * q.z))


def _angle(a: float, b: float) -> float:
    """|a - b| on the circle."""
    return abs(math.atan2(math.sin(a - b), math.cos(a - b)))


def _take_tf(obs: Observed, msg: TFMessage, static: bool) -> None:
    """Every transform into the buffer; then the robots whose chain map → base_link just closed."""
    for t in msg.transforms:
        parent, child = t.header.frame_id, t.child_frame_id
        obs.parents.setdefault(child, set()).add(parent)
        tr, q = t.transform.translation, t.transform.rotation
        obs.tf.set(parent, child, Transform(tr.x, tr.y, tr.z, q.x, q.y, q.z, q.w), _seconds(t.header.stamp), static)
    for robot in obs.fleet.robots:
        if robot.id not in obs.first_map_pose:
            found = obs.tf.lookup(robot.map_frame, f"{robot.id}/base_link")
            if found is not None:
                obs.first_map_pose[robot.id] = found.transform.pose2d()


@pytest.fixture(scope="module")
def backend_command() -> list[str]:
    """The backend under test: the built-in simulator unless LABFLEET_BACKEND_CMD names another."""
    fill = {"world": SITE_DIR / "world.sdf", "fleet": SITE_DIR / "fleet.yaml", "site_dir": SITE_DIR,
            "sites_dir": SITE_DIR.parent, "site": SITE_DIR.name}
    custom = os.environ.get("LABFLEET_BACKEND_CMD")
    if custom:
        return [part.format(**fill) for part in shlex.split(custom)]
    sim = VENV_BIN / "labfleet-sim"
    if not sim.exists():
        pytest.skip(f"the built-in simulator is not installed yet ({sim} missing; `make setup` installs it)")
    return [str(sim), "--ros-args", "-p", f"world_file:={fill['world']}", "-p", f"fleet_file:={fill['fleet']}"]


@pytest.fixture(scope="module")
def observed(backend_command: list[str]) -> Iterator[Observed]:
    env = dict(os.environ) | {"ROS_DOMAIN_ID": str(DOMAIN_ID), "ROS_AUTOMATIC_DISCOVERY_RANGE": "LOCALHOST",
                              "PYTHONUNBUFFERED": "1", "PATH": f"{VENV_BIN}:{os.environ.get('PATH', '')}"}
    with child_process(backend_command, env) as proc:
        t = ros_helpers.TestNode("backend_contract_probe", DOMAIN_ID)
        try:
            obs = Observed(FLEET, t)
            heard: dict[str, list[Any]] = {}  # topic -> every message, in the order taken

            def keep(topic: str, msg: Any) -> None:
                obs.first.setdefault(topic, msg)
                obs.last[topic] = msg
                heard.setdefault(topic, []).append(msg)

            t.node.create_subscription(Clock, "/clock", lambda m: keep("/clock", m), DEEP_QOS)
            t.node.create_subscription(TFMessage, "/tf", lambda m: _take_tf(obs, m, False), TF_QOS)
            t.node.create_subscription(TFMessage, "/tf_static", lambda m: _take_tf(obs, m, True), TF_STATIC_QOS)
            for rid in ROBOT_IDS:
                for name, msg_type in MSG_TYPES.items():
                    topic = f"/{rid}/{name}"
                    qos = DEEP_SENSOR_QOS if name == "scan" else DEEP_QOS
                    t.node.create_subscription(msg_type, topic, lambda m, topic=topic: keep(topic, m), qos)
            wanted = ["/clock"] + [f"/{rid}/{name}" for rid in ROBOT_IDS for name in MSG_TYPES]

            def started() -> bool:
                if proc.poll() is not None:
                    out = proc.stdout.read().decode(errors="replace") if proc.stdout else ""
                    raise AssertionError(f"the backend exited with {proc.returncode}:\n{out}")
                return all(topic in obs.last for topic in wanted) and len(obs.first_map_pose) == len(ROBOT_IDS)

            t.spin_until(started, STARTUP_S, "clock, every robot's driver topics and its map → base_link on TF")
            # the window is WINDOW_S of sim time; a message counts by its stamp, not by when this probe (busy on a
            # loaded machine) got round to taking it: the queues above are deep enough to hold the window
            start = _seconds(obs.last["/clock"].clock)
            t.spin_until(lambda: _seconds(obs.last["/clock"].clock) - start >= WINDOW_S, STARTUP_S,
                         f"{WINDOW_S} s of sim time")
            end = _seconds(obs.last["/clock"].clock)
            t.spin_until(lambda: all(_stamp(topic, heard[topic][-1]) >= end for topic in wanted), STARTUP_S,
                         "every topic's messages up to the end of the window")
            for topic, msgs in heard.items():
                obs.msgs[topic] = [m for m in msgs if start <= _stamp(topic, m) <= end]
            obs.clock = [_seconds(m.clock) for m in heard["/clock"] if start <= _seconds(m.clock) <= end]
            obs.sim_elapsed = end - start
            obs.topics = dict(t.node.get_topic_names_and_types())
            yield obs
        finally:
            t.close()


@pytest.fixture(scope="module")
def moves(observed: Observed) -> dict[str, tuple[Odometry, Odometry]]:
    """Drive every robot forward at 0.3 m/s for 2 s, then stop it: (odom before, odom after) per robot."""
    t = observed.node
    pubs = {rid: t.node.create_publisher(Twist, f"/{rid}/cmd_vel", 10) for rid in ROBOT_IDS}
    t.spin_until(lambda: all(p.get_subscription_count() > 0 for p in pubs.values()), 10, "cmd_vel subscribers")
    before = {rid: observed.last[f"/{rid}/odom"] for rid in ROBOT_IDS}
    forward = Twist()
    forward.linear.x = 0.3
    end = time.monotonic() + 2.0
    while time.monotonic() < end:
        for pub in pubs.values():
            pub.publish(forward)
        t.spin_for(0.05)
    for _ in range(5):  # Gazebo's DiffDrive keeps the last command: stop explicitly
        for pub in pubs.values():
            pub.publish(Twist())
        t.spin_for(0.05)
    t.spin_for(0.5)
    return {rid: (before[rid], observed.last[f"/{rid}/odom"]) for rid in ROBOT_IDS}


def test_clock_is_published_and_advances(observed):
    assert observed.topics.get("/clock") == ["rosgraph_msgs/msg/Clock"]
    assert observed.node.node.count_publishers("/clock") >= 1
    assert observed.sim_elapsed >= WINDOW_S
    assert len(observed.clock) >= 10, f"{len(observed.clock)} /clock in {observed.sim_elapsed:.2f} s of sim time"
    backwards = [(a, b) for a, b in zip(observed.clock, observed.clock[1:], strict=False) if b < a]
    publishers = [(i.node_namespace, i.node_name) for i in observed.node.node.get_publishers_info_by_topic("/clock")]
    assert not backwards, f"/clock went backwards {len(backwards)} times, e.g. {backwards[:3]}; publishers {publishers}"


@pytest.mark.parametrize("robot_id", ROBOT_IDS)
def test_driver_topics_exist_with_their_types(observed, robot_id):
    for name, type_name in DRIVER_TYPES.items():
        topic = f"/{robot_id}/{name}"
        assert observed.topics.get(topic) == [type_name], f"{topic}: {observed.topics.get(topic)}"
    node = observed.node.node
    cmd_subs = node.get_subscriptions_info_by_topic(f"/{robot_id}/cmd_vel")
    assert cmd_subs and all(s.topic_type == DRIVER_TYPES["cmd_vel"] for s in cmd_subs), "nobody takes cmd_vel"
    for name in MSG_TYPES:
        assert node.get_publishers_info_by_topic(f"/{robot_id}/{name}"), f"/{robot_id}/{name} has no publisher"


@pytest.mark.parametrize("robot_id", ROBOT_IDS)
def test_frames(observed, robot_id):
    odom = observed.last[f"/{robot_id}/odom"]
    assert (odom.header.frame_id, odom.child_frame_id) == (f"{robot_id}/odom", f"{robot_id}/base_link")
    scan = observed.last[f"/{robot_id}/scan"]
    assert scan.header.frame_id == f"{robot_id}/base_link"
    lidar = FLEET.robot(robot_id).model.lidar
    assert len(scan.ranges) == lidar.samples
    assert scan.range_max == pytest.approx(lidar.range_max, rel=1e-3)


@pytest.mark.parametrize("robot_id", ROBOT_IDS)
def test_scan_is_published_with_sensor_data_qos(observed, robot_id):
    publishers = observed.node.node.get_publishers_info_by_topic(f"/{robot_id}/scan")
    assert publishers
    for info in publishers:
        assert info.qos_profile.reliability == QoSReliabilityPolicy.BEST_EFFORT, \
            f"{info.node_name} publishes /{robot_id}/scan {info.qos_profile.reliability.name}"


@pytest.mark.parametrize("robot_id", ROBOT_IDS)
def test_rates_against_sim_time(observed, robot_id):
    """The publishing period is the median spacing of the stamps in the window: a stretch this probe lost while its
    process stood still (a loaded machine) leaves one wide gap and does not change it; publishing too slowly does."""
    assert observed.sim_elapsed >= WINDOW_S
    for name, minimum in MIN_RATE_HZ.items():
        topic = f"/{robot_id}/{name}"
        stamps = sorted({_stamp(topic, m) for m in observed.msgs.get(topic, [])})
        assert len(stamps) >= 2, f"{topic}: {len(stamps)} stamps in {observed.sim_elapsed:.2f} s of sim time"
        period = statistics.median(b - a for a, b in itertools.pairwise(stamps))
        rate = 1.0 / period
        assert rate >= minimum, (f"{topic}: {len(stamps)} stamps in {observed.sim_elapsed:.2f} s of sim time, "
                                 f"median spacing {period:.3f} s = {rate:.2f} Hz")


@pytest.mark.parametrize("robot_id", ROBOT_IDS)
def test_cmd_vel_moves_odom_forward(moves, robot_id):
    before, after = moves[robot_id]
    yaw = _yaw(before)
    dx = after.pose.pose.position.x - before.pose.pose.position.x
    dy = after.pose.pose.position.y - before.pose.pose.position.y
    ahead = dx * math.cos(yaw) + dy * math.sin(yaw)
    assert ahead > 0.1, f"{robot_id} moved {ahead:.3f} m ahead (dx {dx:.3f}, dy {dy:.3f}) on cmd_vel 0.3 m/s for 2 s"


def test_tf_is_published_as_tf2_publishes_it(observed):
    node = observed.node.node
    assert observed.topics.get("/tf") == ["tf2_msgs/msg/TFMessage"]
    publishers = node.get_publishers_info_by_topic("/tf")
    assert publishers, "nobody publishes /tf"
    for info in publishers:
        assert info.qos_profile.reliability == QoSReliabilityPolicy.RELIABLE, \
            f"{info.node_name} publishes /tf {info.qos_profile.reliability.name}"
    for info in node.get_publishers_info_by_topic("/tf_static"):  # Gazebo's odometry anchors; none here
        assert info.qos_profile.durability == QoSDurabilityPolicy.TRANSIENT_LOCAL, \
            f"{info.node_name} publishes /tf_static {info.qos_profile.durability.name}: late joiners miss it"


@pytest.mark.parametrize("robot_id", ROBOT_IDS)
def test_tf_chain_map_odom_base_link(observed, robot_id):
    robot = FLEET.robot(robot_id)
    odom, base = f"{robot_id}/odom", f"{robot_id}/base_link"
    assert observed.parents.get(base) == {odom}, f"{base} has parents {observed.parents.get(base)}"
    assert observed.parents.get(odom) == {robot.map_frame}, f"{odom} has parents {observed.parents.get(odom)}"


@pytest.mark.parametrize("robot_id", ROBOT_IDS)
def test_odometry_starts_at_zero(observed, robot_id):
    first = observed.first[f"/{robot_id}/odom"]
    p = first.pose.pose.position
    assert math.hypot(p.x, p.y) < TOLERANCE_M and _angle(_yaw(first), 0.0) < TOLERANCE_RAD, \
        f"{robot_id}'s first odometry is ({p.x:.3f}, {p.y:.3f}, {_yaw(first):.3f}), not zero"


@pytest.mark.parametrize("robot_id", ROBOT_IDS)
def test_first_map_pose_is_the_spawn_pose(observed, robot_id):
    robot = FLEET.robot(robot_id)
    x, y, yaw = robot.map_transform.to_site(*observed.first_map_pose[robot_id])
    spawn = robot.spawn
    assert math.hypot(x - spawn.x, y - spawn.y) < TOLERANCE_M and _angle(yaw, spawn.yaw) < TOLERANCE_RAD, \
        f"{robot_id}: first map pose on the site ({x:.3f}, {y:.3f}, {yaw:.3f}), spawned at {spawn}"


@pytest.mark.parametrize("robot_id", ROBOT_IDS)
def test_ground_truth_is_the_site_pose(observed, robot_id):
    first = observed.first[f"/{robot_id}/ground_truth"]
    assert (first.header.frame_id, first.child_frame_id) == ("map", f"{robot_id}/base_link")
    p, spawn = first.pose.pose.position, FLEET.robot(robot_id).spawn
    assert math.hypot(p.x - spawn.x, p.y - spawn.y) < TOLERANCE_M and _angle(_yaw(first), spawn.yaw) < TOLERANCE_RAD


def test_gazebo_bridge_presents_what_this_backend_presents(observed):
    """Every topic the Gazebo bridge would serve (but the gz-only joint states) is one this backend serves,
    with the same type and the same side: GZ_TO_ROS ones it publishes, ROS_TO_GZ ones it subscribes to."""
    node = observed.node.node
    for entry in bridge_entries(FLEET, world_name(SITE_DIR / "world.sdf")):
        topic = entry.ros_topic_name
        if topic.endswith("/joint_states"):
            continue
        assert observed.topics.get(topic) == [entry.ros_type_name], f"{topic}: {observed.topics.get(topic)}"
        if entry.direction.value == "GZ_TO_ROS":
            assert node.count_publishers(topic) >= 1, f"the backend does not publish {topic}"
        else:
            assert node.count_subscribers(topic) >= 1, f"the backend does not subscribe to {topic}"

