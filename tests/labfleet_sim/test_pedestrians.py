"""Scripted pedestrians (world actors): where they are at a sim time, and what robots sense and hit."""

from __future__ import annotations

import math

import numpy as np
import pytest
from labfleet_sim.pedestrians import PEDESTRIAN_RADIUS, pose_at
from labfleet_sim.physics import Simulator
from labfleet_sim.world import Actor, Waypoint, parse_world

from tests.labfleet_sim.test_physics import BOX_ROOM, fleet_in_box, run


def actor_sdf(name: str, waypoints: list[tuple[float, float, float, float]], *, loop: bool = True,
              delay: float = 0.0, pose: str = "0 0 0 0 0 0") -> str:
    points = "".join(f"<waypoint><time>{t}</time><pose>{x} {y} 1 0 0 {yaw}</pose></waypoint>"
                     for t, x, y, yaw in waypoints)
    return (f'<actor name="{name}"><pose>{pose}</pose><script><loop>{str(loop).lower()}</loop>'
            f'<delay_start>{delay}</delay_start><auto_start>true</auto_start>'
            f'<trajectory id="0" type="walk" tension="1">{points}</trajectory></script></actor>')


def box_room_with(*actors: str) -> str:
    return BOX_ROOM.replace("</world>", "".join(actors) + "</world>")


# a pedestrian walking east along y 5 from x 6 to x 9 in 3 s, turning in 0.5 s, and back
PACING = [(0, 6, 5, 0), (3, 9, 5, 0), (3.5, 9, 5, math.pi), (6.5, 6, 5, math.pi), (7, 6, 5, 0)]


def test_actors_are_parsed_in_the_map_frame():
    world = parse_world(box_room_with(
        actor_sdf("walker", PACING, delay=2.5),
        actor_sdf("turned", [(0, 1, 0, 0), (4, 2, 0, 0)], loop=False, pose="5 5 0 0 0 1.5707963267948966")))
    assert [o.model for o in world.obstacles] == ["walls"] * 4  # actors are no walls
    walker, turned = world.actors
    assert (walker.name, walker.loop, walker.delay_start) == ("walker", True, 2.5)
    assert walker.waypoints[1] == Waypoint(3.0, 9.0, 5.0, 0.0)
    assert (turned.loop, len(turned.waypoints)) == (False, 2)
    first = turned.waypoints[0]  # the actor's pose composes with its waypoints': (1, 0) turned 90° from (5, 5)
    assert (first.x, first.y, first.yaw) == pytest.approx((5.0, 6.0, math.pi / 2))


def test_position_is_interpolated_between_waypoints():
    walker = Actor("walker", tuple(Waypoint(*w) for w in PACING))
    assert pose_at(walker, 0.0) == pytest.approx((6, 5, 0))
    assert pose_at(walker, 1.5) == pytest.approx((7.5, 5, 0))
    assert pose_at(walker, 3.25)[:2] == pytest.approx((9, 5))  # turning on the spot
    assert pose_at(walker, 3.25)[2] == pytest.approx(math.pi / 2)
    assert pose_at(walker, 5.0) == pytest.approx((7.5, 5, math.pi))


def test_a_looping_script_starts_over_and_delay_start_is_waited_once():
    walker = Actor("walker", tuple(Waypoint(*w) for w in PACING), loop=True, delay_start=2.0)
    assert pose_at(walker, 0.0) == pose_at(walker, 1.9) == pytest.approx((6, 5, 0))  # waiting on the first
    assert pose_at(walker, 2.0 + 1.5) == pytest.approx((7.5, 5, 0))
    for t in (3.5, 4.1, 6.0, 8.9):
        assert pose_at(walker, t + 7.0) == pytest.approx(pose_at(walker, t))  # period: the last waypoint's time
        assert pose_at(walker, t + 70.0) == pytest.approx(pose_at(walker, t))
    once = Actor("once", walker.waypoints, loop=False)
    assert pose_at(once, 100.0) == pytest.approx((6, 5, 0))  # stays on its last waypoint
    assert pose_at(once, 5.0) == pose_at(walker, 7.0)


def test_simulator_reports_where_the_pedestrians_are():
    world = parse_world(box_room_with(actor_sdf("walker", PACING), actor_sdf("stand", [(0, 2, 2, 0)])))
    sim = Simulator(world, fleet_in_box([(1, 8, 0)]))
    assert [(p.name, p.x, p.y) for p in sim.pedestrians()] == [("walker", 6, 5), ("stand", 2, 2)]
    run(sim, 1.0, {})
    walker = sim.pedestrians()[0]
    assert (walker.x, walker.y, walker.yaw) == pytest.approx((7.0, 5.0, 0.0))


def test_scan_sees_a_pedestrian_where_it_is_at_the_time():
    world = parse_world(box_room_with(actor_sdf("walker", [(0, 5, 5, 0), (4, 5, 9, 0)], loop=False)))
    sim = Simulator(world, fleet_in_box([(2, 5, 0)]))
    angles = sim.scan_angles("r0")
    ahead = np.argmin(np.abs(angles))
    assert sim.scan("r0")[ahead] == pytest.approx(5 - 2 - PEDESTRIAN_RADIUS, abs=1e-6)
    run(sim, 2.0, {})  # it walked on to (5, 7): the ray ahead reaches the east wall, a ray to it sees it
    ranges = sim.scan("r0")
    assert ranges[ahead] == pytest.approx(10 - 0.1 - 2, abs=1e-6)
    toward = np.argmin(np.abs(angles - math.atan2(2, 3)))
    assert ranges[toward] == pytest.approx(math.hypot(3, 2) - PEDESTRIAN_RADIUS, abs=0.05)


def test_robot_driving_into_a_pedestrian_stops_with_a_contact_naming_it():
    world = parse_world(box_room_with(actor_sdf("walker", [(0, 6, 5, 0), (60, 6, 5.5, 0)], loop=False)))
    sim = Simulator(world, fleet_in_box([(2, 5, 0)]))
    contacts = run(sim, 8.0, {"r0": (1.0, 0.0)})
    assert [(c.robot_id, c.other) for c in contacts] == [("r0", "walker")]
    body, walker = sim.bodies["r0"], sim.pedestrians()[0]
    assert body.v == 0.0 and math.hypot(body.x - walker.x, body.y - walker.y) >= 0.3 + PEDESTRIAN_RADIUS - 1e-9
    assert body.x > 5.2  # it drove up to the pedestrian
    assert run(sim, 2.0, {"r0": (1.0, 0.0)}) == []  # still the same contact while it pushes on


def test_a_pedestrian_walking_into_a_standing_robot_is_a_contact_by_the_person():
    world = parse_world(box_room_with(actor_sdf("walker", [(0, 8, 5, math.pi), (6, 2, 5, math.pi)], loop=False)))
    sim = Simulator(world, fleet_in_box([(5, 5, 0)]))
    (contact,) = run(sim, 6.0, {"r0": (0.0, 0.0)})  # it walks through (scripted pedestrians do not react): once
    assert (contact.robot_id, contact.other, contact.by) == ("r0", "walker", "person")
    assert contact.robot_speed == 0.0 and contact.relative_speed == pytest.approx(1.0, abs=0.05)  # 6 m in 6 s
    assert contact.time == pytest.approx(3.0 - 0.6, abs=0.05)  # 0.6 m apart (the two radii) at 2.4 s


def test_a_robot_moving_into_a_pedestrian_reports_its_speed():
    world = parse_world(box_room_with(actor_sdf("walker", [(0, 6, 5, 0), (60, 6, 5.5, 0)], loop=False)))
    sim = Simulator(world, fleet_in_box([(2, 5, 0)]))
    (contact,) = run(sim, 8.0, {"r0": (1.0, 0.0)})
    assert contact.by == "robot" and contact.robot_speed > 0.5 and contact.relative_speed > 0.5


def test_pedestrian_and_robot_names_may_not_clash():
    world = parse_world(box_room_with(actor_sdf("r0", PACING)))
    with pytest.raises(ValueError, match=r"actors \['r0'\]"):
        Simulator(world, fleet_in_box([(2, 2, 0)]))


def test_same_seed_same_run_with_pedestrians():
    world = parse_world(box_room_with(actor_sdf("walker", PACING, delay=0.7),
                                      actor_sdf("crosser", [(0, 4, 1, 1.57), (8, 4, 9, 1.57), (16, 4, 1, 1.57)])))

    def record(seed: int):
        sim = Simulator(world, fleet_in_box([(1, 5, 0), (8, 2, math.pi / 2)]), seed=seed)
        out, contacts = [], []
        for k in range(800):
            sim.set_command("r0", 0.8, 0.3 * math.sin(k / 60))
            sim.set_command("r1", 0.6, 0.5 * math.cos(k / 45))
            contacts += sim.step()
            out.append([(b.x, b.y, b.yaw) for b in sim.bodies.values()] + sim.pedestrians())
        return out, contacts, [sim.scan(rid).tolist() for rid in sim.bodies]

    first = record(5)
    assert any(c.other in ("walker", "crosser") for c in first[1]), "the scenario should hit a pedestrian"
    assert record(5) == first
