"""The lock-step site (simulator physics, robot agents and the fleet manager's traffic layer, no ROS) now
lives in fleet_manager/replay/lockstep.py, where re-simulation uses it too; this module re-exports it for
the benchmarks and tests, and keeps the benchmark-only helpers (free-flow drive times, random periods)."""

from __future__ import annotations

import math
import random

from labfleet_sim.fleet_config import FleetConfig
from labfleet_sim.world import World

from fleet_manager.core.navgraph import NavGraph
from fleet_manager.replay.lockstep import (
    FM_EVERY,
    PLAN_RETRY_S,
    SCAN_EVERY,
    SIM_DT,
    Driver,
    Job,
    LockstepSite,
    RunStats,
    load_site,
    make_agent,
)

__all__ = ["FM_EVERY", "PLAN_RETRY_S", "SCAN_EVERY", "SIM_DT", "Driver", "Job", "LockstepSite", "RunStats",
           "free_flow_seconds", "load_site", "make_agent", "random_periods"]


_ALONE: dict[tuple[int, str], tuple[LockstepSite, str]] = {}  # (graph id, model) -> a site with one such robot


def free_flow_seconds(world: World, fleet: FleetConfig, graph: NavGraph, robot: str,
                      legs: list[tuple[str, str]], cache: dict[tuple[str, str], float]) -> float:
    """Drive time of each leg by a robot of `robot`'s model alone on the site (no other robot, same planner,
    agent and physics); cached per leg. Returns the sum over the legs. One site per model serves every leg (its
    robot is set down at each leg's start), as building a large site's lane graph takes seconds."""
    total = 0.0
    key = (id(graph), fleet.robot(robot).model.name)
    for start, goal in legs:
        if (start, goal) not in cache:
            if key not in _ALONE:
                _ALONE[key] = (LockstepSite(world, fleet, graph, robots=[robot]), robot)
            site, alone = _ALONE[key]
            place = graph.place(start)
            site.sim.set_pose(alone, place.x, place.y, place.yaw if place.yaw is not None else 0.0)
            driver = site.drivers[alone]
            driver.agent.step(site.now, site.pose(alone))
            site.traffic.finish(alone, place.x, place.y, site.now)
            began = site.now
            site.assign(Job(0, alone, [("go_to", goal)], began, start))
            done = site.run_until(began + 900.0, until=lambda d=driver: d.job is None)  # type: ignore[misc]
            cache[(start, goal)] = site.now - began if done else math.inf
            if not done:  # the robot still has the job: a fresh site for the next leg
                del _ALONE[key]
        total += cache[(start, goal)]
    return total


def random_periods(rng: random.Random, horizon: float, mean_gap: float, length: tuple[float, float]
                   ) -> list[tuple[float, float]]:
    """Random (start, end) periods over [0, horizon): exponential gaps, uniform lengths."""
    out, t = [], rng.expovariate(1.0 / mean_gap)
    while t < horizon:
        span = rng.uniform(*length)
        out.append((t, t + span))
        t += span + rng.expovariate(1.0 / mean_gap)
    return out
