"""The labfleet adapter: robots that run our agent (`labfleet-agent`). A task is an ExecuteTask goal holding
the whole route and how much of it is released; a longer release is a RouteRelease on
`<ns>/route_release`; commands go to the `<ns>/command` service, signed with the lab's command key
(labfleet_robot/command_auth.py: the agent refuses unauthenticated resume, release and dock). The agents' states
arrive on /fleet/robot_states through the ROS bridge. Conversions: fleet_manager/ros/conversions.py."""

from __future__ import annotations

import asyncio
from typing import Any

from labfleet_interfaces.action import ExecuteTask
from labfleet_interfaces.msg import RouteRelease
from labfleet_interfaces.srv import RobotCommand
from labfleet_robot.command_auth import Signer
from rclpy.action import ActionClient
from rclpy.action.client import ClientGoalHandle
from rclpy.qos import QoSProfile, ReliabilityPolicy

from fleet_manager.adapters.base import Accepted, OnFeedback
from fleet_manager.aio import within
from fleet_manager.core.errors import Unavailable
from fleet_manager.core.robots import Command, CommandResult, TaskRequest, TaskResult
from fleet_manager.robots.roster import Registration
from fleet_manager.ros import conversions
from fleet_manager.ros.bridge import RosBridge

COMMAND_TIMEOUT_S = 5.0


class LabfleetAdapter:
    name = "labfleet"

    def __init__(self, bridge: RosBridge, signer: Signer) -> None:
        self.bridge = bridge
        self.signer = signer  # signs every command; knows its nonces (audit/reported.py skips our own)
        # ROS thread only (made lazily there): per robot id
        self._action_clients: dict[str, ActionClient] = {}
        self._command_clients: dict[str, Any] = {}
        self._release_pubs: dict[str, Any] = {}

    def attach(self, robot: Registration) -> None:
        pass  # clients are made on first use, in the robot's namespace

    def detach(self, robot_id: str) -> None:
        def forget(_node: Any) -> None:
            for table in (self._action_clients, self._command_clients, self._release_pubs):
                entity = table.pop(robot_id, None)
                if entity is not None:
                    entity.destroy()
        if self.bridge.running:
            self.bridge.in_ros(forget)

    async def close(self) -> None:
        pass  # the bridge's node owns every client

    # -- tasks ----------------------------------------------------------------------------------
    def _action_client(self, robot: Registration) -> ActionClient:
        client = self._action_clients.get(robot.id)
        if client is None:
            client = ActionClient(self.bridge.node, ExecuteTask, f"{robot.namespace}/execute_task")
            self._action_clients[robot.id] = client
        return client

    async def execute(self, robot: Registration, task: TaskRequest, on_accepted: Accepted,
                      on_feedback: OnFeedback) -> TaskResult:
        """Send the task; returns its result. Cancelling the awaiting coroutine cancels the goal."""
        loop = asyncio.get_running_loop()
        client = await self.bridge.in_ros(lambda _node: self._action_client(robot))
        await self.bridge.wait_ready(client.server_is_ready, f"robot {robot.id!r} (execute_task)")

        def feedback(msg: Any) -> None:
            loop.call_soon_threadsafe(on_feedback, conversions.task_feedback(task.task_id, msg.feedback))

        goal = conversions.task_goal(task)
        send = self.bridge.ros_call(lambda: client.send_goal_async(goal, feedback))
        try:
            handle: ClientGoalHandle = await asyncio.shield(send)
        except asyncio.CancelledError:
            send.add_done_callback(self._cancel_when_accepted)
            raise
        if not handle.accepted:
            raise Unavailable(f"robot {robot.id!r} refused the task (e-stopped, or not localised)")
        await on_accepted()
        result_future = self.bridge.ros_call(handle.get_result_async)
        try:
            response = await asyncio.shield(result_future)
        except asyncio.CancelledError:
            self.bridge.ros_call(handle.cancel_goal_async)
            raise
        return conversions.task_result(response.result)

    def _cancel_when_accepted(self, send: asyncio.Future[Any]) -> None:
        if send.cancelled() or send.exception() is not None:
            return
        handle = send.result()
        if handle.accepted:
            self.bridge.ros_call(handle.cancel_goal_async)

    async def release(self, robot: Registration, task_id: str, waypoints: int) -> None:
        def publish(_node: Any) -> None:
            pub = self._release_pubs.get(robot.id)
            if pub is None:
                qos = QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE)
                pub = self.bridge.node.create_publisher(RouteRelease, f"{robot.namespace}/route_release", qos)
                self._release_pubs[robot.id] = pub
            pub.publish(RouteRelease(task_id=task_id, released_waypoints=int(waypoints)))

        await self.bridge.in_ros(publish)

    # -- commands -------------------------------------------------------------------------------
    def _command_client(self, robot: Registration) -> Any:
        client = self._command_clients.get(robot.id)
        if client is None:
            client = self.bridge.node.create_client(RobotCommand, f"{robot.namespace}/command")
            self._command_clients[robot.id] = client
        return client

    async def command(self, robot: Registration, command: Command, reason: str) -> tuple[CommandResult, str]:
        client = await self.bridge.in_ros(lambda _node: self._command_client(robot))
        try:
            await self.bridge.wait_ready(client.service_is_ready, f"robot {robot.id!r} (command)")
        except Unavailable as exc:
            return CommandResult.UNAVAILABLE, exc.message
        signed = self.signer.sign(robot.id, conversions.command_code(command), reason)
        request = conversions.command_request(command, reason, signed)
        response = await within(self.bridge.ros_call(lambda: client.call_async(request)), COMMAND_TIMEOUT_S)
        return conversions.command_result(response)
