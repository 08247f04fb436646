"""Allocation: plan() (rounds of least total completion time) against greedy_plan() (nearest idle robot,
queue order) on one synthetic site.

The site is a grid of places with some lanes removed and a few dozen chargers; robots of a few kinds
stand at random places with random batteries; the queue holds missions of 1-3 places with random work,
most needing no particular kind or capability, sorted by priority then id as the dispatcher sorts them.
Each solver is timed cold (distances included) on the same input. Prints missions, robots, solve time
(best and median), total completion time, the ratio plan/greedy and the unassigned counts.

    .venv/bin/python bench/allocation.py [--missions 1000] [--robots 200] [--grid 40] [--seed 7]
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from fleet_manager.core.allocation import MissionRequest, Plan, RobotCandidate, greedy_plan, plan
from fleet_manager.core.navgraph import NavGraph, parse_navgraph

SOLVE_TARGET_S = 0.5
RATIO_TARGET = 0.85
KINDS = {  # kind -> (capabilities, speed range m/s, drive W, idle W)
    "delivery": (frozenset({"cargo_bay"}), (0.8, 1.4), 90.0, 20.0),
    "amr": (frozenset({"tow_hitch", "cargo_bay"}), (0.5, 1.0), 150.0, 30.0),
    "guide": (frozenset({"screen", "speaker"}), (0.6, 1.1), 60.0, 25.0),
}


def build_site(rng: random.Random, size: int, spacing: float, drop: float, chargers: int) -> NavGraph:
    names = [f"p{i}_{j}" for i in range(size) for j in range(size)]
    charger_names = set(rng.sample(names, chargers))
    places = {
        f"p{i}_{j}": {"x": i * spacing, "y": j * spacing, "kind": "charger" if f"p{i}_{j}" in charger_names else "room"}
        for i in range(size)
        for j in range(size)
    }
    lanes = []
    for i in range(size):
        for j in range(size):
            for di, dj in ((1, 0), (0, 1)):
                if i + di < size and j + dj < size and rng.random() >= drop:
                    lanes.append({"from": f"p{i}_{j}", "to": f"p{i + di}_{j + dj}"})
    return parse_navgraph({"site": "bench", "places": places, "lanes": lanes}, "bench")


def build_fleet(rng: random.Random, graph: NavGraph, count: int) -> list[RobotCandidate]:
    names = list(graph.places)
    robots = []
    for n in range(count):
        kind = rng.choices(list(KINDS), weights=(6, 2, 2))[0]
        capabilities, (slow, fast), drive_w, idle_w = KINDS[kind]
        robots.append(
            RobotCandidate(
                f"r{n:03d}", kind, capabilities, rng.choice(names), rng.uniform(0.0, 1.0), rng.uniform(slow, fast),
                battery_wh=rng.uniform(15.0, 250.0), drive_power_w=drive_w, idle_power_w=idle_w,
                reserve_wh=10.0,
            )
        )  # fmt: skip
    return robots


def build_queue(
    rng: random.Random, graph: NavGraph, robots: Sequence[RobotCandidate], count: int
) -> list[MissionRequest]:
    names = list(graph.places)
    missions = []
    for n in range(count):
        kind, capabilities, pinned = None, frozenset[str](), None
        roll = rng.random()
        if roll < 0.10:
            capabilities = frozenset({"cargo_bay"})
        elif roll < 0.14:
            kind, capabilities = "amr", frozenset({"tow_hitch"})
        elif roll < 0.17:
            kind = "guide"
        elif roll < 0.18:
            pinned = rng.choice(robots).id
        places = tuple(rng.sample(names, rng.randint(1, 3)))
        priority = rng.choices((0, 1, 2, 3), weights=(1, 5, 84, 10))[0]
        missions.append(
            MissionRequest(n, kind, capabilities, places[0], pinned, places, rng.uniform(0.0, 300.0), priority)
        )
    missions.sort(key=lambda m: (m.priority, m.id))
    return missions


def timed(solver: Callable[..., Plan], runs: int, *args: Any) -> tuple[Plan, float, float]:
    times, result = [], None
    for _ in range(runs):
        t0 = time.perf_counter()
        result = solver(*args)
        times.append(time.perf_counter() - t0)
    assert result is not None
    return result, min(times), statistics.median(times)


def verdict(met: bool) -> str:
    return "target met" if met else "target missed"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--missions", type=int, default=1000)
    parser.add_argument("--robots", type=int, default=200)
    parser.add_argument("--grid", type=int, default=40, help="places per side of the square grid")
    parser.add_argument("--spacing", type=float, default=3.0, help="metres between neighbouring places")
    parser.add_argument("--drop", type=float, default=0.1, help="share of grid lanes removed")
    parser.add_argument("--chargers", type=int, default=30)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()

    rng = random.Random(args.seed)
    graph = build_site(rng, args.grid, args.spacing, args.drop, args.chargers)
    robots = build_fleet(rng, graph, args.robots)
    queue = build_queue(rng, graph, robots, args.missions)
    chargers = [p.name for p in graph.places.values() if p.kind == "charger"]
    print(f"site: {len(graph.places)} places, {len(graph.lanes)} lanes, {len(chargers)} chargers; seed {args.seed}")

    best, best_t, median_t = timed(plan, args.runs, queue, robots, graph, chargers)
    base, base_best_t, base_median_t = timed(greedy_plan, args.runs, queue, robots, graph, chargers)
    ratio = best.total_cost_s / base.total_cost_s if base.total_cost_s else float("nan")

    print(
        f"{'solver':<7} {'missions':>8} {'robots':>6} {'best s':>7} {'median s':>8} {'total cost s':>13} "
        f"{'placed':>6} {'unassigned':>10}"
    )
    for name, result, t_best, t_median in (
        ("plan", best, best_t, median_t),
        ("greedy", base, base_best_t, base_median_t),
    ):
        placed = sum(len(ms) for ms in result.assignments.values())
        print(
            f"{name:<7} {len(queue):>8} {len(robots):>6} {t_best:>7.3f} {t_median:>8.3f} "
            f"{result.total_cost_s:>13.0f} {placed:>6} {len(result.unassigned):>10}"
        )
    print(
        f"plan solve time {best_t:.3f} s best, {median_t:.3f} s median (target < {SOLVE_TARGET_S} s): "
        f"{verdict(median_t < SOLVE_TARGET_S)}"
    )
    print(f"cost ratio plan/greedy {ratio:.3f} (target < {RATIO_TARGET}): {verdict(ratio < RATIO_TARGET)}")


if __name__ == "__main__":
    main()
