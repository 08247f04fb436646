"""Shared pieces of the benchmarks: a RobotState load generator and a raw rclpy subscriber, each meant
to run in a process of its own (multiprocessing 'spawn')."""

from __future__ import annotations

import os
import time
from multiprocessing.queues import Queue
from typing import Any


def _ros_env(domain: int) -> None:
    os.environ["ROS_DOMAIN_ID"] = str(domain)
    os.environ["ROS_AUTOMATIC_DISCOVERY_RANGE"] = "LOCALHOST"


def publish_states(domain: int, robots: int, rate_hz: float, seconds: float, out: Queue[Any]) -> None:
    """Publish RobotState for `robots` robots at `rate_hz` each, for `seconds`; report the count sent."""
    _ros_env(domain)
    import rclpy
    from labfleet_interfaces.msg import RobotState
    from rclpy.qos import QoSProfile, ReliabilityPolicy

    rclpy.init()
    node = rclpy.create_node("bench_publisher", start_parameter_services=False, enable_rosout=False)
    pub = node.create_publisher(RobotState, "/fleet/robot_states",
                                QoSProfile(depth=1000, reliability=ReliabilityPolicy.RELIABLE))
    msgs = []
    for i in range(robots):
        m = RobotState()
        m.id, m.kind, m.model = f"bench_{i:04d}", "delivery", "deliverybot"
        m.pose.x, m.pose.y = float(i % 30), float(i // 30)
        m.battery_percentage = 80.0
        msgs.append(m)
    time.sleep(2.0)  # discovery
    sent = 0
    period = 1.0 / rate_hz
    start = time.monotonic()
    tick = start
    while time.monotonic() - start < seconds:
        for m in msgs:
            m.wall_time = time.time()
            pub.publish(m)
            sent += 1
        tick += period
        delay = tick - time.monotonic()
        if delay > 0:
            time.sleep(delay)
    out.put(("published", sent, time.monotonic() - start))
    node.destroy_node()
    rclpy.shutdown()


def count_states(domain: int, warmup: float, seconds: float, out: Queue[Any]) -> None:
    """A plain rclpy subscriber: messages per second received after `warmup`, over `seconds`."""
    _ros_env(domain)
    import rclpy
    from labfleet_interfaces.msg import RobotState
    from rclpy.executors import SingleThreadedExecutor
    from rclpy.qos import QoSProfile, ReliabilityPolicy

    rclpy.init()
    node = rclpy.create_node("bench_subscriber", start_parameter_services=False, enable_rosout=False)
    count = [0]

    def on_msg(_: RobotState) -> None:
        count[0] += 1

    node.create_subscription(RobotState, "/fleet/robot_states", on_msg,
                             QoSProfile(depth=1000, reliability=ReliabilityPolicy.RELIABLE))
    executor = SingleThreadedExecutor()
    executor.add_node(node)
    end_warmup = time.monotonic() + warmup
    while time.monotonic() < end_warmup:
        executor.spin_once(timeout_sec=0.05)
    first = count[0]
    t0 = time.monotonic()
    while time.monotonic() - t0 < seconds:
        executor.spin_once(timeout_sec=0.05)
    out.put(("raw", (count[0] - first) / (time.monotonic() - t0)))
    node.destroy_node()
    rclpy.shutdown()
