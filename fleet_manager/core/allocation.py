"""Assigning queued missions to robots: minimum total travel time (Hungarian method, scipy)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.optimize import linear_sum_assignment

from fleet_manager.core.navgraph import NavGraph

_INFEASIBLE = 1e12


@dataclass(frozen=True)
class RobotCandidate:
    id: str
    kind: str
    capabilities: frozenset[str]
    place: str  # nearest navgraph place
    offset_m: float  # distance from the robot to that place
    max_speed: float


@dataclass(frozen=True)
class MissionRequest:
    id: int
    robot_kind: str | None
    capabilities: frozenset[str]
    first_target: str | None
    robot_id: str | None = None  # pinned by the operator


def suitable(request: MissionRequest, robot: RobotCandidate) -> bool:
    if request.robot_id is not None and request.robot_id != robot.id:
        return False
    if request.robot_kind is not None and request.robot_kind != robot.kind:
        return False
    return request.capabilities <= robot.capabilities


def travel_time(request: MissionRequest, robot: RobotCandidate, graph: NavGraph) -> float:
    """Seconds for the robot to reach the mission's first place; inf when it cannot."""
    if request.first_target is None:
        return 0.0
    distance = robot.offset_m + graph.distance(robot.place, request.first_target)
    return distance / max(robot.max_speed, 1e-3)


def assign(
    requests: list[MissionRequest], robots: list[RobotCandidate], graph: NavGraph
) -> dict[int, str]:
    """Mission id → robot id for the assignment of least total travel time.

    Missions are considered in the order given (the caller sorts by priority and age): when more
    missions could be served than there are robots, only the first len(robots) compete this round.
    """
    if not requests or not robots:
        return {}
    batch = [r for r in requests if any(suitable(r, robot) for robot in robots)][: len(robots)]
    cost = np.full((len(batch), len(robots)), _INFEASIBLE)
    for i, request in enumerate(batch):
        for j, robot in enumerate(robots):
            if suitable(request, robot):
                t = travel_time(request, robot, graph)
                if math.isfinite(t):
                    cost[i, j] = t
    rows, cols = linear_sum_assignment(cost)
    return {batch[i].id: robots[j].id for i, j in zip(rows, cols, strict=True) if cost[i, j] < _INFEASIBLE}
