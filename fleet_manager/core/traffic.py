"""Traffic planning in time: routes on a graph that never share a place or a lane with another robot at
the same time (prioritised planning with safe-interval path planning, SIPP, over a reservation table).
Execution keeps the order of passage the plans fix (see fleet_manager/missions/traffic.py).

Resources: every place (`v:NAME`) and every lane (`l:ID`), a two-way lane shared by both directions.
Plans run on the lane graph (core/lanes.py), where a wide corridor is already one one-way carriageway
per direction, so robots going opposite ways there hold different lanes and places.
"""

from __future__ import annotations

import bisect
import heapq
import itertools
import math
from dataclasses import dataclass, field

from fleet_manager.core.navgraph import Lane, NavGraph

INF = math.inf


def place_key(name: str) -> str:
    return f"v:{name}"


def lane_key(lane: Lane) -> str:
    return f"l:{lane.id}"


@dataclass(frozen=True)
class Hold:
    start: float
    end: float
    robot: str


@dataclass
class ReservationTable:
    """Time intervals during which a robot holds a resource (start inclusive, end exclusive)."""

    holds: dict[str, list[Hold]] = field(default_factory=dict)
    # while planning: holds still in the table that began before `now` are robots running late; they
    # are seen as starting now (their passage is still to come)
    now: float | None = None

    def add(self, resource: str, start: float, end: float, robot: str) -> None:
        items = self.holds.setdefault(resource, [])
        bisect.insort(items, Hold(start, end, robot), key=lambda h: (h.start, h.end))

    def remove_robot(self, robot: str, after: float = -INF) -> None:
        """Drop the robot's holds that start after `after`; cut the one running at `after` there."""
        for resource, items in list(self.holds.items()):
            kept = []
            for h in items:
                if h.robot != robot:
                    kept.append(h)
                elif h.start < after:
                    kept.append(Hold(h.start, min(h.end, after), robot) if h.end > after else h)
            self.holds[resource] = kept

    def commit(self, resource: str, robot: str) -> None:
        """The robot's first hold on the resource is released to it: it comes first there, before any
        plan made later (replanning never reorders what is released)."""
        items = self.holds.get(resource, [])
        mine = [h for h in items if h.robot == robot]
        if mine and mine[0].start > -INF:
            items.remove(mine[0])
            self.add(resource, -INF, mine[0].end, robot)

    def busy(self, resource: str, robot: str) -> list[Hold]:
        now = self.now
        out = []
        for h in self.holds.get(resource, ()):
            if h.robot == robot:
                continue
            if now is not None and h.start < now and h.end != INF:
                length = h.end - h.start if h.start > -INF else 1.0
                h = Hold(now, max(h.end, now + length), h.robot)
            out.append(h)
        return out

    def safe_intervals(self, resource: str, robot: str, also: tuple[str, ...] = ()) -> list[tuple[float, float]]:
        """The free gaps of a resource (and of the resources `also`, e.g. places too close to it), for a
        robot (its own holds do not count)."""
        gaps, t = [], -INF
        busy = [h for r in (resource, *also) for h in self.busy(r, robot)]
        for h in sorted(busy, key=lambda h: h.start):
            if h.start > t:
                gaps.append((t, h.start))
            t = max(t, h.end)
        if t < INF:
            gaps.append((t, INF))
        return gaps

    def earliest_free(self, resource: str, robot: str, start: float, duration: float) -> float:
        """The first time >= start when the resource is free for `duration`."""
        t = start
        for h in sorted(self.busy(resource, robot), key=lambda h: h.start):
            if h.end <= t:
                continue
            if h.start >= t + duration:
                break
            t = h.end
        return t

    def order(self, resource: str) -> list[Hold]:
        return sorted(self.holds.get(resource, ()), key=lambda h: (h.start, h.robot))


@dataclass(frozen=True)
class Visit:
    """A planned stay at a place: arrive, (wait,) leave; and the resources used to get there."""

    place: str
    arrive: float
    leave: float  # inf at the end of the plan: the robot stays
    via: tuple[str, ...]  # resources held on the way to this place: the lane, places it crosses


@dataclass(frozen=True)
class Plan:
    robot: str
    visits: tuple[Visit, ...]

    @property
    def places(self) -> list[str]:
        return [v.place for v in self.visits]

    @property
    def arrival(self) -> float:
        return self.visits[-1].arrive


class NoRoute(Exception):
    """No route to the goal that keeps clear of the other robots' plans (or none at all)."""


@dataclass(frozen=True)
class Mover:
    robot: str
    speed: float  # m/s
    clear_s: float  # seconds the robot needs to clear a place after it leaves it (footprint + clearance)
    caution_speed: float = INF  # m/s the robot drives at its caution level (a caution lane, near a junction)
    caution_radius: float = 0.0  # m around a junction where that level holds


class TrafficPlanner:
    def __init__(self, graph: NavGraph, table: ReservationTable | None = None,
                 extra: dict[str, list[str]] | None = None, near: dict[str, list[str]] | None = None,
                 junctions: set[str] | None = None) -> None:
        self.graph = graph
        self.junctions = junctions or set()  # places where the robots' caution level holds around them
        self.table = table or ReservationTable()
        self.closed: set[str] = set()  # lane ids closed at run time
        self.extra = extra or {}  # lane id -> places a robot on the lane also holds (it crosses them)
        self.near = near or {}  # place -> places too close to it: a robot may use it only while they are free
        self._out: dict[str, list[tuple[str, Lane]]] = {}  # place -> (next place, lane) it may drive along
        for lane in graph.lanes:
            self._out.setdefault(lane.start, []).append((lane.end, lane))
            if not lane.oneway:
                self._out.setdefault(lane.end, []).append((lane.start, lane))

    # -- planning -------------------------------------------------------------------------------
    def _edges(self, place: str) -> list[tuple[str, Lane]]:
        return [(nxt, lane) for nxt, lane in self._out.get(place, ()) if lane.id not in self.closed]

    def _travel(self, a: str, b: str, lane: Lane, mover: Mover) -> float:
        """Seconds from a to b along the lane: at the robot's planning speed (within the lane's limit), and at its
        caution speed along a caution lane and within its caution radius of a junction, as the robot drives it (a
        plan that counts on more speed than that runs late, and holds back every robot ordered after it)."""
        pa, pb = self.graph.places[a], self.graph.places[b]
        length = math.hypot(pb.x - pa.x, pb.y - pa.y)
        speed = max(min(mover.speed, lane.speed_limit or INF), 1e-3)
        careful = max(min(speed, mover.caution_speed), 1e-3)
        if careful >= speed:
            return length / speed
        if lane.caution:
            slow = length
        else:
            slow = min(length, mover.caution_radius * ((a in self.junctions) + (b in self.junctions)))
        return (length - slow) / speed + slow / careful

    def _heuristic(self, goal: str, mover: Mover) -> dict[str, float]:
        g = self.graph.places[goal]
        return {n: math.hypot(p.x - g.x, p.y - g.y) / max(mover.speed, 1e-3) for n, p in self.graph.places.items()}

    def plan(self, mover: Mover, start: str, goal: str | list[str], now: float,
             max_expansions: int = 20_000) -> Plan:
        """The earliest-arriving route from `start` (where the robot is at `now`) to `goal` (or the first
        reachable of several), where it may then stay, clear of every hold in the table; raises NoRoute."""
        table = self.table
        table.now = now
        try:
            return self._search(mover, start, goal, now, max_expansions)
        finally:
            table.now = None

    def _search(self, mover: Mover, start: str, goal: str | list[str], now: float, max_expansions: int) -> Plan:
        table, robot, clear = self.table, mover.robot, mover.clear_s
        goals = [goal] if isinstance(goal, str) else list(goal)
        hs = [self._heuristic(g, mover) for g in goals]
        h = {n: min(hg[n] for hg in hs) for n in self.graph.places}
        start_safe = [iv for iv in table.safe_intervals(place_key(start), robot, self.near_keys(start))
                      if iv[0] <= now < iv[1]]
        if not start_safe:
            # the robot is there all the same (stopped next to another, e.g. after a failed drive): it may
            # leave at once, ahead of the plans still to come through
            later = [hold.start for r in (place_key(start), *self.near_keys(start))
                     for hold in table.busy(r, robot) if hold.start >= now]
            later = [max(t, now + 2 * clear) for t in later]  # it may leave at once, before the late ones
            start_safe = [(now, min(later, default=INF))]
        counter = itertools.count()
        # state: (place, index of the safe interval) -> earliest arrival
        start_state = (start, 0)
        intervals = {start: [start_safe[0]]}
        best: dict[tuple[str, int], float] = {start_state: now}
        parent: dict[tuple[str, int], tuple[tuple[str, int], float, tuple[str, ...]] | None] = {start_state: None}
        frontier = [(now + h[start], next(counter), now, start_state)]
        expansions = 0
        while frontier:
            _, _, arrive, state = heapq.heappop(frontier)
            if arrive > best.get(state, INF):
                continue
            place, idx = state
            window = intervals[place][idx]
            if place in goals and window[1] == INF:
                return self._build(robot, state, parent, best, clear)
            expansions += 1
            if expansions > max_expansions:
                break
            for nxt, lane in self._edges(place):
                travel = self._travel(place, nxt, lane, mover)
                keys = [lane_key(lane)] + [place_key(x) for x in self.extra.get(lane.id, ())]
                if nxt not in intervals:
                    intervals[nxt] = table.safe_intervals(place_key(nxt), robot, self.near_keys(nxt))
                for j, (lo, hi) in enumerate(intervals[nxt]):
                    depart = max(arrive, lo - travel + clear)  # the place is held from `clear` before arrival
                    for _ in range(50):  # lane and arrival window settle in a few steps
                        d2 = depart
                        for k in keys:
                            d2 = max(d2, table.earliest_free(k, robot, d2, travel + clear))
                        d2 = max(d2, lo - travel + clear)
                        if d2 == depart:
                            break
                        depart = d2
                    if depart + clear > window[1] or depart + travel + clear > hi:
                        continue  # must leave before the current window closes, arrive in time to pass
                    if depart + travel >= hi:
                        continue
                    key = (nxt, j)
                    t_arr = depart + travel
                    if t_arr < best.get(key, INF):
                        best[key] = t_arr
                        parent[key] = (state, depart, tuple(keys))
                        heapq.heappush(frontier, (t_arr + h[nxt], next(counter), t_arr, key))
        raise NoRoute(f"no route for {robot} from {start} to {goal} clear of the other robots")

    def _build(self, robot: str, state: tuple[str, int], parent: dict, best: dict, clear: float) -> Plan:
        chain = []
        leave = INF
        node: tuple[str, int] | None = state
        while node is not None:
            link = parent[node]
            via = link[2] if link else ()
            chain.append(Visit(node[0], best[node], leave, via))
            if link is None:
                break
            node, leave = link[0], link[1]
        return Plan(robot, tuple(reversed(chain)))

    # -- reservations ---------------------------------------------------------------------------
    def reserve(self, plan: Plan, mover: Mover) -> None:
        """Hold every place from `clear_s` before arrival until `clear_s` after leaving, every lane from
        departure until `clear_s` after arrival at its end."""
        visits = plan.visits
        for i, visit in enumerate(visits):
            # the robot is on its start place now: it comes first there, before any robot running late
            begin = visit.arrive - mover.clear_s if i > 0 else -INF
            self.table.add(place_key(visit.place), begin, visit.leave + mover.clear_s, plan.robot)
            for key in visit.via if i > 0 else ():
                self.table.add(key, visits[i - 1].leave, visit.arrive + mover.clear_s, plan.robot)

    def park(self, robot: str, place: str, now: float) -> None:
        """The robot stands at `place` from now on (idle). It is there already, so it comes first there:
        a robot whose plan passes that place later waits for it to leave instead of driving into it."""
        self.table.remove_robot(robot, after=now)
        self.table.add(place_key(place), -INF, INF, robot)

    def near_keys(self, place: str) -> tuple[str, ...]:
        """The places too close to `place`: a robot may be there only while nobody is on any of them."""
        return tuple(place_key(p) for p in self.near.get(place, ()))

    def plan_batch(self, moves: list[tuple[Mover, str, str | list[str]]], now: float) -> dict[str, Plan]:
        """Plan several robots that start now, each from the place it stands on; reserve the plans.

        In the given (priority) order, each robot is planned as if the robots not yet planned had
        already left their places; when they are planned, they must leave before anyone arrives. If a
        robot finds no route, it moves to the front and the batch is planned again (each robot at
        most once at the front); raises NoRoute when no order works.
        """
        order = list(moves)
        tried: set[str] = set()
        snapshot = {k: list(v) for k, v in self.table.holds.items()}
        while True:
            for mover, _, _ in order:
                self.table.remove_robot(mover.robot, after=now)
            for mover, start, _ in order:  # a short hold, so the first planned do not start on top of them
                self.table.add(place_key(start), now, now + mover.clear_s, mover.robot)
            plans: dict[str, Plan] = {}
            failed: tuple[Mover, str, str | list[str]] | None = None
            for move in order:
                mover, start, goal = move
                self.table.remove_robot(mover.robot, after=now - 1.0)
                try:
                    plan = self.plan(mover, start, goal, now)
                except NoRoute:
                    failed = move
                    break
                self.reserve(plan, mover)
                plans[mover.robot] = plan
            if failed is None:
                return plans
            self.table.holds = {k: list(v) for k, v in snapshot.items()}
            if failed[0].robot in tried:
                raise NoRoute(f"no route for {failed[0].robot} from {failed[1]} to {failed[2]} clear of the "
                              f"other robots")
            tried.add(failed[0].robot)
            order = [failed] + [m for m in order if m is not failed]
