"""The fleet manager's one rclpy node, spinning in its own thread: the clock, the labfleet agents' states and
the commands they report receiving (/fleet/command_log), and the simulator's contacts; the ROS robot adapters
(adapters/labfleet.py, adapters/nav2.py) make their clients and subscriptions on this node.

Everything that touches rclpy runs on the ROS thread (calls are queued with executor.create_task);
everything that reaches asyncio goes through loop.call_soon_threadsafe.
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
from collections.abc import Callable
from typing import Any, TypeVar

import rclpy
from labfleet_interfaces.msg import CommandReport as CommandReportMsg
from labfleet_interfaces.msg import Contact, Pedestrians, RobotState
from labfleet_robot import command_auth
from rclpy.context import Context
from rclpy.executors import Executor, ExternalShutdownException
from rclpy.experimental import EventsExecutor
from rclpy.node import Node
from rclpy.parameter import Parameter
from rclpy.qos import QoSProfile, ReliabilityPolicy
from rclpy.serialization import deserialize_message

from fleet_manager.core.errors import Unavailable
from fleet_manager.core.robots import CommandReport, RobotReport
from fleet_manager.pilots.watch import ContactReport
from fleet_manager.ros import conversions, discovery, state_cdr

log = logging.getLogger(__name__)
T = TypeVar("T")

STATES_TOPIC = "/fleet/robot_states"
CONTACTS_TOPIC = "/sim/contacts"
PEDESTRIANS_TOPIC = "/sim/pedestrians"
COMMAND_LOG_TOPIC = "/fleet/command_log"  # labfleet_robot/agent_node.py: every command an agent received
SERVER_WAIT_S = 5.0


class RosBridge:
    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        on_states: Callable[[list[RobotReport]], None],
        *,
        use_sim_time: bool = False,
        node_name: str = "fleet_manager",
        on_contact: Callable[[ContactReport], None] | None = None,
        on_pedestrians: Callable[[float, list[str], list[tuple[float, float]]], None] | None = None,
        discovery: str = "localhost",
        on_command_report: Callable[[CommandReport], None] | None = None,
        contact_key: bytes | None = None,
        on_forged_contact: Callable[[str, str, str], None] | None = None,
    ) -> None:
        self._loop = loop
        self._on_states = on_states
        self._on_contact = on_contact  # the simulator's contacts, on the event loop
        self._on_pedestrians = on_pedestrians  # where its pedestrians are, on the event loop
        self._on_command_report = on_command_report  # the agents' reports of the commands they got, on the loop
        # contacts are taken only when the lab's simulator signed them (with a key; command_auth.ContactCheck);
        # the others go to on_forged_contact(robot, other, why), on the loop
        self._contacts = command_auth.ContactCheck(contact_key)
        self._on_forged_contact = on_forged_contact
        self._use_sim_time = use_sim_time
        self._node_name = node_name
        self._discovery = discovery
        self._context = Context()
        self._node: Node | None = None
        self._executor: Executor | None = None
        self._thread: threading.Thread | None = None
        self._pending: dict[str, RobotReport] = {}  # newest unprocessed state per robot
        self._pending_lock = threading.Lock()
        self._cdr_fallback = False  # robot states read through rclpy (state_cdr refused one): said once
        self.received = 0

    # -- lifecycle ----------------------------------------------------------------------------
    def start(self) -> None:
        # the discovery mode is read from the environment when the participant is made: this process's own
        wanted = discovery.discovery_env(self._discovery, super_client=True)
        for key in discovery.KEYS:
            os.environ.pop(key, None)
        os.environ.update(wanted)
        rclpy.init(context=self._context)
        node = Node(
            self._node_name,
            context=self._context,
            parameter_overrides=[Parameter("use_sim_time", value=self._use_sim_time)],
        )
        qos = QoSProfile(depth=1000, reliability=ReliabilityPolicy.RELIABLE)
        node.create_subscription(RobotState, STATES_TOPIC, self._on_state_bytes, qos, raw=True)  # (state_cdr.py)
        if self._on_contact is not None:
            node.create_subscription(Contact, CONTACTS_TOPIC, self._on_contact_msg, qos)
        if self._on_pedestrians is not None:
            node.create_subscription(Pedestrians, PEDESTRIANS_TOPIC, self._on_pedestrians_msg, 10)
        if self._on_command_report is not None:
            node.create_subscription(CommandReportMsg, COMMAND_LOG_TOPIC, self._on_command_report_msg,
                                     QoSProfile(depth=100, reliability=ReliabilityPolicy.RELIABLE))
        executor = EventsExecutor(context=self._context)
        executor.add_node(node)
        self._node, self._executor = node, executor
        self._thread = threading.Thread(target=self._spin, name="ros-bridge", daemon=True)
        self._thread.start()
        log.info("ROS bridge started (use_sim_time=%s, discovery %s)", self._use_sim_time, self._discovery)

    def _spin(self) -> None:
        assert self._executor is not None
        try:
            while self._context.ok():
                self._executor.spin_once(timeout_sec=0.1)
        except (ExternalShutdownException, rclpy.executors.ShutdownException):
            pass
        except Exception:  # the context was shut down under a spin_once
            if self._context.ok():
                log.exception("ROS bridge thread failed")

    def stop(self) -> None:
        if self._thread is None:
            return
        rclpy.try_shutdown(context=self._context)
        self._thread.join(timeout=5)
        if self._executor is not None:
            self._executor.shutdown(timeout_sec=1)
        if self._node is not None:
            self._node.destroy_node()
        self._thread = None
        log.info("ROS bridge stopped")

    @property
    def node_name(self) -> str:
        """The node's name: the origin it states in the commands it sends."""
        return self._node_name

    @property
    def running(self) -> bool:
        return self._executor is not None and self._context.ok()

    @property
    def node(self) -> Node:
        """The bridge's node: use it on the ROS thread only (in_ros)."""
        if self._node is None:
            raise Unavailable("the ROS bridge is not running")
        return self._node

    def now(self) -> float | None:
        """The node's clock in seconds (sim time when simulated); None before the first /clock."""
        if self._node is None:
            return None
        ns = self._node.get_clock().now().nanoseconds
        return ns * 1e-9 if ns > 0 else None

    # -- incoming robot states ------------------------------------------------------------------
    def _on_state_bytes(self, data: bytes) -> None:
        try:
            report = state_cdr.robot_report(data)
        except state_cdr.CdrError as exc:  # another layout than ours: rclpy reads it (slower), and we say so once
            if not self._cdr_fallback:
                self._cdr_fallback = True
                log.warning("robot states read through rclpy: %s (is labfleet_interfaces newer than the bridge?)", exc)
            report = conversions.robot_report(deserialize_message(data, RobotState))
        self._take_report(report)

    def _take_report(self, report: RobotReport) -> None:
        with self._pending_lock:
            first = not self._pending
            self._pending[report.id] = report
        self.received += 1
        if first:  # one wake-up per batch, not per message
            self._loop.call_soon_threadsafe(self._flush)

    def _flush(self) -> None:
        with self._pending_lock:
            batch, self._pending = list(self._pending.values()), {}
        if batch:
            self._on_states(batch)

    def _on_contact_msg(self, msg: Contact) -> None:
        assert self._on_contact is not None
        auth = self._contacts.check(msg.robot_id, msg.other, msg.by, msg.other_kind,
                                    msg.stamp.sec * 1_000_000_000 + msg.stamp.nanosec, msg.nonce, msg.signature)
        if auth not in (command_auth.Auth.OK, command_auth.Auth.NO_KEY):
            log.warning("contact of %r with %r on %s refused: %s (not from the lab's simulator)", msg.robot_id,
                        msg.other, CONTACTS_TOPIC, auth)
            if self._on_forged_contact is not None:
                self._loop.call_soon_threadsafe(self._on_forged_contact, msg.robot_id, msg.other, str(auth))
            return
        contact = ContactReport(msg.robot_id, msg.other, msg.pose.x, msg.pose.y, msg.pose.yaw,
                                conversions.time_to_seconds(msg.stamp), msg.by or "robot", float(msg.robot_speed),
                                float(msg.relative_speed), msg.other_kind)
        self._loop.call_soon_threadsafe(self._on_contact, contact)

    def _on_pedestrians_msg(self, msg: Pedestrians) -> None:
        assert self._on_pedestrians is not None
        centres = [(float(x), float(y)) for x, y in zip(msg.x, msg.y, strict=False)]
        self._loop.call_soon_threadsafe(self._on_pedestrians, conversions.time_to_seconds(msg.stamp),
                                        list(msg.names), centres)

    def _on_command_report_msg(self, msg: CommandReportMsg) -> None:
        assert self._on_command_report is not None
        self._loop.call_soon_threadsafe(self._on_command_report, conversions.command_report(msg))

    # -- calls into the ROS thread --------------------------------------------------------------
    def _in_ros(self, fn: Callable[[], T]) -> asyncio.Future[T]:
        if self._executor is None or not self._context.ok():
            raise Unavailable("the ROS bridge is not running")
        result: asyncio.Future[T] = self._loop.create_future()

        def run() -> None:
            try:
                value = fn()
            except BaseException as exc:  # handed to the awaiting coroutine
                self._loop.call_soon_threadsafe(_set_exception, result, exc)
            else:
                self._loop.call_soon_threadsafe(_set_result, result, value)

        self._executor.create_task(run)
        return result

    def in_ros(self, fn: Callable[[Node], T]) -> asyncio.Future[T]:
        """Run fn(node) on the ROS thread (other adapters create their subscriptions on our node this way)."""
        return self._in_ros(lambda: fn(self._node))  # type: ignore[arg-type]  # set while running

    def ros_call(self, start: Callable[[], rclpy.task.Future]) -> asyncio.Future[Any]:
        """Start an rclpy call on the ROS thread; the asyncio future completes with its result."""
        if self._executor is None or not self._context.ok():
            raise Unavailable("the ROS bridge is not running")
        result: asyncio.Future[Any] = self._loop.create_future()

        def done(f: rclpy.task.Future) -> None:
            exc = f.exception()
            if exc is not None:
                self._loop.call_soon_threadsafe(_set_exception, result, exc)
            else:
                self._loop.call_soon_threadsafe(_set_result, result, f.result())

        def run() -> None:
            try:
                start().add_done_callback(done)
            except BaseException as exc:
                self._loop.call_soon_threadsafe(_set_exception, result, exc)

        self._executor.create_task(run)
        return result

    async def wait_ready(self, is_ready: Callable[[], bool], what: str, timeout_s: float = SERVER_WAIT_S) -> None:
        """Poll is_ready() on the ROS thread until true; Unavailable naming `what` after timeout_s."""
        deadline = self._loop.time() + timeout_s
        while not await self._in_ros(is_ready):
            if self._loop.time() > deadline:
                raise Unavailable(f"{what} is not available")
            await asyncio.sleep(0.1)

def _set_result(fut: asyncio.Future[Any], value: Any) -> None:
    if not fut.done():
        fut.set_result(value)


def _set_exception(fut: asyncio.Future[Any], exc: BaseException) -> None:
    if not fut.done():
        fut.set_exception(exc)
