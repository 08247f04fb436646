"""nav2_msgs ↔ the navigator's types: Nav2's own constants, goals, results and feedback (no rclpy.init)."""

from __future__ import annotations

import math

import pytest
from builtin_interfaces.msg import Time
from labfleet_robot import nav2_conversions as conv
from labfleet_robot.navigation import (
    DockFeedback,
    DockRequest,
    DockState,
    ErrorCode,
    Finished,
    GoalKind,
    GoalStatus,
    NavFeedback,
    NavigateRequest,
    StampedPose,
    UndockRequest,
)
from nav2_msgs.action import DockRobot, NavigateThroughPoses, NavigateToPose, UndockRobot
from sensor_msgs.msg import BatteryState


def test_our_codes_and_states_are_nav2s():
    assert ErrorCode.DOCK_NOT_IN_DB == DockRobot.Result.DOCK_NOT_IN_DB
    assert ErrorCode.DOCK_NOT_VALID == DockRobot.Result.DOCK_NOT_VALID
    assert ErrorCode.FAILED_TO_STAGE == DockRobot.Result.FAILED_TO_STAGE
    assert ErrorCode.FAILED_TO_CONTROL == DockRobot.Result.FAILED_TO_CONTROL == UndockRobot.Result.FAILED_TO_CONTROL
    assert ErrorCode.FAILED_TO_CHARGE == DockRobot.Result.FAILED_TO_CHARGE
    assert ErrorCode.NONE == NavigateThroughPoses.Result.NONE == NavigateToPose.Result.NONE
    for state in DockState:
        assert getattr(DockRobot.Feedback, state.name) == state


def test_goals_become_requests():
    goal = NavigateThroughPoses.Goal()
    goal.poses = [conv.pose_stamped((1.0, 2.0, math.pi / 2), "map", Time()),
                  conv.pose_stamped((3.0, 4.0, -0.5), "", Time())]
    request = conv.request(GoalKind.THROUGH_POSES, goal)
    assert isinstance(request, NavigateRequest) and [p.frame for p in request.poses] == ["map", ""]
    assert (request.poses[0].x, request.poses[0].y, request.poses[0].yaw) == pytest.approx((1.0, 2.0, math.pi / 2))
    assert conv.goal_poses(NavigateThroughPoses.Goal()) == 0 and conv.goal_poses(UndockRobot.Goal()) == 1
    assert conv.request(GoalKind.DOCK, DockRobot.Goal(dock_id="c1")) == DockRequest("c1", None, True, 1000.0)
    by_pose = conv.request(GoalKind.DOCK, DockRobot.Goal(use_dock_id=False, navigate_to_staging_pose=False,
                                                          dock_pose=conv.pose_stamped((1.0, 0.0, 0.0), "odom",
                                                                                      Time())))
    assert isinstance(by_pose, DockRequest) and by_pose.pose == StampedPose("odom", 1.0, 0.0, 0.0)
    assert not by_pose.navigate_to_staging_pose
    assert conv.request(GoalKind.UNDOCK, UndockRobot.Goal()) == UndockRequest(30.0)


def test_results_and_feedback():
    result = conv.result(Finished("g", GoalKind.DOCK, GoalStatus.ABORTED, ErrorCode.FAILED_TO_CHARGE, "no charge"))
    assert isinstance(result, DockRobot.Result)
    assert (result.success, result.error_code, result.error_msg) == (False, 906, "no charge")
    result = conv.result(Finished("g", GoalKind.UNDOCK, GoalStatus.SUCCEEDED))
    assert isinstance(result, UndockRobot.Result) and result.success and result.error_code == 0
    result = conv.result(Finished("g", GoalKind.TO_POSE, GoalStatus.ABORTED, 105, "stuck"))
    assert isinstance(result, NavigateToPose.Result) and (result.error_code, result.error_msg) == (105, "stuck")
    fb = conv.feedback(GoalKind.THROUGH_POSES, NavFeedback((1.0, 2.0, 0.0), 3.25, 4.5, 1, 6.0, 2), "map",
                       Time(sec=7))
    assert fb.current_pose.header.frame_id == "map" and fb.current_pose.header.stamp.sec == 7
    assert (fb.navigation_time.sec, fb.navigation_time.nanosec) == (3, 250_000_000)
    assert fb.estimated_time_remaining.sec == 4 and fb.number_of_recoveries == 1
    assert fb.distance_remaining == pytest.approx(6.0) and fb.number_of_poses_remaining == 2
    to_pose = conv.feedback(GoalKind.TO_POSE, NavFeedback((1.0, 2.0, 0.0), 1.0, 0.0, 0, 1.0, 1), "map", Time())
    assert isinstance(to_pose, NavigateToPose.Feedback)
    dock = conv.feedback(GoalKind.DOCK, DockFeedback(DockState.WAIT_FOR_CHARGE, 2.5), "map", Time())
    assert dock.state == DockRobot.Feedback.WAIT_FOR_CHARGE and dock.docking_time.sec == 2


def test_battery_charging_or_full():
    msg = BatteryState(percentage=0.5, power_supply_status=BatteryState.POWER_SUPPLY_STATUS_CHARGING)
    msg.header.stamp.sec = 12
    reading = conv.battery(msg)
    assert reading.charging and not reading.full and reading.stamp == 12.0
    full = conv.battery(BatteryState(percentage=1.0, power_supply_status=BatteryState.POWER_SUPPLY_STATUS_DISCHARGING))
    assert full.full and not full.charging
