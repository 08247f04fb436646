"""The simulator as a real ROS 2 process: clock, driver topics with their frames and QoS, cmd_vel."""

from __future__ import annotations

import signal
from pathlib import Path

import pytest
from geometry_msgs.msg import Twist
from nav_msgs.msg import Odometry
from rclpy.qos import qos_profile_sensor_data
from rosgraph_msgs.msg import Clock
from sensor_msgs.msg import BatteryState, LaserScan

from tests.conftest import VENV_BIN
from tests.ros_helpers import child_process, ros_test_node

pytestmark = pytest.mark.ros
SITE = Path(__file__).resolve().parents[2] / "sim_worlds" / "living_lab"


def test_sim_node_presents_driver_topics_and_obeys_cmd_vel(ros_env):
    argv = [str(VENV_BIN / "labfleet-sim"), "--ros-args", "-p", f"world_file:={SITE / 'world.sdf'}",
            "-p", f"fleet_file:={SITE / 'fleet.yaml'}"]
    with child_process(argv, ros_env) as sim, ros_test_node("sim_probe", int(ros_env["ROS_DOMAIN_ID"])) as t:
        got: dict[str, list] = {"clock": [], "odom": [], "scan": [], "battery": []}
        n = t.node
        n.create_subscription(Clock, "/clock", got["clock"].append, 10)
        n.create_subscription(Odometry, "/delivery_1/odom", got["odom"].append, 10)
        n.create_subscription(LaserScan, "/delivery_1/scan", got["scan"].append, qos_profile_sensor_data)
        n.create_subscription(BatteryState, "/delivery_1/battery_state", got["battery"].append, 10)
        cmd = n.create_publisher(Twist, "/delivery_1/cmd_vel", 10)
        t.spin_until(lambda: all(got.values()), 20, "clock, odom, scan and battery_state")

        odom, scan, battery = got["odom"][-1], got["scan"][-1], got["battery"][-1]
        assert (odom.header.frame_id, odom.child_frame_id) == ("delivery_1/odom", "delivery_1/base_link")
        assert scan.header.frame_id == "delivery_1/base_link" and len(scan.ranges) == 180
        assert 0.9 < battery.percentage <= 0.95 and battery.present
        start = got["clock"][-1].clock
        x0, y0 = odom.pose.pose.position.x, odom.pose.pose.position.y
        assert (x0, y0) == pytest.approx((24.9, 2.0), abs=1e-3)

        forward = Twist()
        forward.linear.x = 0.5
        for _ in range(60):  # 1.2 s of commands, then silence: the sim stops the robot by itself
            cmd.publish(forward)
            t.spin_for(0.02)
        t.spin_for(1.5)
        end = got["clock"][-1].clock
        assert (end.sec + end.nanosec * 1e-9) - (start.sec + start.nanosec * 1e-9) > 2.0
        last = got["odom"][-1]
        assert last.pose.pose.position.y - y0 > 0.2  # it faces north (+y)
        assert abs(last.twist.twist.linear.x) < 1e-6

        sim.send_signal(signal.SIGTERM)
        assert sim.wait(timeout=10) == 0
