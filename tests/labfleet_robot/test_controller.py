"""PathFollower (regulated pure pursuit) driving a unicycle integrated here at 20 Hz."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from labfleet_robot.controller import Limits, PathFollower, Status, Tuning, obstacle_distance, wrap

DT = 0.05
LIMITS = Limits(max_speed=1.0, max_accel=0.6, max_yaw_rate=1.5, max_yaw_accel=3.0, radius=0.3)


class Unicycle:
    def __init__(self, x: float = 0.0, y: float = 0.0, yaw: float = 0.0) -> None:
        self.x, self.y, self.yaw = x, y, yaw

    def move(self, v: float, w: float, dt: float = DT) -> None:
        mid = self.yaw + w * dt / 2
        self.x += v * math.cos(mid) * dt
        self.y += v * math.sin(mid) * dt
        self.yaw = wrap(self.yaw + w * dt)


def scan_of(points: list[tuple[float, float]], robot: Unicycle) -> tuple[np.ndarray, np.ndarray]:
    """A lidar's (ranges, angles) seeing the given world points from the robot."""
    if not points:
        return np.array([]), np.array([])
    rel = np.array(points) - np.array([robot.x, robot.y])
    return np.hypot(rel[:, 0], rel[:, 1]), np.arctan2(rel[:, 1], rel[:, 0]) - robot.yaw


def drive(follower: PathFollower, robot: Unicycle, seconds: float, obstacles=None, stop_when=None):
    """Run the loop; returns per-step records (t, x, y, yaw, v, w, status)."""
    log = []
    for k in range(round(seconds / DT)):
        pts = obstacles(k * DT, robot) if obstacles else []
        distance = obstacle_distance(*scan_of(pts, robot), LIMITS, follower.tuning) if pts else math.inf
        v, w, status = follower.compute(robot.x, robot.y, robot.yaw, DT, distance)
        log.append((k * DT, robot.x, robot.y, robot.yaw, v, w, status))
        robot.move(v, w)
        if stop_when is not None and stop_when(status):
            break
    return log


def new_follower(waypoints, final_yaw=None, released=0, speeds=None, start=(0.0, 0.0)):
    follower = PathFollower(LIMITS)
    follower.set_path(start, waypoints, speeds or [0.0] * len(waypoints), final_yaw, released)
    return follower


def test_l_route_reaches_the_goal_within_limits():
    follower, robot = new_follower([(3.0, 0.0), (3.0, 3.0)]), Unicycle()
    log = drive(follower, robot, 40.0, stop_when=lambda s: s is Status.ARRIVED)
    assert log[-1][6] is Status.ARRIVED
    assert math.hypot(robot.x - 3.0, robot.y - 3.0) < 0.1
    assert max(abs(r[4]) for r in log) <= LIMITS.max_speed + 1e-9
    assert max(abs(r[5]) for r in log) <= LIMITS.max_yaw_rate + 1e-9
    vs, ws = np.array([0.0] + [r[4] for r in log]), np.array([0.0] + [r[5] for r in log])
    assert np.abs(np.diff(vs)).max() <= LIMITS.max_accel * DT + 1e-9
    assert np.abs(np.diff(ws)).max() <= LIMITS.max_yaw_accel * DT + 1e-9
    assert max(r[4] for r in log) > 0.9  # it did get up to speed on the 3 m legs
    # the corner is a stop-and-turn: it stays near the path (never cuts the corner far)
    assert max(min(abs(r[2]), abs(r[1] - 3.0)) for r in log) < 0.15


def test_waits_at_the_end_of_the_released_part_then_goes_on():
    follower, robot = new_follower([(2.0, 0.0), (4.0, 0.0), (4.0, 2.0)], released=1), Unicycle()
    log = drive(follower, robot, 20.0)
    assert log[-1][6] is Status.WAITING_RELEASE
    assert math.hypot(robot.x - 2.0, robot.y) < 0.1
    assert abs(log[-1][4]) < 1e-9 and max(r[1] for r in log) < 2.1  # stopped there, no overshoot
    follower.release(3)
    log = drive(follower, robot, 30.0, stop_when=lambda s: s is Status.ARRIVED)
    assert log[-1][6] is Status.ARRIVED
    assert math.hypot(robot.x - 4.0, robot.y - 2.0) < 0.1


def test_an_early_release_does_not_stop_at_the_waypoint():
    follower, robot = new_follower([(3.0, 0.0), (6.0, 0.0), (9.0, 0.0)], released=1), Unicycle()
    released = False
    log = []
    for _ in range(400):
        if not released and robot.x > 0.3:  # far before the braking zone of waypoint 1 (x = 3)
            follower.release(3)
            released = True
        v, w, status = follower.compute(robot.x, robot.y, robot.yaw, DT)
        log.append((robot.x, v, status))
        robot.move(v, w)
        if status is Status.ARRIVED:
            break
    assert released and log[-1][2] is Status.ARRIVED
    assert abs(robot.x - 9.0) < 0.1
    near_wp1 = [v for x, v, _ in log if 2.0 < x < 4.0]
    assert near_wp1 and min(near_wp1) > 0.8
    assert Status.WAITING_RELEASE not in {s for _, _, s in log}


def test_obstacle_distance_sees_only_the_forward_corridor():
    tuning = Tuning()
    xs = np.linspace(0.2, 5.0, 25)
    walls = [(x, 1.0) for x in xs] + [(x, -1.0) for x in xs]
    behind = [(-0.5, 0.0), (-2.0, 0.1), (-1.0, -0.2)]
    pts = np.array(walls + behind)
    ranges, angles = np.hypot(pts[:, 0], pts[:, 1]), np.arctan2(pts[:, 1], pts[:, 0])
    assert obstacle_distance(ranges, angles, LIMITS, tuning) == math.inf
    pts = np.array([*walls, *behind, (2.0, 0.0), (3.0, 0.1)])
    ranges, angles = np.hypot(pts[:, 0], pts[:, 1]), np.arctan2(pts[:, 1], pts[:, 0])
    assert obstacle_distance(ranges, angles, LIMITS, tuning) == pytest.approx(2.0)
    # infinite returns (nothing hit) and an empty scan are "clear"
    assert obstacle_distance(np.array([np.inf, np.inf]), np.array([0.0, 0.1]), LIMITS, tuning) == math.inf
    assert obstacle_distance(np.array([]), np.array([]), LIMITS, tuning) == math.inf
    # just inside / outside the corridor edge (radius + corridor_margin = 0.4 m)
    edge = LIMITS.radius + tuning.corridor_margin
    inside = np.array([(1.5, edge - 0.02)])
    outside = np.array([(1.5, edge + 0.02)])
    for pts, expect in ((inside, 1.5), (outside, math.inf)):
        got = obstacle_distance(np.hypot(pts[:, 0], pts[:, 1]), np.arctan2(pts[:, 1], pts[:, 0]), LIMITS, tuning)
        assert got == pytest.approx(expect)


BOX = [(4.0, y) for y in np.linspace(-0.3, 0.3, 7)]  # an obstacle across the path at x = 4


def test_slows_and_stops_short_of_an_obstacle_then_resumes():
    follower, robot = new_follower([(10.0, 0.0)]), Unicycle()
    present = {"on": True}
    log = drive(follower, robot, 15.0, obstacles=lambda t, r: BOX if present["on"] else [])
    assert abs(log[-1][4]) < 0.01  # (practically) stopped
    gap = 4.0 - robot.x
    tun = follower.tuning
    assert LIMITS.radius < gap <= LIMITS.radius + tun.stop_margin + 0.1
    # it slowed down before stopping: the speed falls as the gap shrinks inside slow_distance
    speeds = [(4.0 - r[1], r[4]) for r in log]
    assert max(v for g, v in speeds if g < 1.0) < 0.75 * LIMITS.max_speed
    assert max(v for g, v in speeds if g > tun.slow_distance) > 0.95 * LIMITS.max_speed
    present["on"] = False
    log = drive(follower, robot, 20.0, stop_when=lambda s: s is Status.ARRIVED)
    assert log[-1][6] is Status.ARRIVED and abs(robot.x - 10.0) < 0.1
    assert Status.WAITING_OBSTACLE not in {r[6] for r in log}


def test_stopped_for_a_static_obstacle_reports_waiting_obstacle():
    follower, robot = new_follower([(10.0, 0.0)]), Unicycle()
    log = drive(follower, robot, 15.0, obstacles=lambda t, r: BOX)
    assert abs(log[-1][4]) < 0.01 and 4.0 - robot.x > LIMITS.radius
    assert log[-1][6] is Status.WAITING_OBSTACLE


def test_an_obstacle_stepping_in_ahead_stops_the_robot_with_waiting_obstacle():
    follower, robot = new_follower([(10.0, 0.0)]), Unicycle()
    drive(follower, robot, 3.0)
    assert follower.v == pytest.approx(LIMITS.max_speed)
    ox = robot.x + 1.2  # something steps in 1.2 m ahead (the braking distance at 1 m/s is 0.83 m)
    near = [(ox, y) for y in np.linspace(-0.2, 0.2, 5)]
    log = drive(follower, robot, 5.0, obstacles=lambda t, r: near)
    assert log[-1][6] is Status.WAITING_OBSTACLE
    assert abs(log[-1][4]) < 1e-9 and ox - robot.x > LIMITS.radius
    # braking is within the acceleration limit
    vs = [r[4] for r in log]
    assert all(a - b <= LIMITS.max_accel * DT + 1e-9 for a, b in itertools.pairwise(vs))


def test_turns_to_the_final_yaw():
    follower, robot = new_follower([(3.0, 0.0)], final_yaw=math.pi / 2), Unicycle()
    log = drive(follower, robot, 20.0, stop_when=lambda s: s is Status.ARRIVED)
    assert Status.TURNING in {r[6] for r in log}
    assert log[-1][6] is Status.ARRIVED
    assert abs(wrap(robot.yaw - math.pi / 2)) <= follower.tuning.yaw_tolerance
    assert math.hypot(robot.x - 3.0, robot.y) < 0.1
