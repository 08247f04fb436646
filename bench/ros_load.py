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


def publish_states(domain: int, robots: int, rate_hz: float, seconds: float, out: Queue[Any],
                   spread: bool = False) -> None:
    """Publish RobotState for `robots` robots at `rate_hz` each, for `seconds`; report the count sent. All robots at
    once each period, or with `spread` one after the other across it (robots whose clocks are not in step)."""
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
    slot = period / len(msgs) if spread and msgs else 0.0
    while time.monotonic() - start < seconds:
        for i, m in enumerate(msgs):
            if slot:
                wait = tick + i * slot - time.monotonic()
                if wait > 0.0005:
                    time.sleep(wait)
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


def watch_states(domain: int, warmup: float, seconds: float, out: Queue[Any]) -> None:
    """A plain rclpy subscriber, the baseline of what a client could see: after `warmup`, for `seconds`, the states
    received per robot and each state's age on arrival (now - the wall time the publisher stamped it with)."""
    _ros_env(domain)
    import numpy as np
    import rclpy
    from labfleet_interfaces.msg import RobotState
    from rclpy.executors import SingleThreadedExecutor
    from rclpy.qos import QoSProfile, ReliabilityPolicy

    rclpy.init()
    node = rclpy.create_node("bench_subscriber", start_parameter_services=False, enable_rosout=False)
    counts: dict[str, int] = {}
    ages: list[float] = []
    window = [False]

    def on_msg(msg: RobotState) -> None:
        if window[0]:
            ages.append(time.time() - msg.wall_time)
            counts[msg.id] = counts.get(msg.id, 0) + 1

    node.create_subscription(RobotState, "/fleet/robot_states", on_msg,
                             QoSProfile(depth=1000, reliability=ReliabilityPolicy.RELIABLE))
    executor = SingleThreadedExecutor()
    executor.add_node(node)
    end_warmup = time.monotonic() + warmup
    while time.monotonic() < end_warmup:
        executor.spin_once(timeout_sec=0.05)
    window[0] = True
    t0 = time.monotonic()
    while time.monotonic() - t0 < seconds:
        executor.spin_once(timeout_sec=0.05)
    window[0] = False
    out.put(("raw", counts, np.array(ages), time.monotonic() - t0))
    node.destroy_node()
    rclpy.shutdown()
