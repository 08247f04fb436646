"""Issue 20: the agent drives at its caution level where the route says so: on a segment marked caution and
within caution_radius of a junction, and at its own speed elsewhere; the planned caution level is not reported
as a protective measure."""

from __future__ import annotations

import math

from labfleet_robot.agent import RobotAgent, Task, Waypoint
from labfleet_robot.controller import Limits
from labfleet_robot.safety import Measure, SafetyParams

DT = 0.05


def drive(route: tuple[Waypoint, ...], seconds: float = 60.0) -> list[tuple[float, float]]:
    """(x, speed) at each control step of a robot driving the route along y = 0, its base doing as told."""
    agent = RobotAgent(Limits(max_speed=1.2, max_accel=0.8, max_yaw_rate=1.5, max_yaw_accel=3.0, radius=0.3),
                       safety=SafetyParams(caution_speed=0.4, caution_radius=1.5))
    x, y, yaw, t = 0.0, 0.0, 0.0, 0.0
    agent.step(t, (x, y, yaw))
    agent.start_task(Task("t", route), t)
    trace = []
    while agent.active is not None and t < seconds:
        v, w = agent.step(t, (x, y, yaw))
        trace.append((x, v))  # where the robot chose the speed
        x, y, yaw = x + v * math.cos(yaw) * DT, y + v * math.sin(yaw) * DT, yaw + w * DT
        t += DT
    assert agent.active is None, "the robot did not finish its route"
    assert agent.safety_counts == {Measure.STOP: 0, Measure.SLOWDOWN: 0}, "caution is not a protective measure"
    return trace


def fastest(trace: list[tuple[float, float]], lo: float, hi: float) -> float:
    return max(v for x, v in trace if lo <= x <= hi)


def test_caution_holds_near_junctions_and_on_caution_segments_only() -> None:
    route = (Waypoint("a", 6.0, 0.0, junction=True), Waypoint("b", 10.0, 0.0, caution=True),
             Waypoint("c", 20.0, 0.0, 0.0))
    trace = drive(route)
    assert fastest(trace, 4.5, 7.4) <= 0.4 + 1e-6  # within 1.5 m of the junction (it slowed before)
    assert fastest(trace, 7.6, 9.9) <= 0.4 + 1e-6  # the segment into b
    assert fastest(trace, 1.0, 3.5) > 1.0  # before the junction: its own speed
    assert fastest(trace, 12.0, 18.0) > 1.0  # after b: its own speed


def test_without_caution_on_the_route_the_robot_keeps_its_speed() -> None:
    route = (Waypoint("a", 6.0, 0.0), Waypoint("b", 10.0, 0.0), Waypoint("c", 20.0, 0.0))
    assert fastest(drive(route), 4.6, 9.9) > 1.0
