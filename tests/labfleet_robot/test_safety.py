"""The safety layer and its tracker, on hand-made scans (pure, no ROS): what it stops for, what it lets pass."""

from __future__ import annotations

import math

import numpy as np
import pytest
from labfleet_robot.safety import Measure, SafetyLayer, SafetyParams, _stoppable
from labfleet_robot.tracking import Tracker, clusters, scan_points, small, to_map

ANGLES = np.linspace(-math.pi, math.pi, 360, endpoint=False)


def scan_of(discs: list[tuple[float, float, float]], walls_y: tuple[float, ...] = ()) -> np.ndarray:
    """Ranges from the robot at the origin (heading +x) to discs (x, y, r) and infinite walls y = c."""
    ranges = np.full(len(ANGLES), np.inf)
    dx, dy = np.cos(ANGLES), np.sin(ANGLES)
    for cx, cy, r in discs:
        proj = dx * cx + dy * cy
        gap2 = r * r - (cx * cx + cy * cy - proj * proj)
        with np.errstate(invalid="ignore"):
            hit = np.where((gap2 >= 0) & (proj - np.sqrt(np.maximum(gap2, 0)) > 0), proj - np.sqrt(np.maximum(gap2, 0)),
                           np.inf)
        ranges = np.minimum(ranges, hit)
    for c in walls_y:
        with np.errstate(divide="ignore"):
            t = np.where(dy * c > 0, c / dy, np.inf)
        ranges = np.minimum(ranges, t)
    return np.where(ranges <= 8.0, ranges, np.inf)  # the lidar's reach


def layer_seeing(discs: list[tuple[float, float, float]], walls_y: tuple[float, ...] = (), **params: float
                 ) -> SafetyLayer:
    layer = SafetyLayer(0.3, SafetyParams(**params))
    layer.observe(scan_of(discs, walls_y), ANGLES, (0.0, 0.0, 0.0), 0.0)
    return layer


def test_stopping_distance_formula() -> None:
    v = _stoppable(1.0, 0.15, 1.0)
    assert v * 0.15 + v * v / 2.0 == pytest.approx(1.0)
    assert _stoppable(0.0, 0.15, 1.0) == 0.0


def test_a_person_close_ahead_stops_the_robot_and_one_farther_slows_it() -> None:
    near = layer_seeing([(0.9, 0.0, 0.3)]).limit((0, 0, 0), 1.0, 0.0)  # 0.3 m from the footprint
    assert near.action is Measure.STOP and near.v == 0.0 and near.reason == "approach"
    far = layer_seeing([(2.0, 0.0, 0.3)]).limit((0, 0, 0), 1.0, 0.0)
    assert far.action is Measure.SLOWDOWN and 0.0 < far.v < 1.0
    clear = layer_seeing([(6.0, 0.0, 0.3)]).limit((0, 0, 0), 1.0, 0.0)
    assert clear.action is Measure.NONE and clear.v == 1.0


def test_an_object_close_beside_ahead_stops_the_robot_whatever_the_tracker_says_of_it() -> None:
    """A person 0.18 m off the footprint, ahead and to the side (as one walking in from the side is, in a crowd
    where the tracker mixes people up): the projected path misses them, the stop zone does not. A wall there, a
    person beside the zone's band, behind the robot, a person there once the robot stops short of them, or an
    object that has stood there still for 2 s (a door jamb): no stop."""
    person = (0.3, 0.72, 0.3)  # 0.18 m off the footprint, 0.42 m or more beside the path (the approach band: 0.35)
    near = layer_seeing([person]).limit((0, 0, 0), 0.3, 0.0)
    assert near.action is Measure.STOP and near.reason == "stop_zone" and near.distance < 0.2
    assert layer_seeing([(0.35, 0.2, 0.3)]).limit((0, 0, 0), 0.3, 0.0).action is Measure.STOP
    assert layer_seeing([], walls_y=(0.4,)).limit((0, 0, 0), 0.3, 0.0).action is not Measure.STOP  # structure
    assert layer_seeing([(0.2, 0.85, 0.3)]).limit((0, 0, 0), 0.3, 0.0).action is Measure.NONE  # beside the band
    assert layer_seeing([(-0.35, 0.6, 0.3)]).limit((0, 0, 0), 0.3, 0.0).action is Measure.NONE  # behind
    short = layer_seeing([person]).limit((0, 0, 0), 0.3, 0.0, stops_within=0.02)  # at its goal: it stops anyway
    assert short.action is not Measure.STOP
    settled = layer_seeing([person])  # there, standing still, for 2 s: a door jamb, or someone who stands
    for k in range(1, 12):
        settled.observe(scan_of([person]), ANGLES, (0.0, 0.0, 0.0), 0.2 * k)
    assert settled.limit((0, 0, 0), 0.3, 0.0).action is not Measure.STOP


def test_motion_away_and_turning_on_the_spot_stay_allowed() -> None:
    behind = layer_seeing([(-0.65, 0.0, 0.3)])  # someone right behind the robot
    assert behind.limit((0, 0, 0), 0.8, 0.0).action is Measure.NONE
    assert behind.limit((0, 0, 0), -0.3, 0.0).action is Measure.STOP  # never reverse into them
    assert behind.limit((0, 0, 0), 0.0, 1.0) .w == 1.0


def test_walls_beside_the_path_and_door_jambs_do_not_slow_the_robot() -> None:
    corridor = layer_seeing([], walls_y=(1.2, -1.2))
    assert corridor.limit((0, 0, 0), 1.0, 0.0).action is Measure.NONE
    jambs = layer_seeing([(0.4, 0.55 + 0.05, 0.05), (0.4, -0.6, 0.05)])  # a 1.1 m door, the robot in its middle
    decided = jambs.limit((0, 0, 0), 0.6, 0.0)
    assert decided.action is not Measure.STOP and decided.v > 0.4


def test_bad_parameters_are_named() -> None:
    problems = SafetyParams(stop_margin=0.0, slow_speed=-1.0).problems(0.3, 2.0)
    assert any(p.startswith("slow_speed") for p in problems)
    assert SafetyParams(stop_margin=0.01).problems(0.3, 2.0)[0].startswith("stop_margin")
    assert SafetyParams(brake_decel=3.0).problems(0.3, 2.0)[0].startswith("brake_decel")
    with pytest.raises(ValueError, match="unknown parameters"):
        SafetyParams.from_mapping({"zone": 1.0})


def test_the_tracker_follows_a_walking_person_and_predicts_a_crossing() -> None:
    tracker = Tracker()
    for k in range(6):  # a person 3 m ahead, 2 m to the left, walking toward the robot's path at 1.4 m/s
        t = k * 0.1
        tracker.update(to_map(scan_points(scan_of([(3.0, 2.0 - 1.4 * t, 0.3)], walls_y=(4.0,)), ANGLES), (0, 0, 0)), t)
    (person,) = [t for t in tracker.tracks if t.moving]
    assert person.vx == pytest.approx(0.0, abs=0.15) and person.vy == pytest.approx(-1.4, abs=0.2)
    wall = clusters(scan_points(scan_of([], walls_y=(4.0,)), ANGLES))
    assert wall and not [run for run in wall if small(run)]  # structure, or too sparse to be anyone: no object
    layer = SafetyLayer(0.3)
    for k in range(6):
        t = k * 0.1
        layer.observe(scan_of([(1.5, 2.0 - 1.4 * t, 0.3)]), ANGLES, (0.0, 0.0, 0.0), t)
    # 1.3 m to the side of the path now, about to cross it where the robot gets in a second: it slows now
    decided = layer.limit((0, 0, 0), 1.0, 0.0)
    assert decided.action is not Measure.NONE and decided.v < 1.0 and "moving" in decided.seen


def test_a_wall_behind_the_goal_does_not_hold_the_robot_off_it() -> None:
    wall = layer_seeing([], walls_y=())
    wall.observe(scan_of([(0.75, 0.0, 0.3)]), ANGLES, (0.0, 0.0, 0.0), 0.0)  # something 0.15 m ahead
    assert wall.limit((0, 0, 0), 0.2, 0.0).action is Measure.STOP  # on its way
    assert wall.limit((0, 0, 0), 0.2, 0.0, stops_within=0.1).action is Measure.NONE  # beyond where it stops
