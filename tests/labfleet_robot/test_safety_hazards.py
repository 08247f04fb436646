"""Issue 20, acceptance 2: one lock-step test per hazard, the agent (with its safety layer) driving the
simulator's physics and lidar, a person walking a script: stepping out of a doorway 1.5 m ahead of a robot at
full speed; crossing the robot's path from the side at 1.4 m/s; overtaking and cutting in; a robot leaving a
door into a corridor where a person walks. The robot never moves into the person (the simulator's contacts
are those where the robot's own move closes in). Each scenario is first run with the safety layer bypassed,
and must then end in contact: the hazard is real, and the layer is what avoids it."""

from __future__ import annotations

import math
from dataclasses import dataclass

import pytest
from labfleet_robot.agent import Outcome, RobotAgent, Task, Waypoint
from labfleet_robot.controller import Limits
from labfleet_robot.safety import Measure
from labfleet_sim.fleet_config import parse_fleet
from labfleet_sim.pedestrians import PEDESTRIAN_RADIUS
from labfleet_sim.physics import Simulator
from labfleet_sim.world import Actor, Obstacle, World
from labfleet_sim.world import Waypoint as ActorWaypoint

CONTROL_DT = 0.05
ROBOT = "courier"


def box(name: str, x0: float, y0: float, x1: float, y1: float) -> Obstacle:
    return Obstacle(name, name, ((x0, y0), (x1, y0), (x1, y1), (x0, y1)))


# A 2.4 m corridor along x (y from -1.2 to 1.2), a room north of it behind a 1.1 m door at x = 10.
WALLS = (box("south", -1, -1.4, 21, -1.2), box("north_w", -1, 1.2, 9.45, 1.4), box("north_e", 10.55, 1.2, 21, 1.4),
         box("room_w", 7.0, 1.4, 7.2, 6.0), box("room_e", 12.8, 1.4, 13.0, 6.0), box("room_n", 7.0, 6.0, 13.0, 6.2),
         box("west", -1.2, -1.4, -1.0, 1.4), box("east", 21.0, -1.4, 21.2, 1.4))
OPEN = (box("far", -5, -20, -4, 20),)  # a hall: nothing near


def walk(*legs: tuple[float, float, float]) -> tuple[ActorWaypoint, ...]:
    """Waypoints from (time, x, y) stops, each yaw along the leg after it."""
    out = []
    for i, (t, x, y) in enumerate(legs):
        nx, ny = legs[min(i + 1, len(legs) - 1)][1:]
        yaw = math.atan2(ny - y, nx - x) if (nx, ny) != (x, y) else 0.0
        out.append(ActorWaypoint(t, x, y, yaw))
    return tuple(out)


def fleet(x: float, y: float, yaw: float, max_speed: float = 1.0) -> object:
    return parse_fleet({"site": "hazards", "models": {"bot": {
        "kind": "delivery", "radius": 0.3, "mass_kg": 40, "max_speed": max_speed, "max_accel": 0.6,
        "max_decel": 2.0, "max_yaw_rate": 1.5, "max_yaw_accel": 3.0, "battery_capacity_wh": 400,
        "idle_power_w": 10, "drive_power_w": 50, "lidar": {"samples": 180, "fov_deg": 360, "range_max": 8.0}}},
        "robots": [{"id": ROBOT, "model": "bot", "spawn": {"x": x, "y": y, "yaw": yaw}}]})


@dataclass
class Run:
    contacts: int  # the robot's own move closed in on the person (not the person walking into it)
    closest: float  # m between the robot's footprint and the person's
    done: bool
    stops: int
    slowdowns: int


def run(obstacles: tuple[Obstacle, ...], person: tuple[ActorWaypoint, ...], start: tuple[float, float, float],
        route: list[tuple[float, float]], safety: bool, max_speed: float = 1.0, seconds: float = 40.0) -> Run:
    world = World("hazards", obstacles, (Actor("person", person, loop=False),))
    sim = Simulator(world, fleet(*start, max_speed=max_speed), dt=0.02)  # type: ignore[arg-type]
    agent = RobotAgent(Limits(max_speed=max_speed, max_accel=0.6, max_yaw_rate=1.5, max_yaw_accel=3.0, radius=0.3))
    if not safety:
        agent._safe = lambda now, pose, v, w: (v, w)  # type: ignore[method-assign]
    body = sim.bodies[ROBOT]
    agent.step(0.0, (body.x, body.y, body.yaw))
    waypoints = tuple(Waypoint(f"w{i}", x, y, None, 0.0) for i, (x, y) in enumerate(route))
    agent.start_task(Task("t", waypoints), 0.0)
    contacts, closest, next_control = 0, math.inf, 0.0
    while sim.time < seconds and agent.active is not None:
        if sim.time >= next_control - 1e-9:
            pose = (body.x, body.y, body.yaw)
            ranges = sim.scan(ROBOT)
            v, w = agent.step(sim.time, pose, ranges, sim.scan_angles(ROBOT))
            sim.set_command(ROBOT, v, w)
            next_control += CONTROL_DT
        contacts += sum(1 for c in sim.step() if c.other == "person" and c.by == "robot")
        (p,) = sim.pedestrians()
        closest = min(closest, math.hypot(p.x - body.x, p.y - body.y) - 0.3 - PEDESTRIAN_RADIUS)
    results = agent.take_results()
    done = bool(results) and results[-1].outcome is Outcome.SUCCEEDED
    return Run(contacts, closest, done, agent.safety_counts[Measure.STOP], agent.safety_counts[Measure.SLOWDOWN])


SCENARIOS = {
    # the robot at full speed along the corridor; the person steps out of the door when the robot is 1.5 m
    # short of it and crosses the corridor at 1.4 m/s
    "doorway": dict(obstacles=WALLS, start=(1.0, -0.2, 0.0), route=[(19.0, -0.2)],
                    person=walk((0, 10.0, 3.0), (7.05, 10.0, 3.0), (7.05 + 1.8 / 1.4, 10.0, 1.2),
                                (7.05 + 4.0 / 1.4, 10.0, -1.0))),
    # in a hall, a person 4 m to the side walks across the robot's path at 1.4 m/s, timed to meet it
    "crossing": dict(obstacles=OPEN, start=(0.0, 0.0, 0.0), route=[(16.0, 0.0)],
                     person=walk((0, 8.4, 4.0), (6.35, 8.4, 4.0), (6.35 + 8.0 / 1.4, 8.4, -4.0))),
    # a faster person overtakes the robot on its left, cuts into its lane just ahead and walks on at 0.5 m/s
    "overtaking": dict(obstacles=OPEN, start=(0.0, 0.0, 0.0), route=[(20.0, 0.0)], seconds=80.0,
                       person=walk((0, -1.0, 0.9), (4.0, 1.0, 0.9), (8.0, 7.4, 0.9), (9.0, 8.4, 0.0),
                                   (72.0, 40.0, 0.0))),
    # the robot leaves the room through the door and turns east; a person walks west along the corridor at
    # 1.3 m/s, on the door's side, past the door as the robot comes out
    "leaving_door": dict(obstacles=WALLS, start=(10.0, 4.5, -math.pi / 2), route=[(10.0, 0.0), (18.0, 0.0)],
                         person=walk((0, 19.0, 0.6), (1.0, 19.0, 0.6), (1.0 + 16.0 / 1.3, 3.0, 0.6))),
}


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_the_robot_never_moves_into_the_person(name: str) -> None:
    spec = SCENARIOS[name]
    bypassed = run(**spec, safety=False)  # type: ignore[arg-type]
    guarded = run(**spec, safety=True)  # type: ignore[arg-type]
    print(f"{name}: without the layer {bypassed}; with it {guarded}")
    assert bypassed.contacts > 0, f"{name} is no hazard without the safety layer: {bypassed}"
    assert guarded.contacts == 0, guarded
    assert guarded.done, f"the robot did not finish its route: {guarded}"
    assert guarded.stops + guarded.slowdowns > 0, guarded


def test_a_robot_held_by_the_safety_layer_is_an_obstacle_stop_for_the_fleet() -> None:
    """Held by the layer alone, the robot reports an obstacle stop (mode WAITING, task state waiting_obstacle),
    so the fleet manager's recoveries (planning again, a blocked incident) apply; the task fails after the
    agent's blocked timeout, as for the follower's own stops."""
    from labfleet_robot.agent import Mode
    from labfleet_robot.safety import Decision

    agent = RobotAgent(Limits(radius=0.3), blocked_timeout_s=5.0)
    agent.safety.limit = lambda pose, v, w, caution=False, stops_within=math.inf: Decision(  # type: ignore[method-assign]
        0.0, w, Measure.STOP, "approach", 0.1, "moving object at 1.0 m/s")
    agent.step(0.0, (0.0, 0.0, 0.0))
    agent.start_task(Task("held", (Waypoint("w", 5.0, 0.0, None, 0.0),)), 0.0)
    t = 0.0
    while t < 4.0:
        t += CONTROL_DT
        assert agent.step(t, (0.0, 0.0, 0.0))[0] == 0.0
    assert agent.mode is Mode.WAITING and agent.feedback().state == "waiting_obstacle"  # type: ignore[union-attr]
    while t < 6.0 and agent.active is not None:
        t += CONTROL_DT
        agent.step(t, (0.0, 0.0, 0.0))
    (result,) = agent.take_results()
    assert result.outcome is Outcome.FAILED and "blocked by an obstacle" in result.reason
    assert agent.safety_counts[Measure.STOP] == 1  # one episode
