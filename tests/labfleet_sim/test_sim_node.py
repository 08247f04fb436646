"""The simulator as a real ROS 2 process: clock, driver topics with their frames and QoS, cmd_vel."""

from __future__ import annotations

import itertools
import os
import signal
import time
from pathlib import Path

import numpy as np
import pytest
from geometry_msgs.msg import Twist
from labfleet_interfaces.msg import Contact
from nav_msgs.msg import Odometry
from rclpy.qos import QoSProfile, ReliabilityPolicy, qos_profile_sensor_data
from rosgraph_msgs.msg import Clock
from sensor_msgs.msg import BatteryState, LaserScan

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


def test_sim_node_presents_driver_topics_and_obeys_cmd_vel(sim_env):
    argv = [str(VENV_BIN / "labfleet-sim"), "--ros-args", "-p", f"world_file:={SITE / 'world.sdf'}",
            "-p", f"fleet_file:={SITE / 'fleet.yaml'}"]
    with child_process(argv, sim_env) as sim, ros_test_node("sim_probe", int(sim_env["ROS_DOMAIN_ID"])) as t:
        got: dict[str, list] = {"clock": [], "odom": [], "scan": [], "battery": []}
        contacts: list[Contact] = []
        n = t.node
        n.create_subscription(Clock, "/clock", got["clock"].append, 10)
        n.create_subscription(Odometry, "/delivery_1/odom", got["odom"].append, 10)
        n.create_subscription(LaserScan, "/delivery_1/scan", got["scan"].append, qos_profile_sensor_data)
        n.create_subscription(BatteryState, "/delivery_1/battery_state", got["battery"].append, 10)
        n.create_subscription(Contact, "/sim/contacts", contacts.append,
                              QoSProfile(depth=100, reliability=ReliabilityPolicy.RELIABLE))
        cmd = n.create_publisher(Twist, "/delivery_1/cmd_vel", 10)
        t.spin_until(lambda: all(got.values()), 20, "clock, odom, scan and battery_state")

        odom, scan, battery = got["odom"][-1], got["scan"][-1], got["battery"][-1]
        assert (odom.header.frame_id, odom.child_frame_id) == ("delivery_1/odom", "delivery_1/base_link")
        assert scan.header.frame_id == "delivery_1/base_link" and len(scan.ranges) == 180
        ranges = np.array(scan.ranges)
        assert np.isfinite(ranges).any() and ranges[np.isfinite(ranges)].min() > 0.1  # the charging alcove's walls
        # delivery_1 starts on its charger at 95 %: it charges
        assert 0.95 <= battery.percentage < 0.96 and battery.present
        assert battery.power_supply_status == BatteryState.POWER_SUPPLY_STATUS_CHARGING
        start, wall_start = seconds(got["clock"][-1].clock), time.monotonic()
        x0, y0 = odom.pose.pose.position.x, odom.pose.pose.position.y
        assert (x0, y0) == pytest.approx((24.9, 2.0), abs=1e-3)

        forward = Twist()
        forward.linear.x = 0.5
        for _ in range(60):  # 1.2 s of commands, then silence: the sim stops the robot by itself
            cmd.publish(forward)
            t.spin_for(0.02)
        t.spin_for(1.5)
        sim_elapsed, wall_elapsed = seconds(got["clock"][-1].clock) - start, time.monotonic() - wall_start
        assert sim_elapsed > 2.0 and sim_elapsed < 2 * wall_elapsed  # sim time advances, never ahead of real time
        stamps = [seconds(c.clock) for c in got["clock"]]
        assert all(b > a for a, b in itertools.pairwise(stamps))  # /clock only moves forward
        last = got["odom"][-1]
        assert last.pose.pose.position.y - y0 > 0.2  # it faces north (+y)
        assert abs(last.twist.twist.linear.x) < 1e-6

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
