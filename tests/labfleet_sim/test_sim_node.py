"""The simulator as a real ROS 2 process: clock, driver topics with their frames and QoS, cmd_vel, /tf (REP 105:
odometry from zero at spawn, map → odom), ground truth, and the /sim/fault service."""

from __future__ import annotations

import itertools
import math
import os
import signal
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml
from geometry_msgs.msg import Twist
from labfleet_interfaces.msg import Contact
from labfleet_interfaces.srv import SimFault
from labfleet_robot.frames import TfBuffer, Transform
from labfleet_sim.fleet_config import MapTransform
from nav_msgs.msg import Odometry
from rclpy.qos import QoSProfile, ReliabilityPolicy, qos_profile_sensor_data
from rosgraph_msgs.msg import Clock
from sensor_msgs.msg import BatteryState, LaserScan
from tf2_msgs.msg import TFMessage

from tests.conftest import VENV_BIN, next_domain_id
from tests.ros_helpers import child_process, ros_test_node

pytestmark = pytest.mark.ros
SITE = Path(__file__).resolve().parents[2] / "sim_worlds" / "living_lab"
DOMAIN_ID = next_domain_id()  # a domain of its own, like every ROS test


@pytest.fixture
def sim_env() -> dict[str, str]:
    env = dict(os.environ)
    env.update(ROS_DOMAIN_ID=str(DOMAIN_ID), ROS_AUTOMATIC_DISCOVERY_RANGE="LOCALHOST", PYTHONUNBUFFERED="1")
    env["PATH"] = f"{VENV_BIN}:{env.get('PATH', '')}"
    return env


def seconds(stamp) -> float:
    return stamp.sec + stamp.nanosec * 1e-9


def pose_of(odom: Odometry) -> tuple[float, float, float]:
    p, q = odom.pose.pose.position, odom.pose.pose.orientation
    return p.x, p.y, 2 * math.atan2(q.z, q.w)


def feed(buffer: TfBuffer, msg: TFMessage) -> None:
    for t in msg.transforms:
        tr, q = t.transform.translation, t.transform.rotation
        buffer.set(t.header.frame_id, t.child_frame_id, Transform(tr.x, tr.y, tr.z, q.x, q.y, q.z, q.w),
                   seconds(t.header.stamp))


TF_QOS = QoSProfile(depth=100, reliability=ReliabilityPolicy.RELIABLE)


def test_sim_node_presents_driver_topics_and_obeys_cmd_vel(sim_env):
    argv = [str(VENV_BIN / "labfleet-sim"), "--ros-args", "-p", f"world_file:={SITE / 'world.sdf'}",
            "-p", f"fleet_file:={SITE / 'fleet.yaml'}"]
    with child_process(argv, sim_env) as sim, ros_test_node("sim_probe", int(sim_env["ROS_DOMAIN_ID"])) as t:
        got: dict[str, list] = {"clock": [], "odom": [], "truth": [], "scan": [], "battery": [], "tf": []}
        contacts: list[Contact] = []
        n = t.node
        n.create_subscription(Clock, "/clock", got["clock"].append, 10)
        n.create_subscription(Odometry, "/delivery_1/odom", got["odom"].append, 10)
        n.create_subscription(Odometry, "/delivery_1/ground_truth", got["truth"].append, 10)
        n.create_subscription(TFMessage, "/tf", got["tf"].append, TF_QOS)
        n.create_subscription(LaserScan, "/delivery_1/scan", got["scan"].append, qos_profile_sensor_data)
        n.create_subscription(BatteryState, "/delivery_1/battery_state", got["battery"].append, 10)
        n.create_subscription(Contact, "/sim/contacts", contacts.append,
                              QoSProfile(depth=100, reliability=ReliabilityPolicy.RELIABLE))
        cmd = n.create_publisher(Twist, "/delivery_1/cmd_vel", 10)
        t.spin_until(lambda: all(got.values()), 20, "clock, odom, ground truth, /tf, scan and battery_state")

        odom, scan, battery = got["odom"][-1], got["scan"][-1], got["battery"][-1]
        assert (odom.header.frame_id, odom.child_frame_id) == ("delivery_1/odom", "delivery_1/base_link")
        assert scan.header.frame_id == "delivery_1/base_link" and len(scan.ranges) == 180
        ranges = np.array(scan.ranges)
        assert np.isfinite(ranges).any() and ranges[np.isfinite(ranges)].min() > 0.1  # the charging alcove's walls
        # delivery_1 starts on its charger at 95 %: it charges
        assert 0.95 <= battery.percentage < 0.96 and battery.present
        assert battery.power_supply_status == BatteryState.POWER_SUPPLY_STATUS_CHARGING
        start, wall_start = seconds(got["clock"][-1].clock), time.monotonic()
        # odometry is zero where the robot spawned; the truth and the map pose are the spawn pose (24.9, 2.0),
        # facing north
        assert pose_of(odom) == pytest.approx((0.0, 0.0, 0.0), abs=1e-9)
        truth = got["truth"][-1]
        assert (truth.header.frame_id, truth.child_frame_id) == ("map", "delivery_1/base_link")
        assert pose_of(truth) == pytest.approx((24.9, 2.0, 1.5708), abs=1e-6)
        tf = got["tf"][-1]
        edges = [(e.header.frame_id, e.child_frame_id) for e in tf.transforms]
        assert ("map", "delivery_1/odom") in edges and ("delivery_1/odom", "delivery_1/base_link") in edges
        assert len(edges) == 2 * 6  # one message per tick with both edges of all six robots
        assert {seconds(e.header.stamp) for e in tf.transforms} == {seconds(tf.transforms[0].header.stamp)}

        forward = Twist()
        forward.linear.x = 0.5
        for _ in range(60):  # 1.2 s of commands, then silence: the sim stops the robot by itself
            cmd.publish(forward)
            t.spin_for(0.02)
        t.spin_for(1.5)  # and the sim stops it (its command timeout, sim time: a loaded host may need longer)
        t.spin_until(lambda: abs(got["odom"][-1].twist.twist.linear.x) < 1e-6, 10, "the robot stopped by the sim")
        sim_elapsed, wall_elapsed = seconds(got["clock"][-1].clock) - start, time.monotonic() - wall_start
        assert sim_elapsed > 2.0 and sim_elapsed < 2 * wall_elapsed  # sim time advances, never ahead of real time
        stamps = [seconds(c.clock) for c in got["clock"]]
        assert all(b > a for a, b in itertools.pairwise(stamps))  # /clock only moves forward
        last, truth = got["odom"][-1], got["truth"][-1]
        assert last.pose.pose.position.x > 0.2 and abs(last.pose.pose.position.y) < 1e-6  # ahead in odom
        assert truth.pose.pose.position.y - 2.0 > 0.2  # it faces north (+y) on the map
        assert abs(last.twist.twist.linear.x) < 1e-6
        buffer = TfBuffer()
        for msg in got["tf"]:
            feed(buffer, msg)
        found = buffer.lookup("map", "delivery_1/base_link")
        assert found is not None and found.transform.pose2d() == pytest.approx(pose_of(truth), abs=1e-6)

        backward = Twist()
        backward.linear.x = -1.0  # reverse into the south wall (y = 0.1) behind the charger
        def reversing_until_contact() -> bool:
            cmd.publish(backward)
            return bool(contacts)
        t.spin_until(reversing_until_contact, 15, "a contact on /sim/contacts")
        assert (contacts[0].robot_id, contacts[0].other) == ("delivery_1", "walls")
        assert contacts[0].pose.y == pytest.approx(0.1 + 0.3, abs=0.05)
        t.spin_for(0.5)
        assert len(contacts) == 1  # reported when it begins, not every step

        sim.send_signal(signal.SIGTERM)
        assert sim.wait(timeout=10) == 0


def call(t, client, **fields: Any) -> SimFault.Response:
    future = client.call_async(SimFault.Request(**fields))
    t.spin_until(future.done, 10, f"/sim/fault {fields}")
    return future.result()


def test_frames_of_a_robot_with_its_own_map_and_localisation_faults(sim_env, tmp_path):
    """guide_1 localises on a map of its own, with noise and drift: its chain starts at guide_1/map and its
    map pose, taken to the site, is its true pose within the noise. /sim/fault drops delivery_1's /tf for
    1 s of sim time (odometry goes on), and refuses unknown robots and faults naming what exists."""
    fleet = yaml.safe_load((SITE / "fleet.yaml").read_text())
    placed = {"x": 5.0, "y": -3.0, "yaw": 0.5}
    guide = next(r for r in fleet["robots"] if r["id"] == "guide_1")
    guide |= {"map_transform": placed, "localisation": {"noise_m": 0.02, "noise_yaw": 0.01, "period_s": 0.5,
                                                        "odom_scale_error": 0.02, "odom_yaw_drift": 0.01}}
    (tmp_path / "fleet.yaml").write_text(yaml.safe_dump(fleet))
    argv = [str(VENV_BIN / "labfleet-sim"), "--ros-args", "-p", f"world_file:={SITE / 'world.sdf'}",
            "-p", f"fleet_file:={tmp_path / 'fleet.yaml'}"]
    with child_process(argv, sim_env) as sim, ros_test_node("fault_probe", int(sim_env["ROS_DOMAIN_ID"])) as t:
        tfs: list[TFMessage] = []
        clock: list[Clock] = []
        odoms: list[Odometry] = []
        truth: list[Odometry] = []
        n = t.node
        n.create_subscription(TFMessage, "/tf", tfs.append, TF_QOS)
        n.create_subscription(Clock, "/clock", clock.append, 10)
        n.create_subscription(Odometry, "/delivery_1/odom", odoms.append, 10)
        n.create_subscription(Odometry, "/guide_1/ground_truth", truth.append, 10)
        client = n.create_client(SimFault, "/sim/fault")
        t.spin_until(lambda: client.service_is_ready() and len(tfs) > 5 and truth, 20, "/tf and /sim/fault")

        buffer = TfBuffer()
        for msg in tfs:
            feed(buffer, msg)
        edges = {(e.header.frame_id, e.child_frame_id) for e in tfs[-1].transforms}
        assert {("guide_1/map", "guide_1/odom"), ("guide_1/odom", "guide_1/base_link")} <= edges
        own = buffer.lookup("guide_1/map", "guide_1/base_link")
        assert own is not None and buffer.lookup("map", "guide_1/base_link") is None  # no site anchor
        site = MapTransform(**placed).to_site(*own.transform.pose2d())
        assert site[:2] == pytest.approx(pose_of(truth[-1])[:2], abs=5 * 0.02)
        assert site[:2] != pytest.approx(own.transform.pose2d()[:2], abs=1.0)  # a map of its own indeed

        bad = call(t, client, robot_id="robot_9", fault="slowdown", duration_s=1.0, value=0.5)
        assert not bad.ok and "robot_9" in bad.message and "delivery_1" in bad.message
        bad = call(t, client, robot_id="delivery_1", fault="teleport", duration_s=1.0)
        assert not bad.ok and "teleport" in bad.message and "localisation_dropout" in bad.message

        ok = call(t, client, robot_id="delivery_1", fault="localisation_dropout", duration_s=1.0)
        assert ok.ok, ok.message
        injected, seen_tf, seen_odom = seconds(clock[-1].clock), len(tfs), len(odoms)

        def delivery_tf_back() -> bool:
            return any(e.child_frame_id == "delivery_1/odom" for m in tfs[seen_tf:] for e in m.transforms)

        t.spin_until(delivery_tf_back, 10, "delivery_1's /tf after its dropout")
        back = next(m for m in tfs[seen_tf:] if any(e.child_frame_id == "delivery_1/odom" for e in m.transforms))
        during = tfs[seen_tf:tfs.index(back)]
        assert len(during) >= 10  # 1 s of sim time at 20 Hz, give or take the service's round trip
        assert all({e.child_frame_id for e in m.transforms} >= {"guide_1/odom", "delivery_2/base_link"}
                   and not any(e.child_frame_id.startswith("delivery_1/") for e in m.transforms) for m in during)
        assert seconds(back.transforms[0].header.stamp) >= injected + 0.9
        assert len(odoms) - seen_odom >= 10  # odometry went on

        sim.send_signal(signal.SIGTERM)
        assert sim.wait(timeout=10) == 0
