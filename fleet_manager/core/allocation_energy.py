"""The cost and energy model behind allocation: what a mission costs a robot in time and in battery.

The scalar functions answer for one mission and one robot. `CostTables` answers the same questions for
many missions and every robot at once with numpy, from shortest distances computed once (scipy's
Dijkstra over the navgraph's lanes, from every place a robot stands on or a mission drives to).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import dijkstra

from fleet_manager.core.navgraph import NavGraph

MIN_SPEED = 1e-3  # m/s; a robot reporting 0 is treated as very slow, not as dividing by zero


@dataclass(frozen=True)
class RobotCandidate:
    id: str
    kind: str
    capabilities: frozenset[str]
    place: str  # nearest navgraph place
    offset_m: float  # distance from the robot to that place
    max_speed: float  # m/s
    battery_wh: float = math.inf  # energy left when free (inf: no battery limit, no charger needed)
    drive_power_w: float = 0.0  # power while driving, on top of idle power
    idle_power_w: float = 0.0  # power drawn all the time: standing, doing actions and driving
    reserve_wh: float = 0.0  # energy that must remain on arrival at a charger
    ready_s: float = 0.0  # seconds from now until the robot is free (0 = idle)


@dataclass(frozen=True)
class MissionRequest:
    id: int
    robot_kind: str | None
    capabilities: frozenset[str]
    first_target: str | None
    robot_id: str | None = None  # pinned by the operator
    places: tuple[str, ...] = ()  # every place the mission drives to, in order
    work_s: float = 0.0  # actions, waits and confirmations: the same for every robot
    priority: int = 2  # 0 emergency, 1 high, 2 normal, 3 low (lower is more urgent)


def mission_places(request: MissionRequest) -> tuple[str, ...]:
    """The places a mission drives to; a request that names only its first target drives there."""
    if request.places:
        return request.places
    return () if request.first_target is None else (request.first_target,)


def suitable(request: MissionRequest, robot: RobotCandidate) -> bool:
    if request.robot_id is not None and request.robot_id != robot.id:
        return False
    if request.robot_kind is not None and request.robot_kind != robot.kind:
        return False
    return request.capabilities <= robot.capabilities


def _speed(robot: RobotCandidate) -> float:
    return max(robot.max_speed, MIN_SPEED)


def _mission_drive_m(request: MissionRequest, robot: RobotCandidate, graph: NavGraph) -> float:
    """Metres from the robot to the first place and on through the others; inf when a leg is missing."""
    places = mission_places(request)
    if not places:
        return 0.0
    legs = zip((robot.place, *places[:-1]), places, strict=True)
    return robot.offset_m + sum(graph.distance(a, b) for a, b in legs)


def _charger_leg_m(request: MissionRequest, robot: RobotCandidate, graph: NavGraph, chargers: Sequence[str]) -> float:
    """Metres from where the mission ends to the nearest charger; 0 without chargers."""
    if not chargers:
        return 0.0
    places = mission_places(request)
    start, offset = (places[-1], 0.0) if places else (robot.place, robot.offset_m)
    return offset + min(graph.distance(start, charger) for charger in chargers)


def travel_time(request: MissionRequest, robot: RobotCandidate, graph: NavGraph) -> float:
    """Seconds for the robot to reach the mission's first place once free; inf when it cannot."""
    places = mission_places(request)
    if not places:
        return 0.0
    return (robot.offset_m + graph.distance(robot.place, places[0])) / _speed(robot)


def completion_time(request: MissionRequest, robot: RobotCandidate, graph: NavGraph) -> float:
    """Seconds from now until the robot would finish the mission; inf when a place is unreachable."""
    drive = _mission_drive_m(request, robot, graph)
    if not math.isfinite(drive):
        return math.inf
    return robot.ready_s + drive / _speed(robot) + request.work_s


def mission_energy_wh(
    request: MissionRequest, robot: RobotCandidate, graph: NavGraph, chargers: Sequence[str]
) -> float:
    """Wh to drive through the mission and on to the nearest charger, idle power drawn throughout.

    Energy spent before the robot is free (ready_s) is not counted: battery_wh is taken as what the
    robot has then. inf when a leg cannot be driven.
    """
    drive = _mission_drive_m(request, robot, graph) + _charger_leg_m(request, robot, graph, chargers)
    if not math.isfinite(drive):
        return math.inf
    drive_s = drive / _speed(robot)
    return (robot.drive_power_w * drive_s + robot.idle_power_w * (drive_s + request.work_s)) / 3600.0


def feasible(request: MissionRequest, robot: RobotCandidate, graph: NavGraph, chargers: Sequence[str]) -> bool:
    """Suitable, every place reachable, and a charger reached afterwards with the reserve left.

    A robot without a battery limit (battery_wh = inf) needs no charger.
    """
    if not suitable(request, robot) or not math.isfinite(completion_time(request, robot, graph)):
        return False
    if math.isinf(robot.battery_wh):
        return True
    return robot.battery_wh - mission_energy_wh(request, robot, graph, chargers) >= robot.reserve_wh


def _adjacency(graph: NavGraph, index: dict[str, int]) -> csr_matrix:
    """The lanes as a sparse matrix of lengths (row: from, column: to), as NavGraph measures them."""
    lengths: dict[tuple[int, int], float] = {}
    for lane in graph.lanes:
        a, b = graph.places[lane.start], graph.places[lane.end]
        length = math.hypot(b.x - a.x, b.y - a.y)
        lengths[index[a.name], index[b.name]] = length
        if not lane.oneway:
            lengths[index[b.name], index[a.name]] = length
    n = len(index)
    if not lengths:
        return csr_matrix((n, n))
    (starts, ends), data = zip(*lengths, strict=True), list(lengths.values())
    return csr_matrix((data, (starts, ends)), shape=(n, n))


def _suitability(requests: Sequence[MissionRequest], robots: Sequence[RobotCandidate]) -> np.ndarray:
    """missions x robots: `suitable`, evaluated once per distinct (kind, capabilities) pair, then pins."""
    robot_sigs: dict[tuple[str, frozenset[str]], int] = {}
    robot_cols = [robot_sigs.setdefault((r.kind, r.capabilities), len(robot_sigs)) for r in robots]
    mission_sigs: dict[tuple[str | None, frozenset[str]], int] = {}
    mission_rows = [mission_sigs.setdefault((m.robot_kind, m.capabilities), len(mission_sigs)) for m in requests]
    table = np.zeros((len(mission_sigs), len(robot_sigs)), dtype=bool)
    for (kind, capabilities), i in mission_sigs.items():
        request = MissionRequest(-1, kind, capabilities, None)
        for (robot_kind, robot_capabilities), j in robot_sigs.items():
            table[i, j] = suitable(request, RobotCandidate("", robot_kind, robot_capabilities, "", 0.0, 0.0))
    suits = table[np.ix_(mission_rows, robot_cols)]
    ids = np.array([robot.id for robot in robots], dtype=object)
    for row, request in enumerate(requests):
        if request.robot_id is not None:
            suits[row] &= ids == request.robot_id
    return suits


class CostTables:
    """What many missions cost every robot: distances computed once, matrices built with numpy.

    Places are columns of `dist`; rows are the places robots start on and missions drive to, plus a last
    row of inf for places the navgraph does not know (so are they in the last column).
    """

    def __init__(
        self,
        requests: Sequence[MissionRequest],
        robots: Sequence[RobotCandidate],
        graph: NavGraph,
        chargers: Sequence[str],
    ) -> None:
        self._index = {name: i for i, name in enumerate(graph.places)}
        n = self._nowhere = len(self._index)
        adjacency = _adjacency(graph, self._index)
        routes = [mission_places(r) for r in requests]
        sources = sorted(
            {self._index[p] for p in itertools.chain((r.place for r in robots), *routes) if p in self._index}
        )
        self.row_of = np.full(n + 1, len(sources), dtype=np.intp)
        self.row_of[sources] = np.arange(len(sources))
        self.dist = np.full((len(sources) + 1, n + 1), np.inf)
        if sources:
            self.dist[:-1, :n] = dijkstra(adjacency, indices=sources)
        self.has_chargers = bool(chargers)
        self.to_charger = np.full(n + 1, np.inf if chargers else 0.0)  # metres to the nearest charger
        known = [self._index[c] for c in chargers if c in self._index]
        if known:
            self.to_charger[:n] = dijkstra(adjacency.T, indices=known, min_only=True)
        self.has_places = np.array([bool(route) for route in routes], dtype=bool)
        self.first = np.array([self.node(route[0]) if route else n for route in routes], dtype=np.intp)
        self.last = np.array([self.node(route[-1]) if route else n for route in routes], dtype=np.intp)
        self.path_m = np.array([sum(self._distance(a, b) for a, b in itertools.pairwise(r)) for r in routes])
        self.work_s = np.array([r.work_s for r in requests], dtype=float)
        self.priority = np.array([r.priority for r in requests], dtype=int)
        self.suits = _suitability(requests, robots)

    def node(self, place: str) -> int:
        return self._index.get(place, self._nowhere)

    def _distance(self, a: str, b: str) -> float:
        return float(self.dist[self.row_of[self.node(a)], self.node(b)])

    def evaluate(self, state: FleetState, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """For missions `rows` x every robot: feasible, completion time from now (s), energy used (Wh).

        The energy used stops at the mission's end; feasibility also counts the drive on to a charger.
        """
        has = self.has_places[rows][:, None]
        to_first = self.dist[self.row_of[state.node][None, :], self.first[rows][:, None]]
        drive_s = np.where(has, state.offset + to_first + self.path_m[rows][:, None], 0.0) / state.speed
        work_s = self.work_s[rows][:, None]
        completion = state.ready + drive_s + work_s
        with np.errstate(invalid="ignore"):
            used = (state.drive_w * drive_s + state.idle_w * (drive_s + work_s)) / 3600.0
            leg_m = np.where(has, self.to_charger[self.last[rows]][:, None], state.offset + self.to_charger[state.node])
            total = used + (state.drive_w + state.idle_w) * (leg_m / state.speed) / 3600.0
            enough = np.isinf(state.battery) | (np.isfinite(total) & (state.battery - total >= state.reserve))
        ok = self.suits[rows] & np.isfinite(completion) & enough
        return ok, completion, used

    def arrival(self, state: FleetState, row: int) -> np.ndarray:
        """Seconds from now until each robot would reach mission `row`'s first place."""
        if not self.has_places[row]:
            return state.ready.copy()
        to_first = self.dist[self.row_of[state.node], self.first[row]]
        return state.ready + (state.offset + to_first) / state.speed


class FleetState:
    """Where each robot stands, when it is free and what battery it has, advanced mission by mission."""

    def __init__(self, tables: CostTables, robots: Sequence[RobotCandidate]) -> None:
        self.node = np.array([tables.node(r.place) for r in robots], dtype=np.intp)
        self.offset = np.array([r.offset_m for r in robots], dtype=float)
        self.ready = np.array([r.ready_s for r in robots], dtype=float)
        self.battery = np.array([r.battery_wh for r in robots], dtype=float)
        self.speed = np.array([_speed(r) for r in robots], dtype=float)
        self.drive_w = np.array([r.drive_power_w for r in robots], dtype=float)
        self.idle_w = np.array([r.idle_power_w for r in robots], dtype=float)
        self.reserve = np.array([r.reserve_wh for r in robots], dtype=float)

    def advance(self, tables: CostTables, robot: int, mission: int, done_s: float, used_wh: float) -> None:
        """The robot has carried out the mission: free at done_s, at its last place, battery drawn down."""
        self.ready[robot] = done_s
        if tables.has_places[mission]:
            self.node[robot] = tables.last[mission]
            self.offset[robot] = 0.0
        self.battery[robot] -= used_wh
