"""The fleet manager's one rclpy node, spinning in its own thread.

Everything that touches rclpy runs on the ROS thread (calls are queued with executor.create_task);
everything that reaches asyncio goes through loop.call_soon_threadsafe.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import rclpy
from labfleet_interfaces.action import ExecuteTask
from labfleet_interfaces.msg import Contact, RobotState, RouteRelease
from labfleet_interfaces.srv import RobotCommand
from rclpy.action import ActionClient
from rclpy.action.client import ClientGoalHandle
from rclpy.context import Context
from rclpy.executors import Executor, ExternalShutdownException
from rclpy.experimental import EventsExecutor
from rclpy.node import Node
from rclpy.parameter import Parameter
from rclpy.qos import QoSProfile, ReliabilityPolicy

from fleet_manager.core.errors import Unavailable
from fleet_manager.core.robots import (
    Command,
    CommandResult,
    RobotReport,
    TaskFeedback,
    TaskRequest,
    TaskResult,
)
from fleet_manager.pilots.watch import ContactReport
from fleet_manager.ros import conversions

log = logging.getLogger(__name__)
T = TypeVar("T")

STATES_TOPIC = "/fleet/robot_states"
CONTACTS_TOPIC = "/sim/contacts"
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
        on_task_state: Callable[[str, str, str], None] | None = None,
    ) -> None:
        self._loop = loop
        self._on_states = on_states
        self._on_contact = on_contact  # the simulator's contacts, on the event loop
        self._on_task_state = on_task_state  # (robot id, task id, the agent's state) of every task feedback
        self._use_sim_time = use_sim_time
        self._node_name = node_name
        self._context = Context()
        self._node: Node | None = None
        self._executor: Executor | None = None
        self._thread: threading.Thread | None = None
        self._action_clients: dict[str, ActionClient] = {}
        self._command_clients: dict[str, Any] = {}
        self._release_pubs: dict[str, Any] = {}
        self._pending: dict[str, RobotReport] = {}  # newest unprocessed state per robot
        self._pending_lock = threading.Lock()
        self.received = 0

    # -- lifecycle ----------------------------------------------------------------------------
    def start(self) -> None:
        rclpy.init(context=self._context)
        node = Node(
            self._node_name,
            context=self._context,
            parameter_overrides=[Parameter("use_sim_time", value=self._use_sim_time)],
        )
        qos = QoSProfile(depth=1000, reliability=ReliabilityPolicy.RELIABLE)
        node.create_subscription(RobotState, STATES_TOPIC, self._on_state_msg, qos)
        if self._on_contact is not None:
            node.create_subscription(Contact, CONTACTS_TOPIC, self._on_contact_msg, qos)
        executor = EventsExecutor(context=self._context)
        executor.add_node(node)
        self._node, self._executor = node, executor
        self._thread = threading.Thread(target=self._spin, name="ros-bridge", daemon=True)
        self._thread.start()
        log.info("ROS bridge started (use_sim_time=%s)", self._use_sim_time)

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

    def now(self) -> float | None:
        """The node's clock in seconds (sim time when simulated); None before the first /clock."""
        if self._node is None:
            return None
        ns = self._node.get_clock().now().nanoseconds
        return ns * 1e-9 if ns > 0 else None

    # -- incoming robot states ------------------------------------------------------------------
    def _on_state_msg(self, msg: RobotState) -> None:
        report = conversions.robot_report(msg)
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
        contact = ContactReport(msg.robot_id, msg.other, msg.pose.x, msg.pose.y, msg.pose.yaw,
                                conversions.time_to_seconds(msg.stamp))
        self._loop.call_soon_threadsafe(self._on_contact, contact)

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

    def _ros_call(self, start: Callable[[], rclpy.task.Future]) -> asyncio.Future[Any]:
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

    async def _wait_ready(self, is_ready: Callable[[], bool], what: str) -> None:
        deadline = self._loop.time() + SERVER_WAIT_S
        while not await self._in_ros(is_ready):
            if self._loop.time() > deadline:
                raise Unavailable(f"{what} is not available")
            await asyncio.sleep(0.1)

    # -- tasks ----------------------------------------------------------------------------------
    def _action_client(self, robot_id: str) -> ActionClient:
        client = self._action_clients.get(robot_id)
        if client is None:
            assert self._node is not None
            client = ActionClient(self._node, ExecuteTask, f"/{robot_id}/execute_task")
            self._action_clients[robot_id] = client
        return client

    async def execute(
        self,
        robot_id: str,
        task: TaskRequest,
        on_accepted: Callable[[], Awaitable[None]],
        on_feedback: Callable[[TaskFeedback], None],
    ) -> TaskResult:
        """Send the task; returns its result. Cancelling the awaiting coroutine cancels the goal."""
        client = await self._in_ros(lambda: self._action_client(robot_id))
        await self._wait_ready(client.server_is_ready, f"robot {robot_id!r} (execute_task)")

        def feedback(msg: Any) -> None:
            fb = conversions.task_feedback(task.task_id, msg.feedback)
            self._loop.call_soon_threadsafe(on_feedback, fb)
            if self._on_task_state is not None:
                self._loop.call_soon_threadsafe(self._on_task_state, robot_id, fb.task_id, fb.state)

        goal = conversions.task_goal(task)
        send = self._ros_call(lambda: client.send_goal_async(goal, feedback))
        try:
            handle: ClientGoalHandle = await asyncio.shield(send)
        except asyncio.CancelledError:
            send.add_done_callback(self._cancel_when_accepted)
            raise
        if not handle.accepted:
            raise Unavailable(f"robot {robot_id!r} rejected task {task.task_id}")
        await on_accepted()
        result_future = self._ros_call(handle.get_result_async)
        try:
            response = await asyncio.shield(result_future)
        except asyncio.CancelledError:
            self._ros_call(handle.cancel_goal_async)
            raise
        return conversions.task_result(response.result)

    def _cancel_when_accepted(self, send: asyncio.Future[Any]) -> None:
        if send.cancelled() or send.exception() is not None:
            return
        handle = send.result()
        if handle.accepted:
            self._ros_call(handle.cancel_goal_async)

    async def release(self, robot_id: str, task_id: str, waypoints: int) -> None:
        """Let the robot drive its task's route up to and including waypoint `waypoints - 1`."""
        def publish() -> None:
            pub = self._release_pubs.get(robot_id)
            if pub is None:
                assert self._node is not None
                qos = QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE)
                pub = self._node.create_publisher(RouteRelease, f"/{robot_id}/route_release", qos)
                self._release_pubs[robot_id] = pub
            pub.publish(RouteRelease(task_id=task_id, released_waypoints=int(waypoints)))

        await self._in_ros(publish)

    # -- commands -------------------------------------------------------------------------------
    def _command_client(self, robot_id: str) -> Any:
        client = self._command_clients.get(robot_id)
        if client is None:
            assert self._node is not None
            client = self._node.create_client(RobotCommand, f"/{robot_id}/command")
            self._command_clients[robot_id] = client
        return client

    async def command(self, robot_id: str, command: Command, reason: str = "") -> tuple[CommandResult, str]:
        client = await self._in_ros(lambda: self._command_client(robot_id))
        try:
            await self._wait_ready(client.service_is_ready, f"robot {robot_id!r} (command)")
        except Unavailable as exc:
            return CommandResult.UNAVAILABLE, exc.message
        request = conversions.command_request(command, reason)
        response = await asyncio.wait_for(self._ros_call(lambda: client.call_async(request)), timeout=5.0)
        return conversions.command_result(response)


def _set_result(fut: asyncio.Future[Any], value: Any) -> None:
    if not fut.done():
        fut.set_result(value)


def _set_exception(fut: asyncio.Future[Any], exc: BaseException) -> None:
    if not fut.done():
        fut.set_exception(exc)
