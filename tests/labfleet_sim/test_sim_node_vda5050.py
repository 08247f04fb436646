"""`labfleet-sim --ros-args ...` with a VDA 5050 robot: it keeps its ROS sensor topics and /tf, takes no cmd_vel,
and answers a master control's order over the real Mosquitto broker; SIGTERM ends with connection OFFLINE."""

from __future__ import annotations

import math
import signal
import uuid
from pathlib import Path

import pytest
import yaml
from geometry_msgs.msg import Twist
from nav_msgs.msg import Odometry
from rclpy.qos import QoSProfile, ReliabilityPolicy
from tf2_msgs.msg import TFMessage

from tests.conftest import VENV_BIN
from tests.labfleet_sim.vda_helpers import MqttMaster, make_order
from tests.ros_helpers import child_process, ros_test_node
from vda5050.topics import Topic

pytestmark = pytest.mark.ros
SITE = Path(__file__).resolve().parents[2] / "sim_worlds" / "living_lab"


def planar(odom: Odometry) -> tuple[float, float, float]:
    p, q = odom.pose.pose.position, odom.pose.pose.orientation
    return p.x, p.y, 2 * math.atan2(q.z, q.w)


def test_a_vda5050_robot_in_ros_mode(ros_env: dict[str, str], tmp_path: Path) -> None:
    fleet = yaml.safe_load((SITE / "fleet.yaml").read_text())
    next(r for r in fleet["robots"] if r["id"] == "delivery_1")["robot_api"] = "vda5050"
    (tmp_path / "fleet.yaml").write_text(yaml.safe_dump(fleet))
    interface = f"uagv_test_{uuid.uuid4().hex[:10]}"
    argv = [str(VENV_BIN / "labfleet-sim"), "--ros-args", "-p", f"world_file:={SITE / 'world.sdf'}",
            "-p", f"fleet_file:={tmp_path / 'fleet.yaml'}", "-p", "real_time_factor:=2.0",
            "-p", f"vda5050_interface:={interface}"]
    master = MqttMaster(interface, ["delivery_1"])
    try:
        with child_process(argv, ros_env) as sim, ros_test_node("vda_probe", int(ros_env["ROS_DOMAIN_ID"])) as t:
            tfs: list[TFMessage] = []
            truth: list[Odometry] = []
            n = t.node
            n.create_subscription(TFMessage, "/tf", tfs.append, QoSProfile(depth=100,
                                                                          reliability=ReliabilityPolicy.RELIABLE))
            n.create_subscription(Odometry, "/delivery_1/ground_truth", truth.append, 10)
            cmd = n.create_publisher(Twist, "/delivery_1/cmd_vel", 10)
            t.spin_until(lambda: bool(tfs and truth) and n.count_subscribers("/delivery_2/cmd_vel") == 1, 20,
                         "/tf, ground truth and the simulator's cmd_vel subscriptions")
            edges = {(e.header.frame_id, e.child_frame_id) for e in tfs[-1].transforms}
            assert {("map", "delivery_1/odom"), ("delivery_1/odom", "delivery_1/base_link")} <= edges
            assert n.count_subscribers("/delivery_1/cmd_vel") == 0  # a VDA 5050 vehicle takes no cmd_vel

            t.spin_until(lambda: master.connection("delivery_1") == "ONLINE" and bool(master.of("delivery_1",
                                                                                               Topic.STATE)),
                         10, "delivery_1 online on the broker")
            forward = Twist()
            forward.linear.x = 0.5
            for _ in range(25):
                cmd.publish(forward)
                t.spin_for(0.02)
            assert planar(truth[-1])[:2] == pytest.approx((24.9, 2.0), abs=1e-6)  # it did not move

            master.send("delivery_1", make_order("delivery_1", "living_lab", "ros-1",
                                                 [("charger_1", 24.9, 2.0), ("bay_1", 24.9, 4.5)]))

            def done() -> bool:
                state = master.of("delivery_1", Topic.STATE)[-1]
                return state["orderId"] == "ros-1" and not state["nodeStates"] and not state["driving"]

            t.spin_until(done, 20, "the order done")
            t.spin_for(0.1)
            assert planar(truth[-1])[:2] == pytest.approx((24.9, 4.5), abs=0.25)
            assert any(s["driving"] for s in master.of("delivery_1", Topic.STATE))

            sim.send_signal(signal.SIGTERM)
            assert sim.wait(timeout=10) == 0
        master.wait_for(lambda: master.connection("delivery_1") == "OFFLINE", 5, "connection OFFLINE")
    finally:
        master.close()
