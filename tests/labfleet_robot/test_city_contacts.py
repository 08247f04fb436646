"""city_block couriers keep clear of the kerb rails, the facades and the park fence on ordinary routes.

A lab run of 30 deliveries (3 couriers, --speed 4) reported static contacts at (43.98, 19.65) by the park
fence, (43.02, 6.65) and (28.04, 17.35) at kerb rails, (89.63, 22.26) at the east rail and (59.72, 4.23) at
the corner of the far row of buildings: each 0.65 m (0.77 m) to the right of the carriageway the robot
drove, where the wall beside it is 1.0 m away. The cause was the path follower: a fixed 0.6 m lookahead at
1.5 m/s leaves the steering loop so little margin that the lag of a loaded ROS lab (odometry and scan a
few tenths of a second old, commands sent at irregular intervals) makes the robot weave across its
sidewalk, by most right after a stop-and-turn, until it touches the wall on its right.

Here the routes come from the fleet manager's TrafficManager (the site's zones, the robots' speed caps),
the real RobotAgent drives them on the real simulator physics with the site's pedestrians, in lock-step,
one robot at a time; the agent sees the simulator as the ROS agent does in a loaded lab: it acts every
0.05 to 0.25 s on the newest odometry (20 Hz) and scan (10 Hz) that are 0.05 to 0.3 s old (seeded).
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from labfleet_robot.agent import Outcome, RobotAgent, Task, TaskResult, Waypoint
from labfleet_robot.controller import Limits, PathFollower, Tuning, wrap
from labfleet_sim.physics import Contact, Simulator
from labfleet_sim.world import World

from fleet_manager.missions.traffic import TrafficManager
from fleet_manager.sites.service import Site

SITE = Path(__file__).resolve().parents[2] / "sim_worlds" / "city_block"
ROBOT = "courier_1"
SIM_DT = 0.02  # the ROS simulator's 50 Hz
ODOM_DT, SCAN_DT = 0.05, 0.1  # as the ROS simulator publishes them
CONTROL_S = (0.05, 0.25)  # s between two control steps of a lagging agent
AGE_S = (0.05, 0.3)  # s: how old the odometry and scan it acts on are
MARGIN_M = 0.1  # the footprint keeps this clear of every wall (on its carriageway: 0.65 m; at a door: 0.45 m)

# (start, goal): the legs of the deliveries that passed the reported contacts
LEGS = [
    ("parking_1", "pharmacy"),  # far sidewalk west past far_42, crossing 1, south sidewalk west
    ("pharmacy", "bookshop"),  # south sidewalk east past s_30, round c_se, east sidewalk north to e_26
    ("bookshop", "pharmacy"),  # back round c_se, south sidewalk west past s_40 by the park fence
    ("parking_3", "school_gate"),  # far sidewalk east past far_57 by the far row, crossing 2, round the block
]


@pytest.fixture(scope="module")
def site() -> Site:
    return Site.load(SITE)


def walls_of(world: World) -> tuple[np.ndarray, np.ndarray]:
    segs = np.array(world.segments(), dtype=float).reshape(-1, 4)
    return segs[:, 0:2], segs[:, 2:4] - segs[:, 0:2]


def clearance(walls: tuple[np.ndarray, np.ndarray], x: float, y: float) -> float:
    """Distance from a point to the nearest wall edge."""
    a, d = walls
    t = np.clip(((np.array([x, y]) - a) * d).sum(axis=1) / np.maximum((d * d).sum(axis=1), 1e-12), 0.0, 1.0)
    return float(np.hypot(*(a + t[:, None] * d - (x, y)).T).min())


@dataclass
class Drive:
    result: TaskResult | None
    contacts: list[Contact]  # with static models (walls)
    gap: float  # the least distance between the footprint and a wall
    worst: tuple[float, float]  # where


def drive(site: Site, start: str, goal: str, *, seed: int | None, tuning: Tuning | None = None,
          safety: bool = True) -> Drive:
    """The courier, set down on `start`, drives a route to `goal` planned by the TrafficManager; `seed`
    None: the agent steps every 0.05 s on the present pose and scan, else it lags (seeded)."""
    sim = Simulator(site.world, site.fleet, dt=SIM_DT)
    place = site.navgraph.place(start)
    sim.set_pose(ROBOT, place.x, place.y, place.yaw or 0.0)
    model = site.fleet.robot(ROBOT).model
    agent = RobotAgent(Limits(max_speed=model.max_speed, max_accel=model.max_accel, max_yaw_rate=model.max_yaw_rate,
                              max_yaw_accel=model.max_yaw_accel, radius=model.radius),
                       blocked_timeout_s=600.0, tuning=tuning)
    if not safety:  # the path follower alone, its commands straight to the base
        agent._safe = lambda now, pose, v, w: (v, w)  # type: ignore[method-assign]
    caps = {r.id: site.max_speed(r.id) for r in site.fleet.robots}
    traffic = TrafficManager(site.navgraph, zones=site.operating_zones, robot_caps=caps)
    body = sim.bodies[ROBOT]
    agent.step(sim.time, (body.x, body.y, body.yaw))
    traffic.park(ROBOT, body.x, body.y, sim.time)
    route = traffic.plan(traffic.mover(ROBOT, model.radius, model.max_speed), body.x, body.y, goal, sim.time)
    agent.start_task(Task(f"{start}-{goal}", tuple(Waypoint(w.name, w.x, w.y, w.yaw, w.max_speed)
                                                   for w in route.waypoints)), sim.time)
    static = {o.model for o in site.world.obstacles}
    walls = walls_of(site.world)
    angles = sim.scan_angles(ROBOT)
    rng = random.Random(seed)
    odom: list[tuple[float, tuple[float, float, float]]] = []
    scans: list[tuple[float, np.ndarray]] = []
    out = Drive(None, [], math.inf, (math.nan, math.nan))
    results: list[TaskResult] = []
    next_control = sim.time
    step = 0
    while sim.time < 300.0 and not results:
        if step % round(ODOM_DT / SIM_DT) == 0:
            odom = [*odom[-20:], (sim.time, (body.x, body.y, body.yaw))]
        if step % round(SCAN_DT / SIM_DT) == 0:
            scans = [*scans[-10:], (sim.time, sim.scan(ROBOT))]
        if sim.time >= next_control - 1e-9:
            if seed is None:
                pose, ranges, next_control = odom[-1][1], scans[-1][1], next_control + ODOM_DT
            else:
                seen = sim.time - rng.uniform(*AGE_S)
                pose = next((p for t, p in reversed(odom) if t <= seen + 1e-9), odom[0][1])
                ranges = next((r for t, r in reversed(scans) if t <= seen + 1e-9), scans[0][1])
                next_control += rng.uniform(*CONTROL_S)
            sim.set_command(ROBOT, *agent.step(sim.time, pose, ranges, angles))
            results += agent.take_results()
        out.contacts += [c for c in sim.step() if c.other in static]
        step += 1
        gap = clearance(walls, body.x, body.y) - model.radius
        if gap < out.gap:
            out.gap, out.worst = gap, (body.x, body.y)
    out.result = results[0] if results else None
    return out


def describe(d: Drive) -> str:
    hits = ", ".join(f"{c.other} at ({c.x:.2f}, {c.y:.2f})" for c in d.contacts)
    return f"least gap {d.gap:.3f} m at ({d.worst[0]:.2f}, {d.worst[1]:.2f}); contacts: {hits or 'none'}"


@pytest.mark.parametrize("seed", [None, 1, 2], ids=["prompt", "lagging-1", "lagging-2"])
@pytest.mark.parametrize(("start", "goal"), LEGS, ids=[f"{s}-{g}" for s, g in LEGS])
def test_a_courier_keeps_clear_of_the_walls(site, start, goal, seed):
    d = drive(site, start, goal, seed=seed)
    assert d.result is not None and d.result.outcome is Outcome.SUCCEEDED, d.result
    there = site.navgraph.place(goal)
    assert math.hypot(d.result.x - there.x, d.result.y - there.y) < 0.3
    assert d.contacts == [], describe(d)
    assert d.gap >= MARGIN_M, describe(d)


def test_with_a_fixed_short_lookahead_the_lagging_courier_touches_the_walls(site):
    """The test's sensitivity, and the cause: the path follower of before (a 0.6 m lookahead at any speed)
    weaves with the same lag until it touches the kerb rail on its right, as in the lab. The agent's safety
    layer (bypassed here) keeps even that follower off the rail."""
    d = drive(site, "pharmacy", "bookshop", seed=2, tuning=Tuning(lookahead_time=0.0), safety=False)
    assert d.contacts and {c.other for c in d.contacts} == {"kerbs"}, describe(d)
    assert d.gap < 0.01, describe(d)
    guarded = drive(site, "pharmacy", "bookshop", seed=2, tuning=Tuning(lookahead_time=0.0))
    assert guarded.contacts == [], describe(guarded)


def weave(tuning: Tuning, lag_s: float) -> float:
    """Pure controller: a courier starts 0.3 m off a straight 40 m path and drives it at up to 1.5 m/s, acting
    every 0.05 s on a pose `lag_s` old; returns how far off the path it still strays from x 10 to 35 m."""
    limits = Limits(max_speed=1.5, max_accel=0.7, max_yaw_rate=1.5, max_yaw_accel=3.0, radius=0.35)
    follower = PathFollower(limits, tuning)
    follower.set_path((0.0, 0.0), [(40.0, 0.0)], [0.0], None, 0)
    dt, every = 0.01, 5
    x, y, yaw, v, w = 0.0, 0.3, 0.0, 0.0, 0.0
    poses = [(x, y, yaw)] * (round(lag_s / dt) + 1)
    off = 0.0
    for k in range(round(60.0 / dt)):
        if k % every == 0:
            v, w, _ = follower.compute(*poses[0], every * dt)
        mid = yaw + w * dt / 2
        x, y, yaw = x + v * math.cos(mid) * dt, y + v * math.sin(mid) * dt, wrap(yaw + w * dt)
        poses = [*poses[1:], (x, y, yaw)]
        if 10.0 < x < 35.0:
            off = max(off, abs(y))
        if x > 35.0:
            break
    return off


def test_the_follower_holds_its_line_with_a_lagging_pose():
    assert weave(Tuning(), 0.0) < 0.02
    assert weave(Tuning(), 0.2) < 0.02  # settled on its line
    assert weave(Tuning(lookahead_time=0.0), 0.2) > 0.3  # a fixed 0.6 m lookahead: it weaves across the sidewalk
