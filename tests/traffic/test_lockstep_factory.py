"""Traffic in smart_factory in lock-step (bench/lockstep.py: simulator physics, robot agents and the
fleet manager's traffic layer, no ROS): a lane closed under a driving robot reroutes it; a few tuggers
swap ends of a single-lane aisle and cross the factory without touching."""

from __future__ import annotations

import math
from pathlib import Path

from fleet_manager.replay.lockstep import Job, LockstepSite, load_site

SITE = Path(__file__).resolve().parents[2] / "sim_worlds" / "smart_factory"


def test_closing_a_lane_on_a_robots_route_reroutes_it_around_the_lane():
    world, fleet, graph = load_site(SITE)
    site = LockstepSite(world, fleet, graph, robots=["amr_01"])
    job = Job(1, "amr_01", [("go_to", "line1_s3")], 0.0, "home_01")
    site.assign(job)
    first = [w.name for w in site.traffic.routes["amr_01"].waypoints]
    assert "s_33.5" in first and "s_36" in first  # the short way: along the south road
    site.run_until(15.0)
    assert site.traffic.close_lane("south_16") == ["amr_01"]
    a, b = graph.place("s_33.5"), graph.place("s_36")
    mid = ((a.x + b.x) / 2, (a.y + b.y) / 2)
    closest = math.inf

    def watch() -> bool:
        nonlocal closest
        x, y, _ = site.pose("amr_01")
        closest = min(closest, math.hypot(x - mid[0], y - mid[1]))
        return site.drivers["amr_01"].job is None

    assert site.run_until(600.0, until=watch), "the robot did not arrive"
    assert job.status == "completed", job.reason
    assert site.stats.reroutes == 1
    assert closest > 3.0  # it never drove along the closed lane (its middle is 1.25 m from each end)
    assert site.stats.contacts == []


def test_tuggers_swap_ends_of_a_single_lane_aisle_and_cross_the_factory_without_contact():
    world, fleet, graph = load_site(SITE)
    robots = ["amr_01", "amr_02", "amr_05", "amr_06"]
    site = LockstepSite(world, fleet, graph, robots=robots)
    # two go through aisle 8 from the south, two come through it from the north, at the same time
    site.sim.set_pose("amr_05", graph.place("bay_08_30").x, graph.place("bay_08_30").y, 0.0)
    site.sim.set_pose("amr_06", graph.place("bay_14_30").x, graph.place("bay_14_30").y, 0.0)
    for rid in ("amr_05", "amr_06"):
        x, y, yaw = site.pose(rid)
        site.drivers[rid].agent.step(0.0, (x, y, yaw))
        site.traffic.finish(rid, x, y, 0.0)
    jobs = [Job(1, "amr_01", [("go_to", "bay_08_24"), ("go_to", "line2_n1")], 0.0, "home_01"),
            Job(2, "amr_02", [("go_to", "bay_08_18"), ("go_to", "line2_n2")], 0.0, "home_02"),
            Job(3, "amr_05", [("go_to", "bay_08_12"), ("go_to", "line1_s1")], 0.0, "bay_08_30"),
            Job(4, "amr_06", [("go_to", "a08_12"), ("go_to", "line1_s2")], 0.0, "bay_14_30")]
    for job in jobs:
        site.assign(job)
    site.run_until(900.0, until=lambda: all(d.job is None for d in site.drivers.values()))
    assert [(j.id, j.status, j.reason) for j in jobs] == [(j.id, "completed", "") for j in jobs]
    assert [c for c in site.stats.contacts if c.other in site.drivers] == []
    assert site.stats.contacts == []
