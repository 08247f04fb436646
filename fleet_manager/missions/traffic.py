"""Traffic at run time: plans routes in time for the robots of the site, releases each route step by
step in the order of passage the plans fix (an action-dependency-graph execution), parks idle robots,
and closes or opens lanes. Operating zones shape every route: lanes crossing a no-go zone (or an hours
zone out of hours) are never planned on, and a lane's speed limit is the lowest of its own, the zones'
it crosses and the robot's speed cap."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

from labfleet_robot.safety import SafetyParams

from fleet_manager.core.errors import DomainError
from fleet_manager.core.lanes import LaneGraph, base_name, build_lane_graph, floor_across
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
from fleet_manager.core.zones import OperatingZones

CLEARANCE_M = 0.3  # between two robots' footprints, on top of their radii
PLAN_SPEED_SHARE = 0.7  # plans assume robots average this share of their top speed (turns, ramps)
REROUTE = "rerouted: a lane on the route was closed, or a robot stopped on it"
REROUTE_GAP_S = 5.0  # sim seconds a robot rerouted around a stopped robot drives on before the next such reroute
YIELD = "yielded: standstill"
YIELD_S = 20.0  # sim seconds without release before the newest plan in a standstill gives way
MAX_YIELDS = 5
ROUTE_WAIT_S = 90.0  # sim seconds a step waits for a route clear of other robots before it fails
BODY_CLEAR_M = 0.85  # a step is not released while another robot's centre is this close to its lane (two
# tuggers touch at 0.8 m; the carriageways of a 2.0 m wide corridor are 1.0 m apart)
OBSTACLE_REPLAN_S = 15.0  # sim seconds stopped by an obstacle before the drive is planned again around it
OBSTACLE_REPLANS = 4  # replans in a row for an obstacle the robot does not get past: then the drive fails
STILL_THERE_M = 0.5  # a robot this close to where it was parked still stands on the vertex it was parked on
RESEND_S = 1.0  # a release is sent again after this long (one may be lost)


class ZoneBlocked(NoRoute):
    """No route: the goal lies in a zone robots may not enter, or every way there crosses one."""


@dataclass
class Route:
    """A robot's planned route: the plan, its waypoints, and how far it has got."""

    plan: Plan
    waypoints: list[Waypoint]
    steps: list[list[str]]  # resources of the step to waypoint i (the lane into it, the place)
    near: list[list[str]]  # the places too close to waypoint i: nobody may be on them when it is released
    passed: int = 0  # waypoints reached (the robot heads to waypoint `passed`)
    released: int = 0
    planned_at: float = 0.0
    seq: int = 0  # the traffic manager's count of plans made when this one was: a new plan, a new route


@dataclass
class TrafficManager:
    graph: NavGraph  # the site's navgraph (names); plans run on its lane graph
    planner: TrafficPlanner = field(init=False)
    lanes: LaneGraph = field(init=False)
    routes: dict[str, Route] = field(default_factory=dict)
    movers: dict[str, Mover] = field(default_factory=dict)
    reroute: set[str] = field(default_factory=set)  # robots whose route uses a lane closed since
    asked: dict[str, str] = field(default_factory=dict)  # robots waiting for a route, asked to step aside
    obstacle_replans: dict[str, int] = field(default_factory=dict)  # in a row, without getting past
    known: set[str] = field(default_factory=set)  # robots that hold places (parked or on a route)
    rerouted_at: dict[str, float] = field(default_factory=dict)  # last reroute around a stopped robot
    # the vertex each robot was parked on last, and where it stood then
    stands_on: dict[str, tuple[str, float, float]] = field(default_factory=dict)
    # where robots are now (x, y), when known: a step is released only onto floor no other robot is on
    locate: Callable[[str], tuple[float, float] | None] = field(default=lambda robot: None)
    zones: OperatingZones = field(default_factory=OperatingZones)
    # the site's time of day (seconds since local midnight) at a sim time; None: unknown (hours zones open)
    site_clock: Callable[[float], float | None] = field(default=lambda now: None)
    robot_caps: dict[str, float] = field(default_factory=dict)  # each robot's top speed on the site (m/s)
    adrift: set[str] = field(default_factory=set)  # robots gone silent on a route: they hold all it released
    operator_closed: set[str] = field(default_factory=set)  # lane-graph lanes closed by close_lane
    # closed zones (names) -> the lane-graph lanes and vertices they close
    _zone_shut: dict[tuple[str, ...], tuple[frozenset[str], frozenset[str]]] = field(init=False, default_factory=dict)
    _zone_lanes: frozenset[str] = field(init=False, default=frozenset())  # lanes the zones close now
    _plans: int = field(init=False, default=0)

    def __post_init__(self) -> None:
        self.lanes = build_lane_graph(self.graph)
        if self.zones:
            self.lanes.graph = self.zones.with_lane_limits(self.lanes.graph)
        self.planner = TrafficPlanner(self.lanes.graph, extra=self.lanes.extra, near=self.lanes.near,
                                      junctions={v for v in self.lanes.graph.places
                                                 if base_name(v) in self.lanes.junctions})
        self._close_zones(None)

    def vertex_at(self, x: float, y: float, robot_id: str | None = None) -> str:
        """The lane-graph vertex a robot at (x, y) stands on: the one it was parked on while it is still
        there, else the nearest carriageway of the nearest place."""
        if robot_id is not None and robot_id in self.stands_on:
            vertex, px, py = self.stands_on[robot_id]
            if math.hypot(px - x, py - y) <= STILL_THERE_M:
                return vertex
        place, _ = self.graph.nearest_place(x, y)
        vertices = self.lanes.vertices_of(place.name)
        pts = self.lanes.graph.places
        return min(vertices, key=lambda v: math.hypot(pts[v].x - x, pts[v].y - y))

    # -- robots ---------------------------------------------------------------------------------
    def mover(self, robot_id: str, radius: float, max_speed: float, safety: SafetyParams | None = None) -> Mover:
        """How the robot is planned: at PLAN_SPEED_SHARE of `max_speed` (capped on the site), and at the caution speed
        of its model's `safety` (none: full speed) on caution lanes and within its caution radius of a junction."""
        speed = max(min(max_speed, self.robot_caps.get(robot_id, INF)) * PLAN_SPEED_SHARE, 0.05)
        caution_speed, caution_radius = (INF, 0.0) if safety is None else (safety.caution_speed, safety.caution_radius)
        mover = Mover(robot_id, speed, (2 * radius + CLEARANCE_M) / speed, caution_speed, caution_radius)
        self.movers[robot_id] = mover
        return mover

    def park(self, robot_id: str, x: float, y: float, now: float, moving_on: bool = False) -> str:
        """The robot stands still at (x, y): it holds its nearest place from now on; its route is over.
        Robots still to pass there (or next to it) plan again, around it; when it is `moving_on` (about
        to plan a new route), each of them at most once in REROUTE_GAP_S, so that robots stopping to
        plan again do not keep each other planning."""
        route = self.routes.pop(robot_id, None)
        self.known.add(robot_id)
        self.adrift.discard(robot_id)
        vertex = self.vertex_at(x, y) if route is None else self._on_route_at(route, x, y)
        self.stands_on[robot_id] = (vertex, x, y)
        self.planner.park(robot_id, vertex, now)
        self._reroute_around(robot_id, vertex, now, REROUTE_GAP_S if moving_on else 0.0)
        return base_name(vertex)

    def _on_route_at(self, route: Route, x: float, y: float) -> str:
        """Where a robot stopping on its route stands: the nearer end of the lane it is on (the nearest
        place may lie behind a wall, off a long lane). A robot past the route's end (on a coverage sweep
        after it) stands on its nearest place."""
        if route.passed > len(route.plan.visits):
            return self.vertex_at(x, y)
        pts = self.lanes.graph.places
        goal = route.plan.visits[-1].place
        if math.hypot(pts[goal].x - x, pts[goal].y - y) <= STILL_THERE_M:
            # at the route's end, whatever its progress said (a task can end before its last feedback came): else a
            # robot that stepped aside to a parking spot was held on the place it had left, and sent there again
            return goal
        ends = route.plan.visits[max(route.passed - 1, 0):route.passed + 1]
        return min((v.place for v in ends), key=lambda v: math.hypot(pts[v].x - x, pts[v].y - y))

    def _reroute_around(self, robot_id: str, vertex: str, now: float, gap: float) -> None:
        """Robots still to pass where a robot now stands (or next to it) plan again, around it, unless
        rerouted so within `gap` seconds."""
        self._reroute_through(robot_id, {place_key(vertex), *self.planner.near_keys(vertex)}, now, gap)

    def _reroute_through(self, robot_id: str, keys: set[str], now: float, gap: float) -> None:
        """Robots still to pass any of these resources plan again, unless rerouted so within `gap` seconds."""
        for other, route in self.routes.items():
            if other == robot_id or self._rerouted_lately(other, now, gap):
                continue
            ahead = route.steps[max(route.passed, 1):]
            if any(k in keys for step in ahead for k in step):
                self._flag_reroute(other, now)

    def _reroute_waiting_for(self, robot_id: str, now: float) -> None:
        """A robot finds no route, held back by the plans of robots that wait for it to leave: they plan
        again (at most once in REROUTE_GAP_S each), so that one of the two can go."""
        for other in list(self.routes):
            if not self._rerouted_lately(other, now, REROUTE_GAP_S) and robot_id in self.blockers(other):
                self._flag_reroute(other, now)

    def _rerouted_lately(self, robot_id: str, now: float, gap: float) -> bool:
        """The robot is already to plan again, or was rerouted so within `gap` seconds."""
        return robot_id in self.reroute or now - self.rerouted_at.get(robot_id, -INF) < gap

    def _flag_reroute(self, robot_id: str, now: float) -> None:
        self.reroute.add(robot_id)
        self.rerouted_at[robot_id] = now

    def parked_at(self, place: str, near: bool = False) -> str | None:
        """The robot holding `place` for ever (standing there with no route), if any; with `near`, also
        one standing too close to it."""
        for vertex in self.lanes.vertices_of(place):
            keys = [place_key(vertex), *(self.planner.near_keys(vertex) if near else ())]
            for key in keys:
                for hold in self.planner.table.holds.get(key, ()):
                    if hold.end == INF and hold.robot not in self.routes:
                        return hold.robot
        return None

    def parked_on_the_way(self, robot_id: str, x: float, y: float, goal: str) -> tuple[list[str], list[str]]:
        """The robots standing (no route) on or next to the shortest way from (x, y) to `goal`, and that
        way's places: who must make way when no route clear of the others is found."""
        start, _ = self.graph.nearest_place(x, y)
        try:
            path = self.graph.shortest_path(start.name, goal)
        except DomainError:
            return [], []
        out: list[str] = []
        for place in path[1:]:
            other = self.parked_at(place, near=True)
            if other is not None and other != robot_id and other not in out:
                out.append(other)
        return out, path

    # -- routes ---------------------------------------------------------------------------------
    def plan(self, mover: Mover, x: float, y: float, goal: str, now: float,
             speed_limits: bool = True) -> Route:
        """Plan and reserve a route from where the robot stands to a navgraph place; raises NoRoute
        (ZoneBlocked when the zones closed now leave no way there)."""
        start = self.vertex_at(x, y, mover.robot)
        goals = self.lanes.vertices_of(goal)
        clock = self.site_clock(now)
        lanes, vertices = self._close_zones(now)
        if all(v in vertices for v in goals):
            there = self.lanes.graph.places[goals[0]]
            zone = self.zones.forbidden_at(there.x, there.y, clock) or ""
            raise ZoneBlocked(f"no route to {goal}: it lies in {self.zones.describe(zone)}")
        try:
            plan = self.planner.plan_batch([(mover, start, goals)], now)[mover.robot]
        except NoRoute:
            cut = self.zones.cut(self.lanes.graph, start, goals, self.operator_closed, clock, lanes)
            if cut:
                raise ZoneBlocked(f"no route from {base_name(start)} to {goal} avoids "
                                  f"{', '.join(self.zones.describe(z) for z in cut)}") from None
            self._reroute_waiting_for(mover.robot, now)
            raise
        route = self._route(plan, speed_limits, (x, y))
        route.planned_at = now
        self._plans += 1
        route.seq = self._plans
        self.routes[mover.robot] = route
        self.known.add(mover.robot)
        self.adrift.discard(mover.robot)  # planned from where it stands: what it held is let go (plan_batch)
        route.released = self.releasable(mover.robot)
        return route

    def _route(self, plan: Plan, speed_limits: bool, at: tuple[float, float]) -> Route:
        """Waypoint 0 is the start (the robot holds it, so it is always released); waypoint i needs the
        lane into it, the places that lane crosses, and its place. A waypoint's max_speed (0: none) is
        the lowest of the lane's limit (zones' limits included), the robot's cap, and on the way from
        where the robot stands (`at`) to the start, the zones' limits there. It carries the lane's caution
        and whether its place is a junction (lanes.py)."""
        vertices = plan.places
        pts = self.lanes.graph.places
        first = pts[vertices[0]]
        cap = self.robot_caps.get(plan.robot) if speed_limits else None
        approach = self.zones.limit_on_segment(*at, first.x, first.y) if speed_limits else None
        junctions = self.lanes.junctions
        waypoints = [Waypoint(base_name(vertices[0]), first.x, first.y,
                              self.graph.place(base_name(vertices[0])).yaw if len(vertices) == 1 else None,
                              _lowest(approach, cap), junction=base_name(vertices[0]) in junctions)]
        steps = [[place_key(vertices[0])]]
        near = [list(self.planner.near_keys(vertices[0]))]
        for i in range(1, len(vertices)):
            v = pts[vertices[i]]
            last = i == len(vertices) - 1
            yaw = self.graph.place(base_name(vertices[i])).yaw if last else None
            lane = self.lanes.graph.lane_between(vertices[i - 1], vertices[i])
            limit = _lowest(lane.speed_limit, cap) if speed_limits else 0.0
            waypoints.append(Waypoint(base_name(vertices[i]), v.x, v.y, yaw, limit, lane.caution,
                                      base_name(vertices[i]) in junctions, floor_across(lane)))
            steps.append([*plan.visits[i].via, place_key(vertices[i])])
            near.append(list(self.planner.near_keys(vertices[i])))
        return Route(plan, waypoints, steps, near)

    def _ahead(self, robot_id: str, resource: str, ref: str | None = None) -> set[str]:
        """The other robots holding the resource earlier in the plans' order (and yet to pass it). For a
        place near the step's place (`ref`), "earlier" is before the robot's hold on `ref`."""
        mine = [h.start for h in self.planner.table.holds.get(ref or resource, ()) if h.robot == robot_id]
        if not mine:
            return set()
        first = min(mine)
        return {h.robot for h in self.planner.table.holds.get(resource, ()) if h.robot != robot_id and h.start < first}

    def _step_ahead(self, robot_id: str, route: Route, i: int) -> set[str]:
        """The robots whose earlier passage holds back step i of the robot's route."""
        place = route.steps[i][-1]
        return ({other for r in route.steps[i] for other in self._ahead(robot_id, r)}
                | {other for r in route.near[i] for other in self._ahead(robot_id, r, place)})

    def _step_clear(self, robot_id: str, route: Route, i: int) -> bool:
        return (not self._step_ahead(robot_id, route, i)
                and not self._bodies_on(robot_id, route.waypoints[i - 1], route.waypoints[i]))

    def _bodies_on(self, robot_id: str, a: Waypoint, b: Waypoint) -> set[str]:
        """The other robots standing on the floor from a to b (whatever the plans say: one may have stopped
        between two places, or be late)."""
        dx, dy = b.x - a.x, b.y - a.y
        length2 = dx * dx + dy * dy
        found = set()
        for other in self.known:
            if other == robot_id:
                continue
            where = self.locate(other)
            if where is None:
                continue
            t = 0.0 if length2 == 0 else max(0.0, min(1.0, ((where[0] - a.x) * dx + (where[1] - a.y) * dy) / length2))
            if math.hypot(where[0] - a.x - t * dx, where[1] - a.y - t * dy) < BODY_CLEAR_M:
                found.add(other)
        return found

    def releasable(self, robot_id: str) -> int:
        """How many waypoints of its route the robot may drive now (monotone: never taken back)."""
        route = self.routes.get(robot_id)
        if route is None:
            return 0
        count = max(route.released, 1)  # the start place: the robot is there
        while count < len(route.steps) and self._step_clear(robot_id, route, count):
            for resource in route.steps[count]:
                self.planner.table.commit(resource, robot_id)
            count += 1
        route.released = count
        return count

    def blockers(self, robot_id: str) -> set[str]:
        """The robots whose earlier passage, or whose body on the floor, holds back the robot's next step (a
        standstill with a robot standing on the way is a cycle of waiting like one of plans: see should_yield)."""
        route = self.routes.get(robot_id)
        if route is None or route.released >= len(route.steps):
            return set()
        i = route.released
        bodies = self._bodies_on(robot_id, route.waypoints[i - 1], route.waypoints[i]) if i >= 1 else set()
        return self._step_ahead(robot_id, route, i) | bodies

    def should_yield(self, robot_id: str) -> bool:
        """In a standstill (the robot waits, through others, for itself), the robot with the newest plan
        in the cycle gives way (replans). A robot waiting behind others that can still move waits."""
        cycle = self.waits_for_itself(robot_id)
        if not cycle:
            return False
        route = self.routes[robot_id]
        return all(route.planned_at >= self.routes[r].planned_at for r in cycle if r in self.routes)

    def waits_for_itself(self, robot_id: str) -> list[str]:
        """The robots of a cycle of waiting through `robot_id` ([] if it waits for no cycle)."""
        parent: dict[str, str] = {}
        todo = [robot_id]
        while todo:
            robot = todo.pop()
            for other in sorted(self.blockers(robot)):
                if other == robot_id:
                    cycle = [robot]
                    while cycle[-1] != robot_id:
                        cycle.append(parent[cycle[-1]])
                    return cycle
                if other not in parent and other in self.routes:
                    parent[other] = robot
                    todo.append(other)
        return []

    def progress(self, robot_id: str, heading_to: int) -> None:
        """The robot heads to waypoint `heading_to`: it has passed the lanes into the waypoints before it
        and left the places before the last one; those are released to the others."""
        route = self.routes.get(robot_id)
        if route is None:
            return
        if heading_to > route.passed:
            self._passed(robot_id, route, heading_to)
        self._left_behind(robot_id, route)

    def _passed(self, robot_id: str, route: Route, heading_to: int) -> None:
        route.passed = heading_to
        goal = place_key(route.plan.visits[-1].place)
        done: set[str] = set()
        for i in range(min(heading_to, len(route.steps))):
            done.update(route.steps[i][:-1])
            if i <= heading_to - 2 and route.steps[i][-1] != goal:
                done.add(route.steps[i][-1])
        # still ahead: the place it stands on, and all that the steps to come hold (a place passed twice,
        # or one the next lane crosses)
        done.difference_update(route.steps[heading_to - 1][-1:] if heading_to <= len(route.steps) else ())
        for i in range(heading_to, len(route.steps)):
            done.difference_update(route.steps[i])
        for resource in done:
            self._drop(robot_id, resource)

    def _left_behind(self, robot_id: str, route: Route) -> None:
        """The place the robot drove off last is free once the robot is a footprint and clearance away
        from it (on a long lane, long before it reaches the next waypoint)."""
        i = route.passed - 1
        if i < 0 or i >= len(route.steps) - 1:
            return
        key = route.steps[i][-1]
        if any(key in step for step in route.steps[i + 1:]):  # it comes back to it
            return
        where, mover = self.locate(robot_id), self.movers.get(robot_id)
        if where is None or mover is None:
            return
        place = self.lanes.graph.places[route.plan.visits[i].place]
        if math.hypot(where[0] - place.x, where[1] - place.y) >= mover.clear_s * mover.speed:
            self._drop(robot_id, key)

    def _drop(self, robot_id: str, resource: str) -> None:
        table = self.planner.table
        if any(h.robot == robot_id for h in table.holds.get(resource, ())):
            table.holds[resource] = [h for h in table.holds[resource] if h.robot != robot_id]

    def ensure_parked(self, robot_id: str, x: float, y: float, now: float) -> None:
        """A robot the traffic manager has not seen yet holds its nearest place."""
        if robot_id not in self.known:
            self.park(robot_id, x, y, now)

    def lost(self, robot_id: str, now: float) -> None:
        """The robot stopped reporting on its route: it may still drive all that was released to it (a VDA 5050
        vehicle drives its base to the end while the broker is away, an agent its release while the network is).
        It holds those places and lanes, from where it was last heard of, until it is parked again; robots still to
        pass there plan again, around them."""
        route = self.routes.pop(robot_id, None)
        if route is None:
            return  # parked: it holds its place
        i = min(max(route.passed, 1), len(route.steps))  # the place it left last, and the steps it heads on
        keep = {*route.steps[i - 1][-1:], *(r for step in route.steps[i:route.released] for r in step)}
        table = self.planner.table
        table.remove_robot(robot_id, after=now)
        for resource in keep:
            table.add(resource, -INF, INF, robot_id)
        self.adrift.add(robot_id)
        self.stands_on.pop(robot_id, None)
        self.obstacle_replans.pop(robot_id, None)
        self._reroute_through(robot_id, keep, now, 0.0)

    def finish(self, robot_id: str, x: float, y: float, now: float, moving_on: bool = False) -> None:
        """The robot's task ended (arrived, failed or canceled): it parks where it is (see park)."""
        self.planner.table.remove_robot(robot_id)
        if not moving_on:
            self.obstacle_replans.pop(robot_id, None)
        self.park(robot_id, x, y, now, moving_on)

    # -- lanes ----------------------------------------------------------------------------------
    def close_lane(self, lane_id: str) -> list[str]:
        """Close a lane; returns the robots whose routes still had to use it (they must be rerouted)."""
        derived = set(self.lanes.derived.get(lane_id, [lane_id]))
        self.operator_closed.update(derived)
        self.planner.closed.update(derived)
        affected = []
        for robot_id, route in self.routes.items():
            keys = {r for step in route.steps[route.passed:] for r in step}
            if any(k.startswith("l:") and k[2:] in derived for k in keys):
                affected.append(robot_id)
        self.reroute.update(affected)
        return affected

    def open_lane(self, lane_id: str) -> None:
        """Open a lane an operator closed; a lane a zone closes stays closed."""
        self.operator_closed.difference_update(self.lanes.derived.get(lane_id, [lane_id]))
        self.planner.closed = self.operator_closed | self._zone_lanes

    def closed_lanes(self) -> list[str]:
        """The navgraph lanes operators closed."""
        return sorted(lane for lane, derived in self.lanes.derived.items()
                      if derived and set(derived) <= self.operator_closed)

    def _close_zones(self, now: float | None) -> tuple[frozenset[str], frozenset[str]]:
        """The lane-graph lanes and vertices the zones close at sim time `now` (no-go zones, hours zones
        out of hours, at the site clock; `now` None: only no-go zones); the planner keeps off those lanes."""
        clock = None if now is None else self.site_clock(now)
        key = self.zones.closed(clock)
        if key not in self._zone_shut:
            g = self.lanes.graph
            self._zone_shut[key] = (frozenset(self.zones.blocked_lanes(g, clock)),
                                    frozenset(self.zones.blocked_places(g, clock)))
        self._zone_lanes = self._zone_shut[key][0]
        self.planner.closed = self.operator_closed | self._zone_lanes
        return self._zone_shut[key]


def _lowest(*limits: float | None) -> float:
    """The lowest of the speed limits given (0.0: none)."""
    return min((v for v in limits if v), default=0.0)


__all__ = ["NoRoute", "Route", "TrafficManager"]
