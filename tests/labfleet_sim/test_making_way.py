"""How people who mind robots share a corridor with them (labfleet_sim.making_way): they walk a lane's right-hand
side where the walls leave room, and step aside early, out of the band a robot coming at them sweeps, so that
they pass it without entering its stop or slowdown zones; the distracted do neither."""

from __future__ import annotations

import math

import numpy as np
import pytest
from labfleet_sim.making_way import KEEP_RIGHT_M, MAKE_WAY_GAP_M, WALL_ROOM_M, keep_right, make_way
from labfleet_sim.pedestrians import PEDESTRIAN_RADIUS
from labfleet_sim.people import PeopleSpec
from labfleet_sim.social import ReactiveCrowd
from labfleet_sim.walls import WallGrid
from labfleet_sim.world import Actor, Obstacle, Waypoint, World

DT = 0.02


def box(name: str, x0: float, y0: float, x1: float, y1: float) -> Obstacle:
    return Obstacle(name, name, ((x0, y0), (x1, y0), (x1, y1), (x0, y1)))


def corridor(half: float) -> tuple[Obstacle, ...]:
    """A corridor along x from -1 to 31, `half` metres either side of y = 0."""
    return (box("south", -1, -half - 0.2, 31, -half), box("north", -1, half, 31, half + 0.2))


def grid(walls: tuple[Obstacle, ...]) -> WallGrid:
    return WallGrid(np.array(World("w", walls, ()).segments(), dtype=float))


def test_a_walk_keeps_to_the_walkers_right_as_far_as_the_walls_leave_room() -> None:
    wide, narrow = grid(corridor(3.0)), grid(corridor(1.2))
    east = keep_right([(0.0, 0.0), (10.0, 0.0), (20.0, 0.0), (30.0, 0.0)], wide)
    assert east[0] == (0.0, 0.0) and east[-1] == (30.0, 0.0)  # where they are and where they go stay
    assert [y for _, y in east[1:-1]] == pytest.approx([-KEEP_RIGHT_M] * 2)  # walking +x: right is -y
    west = keep_right([(30.0, 0.0), (20.0, 0.0), (10.0, 0.0), (0.0, 0.0)], narrow)
    for _, y in west[1:-1]:  # walking -x: right is +y, as far as the wall leaves room
        assert 0.5 < y <= 1.2 - PEDESTRIAN_RADIUS - WALL_ROOM_M + 1e-9


def test_a_walk_through_a_door_keeps_to_the_middle_of_the_door() -> None:
    """A room south of a corridor, joined by a 1.1 m door: no shift through the door frame."""
    walls = (*corridor(1.2)[1:], box("wall_w", -1, -1.4, 9.45, -1.2), box("wall_e", 10.55, -1.4, 31, -1.2))
    out = keep_right([(10.0, -5.0), (10.0, 0.0), (20.0, 0.0)], grid(walls))
    assert out[1] == pytest.approx((10.0, 0.0))


def robot(x: float, y: float, vx: float, radius: float = 0.35) -> np.ndarray:
    return np.array([[x, y, vx, 0.0, radius, 0.0 if vx >= 0 else math.pi]])


def test_a_person_steps_aside_early_for_a_robot_coming_at_them() -> None:
    walls = grid(corridor(1.5))
    desired = np.array([-1.2, 0.0])  # walking -x at the robot, in its lane
    step = make_way(np.array([13.0, 0.05]), desired, robot(10.0, 0.0, 1.0), walls)  # they meet in ~1 s
    assert abs(step[1]) > 0.5  # a real step sideways
    assert step[1] > 0  # their right (walking -x: +y)
    far = make_way(np.array([25.0, 0.05]), desired, robot(10.0, 0.0, 1.0), walls)  # ~7 s away: not yet
    assert far == pytest.approx(desired)
    clear = make_way(np.array([13.0, 1.1]), desired, robot(10.0, 0.0, 1.0), walls)  # already beside its way
    assert clear == pytest.approx(desired)
    standing = make_way(np.array([13.0, 0.05]), desired, robot(10.0, 0.0, 0.0), walls)
    assert standing == pytest.approx(desired)  # a standing robot: the social forces and the give-way rule


def test_with_no_room_beside_the_robot_a_person_holds_back() -> None:
    step = make_way(np.array([11.6, 0.0]), np.array([-1.2, 0.0]), robot(10.0, 0.0, 0.8), grid(corridor(0.7)))
    assert abs(step[0]) < 0.5


@pytest.mark.parametrize("distracted", [False, True])
def test_a_person_walking_at_a_robot_passes_beside_its_band_unless_distracted(distracted: bool) -> None:
    """A person walks -x down the middle of a 3 m corridor at a robot driving +x along y = -0.5; the one who minds
    robots passes it at MAKE_WAY_GAP_M beside the band it sweeps (past its slowdown margin); the distracted do not."""
    walk = Actor("ann", (Waypoint(0.0, 25.0, -0.4, math.pi), Waypoint(20.0, 1.0, -0.4, math.pi)), loop=False)
    crowd = ReactiveCrowd(World("corridor", corridor(1.5), (walk,)), PeopleSpec(
        reactive=True, distracted=frozenset({"ann"} if distracted else set())), None)
    t, x, least = 0.0, 2.0, math.inf
    while t < 12.0:
        bot = robot(x, -0.5, 1.0)
        crowd.advance(t, DT, bot)
        t += DT
        x += DT
        px, py = crowd.centres(t)[0]
        if abs(px - x) < 1.0:  # alongside: how far beside the band the robot sweeps
            least = min(least, abs(py + 0.5) - 0.35 - PEDESTRIAN_RADIUS)
    if distracted:
        assert least < 0.1
    else:
        assert least > MAKE_WAY_GAP_M - 0.1


def test_a_person_caught_up_from_behind_steps_aside_only_on_their_own_side() -> None:
    """A robot catches a slower person up (they walk the same way, +x): the person steps aside on the side of
    the robot's way they are on where there is room; at the wall they do not cross in front of it to the other
    side (into the way of robots coming the other way): they walk on, and the robot follows them."""
    robot_behind = robot(10.0, 0.0, 1.0)
    roomy = make_way(np.array([11.5, -0.2]), np.array([0.6, 0.0]), robot_behind, grid(corridor(1.5)))
    assert roomy[1] < -0.3  # to the robot's right, the side they are on
    south_wall_near = (box("south", -1, -0.95, 31, -0.75), box("north", -1, 1.5, 31, 1.7))  # room only on its left
    walled = make_way(np.array([11.5, -0.4]), np.array([0.6, 0.0]), robot_behind, grid(south_wall_near))
    assert walled == pytest.approx([0.6, 0.0])
