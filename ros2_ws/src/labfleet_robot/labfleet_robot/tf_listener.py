"""/tf and /tf_static into a TfBuffer, as tf2_ros's TransformListener does, for a node without tf2_ros."""

from __future__ import annotations

from rclpy.node import Node
from rclpy.qos import DurabilityPolicy, HistoryPolicy, QoSProfile, ReliabilityPolicy
from tf2_msgs.msg import TFMessage

from labfleet_robot import conversions
from labfleet_robot.frames import TfBuffer

# tf2_ros's listener profiles: /tf reliable, depth 100; /tf_static reliable and transient local (a late joiner
# still gets every static frame; the broadcaster side keeps depth 1), depth 100 on the listener
TF_QOS = QoSProfile(depth=100, reliability=ReliabilityPolicy.RELIABLE, durability=DurabilityPolicy.VOLATILE,
                    history=HistoryPolicy.KEEP_LAST)
TF_STATIC_QOS = QoSProfile(depth=100, reliability=ReliabilityPolicy.RELIABLE,
                           durability=DurabilityPolicy.TRANSIENT_LOCAL, history=HistoryPolicy.KEEP_LAST)


class TfListener:
    """Keeps `buffer` up to date from the node's /tf and /tf_static subscriptions."""

    def __init__(self, node: Node, tf_topic: str = "/tf", tf_static_topic: str = "/tf_static",
                 buffer: TfBuffer | None = None) -> None:
        self.buffer = buffer if buffer is not None else TfBuffer()
        node.create_subscription(TFMessage, tf_topic, self._on_tf, TF_QOS)
        node.create_subscription(TFMessage, tf_static_topic, self._on_tf_static, TF_STATIC_QOS)

    def _on_tf(self, msg: TFMessage) -> None:
        for parent, child, transform, stamp in conversions.tf_edges(msg):
            self.buffer.set(parent, child, transform, stamp)

    def _on_tf_static(self, msg: TFMessage) -> None:
        for parent, child, transform, stamp in conversions.tf_edges(msg):
            self.buffer.set(parent, child, transform, stamp, static=True)
