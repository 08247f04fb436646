"""The Nav2 stand-in's core (Navigator) without rclpy: Nav2 Jazzy's goal semantics on our path follower."""

from __future__ import annotations

import math

import pytest
from labfleet_robot.frames import Transform
from labfleet_robot.navigation import (
    Admission,
    BatteryReading,
    DockFeedback,
    DockRequest,
    DockState,
    ErrorCode,
    Finished,
    GoalKind,
    GoalStatus,
    NavFeedback,
    NavigateRequest,
    NavigatorConfig,
    StampedPose,
    UndockRequest,
)
from labfleet_robot.safety import SafetyParams

from tests.labfleet_robot.nav_rig import LIMITS, Rig

THROUGH = GoalKind.THROUGH_POSES


def poses(*points: tuple[float, ...], frame: str = "map") -> NavigateRequest:
    return NavigateRequest(tuple(StampedPose(frame, *p) for p in points))


def nav_feedback(rig: Rig, since: float = -1.0) -> list[NavFeedback]:
    return [s.feedback for s in rig.samples if isinstance(s.feedback, NavFeedback) and s.t >= since]


# -- navigation ---------------------------------------------------------------------------------------------
def test_through_poses_ends_on_the_last_pose_with_its_heading_and_reports_feedback():
    rig = Rig()  # odometry starts at zero at the spawn pose (2, 1): the map pose comes from TF
    goal = rig.start(THROUGH, poses((4.0, 1.0, 2.0), (4.0, 3.0, math.pi / 2)))  # the first heading is ignored
    result = rig.run_until_done(goal, 30)
    assert (result.status, result.error_code, result.error_msg) == (GoalStatus.SUCCEEDED, 0, "")
    x, y, yaw = rig.pose
    assert math.dist((x, y), (4.0, 3.0)) < 0.1 and abs(yaw - math.pi / 2) < 0.1
    assert rig.odom[0] < 2.5  # the odometry is not the map pose
    fbs = nav_feedback(rig)
    assert fbs[0].number_of_poses_remaining == 2 and fbs[-1].number_of_poses_remaining == 1
    assert fbs[0].distance_remaining == pytest.approx(4.0, abs=0.01) and fbs[-1].distance_remaining < 0.1
    times = [f.navigation_time for f in fbs]
    assert times == sorted(times) and times[-1] == pytest.approx(rig.t - 0.1, abs=0.1)
    for s in rig.samples[:-1]:  # distance over the odometry's speed, as bt_navigator estimates it
        fb = s.feedback
        assert isinstance(fb, NavFeedback)
        moving = abs(s.v) > 0.01 and fb.distance_remaining > 0.1
        assert fb.estimated_time_remaining == (pytest.approx(fb.distance_remaining / s.v) if moving else 0.0)
    assert fbs[-1].estimated_time_remaining == 0.0  # under 10 cm to go
    rig.run(1.0)
    assert (rig.v, rig.w) == (0.0, 0.0) and rig.nav.active_goal is None


def test_a_pose_counts_as_passed_within_half_a_metre_or_when_a_later_one_is_reached():
    rig = Rig()
    # the robot stands on the first pose: skipped at once; the last is never counted while the goal runs
    goal = rig.start(THROUGH, poses((2.2, 1.0), (4.0, 1.0), (4.6, 1.0), (6.0, 1.0)))
    rig.run(0.1)
    assert nav_feedback(rig)[0].number_of_poses_remaining == 3
    rig.run_until_done(goal, 30)
    seen = [(s.pose[0], s.feedback.number_of_poses_remaining) for s in rig.samples
            if isinstance(s.feedback, NavFeedback)]
    first_2 = next(x for x, n in seen if n <= 2)
    assert 3.45 <= first_2 <= 3.55  # within 0.5 m of (4, 1)
    first_1 = next(x for x, n in seen if n <= 1)
    assert 4.05 <= first_1 <= 4.15  # within 0.5 m of (4.6, 1): it and every pose before it
    assert min(n for _, n in seen) == 1


def test_goal_poses_in_another_frame_are_transformed_and_an_unknown_frame_aborts_with_code_0():
    rig = Rig(spawn=(5.0, -2.0, math.pi / 2))
    rig.tf.set("map", "elevator", Transform.planar(10.0, 0.0, math.pi), 0.0, static=True)
    goal = rig.start(THROUGH, poses((1.0, 0.0, 0.0), frame="elevator"))  # map (9, 0), facing -x
    assert rig.run_until_done(goal, 30).status is GoalStatus.SUCCEEDED
    assert math.dist(rig.pose[:2], (9.0, 0.0)) < 0.1 and abs(abs(rig.pose[2]) - math.pi) < 0.1
    goal = rig.start(THROUGH, poses((1.0, 0.0), frame="nowhere"))
    result = rig.result(goal)
    assert result is not None and (result.status, result.error_code) == (GoalStatus.ABORTED, ErrorCode.NONE)
    assert "frame_id 'nowhere'" in result.error_msg


def test_goals_are_refused_without_poses_or_without_a_fresh_pose():
    rig = Rig(tf_on=False)
    rig.tf = type(rig.tf)(clock=lambda: rig.t)  # nothing on /tf yet
    rig.nav.tf = rig.tf
    assert rig.nav.admit(THROUGH, 2, 0.0) is Admission.POSE_UNKNOWN
    rig.broadcast()
    assert rig.nav.admit(THROUGH, 0, 0.0) is Admission.NO_POSES
    assert rig.nav.admit(THROUGH, 2, 0.0) is Admission.ACCEPT
    rig.t = 2.0
    assert rig.nav.admit(GoalKind.DOCK, 1, 2.0) is Admission.ACCEPT  # 2 s old: just fresh
    rig.t = 2.1
    assert rig.nav.admit(GoalKind.TO_POSE, 1, 2.1) is Admission.POSE_UNKNOWN  # stale


def test_a_new_goal_preempts_the_running_one_which_aborts_with_code_0_and_the_robot_never_stops():
    rig = Rig()
    first = rig.start(THROUGH, poses((9.0, 1.0)))
    rig.run(20, until=lambda: rig.pose[0] > 4.5)
    t_preempt = rig.t
    second = rig.start(THROUGH, poses((7.0, 1.0), (7.0, 3.0, math.pi / 2)))
    result = rig.result(first)
    assert result is not None and (result.status, result.error_code, result.error_msg) == (GoalStatus.ABORTED, 0, "")
    assert rig.run_until_done(second, 30).status is GoalStatus.SUCCEEDED
    assert math.dist(rig.pose[:2], (7.0, 3.0)) < 0.1
    speeds = [s.v for s in rig.samples if t_preempt - 1.0 <= s.t and s.pose[0] < 6.0]
    assert min(speeds) > 0.5  # it carried on at speed into the new path
    times = [f.navigation_time for f in nav_feedback(rig, t_preempt)]
    assert times[0] < 0.1  # the new goal's clock


def test_the_other_navigator_is_refused_while_one_runs():
    rig = Rig()
    through = rig.start(THROUGH, poses((5.0, 1.0)))
    rig.run(1.0)
    to_pose = rig.start(GoalKind.TO_POSE, poses((2.0, 3.0)))
    refused = rig.result(to_pose)
    assert refused is not None and (refused.status, refused.error_code) == (GoalStatus.ABORTED, 0)
    assert "another navigator" in refused.error_msg
    assert rig.run_until_done(through, 30).status is GoalStatus.SUCCEEDED


def test_cancel_ends_the_goal_canceled_and_commands_zero_at_once():
    rig = Rig()
    goal = rig.start(THROUGH, poses((9.0, 1.0)))
    rig.run(20, until=lambda: rig.v > 0.9)
    assert rig.nav.cancel(goal)
    result = rig.result(goal) or rig.nav.take_finished()[0]
    assert result.status is GoalStatus.CANCELED
    rig.tick()
    assert (rig.v, rig.w) == (0.0, 0.0)
    assert not rig.nav.cancel(goal)  # nothing left to cancel


def test_blocked_without_progress_costs_two_recoveries_then_aborts_with_failed_to_make_progress():
    rig = Rig(obstacles=[(5.0, 1.0, 0.2)])
    goal = rig.start(THROUGH, poses((8.0, 1.0)))
    result = rig.run_until_done(goal, 80)
    assert (result.status, result.error_code) == (GoalStatus.ABORTED, ErrorCode.FAILED_TO_MAKE_PROGRESS)
    assert "Failed to make progress" in result.error_msg
    stopped = next(s.t for s in rig.samples if s.t > 1.0 and s.v == 0.0)
    # 10 s without progress, a 5 s wait, 10 s, a 5 s wait, 10 s: aborted
    assert 36.0 <= rig.t - stopped <= 41.0
    recoveries = [s.feedback.number_of_recoveries for s in rig.samples if isinstance(s.feedback, NavFeedback)]
    assert recoveries == sorted(recoveries) and recoveries[-1] == 2
    gap = min(math.dist(s.pose[:2], (5.0, 1.0)) - 0.2 - LIMITS.radius for s in rig.samples)
    assert gap > 0.2  # it never drove into what it saw


def test_an_obstacle_that_leaves_during_a_recovery_lets_the_goal_succeed():
    rig = Rig(obstacles=[(5.0, 1.0, 0.2)])
    goal = rig.start(THROUGH, poses((8.0, 1.0)))
    rig.run(30, until=lambda: rig.nav.feedback(rig.t).number_of_recoveries == 1)
    rig.obstacles.clear()
    result = rig.run_until_done(goal, 30)
    assert result.status is GoalStatus.SUCCEEDED
    assert nav_feedback(rig)[-1].number_of_recoveries == 1


@pytest.mark.parametrize(("limit", "percentage", "top"), [(50.0, True, 0.5), (0.3, False, 0.3), (0.0, False, 1.0),
                                                          (250.0, True, 1.0)])
def test_a_speed_limit_caps_the_speed_from_then_on(limit, percentage, top):
    rig = Rig()
    assert rig.nav.set_speed_limit(limit, percentage) == pytest.approx(top)
    goal = rig.start(THROUGH, poses((9.0, 1.0)))
    assert rig.run_until_done(goal, 40).status is GoalStatus.SUCCEEDED
    assert max(s.v for s in rig.samples) == pytest.approx(top, abs=0.01)


def test_localisation_lost_holds_the_robot_and_it_carries_on_when_tf_returns():
    rig = Rig()
    goal = rig.start(THROUGH, poses((9.0, 1.0)))
    rig.run(20, until=lambda: rig.v > 0.9)
    rig.tf_on = False
    t_lost = rig.t
    rig.run(6.0)
    held = [s for s in rig.samples if s.t > t_lost]
    assert rig.v == 0.0 and rig.result(goal) is None
    assert all(s.v > 0.9 for s in held if s.t < t_lost + 2.0)  # it braked only once the transform was 2 s old
    braking = [s.v for s in held if s.t >= t_lost + 2.0]
    assert braking == sorted(braking, reverse=True) and braking[0] < 0.99  # at once, never speeding up again
    assert braking[:int(1.0 / 0.05)][-1] < 0.5  # within the deceleration limit, not an emergency stop
    last = held[-1].feedback
    assert isinstance(last, NavFeedback) and last.pose[0] < rig.pose[0]  # the last good pose, not where it is
    rig.tf_on = True
    assert rig.run_until_done(goal, 30).status is GoalStatus.SUCCEEDED
    assert math.dist(rig.pose[:2], (9.0, 1.0)) < 0.1


def test_localisation_lost_for_tf_abort_s_aborts_with_tf_error():
    rig = Rig()
    goal = rig.start(THROUGH, poses((9.0, 1.0)))
    rig.run(2.0)
    rig.tf_on = False
    t_lost = rig.t
    result = rig.run_until_done(goal, 30)
    assert (result.status, result.error_code) == (GoalStatus.ABORTED, ErrorCode.FOLLOW_PATH_TF_ERROR)
    # stale after transform_tolerance_s (2 s), then tf_abort_s (15 s)
    assert rig.t - t_lost == pytest.approx(17.0, abs=0.2)


# -- docking ------------------------------------------------------------------------------------------------
DOCK = (6.0, 2.0, 0.0)  # the robot faces +x when docked; staging 0.7 m before it, at (5.3, 2)


def charging_once_docked(rig: Rig, goal: str, full: bool = False):
    def done() -> bool:
        docked_at = getattr(rig.nav.job, "docked_at", None)
        if docked_at is not None and rig.battery is None:
            rig.battery = BatteryReading(not full, full, rig.t)
        return rig.result(goal) is not None
    return done


def dock_states(rig: Rig) -> list[DockState]:
    states: list[DockState] = []
    for s in rig.samples:
        if isinstance(s.feedback, DockFeedback) and (not states or states[-1] != s.feedback.state):
            states.append(s.feedback.state)
    return states


@pytest.mark.parametrize("full", [False, True])
def test_dock_robot_stages_approaches_slowly_docks_and_waits_for_the_charge(full):
    rig = Rig()
    goal = rig.start(GoalKind.DOCK, DockRequest(pose=StampedPose("", *DOCK)))
    rig.run(60, until=charging_once_docked(rig, goal, full))
    result = rig.result(goal)
    assert result is not None and (result.status, result.error_code) == (GoalStatus.SUCCEEDED, 0)
    assert dock_states(rig) == [DockState.NAV_TO_STAGING_POSE, DockState.CONTROLLING, DockState.WAIT_FOR_CHARGE]
    assert math.dist(rig.pose[:2], DOCK[:2]) <= 0.05 and abs(rig.pose[2]) < 0.1
    approach = [s for s in rig.samples if isinstance(s.feedback, DockFeedback)
                and s.feedback.state is DockState.CONTROLLING]
    assert max(abs(s.v) for s in approach) <= 0.15 + 1e-9
    assert math.dist(approach[0].pose[:2], (5.3, 2.0)) < 0.1  # it approached from the staging pose
    assert all(abs(s.pose[1] - 2.0) < 0.03 for s in approach)  # straight in


def test_the_approach_drives_on_odometry_so_a_jumping_localisation_still_docks():
    """AMCL-like corrections move the map pose by a few centimetres every second; the approach, like a docking
    controller on the dock it perceives, drives on odometry and ends on the dock (true pose within 5 cm)."""
    rig = Rig(map_noise=0.08)  # without the odometry approach the map pose's jumps keep it from ever docking
    goal = rig.start(GoalKind.DOCK, DockRequest(pose=StampedPose("", *DOCK)))
    rig.run(60, until=charging_once_docked(rig, goal))
    result = rig.result(goal)
    assert result is not None and (result.status, result.error_code) == (GoalStatus.SUCCEEDED, 0)
    assert math.dist(rig.pose[:2], DOCK[:2]) <= 0.05 + 3 * 0.08  # the dock where the map put it at staging


def test_dock_robot_fails_to_charge_when_the_battery_does_not_say_so():
    rig = Rig(battery=BatteryReading(True, False, -1.0))  # charging, but said before the robot docked
    goal = rig.start(GoalKind.DOCK, DockRequest(pose=StampedPose("map", *DOCK)))
    result = rig.run_until_done(goal, 60)
    assert (result.status, result.error_code) == (GoalStatus.ABORTED, ErrorCode.FAILED_TO_CHARGE)
    docked = next(s.t for s in rig.samples if isinstance(s.feedback, DockFeedback)
                  and s.feedback.state is DockState.WAIT_FOR_CHARGE)
    assert rig.t - docked == pytest.approx(5.0, abs=0.2)


def test_dock_ids_come_from_the_database_and_unknown_ones_or_frames_fail():
    rig = Rig(config=NavigatorConfig(base_frame="r/base_link", docks={"charger_1": DOCK}))
    goal = rig.start(GoalKind.DOCK, DockRequest(dock_id="charger_9"))
    result = rig.result(goal)
    assert result is not None and (result.status, result.error_code) == (GoalStatus.ABORTED, ErrorCode.DOCK_NOT_IN_DB)
    goal = rig.start(GoalKind.DOCK, DockRequest(pose=StampedPose("nowhere", *DOCK)))
    result = rig.result(goal)
    assert result is not None and result.error_code == ErrorCode.DOCK_NOT_VALID
    goal = rig.start(GoalKind.DOCK, DockRequest(dock_id="charger_1", navigate_to_staging_pose=False))
    rig.run(60, until=charging_once_docked(rig, goal))
    assert rig.result(goal).status is GoalStatus.SUCCEEDED  # type: ignore[union-attr]
    assert dock_states(rig)[0] is DockState.CONTROLLING  # straight from where it was
    again = rig.start(GoalKind.DOCK, DockRequest(dock_id="charger_1"))
    assert rig.result(again).status is GoalStatus.SUCCEEDED  # type: ignore[union-attr]  # already docked


def test_undock_backs_off_straight_to_the_staging_pose_and_succeeds_at_once_when_not_docked():
    rig = Rig()
    goal = rig.start(GoalKind.UNDOCK, UndockRequest())
    assert rig.result(goal).status is GoalStatus.SUCCEEDED  # type: ignore[union-attr]  # not docked
    goal = rig.start(GoalKind.DOCK, DockRequest(pose=StampedPose("map", *DOCK)))
    rig.run(60, until=charging_once_docked(rig, goal))
    t0 = rig.t
    goal = rig.start(GoalKind.UNDOCK, UndockRequest())
    result = rig.run_until_done(goal, 30)
    assert (result.status, result.error_code) == (GoalStatus.SUCCEEDED, 0)
    assert math.dist(rig.pose[:2], (5.3, 2.0)) < 0.05 and abs(rig.pose[2]) < 0.05  # still facing the dock
    backing = [s for s in rig.samples if s.t >= t0]
    assert all(-0.15 - 1e-9 <= s.v <= 0.0 for s in backing)
    assert rig.nav.docked_on is None


def test_undock_stops_for_something_behind_and_fails_to_control_after_the_timeout():
    rig = Rig(config=NavigatorConfig(base_frame="r/base_link", docks={"charger_1": (2.0, 1.0, 0.0)}))
    rig.obstacles.append((2.0 - LIMITS.radius - 0.25 - 0.1, 1.0, 0.1))  # 0.25 m behind the footprint
    goal = rig.start(GoalKind.UNDOCK, UndockRequest())
    result = rig.run_until_done(goal, 30)
    assert (result.status, result.error_code) == (GoalStatus.ABORTED, ErrorCode.FAILED_TO_CONTROL)
    assert rig.t == pytest.approx(10.0, abs=0.2)
    assert all(s.v == 0.0 for s in rig.samples)  # it never moved toward it


def test_a_navigation_goal_preempts_docking():
    rig = Rig()
    dock = rig.start(GoalKind.DOCK, DockRequest(pose=StampedPose("map", *DOCK)))
    rig.run(2.0)
    nav = rig.start(GoalKind.TO_POSE, poses((2.0, 3.0)))
    result = rig.result(dock)
    assert result is not None and (result.status, result.error_code) == (GoalStatus.ABORTED, 0)
    assert rig.run_until_done(nav, 30).status is GoalStatus.SUCCEEDED
    assert rig.nav.follower.tuning.goal_tolerance == pytest.approx(0.08)  # the approach's tuning is undone


def crossing(monitor: SafetyParams | None) -> tuple[float, Finished]:
    """A person (0.25 m round) walks across the robot's path at 1.4 m/s, timed to meet it at full speed: the least
    gap while the robot moved, and the goal's result."""
    rig = Rig(spawn=(0.0, 0.0, 0.0), monitor=monitor)
    goal = rig.start(THROUGH, poses((16.0, 0.0)))
    closest = math.inf

    def person_walks() -> bool:
        nonlocal closest
        y = 4.0 if rig.t < 6.35 else max(-4.0, 4.0 - 1.4 * (rig.t - 6.35))
        rig.obstacles[:] = [(8.4, y, 0.25)]
        if abs(rig.v) > 0.02:
            closest = min(closest, math.dist(rig.pose[:2], (8.4, y)) - 0.25 - LIMITS.radius)
        return rig.result(goal) is not None

    rig.run(60, until=person_walks)
    result = rig.result(goal)
    assert result is not None
    return closest, result


def test_the_collision_monitor_keeps_a_navigating_robot_off_a_person_crossing_its_path():
    bypassed, _ = crossing(None)
    assert bypassed < 0.0  # the controller's own look ahead alone drives into them
    guarded, result = crossing(SafetyParams())
    assert guarded > 0.0
    assert result.status is GoalStatus.SUCCEEDED
