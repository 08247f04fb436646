"""Reactive pedestrians (labfleet_sim.social) and their people.yaml (labfleet_sim.people): people walk to their
targets without passing through walls or each other, step aside from a robot coming at them (unless
distracted, then they stop touching it and the simulator records the contact as theirs), crowds arrive at
their rate and leave, and a seeded run replays exactly."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from labfleet_sim.fleet_config import parse_fleet
from labfleet_sim.pedestrians import PEDESTRIAN_RADIUS
from labfleet_sim.people import CrowdSpec, PeopleConfigError, PeopleSpec, load_people, parse_people
from labfleet_sim.physics import Simulator
from labfleet_sim.social import ReactiveCrowd, Walkways
from labfleet_sim.world import Actor, Obstacle, Waypoint, World

DT = 0.02


def box(name: str, x0: float, y0: float, x1: float, y1: float) -> Obstacle:
    return Obstacle(name, name, ((x0, y0), (x1, y0), (x1, y1), (x0, y1)))


# a 2.4 m corridor along x from 0 to 30 (y -1.2 .. 1.2)
CORRIDOR = (box("south", -1, -1.4, 31, -1.2), box("north", -1, 1.2, 31, 1.4), box("west", -1.2, -1.4, -1, 1.4),
            box("east", 31, -1.4, 31.2, 1.4))


def walker(name: str, x0: float, y0: float, x1: float, y1: float, duration: float) -> Actor:
    yaw = math.atan2(y1 - y0, x1 - x0)
    return Actor(name, (Waypoint(0.0, x0, y0, yaw), Waypoint(duration, x1, y1, yaw)), loop=False)


def wall_clearance(crowd: ReactiveCrowd, i: int) -> float:
    dist, _ = crowd._walls.near(crowd.pos[i:i + 1])
    return float(dist.min())


def run(crowd: ReactiveCrowd, seconds: float, robots: np.ndarray | None = None, t0: float = 0.0) -> float:
    t = t0
    for _ in range(round(seconds / DT)):
        crowd.advance(t, DT, np.zeros((0, 5)) if robots is None else robots)
        t += DT
    return t


def test_a_reactive_actor_walks_its_waypoints_at_the_script_pace_and_keeps_off_the_walls() -> None:
    world = World("corridor", CORRIDOR, (walker("ann", 1.0, 1.0, 25.0, 1.0, 20.0),))  # 1.2 m/s, hugging a wall
    crowd = ReactiveCrowd(world, PeopleSpec(reactive=True), None)
    t, closest = 0.0, math.inf
    while t < 30.0:
        crowd.advance(t, DT, np.zeros((0, 5)))
        t += DT
        closest = min(closest, wall_clearance(crowd, 0))
    x, y = crowd.centres(t)[0]
    assert x == pytest.approx(25.0, abs=0.5) and abs(y) < 1.2 - PEDESTRIAN_RADIUS + 1e-6
    assert closest >= PEDESTRIAN_RADIUS - 1e-6


def test_two_people_walking_at_each_other_pass_without_overlapping() -> None:
    world = World("corridor", CORRIDOR, (walker("ann", 2.0, 0.0, 28.0, 0.0, 20.0),
                                         walker("bob", 28.0, 0.05, 2.0, 0.05, 20.0)))
    crowd = ReactiveCrowd(world, PeopleSpec(reactive=True), None)
    t, closest = 0.0, math.inf
    while t < 30.0:
        crowd.advance(t, DT, np.zeros((0, 5)))
        t += DT
        a, b = crowd.centres(t)
        closest = min(closest, float(np.hypot(*(a - b))))
    a, b = crowd.centres(t)
    assert a[0] > 26.0 and b[0] < 4.0  # both got past
    assert closest > 1.5 * PEDESTRIAN_RADIUS


def robot_at(x: float, y: float, vx: float) -> np.ndarray:
    return np.array([[x, y, vx, 0.0, 0.3]])


@pytest.mark.parametrize("distracted", [False, True])
def test_a_person_steps_aside_from_a_robot_unless_distracted(distracted: bool) -> None:
    """A robot drives along the corridor's centre at 0.8 m/s; a person walks at it. An attentive person steps
    aside and never touches it; a distracted one walks on until touching it and goes no further into it (then
    steps round it)."""
    world = World("corridor", CORRIDOR, (walker("ann", 20.0, 0.0, 2.0, 0.0, 15.0),))
    crowd = ReactiveCrowd(world, PeopleSpec(reactive=True, distracted=frozenset({"ann"} if distracted else ())), None)
    t, closest, rx = 0.0, math.inf, 4.0
    while t < 15.0:
        robot = robot_at(rx, 0.0, 0.8)
        crowd.advance(t, DT, robot)
        t += DT
        rx += 0.8 * DT
        x, y = crowd.centres(t)[0]
        closest = min(closest, math.hypot(x - rx, y) - 0.3 - PEDESTRIAN_RADIUS)
    if distracted:
        assert -0.03 < closest < 0.0  # touched, never pushed through
    else:
        assert closest > 0.1


def test_a_distracted_person_walking_into_a_standing_robot_is_the_persons_contact() -> None:
    fleet = parse_fleet({"site": "corridor", "models": {"bot": {
        "kind": "delivery", "radius": 0.3, "mass_kg": 40, "max_speed": 1.0, "max_accel": 0.6, "max_decel": 2.0,
        "max_yaw_rate": 1.5, "max_yaw_accel": 3.0, "battery_capacity_wh": 400, "idle_power_w": 10,
        "drive_power_w": 50, "lidar": {"samples": 90, "fov_deg": 360, "range_max": 8.0}}},
        "robots": [{"id": "bot_1", "model": "bot", "spawn": {"x": 10.0, "y": 0.0, "yaw": 0.0}}]})
    world = World("corridor", CORRIDOR, (walker("ann", 20.0, 0.0, 2.0, 0.0, 15.0),))
    sim = Simulator(world, fleet, dt=DT, people=PeopleSpec(reactive=True, distracted=frozenset({"ann"})))
    contacts, closest = [], math.inf
    for _ in range(round(20.0 / DT)):
        contacts += sim.step()
        x, y = sim.crowd.centres(sim.time)[0]
        closest = min(closest, math.hypot(x - 10.0, y))
    assert [(c.other, c.by, c.robot_speed) for c in contacts] == [("ann", "person", 0.0)]  # once: then minds it
    assert closest > 0.6 - 0.02  # touching, never pushed into it
    assert x < 9.0  # then stepped round it and walked on (bumped at 8 s, past it at 18)


WALKWAYS = Walkways({"w": (1.0, 0.0, "door"), "mid": (15.0, 0.0, None), "e": (29.0, 0.0, "door"),
                     "s": (15.0, 0.5, "shop")}, [("w", "mid"), ("mid", "e"), ("mid", "s")])


def test_a_crowd_arrives_at_its_rate_walks_the_lanes_and_leaves() -> None:
    spec = PeopleSpec(crowds=(CrowdSpec("street", 8, ("door",), rate_per_hour=360.0, speed=(1.2, 1.2)),))
    world = World("corridor", CORRIDOR)
    crowd = ReactiveCrowd(world, spec, WALKWAYS, seed=3)
    assert crowd.present.sum() == 8  # the crowd starts full
    seen_left, t = 0, 0.0
    for _ in range(round(1800 / DT / 10)):  # 30 min at a coarse step
        before = crowd.present.copy()
        crowd.advance(t, DT * 10, np.zeros((0, 5)))
        t += DT * 10
        seen_left += int((before & ~crowd.present).sum())
        assert (np.abs(crowd.pos[crowd.present, 1]) <= 1.2 - PEDESTRIAN_RADIUS + 1e-6).all()
        gone = crowd.centres(t)[~crowd.present]
        assert (gone > 1e5).all(), gone  # who left is nowhere a lidar or a robot could meet them
    arrivals = seen_left + crowd.present.sum() - 8 + crowd.turned_away
    assert seen_left > 100  # a walk of 28 m at 1.2 m/s: each of them leaves about every 25 s
    assert 180 - 4 * math.sqrt(180) < arrivals < 180 + 4 * math.sqrt(180)  # 360 an hour for half an hour


def test_a_seeded_crowd_replays_the_same() -> None:
    spec = PeopleSpec(crowds=(CrowdSpec("street", 6, ("door", "shop"), speed=(0.8, 1.5), distracted=0.5),))
    runs = []
    for _ in range(2):
        crowd = ReactiveCrowd(World("corridor", CORRIDOR), spec, WALKWAYS, seed=11)
        run(crowd, 20.0, robot_at(15.0, 0.0, 0.0))
        runs.append(crowd.pos.copy())
    assert np.array_equal(runs[0], runs[1])
    other = ReactiveCrowd(World("corridor", CORRIDOR), spec, WALKWAYS, seed=12)
    run(other, 20.0, robot_at(15.0, 0.0, 0.0))
    assert not np.array_equal(runs[0], other.pos)


@pytest.mark.parametrize(("raw", "message"), [
    ({"crowds": [{"name": "lobby", "people": 5, "places": ["lounge"]}]},
     "crowds[0].places: no place or place kind lounge in the navgraph (kinds: door, shop)"),
    ({"crowds": [{"name": "lobby", "people": 5, "places": ["door"], "speed": [-1, 1]}]},
     "crowds[0].speed: -1 must be from 0.1 to 3"),
    ({"crowds": [{"name": "lobby", "people": 0, "places": ["door"]}]}, "crowds[0].people: 0 must be from 1 to 500"),
    ({"crowds": [{"name": "lobby", "people": 2, "places": ["door"], "rate_per_hour": -5}]},
     "crowds[0].rate_per_hour: -5 must be at least 0.001"),
    ({"crowds": [{"name": "a", "people": 2, "places": ["door"]}, {"name": "a", "people": 1, "places": ["door"]}]},
     "crowds[1].name: 'a' is used twice"),
    ({"distracted": ["zed"]}, "distracted: no actor zed in the world (actors: ann)"),
    ({"reactive": "yes"}, "reactive: 'yes' is not true or false"),
    ({"crowd": []}, "unknown field crowd"),
])
def test_bad_people_files_are_refused_naming_the_field(raw: dict, message: str) -> None:
    with pytest.raises(PeopleConfigError) as failure:
        parse_people(raw, "people.yaml", place_kinds={"door", "shop"}, actors={"ann"})
    assert str(failure.value) == f"people.yaml: {message}"


def test_the_sites_people_files_load(tmp_path: Path) -> None:
    assert load_people(tmp_path / "people.yaml") == PeopleSpec()  # no file: scripted, as Gazebo plays them
    (tmp_path / "people.yaml").write_text("reactive: true\ncrowds:\n  - {name: hall, people: 3, places: door}\n")
    spec = load_people(tmp_path / "people.yaml", place_kinds={"door"})
    assert spec.reactive and spec.crowds == (CrowdSpec("hall", 3, ("door",)),)


@pytest.mark.parametrize("robot_y", [-0.6, -0.3, 0.0, 0.3, 0.6])
@pytest.mark.parametrize("person_y", [-0.7, 0.0, 0.7])
def test_a_person_gets_past_a_standing_robot_wherever_it_stands_in_the_corridor(robot_y: float,
                                                                                person_y: float) -> None:
    """Keeping right when there is room on the right, else passing on the left: a wall never holds them up (a
    person whose right was blocked by the wall stood in front of the robot for good)."""
    world = World("corridor", CORRIDOR, (walker("ann", 20.0, person_y, 2.0, person_y, 15.0),))
    crowd = ReactiveCrowd(world, PeopleSpec(reactive=True), None)
    robot = np.array([[10.0, robot_y, 0.0, 0.0, 0.35, 0.0]])
    t, closest = 0.0, math.inf
    while t < 25.0 and crowd.centres(t)[0][0] > 9.0:
        crowd.advance(t, DT, robot)
        t += DT
        x, y = crowd.centres(t)[0]
        closest = min(closest, math.hypot(x - 10.0, y - robot_y) - 0.35 - PEDESTRIAN_RADIUS)
    assert crowd.centres(t)[0][0] <= 9.0, f"held up at {crowd.centres(t)[0]}"
    assert closest > 0.0


def narrow(width: float) -> tuple[Obstacle, ...]:
    half = width / 2
    return (box("south", -1, -half - 0.2, 31, -half), box("north", -1, half, 31, half + 0.2))


@pytest.mark.parametrize(("width", "moves"), [(2.4, "aside"), (1.2, "back")])
def test_a_person_held_up_in_front_of_a_waiting_robot_steps_out_of_its_way(width: float, moves: str) -> None:
    """A robot stands facing +x (waiting for the person); the person stands in its way. After HELD_S they step
    sideways out of its lane where there is room, back along its way where there is none; a distracted person
    does not, nor does anyone for a robot that moves or one they are behind."""
    world = World("corridor", narrow(width), (walker("ann", 11.0, 0.1, 11.0, 0.1, 1.0),))
    crowd = ReactiveCrowd(world, PeopleSpec(reactive=True), None)
    robot = np.array([10.0, 0.0, 0.0, 0.0, 0.35, 0.0])
    p = np.array([11.0, 0.1])
    step = crowd._out_of_the_way(p, robot[None])
    assert step is not None
    if moves == "aside":
        assert step[1] > 0.5 and abs(step[0]) < 1e-9  # to its left, the side the person is on
    else:
        assert step[0] > 0.5 and abs(step[1]) < 1e-9  # ahead of it, away from it
    moving = robot.copy()
    moving[2] = 0.5
    assert crowd._out_of_the_way(p, moving[None]) is None
    assert crowd._out_of_the_way(np.array([9.0, 0.1]), robot[None]) is None  # behind it
    assert crowd._out_of_the_way(np.array([13.5, 0.1]), robot[None]) is None  # far ahead


def time_in_the_lane(world: World, robot: np.ndarray, seconds: float) -> float:
    """Person-seconds spent in the lane ahead of a robot standing at (10, y) facing +x (within GIVE_WAY_M of its
    footprint, closer than half a person beside its footprint)."""
    crowd = ReactiveCrowd(world, PeopleSpec(reactive=True), None)
    t, held = 0.0, 0.0
    while t < seconds:
        crowd.advance(t, DT, robot)
        t += DT
        ahead = crowd.centres(t) - robot[0, 0:2]
        held += DT * int(((ahead[:, 0] > 0) & (ahead[:, 0] < 0.35 + PEDESTRIAN_RADIUS + 1.0)
                          & (np.abs(ahead[:, 1]) < 0.35 + PEDESTRIAN_RADIUS)).sum())
    return held


@pytest.mark.parametrize(("walls", "people", "robot_y", "most"), [
    (narrow(1.3), [(20.0, 0.0)], 0.0, 12.0),  # no way past: the person backs off (33 s in its lane without)
    (CORRIDOR, [(20.0, -0.6), (20.0, 0.0), (20.0, 0.6)], 0.4, 9.0),  # three abreast, one squeezed (13.5 s)
])
def test_people_held_up_in_front_of_a_waiting_robot_clear_its_lane(walls: tuple[Obstacle, ...],
                                                                   people: list[tuple[float, float]],
                                                                   robot_y: float, most: float) -> None:
    """People walking at a robot that stands facing them (waiting for them to clear its way) do not stay in its
    lane: the person-seconds in it over 40 s stay under `most` (measured without the give-way rule in brackets)."""
    world = World("corridor", walls, tuple(walker(f"p{k}", x, y, 2.0, y, 15.0) for k, (x, y) in enumerate(people)))
    assert time_in_the_lane(world, np.array([[10.0, robot_y, 0.0, 0.0, 0.35, 0.0]]), 40.0) < most
