"""The one place where ROS messages and the fleet manager's own types meet."""

from __future__ import annotations

from builtin_interfaces.msg import Time
from labfleet_interfaces.action import ExecuteTask
from labfleet_interfaces.msg import CommandReport as CommandReportMsg
from labfleet_interfaces.msg import Pose2D, RobotState
from labfleet_interfaces.msg import TaskAction as TaskActionMsg
from labfleet_interfaces.msg import Waypoint as WaypointMsg
from labfleet_interfaces.srv import RobotCommand
from labfleet_robot.command_auth import Signed

from fleet_manager.core.robots import (
    MODE_BY_CODE,
    Command,
    CommandReport,
    CommandResult,
    RobotMode,
    RobotReport,
    TaskFeedback,
    TaskOutcome,
    TaskRequest,
    TaskResult,
)

_COMMAND_CODES = {
    Command.PAUSE: RobotCommand.Request.PAUSE,
    Command.RESUME: RobotCommand.Request.RESUME,
    Command.ESTOP: RobotCommand.Request.ESTOP,
    Command.RELEASE: RobotCommand.Request.RELEASE,
    Command.DOCK: RobotCommand.Request.DOCK,
}
_COMMANDS_BY_CODE = {code: command for command, code in _COMMAND_CODES.items()}
_COMMAND_RESULTS = {
    RobotCommand.Response.RESULT_OK: CommandResult.OK,
    RobotCommand.Response.RESULT_REJECTED: CommandResult.REJECTED,
    RobotCommand.Response.RESULT_UNKNOWN_COMMAND: CommandResult.UNKNOWN_COMMAND,
}
_OUTCOMES = {
    ExecuteTask.Result.OUTCOME_SUCCEEDED: TaskOutcome.SUCCEEDED,
    ExecuteTask.Result.OUTCOME_FAILED: TaskOutcome.FAILED,
    ExecuteTask.Result.OUTCOME_CANCELED: TaskOutcome.CANCELED,
}


def time_to_seconds(stamp: Time) -> float:
    return stamp.sec + stamp.nanosec * 1e-9


def robot_report(msg: RobotState) -> RobotReport:
    mode = MODE_BY_CODE[msg.mode] if msg.mode < len(MODE_BY_CODE) else RobotMode.ERROR
    return RobotReport(
        id=msg.id,
        kind=msg.kind,
        model=msg.model,
        mode=mode,
        x=msg.pose.x,
        y=msg.pose.y,
        yaw=msg.pose.yaw,
        linear=msg.velocity.linear.x,
        angular=msg.velocity.angular.z,
        battery=float(msg.battery_percentage),
        charging=bool(msg.charging),
        task_id=msg.current_task_id,
        task_progress=float(msg.task_progress),
        errors=tuple(msg.errors),
        stamp=time_to_seconds(msg.stamp),
        wall_time=msg.wall_time,
    )


def task_goal(task: TaskRequest) -> ExecuteTask.Goal:
    goal = ExecuteTask.Goal()
    goal.task_id = task.task_id
    goal.mission_id = str(task.mission_id)
    goal.released_waypoints = int(task.released)
    for wp in task.route:
        msg = WaypointMsg()
        msg.name = wp.name
        msg.pose = Pose2D(x=wp.x, y=wp.y, yaw=wp.yaw or 0.0)
        msg.has_yaw = wp.yaw is not None
        msg.max_speed = float(wp.max_speed)
        msg.caution, msg.junction = wp.caution, wp.junction
        goal.route.append(msg)
    for action in task.actions:
        act = TaskActionMsg()
        act.name = action.name
        act.param_keys = [str(k) for k in action.params]
        act.param_values = [str(v) for v in action.params.values()]
        act.duration_s = float(action.duration_s)
        goal.actions.append(act)
    return goal


def task_result(result: ExecuteTask.Result) -> TaskResult:
    return TaskResult(
        outcome=_OUTCOMES.get(result.outcome, TaskOutcome.FAILED),
        reason=result.reason,
        final_pose=(result.final_pose.x, result.final_pose.y, result.final_pose.yaw),
        distance_m=result.distance_m,
    )


def task_feedback(task_id: str, fb: ExecuteTask.Feedback) -> TaskFeedback:
    return TaskFeedback(task_id, int(fb.waypoint_index), float(fb.progress), float(fb.distance_remaining_m), fb.state)


def command_code(command: Command) -> int:
    return int(_COMMAND_CODES[command])


def command_request(command: Command, reason: str, signed: Signed) -> RobotCommand.Request:
    """The request, with its origin and signature (command_auth.Signer.sign)."""
    return RobotCommand.Request(command=_COMMAND_CODES[command], reason=reason, origin=signed.origin,
                                stamp_ns=signed.stamp_ns, nonce=signed.nonce, signature=signed.signature)


def command_report(msg: CommandReportMsg) -> CommandReport:
    command = _COMMANDS_BY_CODE.get(msg.command)
    return CommandReport(
        robot_id=msg.robot_id, command=str(command) if command is not None else f"command {msg.command}",
        reason=msg.reason, origin=msg.origin, authenticated=bool(msg.authenticated), auth_detail=msg.auth_detail,
        nonce=msg.nonce, result=_COMMAND_RESULTS.get(msg.result, CommandResult.REJECTED), message=msg.message)


def command_result(response: RobotCommand.Response) -> tuple[CommandResult, str]:
    return _COMMAND_RESULTS.get(response.result, CommandResult.REJECTED), response.message
