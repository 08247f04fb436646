"""Spinning a node on rclpy's EventsExecutor: a fraction of the SingleThreadedExecutor's overhead per callback
(its wait-set machinery took most of an agent's CPU), the same callbacks, timers, services and actions. Its
`spin()` is broken in the Jazzy wheels (shared/ROS2_WHEELS.md), so it is driven with spin_once."""

from __future__ import annotations

import rclpy
from rclpy.experimental import EventsExecutor
from rclpy.node import Node
from rclpy.task import Future


def spin(node: Node) -> None:
    """Run the node's callbacks until the context shuts down (SIGINT/SIGTERM, rclpy.shutdown)."""
    executor = EventsExecutor(context=node.context)
    executor.add_node(node)
    never = Future()  # spin_until_future_complete blocks in the executor's own loop; spin_once returns at once
    try:
        while rclpy.ok(context=node.context):
            executor.spin_until_future_complete(never, timeout_sec=1.0)
    finally:
        executor.shutdown(timeout_sec=1)
