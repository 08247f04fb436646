"""Traffic at run time: plans routes in time for the robots of the site, releases each route step by
step in the order of passage the plans fix (an action-dependency-graph execution), parks idle robots,
and closes or opens lanes."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from fleet_manager.core.lanes import LaneGraph, base_name, build_lane_graph
from fleet_manager.core.navgraph import NavGraph
from fleet_manager.core.robots import Waypoint
from fleet_manager.core.traffic import (
    INF,
    Mover,
    NoRoute,
    Plan,
    TrafficPlanner,
    place_key,
)

CLEARANCE_M = 0.3  # between two robots' footprints, on top of their radii
PLAN_SPEED_SHARE = 0.7  # plans assume robots average this share of their top speed (turns, ramps)


@dataclass
class Route:
    """A robot's planned route: the plan, its waypoints, and how far it has got."""

    plan: Plan
    waypoints: list[Waypoint]
    steps: list[list[str]]  # resources of the step to waypoint i (the lane into it, the place)
    passed: int = 0  # waypoints reached (the robot heads to waypoint `passed`)
    released: int = 0
    planned_at: float = 0.0


@dataclass
class TrafficManager:
    graph: NavGraph  # the site's navgraph (names); plans run on its lane graph
    planner: TrafficPlanner = field(init=False)
    lanes: LaneGraph = field(init=False)
    routes: dict[str, Route] = field(default_factory=dict)
    movers: dict[str, Mover] = field(default_factory=dict)
    reroute: set[str] = field(default_factory=set)  # robots whose route uses a lane closed since
    asked: dict[str, str] = field(default_factory=dict)  # robots waiting for a route, asked to step aside
    known: set[str] = field(default_factory=set)  # robots that hold places (parked or on a route)

    def __post_init__(self) -> None:
        self.lanes = build_lane_graph(self.graph)
        self.planner = TrafficPlanner(self.lanes.graph, extra=self.lanes.extra)

    def vertex_at(self, x: float, y: float) -> str:
        """The lane-graph vertex a robot at (x, y) stands on: the nearest carriageway of the nearest place."""
        place, _ = self.graph.nearest_place(x, y)
        vertices = self.lanes.vertices_of(place.name)
        pts = self.lanes.graph.places
        return min(vertices, key=lambda v: math.hypot(pts[v].x - x, pts[v].y - y))

    # -- robots ---------------------------------------------------------------------------------
    def mover(self, robot_id: str, radius: float, max_speed: float) -> Mover:
        speed = max(max_speed * PLAN_SPEED_SHARE, 0.05)
        mover = Mover(robot_id, speed, (2 * radius + CLEARANCE_M) / speed)
        self.movers[robot_id] = mover
        return mover

    def park(self, robot_id: str, x: float, y: float, now: float) -> str:
        """The robot stands still at (x, y): it holds its nearest place from now on; its route is over."""
        self.routes.pop(robot_id, None)
        self.known.add(robot_id)
        vertex = self.vertex_at(x, y)
        self.planner.park(robot_id, vertex, now)
        return base_name(vertex)

    def parked_at(self, place: str) -> str | None:
        """The robot holding `place` for ever (standing there with no route), if any."""
        for vertex in self.lanes.vertices_of(place):
            for hold in self.planner.table.holds.get(place_key(vertex), ()):
                if hold.end == INF and hold.robot not in self.routes:
                    return hold.robot
        return None

    # -- routes ---------------------------------------------------------------------------------
    def plan(self, mover: Mover, x: float, y: float, goal: str, now: float,
             speed_limits: bool = True) -> Route:
        """Plan and reserve a route from where the robot stands to a navgraph place; raises NoRoute."""
        start = self.vertex_at(x, y)
        plan = self.planner.plan_batch([(mover, start, self.lanes.vertices_of(goal))], now)[mover.robot]
        route = self._route(plan, speed_limits)
        route.planned_at = now
        self.routes[mover.robot] = route
        self.known.add(mover.robot)
        route.released = self.releasable(mover.robot)
        return route

    def _route(self, plan: Plan, speed_limits: bool) -> Route:
        """Waypoint 0 is the start (the robot holds it, so it is always released); waypoint i needs the
        lane into it, the places that lane crosses, and its place."""
        vertices = plan.places
        pts = self.lanes.graph.places
        first = pts[vertices[0]]
        waypoints = [Waypoint(base_name(vertices[0]), first.x, first.y,
                              self.graph.place(base_name(vertices[0])).yaw if len(vertices) == 1 else None, 0.0)]
        steps = [[place_key(vertices[0])]]
        for i in range(1, len(vertices)):
            v = pts[vertices[i]]
            last = i == len(vertices) - 1
            yaw = self.graph.place(base_name(vertices[i])).yaw if last else None
            lane = self.lanes.graph.lane_between(vertices[i - 1], vertices[i])
            limit = lane.speed_limit if speed_limits and lane.speed_limit else 0.0
            waypoints.append(Waypoint(base_name(vertices[i]), v.x, v.y, yaw, limit))
            steps.append([*plan.visits[i].via, place_key(vertices[i])])
        return Route(plan, waypoints, steps)

    def _clear_for(self, robot_id: str, resource: str) -> bool:
        """No other robot holds the resource earlier in the plans' order and has yet to pass it."""
        holds = self.planner.table.holds.get(resource, ())
        mine = [h for h in holds if h.robot == robot_id]
        if not mine:
            return True
        first = min(h.start for h in mine)
        return not any(h.robot != robot_id and h.start < first for h in holds)

    def releasable(self, robot_id: str) -> int:
        """How many waypoints of its route the robot may drive now (monotone: never taken back)."""
        route = self.routes.get(robot_id)
        if route is None:
            return 0
        count = max(route.released, 1)  # the start place: the robot is there
        while count < len(route.steps) and all(self._clear_for(robot_id, r) for r in route.steps[count]):
            count += 1
        route.released = count
        return count

    def blockers(self, robot_id: str) -> set[str]:
        """The robots whose earlier passage holds back the robot's next step."""
        route = self.routes.get(robot_id)
        if route is None or route.released >= len(route.steps):
            return set()
        out = set()
        for resource in route.steps[route.released]:
            holds = self.planner.table.holds.get(resource, ())
            mine = [h.start for h in holds if h.robot == robot_id]
            if mine:
                out |= {h.robot for h in holds if h.robot != robot_id and h.start < min(mine)}
        return out

    def should_yield(self, robot_id: str) -> bool:
        """In a standstill, the robot with the newest plan among it and its blockers gives way (replans)."""
        route = self.routes.get(robot_id)
        if route is None:
            return False
        others = [self.routes[b].planned_at for b in self.blockers(robot_id) if b in self.routes]
        return all(route.planned_at >= t for t in others)

    def progress(self, robot_id: str, heading_to: int) -> None:
        """The robot heads to waypoint `heading_to`: it has passed the lanes into the waypoints before it
        and left the places before the last one; those are released to the others."""
        route = self.routes.get(robot_id)
        if route is None or heading_to <= route.passed:
            return
        route.passed = heading_to
        goal = place_key(route.plan.visits[-1].place)
        done: set[str] = set()
        for i in range(min(heading_to, len(route.steps))):
            done.update(route.steps[i][:-1])
            if i <= heading_to - 2 and route.steps[i][-1] != goal:
                done.add(route.steps[i][-1])
        table = self.planner.table
        for resource in done:
            table.holds[resource] = [h for h in table.holds.get(resource, []) if h.robot != robot_id]

    def ensure_parked(self, robot_id: str, x: float, y: float, now: float) -> None:
        """A robot the traffic manager has not seen yet holds its nearest place."""
        if robot_id not in self.known:
            self.park(robot_id, x, y, now)

    def finish(self, robot_id: str, x: float, y: float, now: float) -> None:
        """The robot's task ended (arrived, failed or canceled): it parks where it is."""
        self.planner.table.remove_robot(robot_id)
        self.park(robot_id, x, y, now)

    # -- lanes ----------------------------------------------------------------------------------
    def close_lane(self, lane_id: str) -> list[str]:
        """Close a lane; returns the robots whose routes still had to use it (they must be rerouted)."""
        derived = set(self.lanes.derived.get(lane_id, [lane_id]))
        self.planner.closed.update(derived)
        affected = []
        for robot_id, route in self.routes.items():
            keys = {r for step in route.steps[route.passed:] for r in step}
            if any(k.startswith("l:") and k[2:] in derived for k in keys):
                affected.append(robot_id)
        self.reroute.update(affected)
        return affected

    def open_lane(self, lane_id: str) -> None:
        self.planner.closed.difference_update(self.lanes.derived.get(lane_id, [lane_id]))

    def closed_lanes(self) -> list[str]:
        return sorted(lane for lane, derived in self.lanes.derived.items()
                      if derived and set(derived) <= self.planner.closed)



def nearest_free(graph: NavGraph, manager: TrafficManager, x: float, y: float, kinds: tuple[str, ...],
                 avoid: set[str] | None = None) -> str | None:
    """The nearest place of the given kinds that nobody holds for ever (a spot to wait out of the way)."""
    best: tuple[float, str] | None = None
    for place in graph.places.values():
        if place.kind not in kinds or place.name in (avoid or set()):
            continue
        if any(h.end == INF for v in manager.lanes.vertices_of(place.name)
               for h in manager.planner.table.holds.get(place_key(v), ())):
            continue
        d = math.hypot(place.x - x, place.y - y)
        if best is None or d < best[0]:
            best = (d, place.name)
    return best[1] if best else None


__all__ = ["NoRoute", "Route", "TrafficManager", "nearest_free"]
