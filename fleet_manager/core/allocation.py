"""Assigning queued missions to robots: least total completion time (Hungarian method, scipy).

A mission's completion time is measured from now: the time until its robot is free, the drive to the
mission's first place and on through its places, and the robot-independent work (actions, waits,
confirmations). A robot is chosen only if it suits the mission (kind, capabilities, pin) and its battery
covers the mission and the drive on to the nearest charger with its reserve left.

`assign` is one round (each robot takes at most one mission); `plan` places the whole queue by
repeating rounds from where each robot ends; `greedy_plan` is the nearest-idle-robot baseline.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import linear_sum_assignment

from fleet_manager.core.allocation_energy import (
    CostTables,
    FleetState,
    MissionRequest,
    RobotCandidate,
    completion_time,
    feasible,
    mission_energy_wh,
    mission_places,
    suitable,
    travel_time,
)
from fleet_manager.core.navgraph import NavGraph

__all__ = [
    "MissionRequest",
    "Plan",
    "RobotCandidate",
    "assign",
    "completion_time",
    "feasible",
    "greedy_plan",
    "mission_energy_wh",
    "mission_places",
    "plan",
    "suitable",
    "travel_time",
]


@dataclass(frozen=True)
class Plan:
    """The queue placed on the fleet: each robot's missions in the order it carries them out."""

    assignments: dict[str, list[int]]  # robot id -> mission ids, only robots given something
    total_cost_s: float  # sum over placed missions of their completion time from now
    unassigned: list[int]  # missions no robot can serve (suitability, reach or battery), queue order
    completion_s: dict[int, float] = field(default_factory=dict)  # mission id -> completion from now


def _solve_round(feasible_mask: np.ndarray, completion: np.ndarray, priority: np.ndarray) -> list[tuple[int, int]]:
    """(row, column) pairs of one LSA round over a missions x robots matrix; infeasible pairs never chosen.

    More urgent missions win when robots are scarce: each priority level below the most urgent adds an
    offset larger than any difference in total completion time, and infeasible pairs cost more than any
    combination of feasible ones. Among assignments of equal priority, total completion time is least.
    """
    if not feasible_mask.any():
        return []
    k = min(feasible_mask.shape)
    worst = float(completion[feasible_mask].max())
    levels = np.unique(priority, return_inverse=True)[1].reshape(-1)
    level_step = k * worst + 1.0
    cost = np.where(feasible_mask, completion + (levels * level_step)[:, None], 0.0)
    infeasible = k * (worst + float(levels.max()) * level_step) + 1.0
    cost[~feasible_mask] = infeasible
    rows, cols = linear_sum_assignment(cost)
    return [(int(i), int(j)) for i, j in zip(rows, cols, strict=True) if feasible_mask[i, j]]


def assign(
    requests: Sequence[MissionRequest],
    robots: Sequence[RobotCandidate],
    graph: NavGraph,
    chargers: Sequence[str] = (),
) -> dict[int, str]:
    """Mission id -> robot id for one round of least total completion time, each robot at most once.

    Every queued mission competes; when robots are scarce the more urgent missions win (see
    `_solve_round`). Missions that no robot can serve are left out.
    """
    if not requests or not robots:
        return {}
    tables = CostTables(requests, robots, graph, chargers)
    state = FleetState(tables, robots)
    rows = np.arange(len(requests))
    ok, completion, _ = tables.evaluate(state, rows)
    pairs = _solve_round(ok, completion, tables.priority)
    return {requests[i].id: robots[j].id for i, j in pairs}


class _PlanBuilder:
    """Accumulates a plan while advancing each robot to the end of the missions it is given."""

    def __init__(self, requests: Sequence[MissionRequest], robots: Sequence[RobotCandidate]) -> None:
        self.requests, self.robots = requests, robots
        self.assignments: dict[str, list[int]] = {}
        self.completion: dict[int, float] = {}
        self.unassigned: set[int] = set()

    def give(self, tables: CostTables, state: FleetState, mission: int, robot: int, done: float, used: float) -> None:
        self.assignments.setdefault(self.robots[robot].id, []).append(self.requests[mission].id)
        self.completion[self.requests[mission].id] = done
        state.advance(tables, robot, mission, done, used)

    def result(self) -> Plan:
        unassigned = [r.id for r in self.requests if r.id in self.unassigned]
        return Plan(self.assignments, float(sum(self.completion.values())), unassigned, self.completion)


def plan(
    requests: Sequence[MissionRequest],
    robots: Sequence[RobotCandidate],
    graph: NavGraph,
    chargers: Sequence[str] = (),
) -> Plan:
    """The whole queue over the whole fleet in rounds of least total completion time.

    Each round is one `assign` over all missions still open, with every robot advanced to the end of
    its previous mission (free then, standing at its last place, its battery drawn down). A mission that
    no robot can serve any more in some round never becomes servable later (batteries only drain and
    robots only move to places they can reach), so it goes to `unassigned` at once. The plan does not
    send robots to charge between missions.
    """
    builder = _PlanBuilder(requests, robots)
    if not requests:
        return builder.result()
    if not robots:
        builder.unassigned = {r.id for r in requests}
        return builder.result()
    tables = CostTables(requests, robots, graph, chargers)
    state = FleetState(tables, robots)
    open_rows = np.arange(len(requests))
    while open_rows.size:
        ok, completion, used = tables.evaluate(state, open_rows)
        servable = ok.any(axis=1)
        builder.unassigned.update(requests[i].id for i in open_rows[~servable])
        if not servable.any():
            break
        ok, completion, used, open_rows = ok[servable], completion[servable], used[servable], open_rows[servable]
        busy = ok.any(axis=0)  # robots with something they can do this round
        columns = np.flatnonzero(busy)
        pairs = _solve_round(ok[:, busy], completion[:, busy], tables.priority[open_rows])
        for i, j in pairs:
            robot = int(columns[j])
            builder.give(tables, state, int(open_rows[i]), robot, float(completion[i, robot]), float(used[i, robot]))
        taken = np.zeros(open_rows.size, dtype=bool)
        taken[[i for i, _ in pairs]] = True
        open_rows = open_rows[~taken]
    return builder.result()


def greedy_plan(
    requests: Sequence[MissionRequest],
    robots: Sequence[RobotCandidate],
    graph: NavGraph,
    chargers: Sequence[str] = (),
) -> Plan:
    """Baseline: missions in queue order, each to the idle robot that reaches its first place soonest.

    A robot is idle until it is given a mission in the current round; when no idle robot can serve the
    next mission, a new round starts with every robot idle at the end of its missions so far. Same
    feasibility and cost as `plan`, so the two compare.
    """
    builder = _PlanBuilder(requests, robots)
    if not requests or not robots:
        builder.unassigned = {r.id for r in requests}
        return builder.result()
    tables = CostTables(requests, robots, graph, chargers)
    state = FleetState(tables, robots)
    idle = np.ones(len(robots), dtype=bool)
    for row in range(len(requests)):
        ok, completion, used = tables.evaluate(state, np.array([row]))
        ok, completion, used = ok[0], completion[0], used[0]
        if not ok.any():
            builder.unassigned.add(requests[row].id)
            continue
        if not (ok & idle).any():
            idle[:] = True
        arrival = np.where(ok & idle, tables.arrival(state, row), np.inf)
        robot = int(np.argmin(arrival))
        builder.give(tables, state, row, robot, float(completion[robot]), float(used[robot]))
        idle[robot] = False
    return builder.result()
