"""The lane graph traffic is planned on: the navgraph with every wide two-way lane split into one
carriageway per direction (keep right), so robots going opposite ways on a corridor use different
places and lanes and pass each other, while a robot joining or crossing a corridor from a side lane
holds both carriageways where it crosses.

Caution (the robots' safety layer drives slower, with larger zones): a lane marked `caution`, every hop between
the carriageways of a corridor place (a lane change, a U-turn, a crossing) and every narrow lane that joins a
corridor (a door, a side lane); and near the navgraph's junctions."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from scipy.spatial import cKDTree

from fleet_manager.core.navgraph import Lane, NavGraph, Place

SIDE_SEP = "@"
KEEP_RIGHT_WIDTH = 2.0  # m: two-way lanes at least this wide have a carriageway for each direction
NEAR_M = 1.15  # m: vertices closer than this are too close for two robots at once
SAME_PLACE_NEAR_M = 0.95  # m: ... for two carriageway ends of one place (opposite ones, farther, pass)


CARRIAGEWAYS = ("+", "-")  # a wide lane's two lane-graph lanes: `<lane id>@+` (start to end) and `<lane id>@-`


def is_wide(lane: Lane) -> bool:
    return lane.width is not None and lane.width >= KEEP_RIGHT_WIDTH and not lane.oneway


def floor_across(lane: Lane) -> float | None:
    """The floor a robot has across a lane-graph lane: its width, half of it on a wide lane's carriageway."""
    if lane.width is None:
        return None
    return lane.width / 2 if lane.id.endswith(tuple(SIDE_SEP + side for side in CARRIAGEWAYS)) else lane.width


def base_name(vertex: str) -> str:
    """The navgraph place a lane-graph vertex stands for."""
    return vertex.split(SIDE_SEP, 1)[0]


def _side(dx: float, dy: float) -> tuple[str, float, float]:
    """The right-hand normal of a travel direction, and a short name for it."""
    nx, ny = dy, -dx
    angle = round(math.degrees(math.atan2(ny, nx))) % 360
    names = {0: "e", 90: "n", 180: "w", 270: "s"}
    return names.get(angle, f"a{angle}"), nx, ny


@dataclass
class LaneGraph:
    graph: NavGraph  # the expanded graph (vertices are places or place@side)
    sides: dict[str, list[str]]  # navgraph place -> its side vertices (empty: the place itself)
    extra: dict[str, list[str]] = field(default_factory=dict)  # lane id -> more places it holds while used
    derived: dict[str, list[str]] = field(default_factory=dict)  # navgraph lane id -> lane-graph lane ids
    near: dict[str, list[str]] = field(default_factory=dict)  # vertex -> the vertices closer than NEAR_M
    junctions: set[str] = field(default_factory=set)  # navgraph places where three or more lanes meet

    def vertices_of(self, place: str) -> list[str]:
        return self.sides.get(place) or [place]


def build_lane_graph(nav: NavGraph) -> LaneGraph:
    places: dict[str, Place] = {}
    sides: dict[str, list[str]] = {name: [] for name in nav.places}
    lanes: list[Lane] = []
    extra: dict[str, list[str]] = {}
    derived: dict[str, list[str]] = {lane.id: [] for lane in nav.lanes}

    def side_vertex(place: str, dx: float, dy: float, offset: float) -> str:
        name, nx, ny = _side(dx, dy)
        vertex = f"{place}{SIDE_SEP}{name}"
        if vertex not in places:
            p = nav.places[place]
            places[vertex] = Place(vertex, p.x + nx * offset, p.y + ny * offset, None, "waypoint")
            sides[place].append(vertex)
        return vertex

    on_wide = {end for lane in nav.lanes if is_wide(lane) for end in (lane.start, lane.end)}
    for p in nav.places.values():
        if p.name not in on_wide:
            places[p.name] = p
    for lane in nav.lanes:
        if not is_wide(lane):
            continue
        a, b = nav.places[lane.start], nav.places[lane.end]
        length = math.hypot(b.x - a.x, b.y - a.y)
        dx, dy = (b.x - a.x) / length, (b.y - a.y) / length
        offset = (lane.width or 0.0) / 4
        fwd = (side_vertex(a.name, dx, dy, offset), side_vertex(b.name, dx, dy, offset))
        back = (side_vertex(b.name, -dx, -dy, offset), side_vertex(a.name, -dx, -dy, offset))
        for suffix, (u, v) in zip(CARRIAGEWAYS, (fwd, back), strict=True):
            lane_id = f"{lane.id}{SIDE_SEP}{suffix}"
            lanes.append(Lane(lane_id, u, v, True, lane.speed_limit, lane.width, lane.caution))
            derived[lane.id].append(lane_id)
    # within a place on a corridor: every carriageway joins every other (turns, U-turns)
    for place, vertices in sides.items():
        for i, u in enumerate(vertices):
            for v in vertices[i + 1:]:
                lane_id = f"{place}{SIDE_SEP}{u.split(SIDE_SEP)[1]}-{v.split(SIDE_SEP)[1]}"
                lanes.append(Lane(lane_id, u, v, False, None, None, caution=True))  # a lane change
                extra[lane_id] = [x for x in vertices if x not in (u, v)]
    # narrow lanes: to every carriageway of a corridor place; using one holds the others (crossing)
    for lane in nav.lanes:
        if is_wide(lane):
            continue
        ends_a, ends_b = sides[lane.start] or [lane.start], sides[lane.end] or [lane.end]
        caution = lane.caution or bool(sides[lane.start] or sides[lane.end])  # also a door or side lane onto a corridor
        for u in ends_a:
            for v in ends_b:
                lane_id = lane.id if (u, v) == (lane.start, lane.end) else f"{lane.id}{SIDE_SEP}{u}>{v}"
                lanes.append(Lane(lane_id, u, v, lane.oneway, lane.speed_limit, lane.width, caution))
                derived[lane.id].append(lane_id)
                crossed = [x for x in ends_a + ends_b if x not in (u, v) and SIDE_SEP in x]
                if crossed:
                    extra[lane_id] = crossed
    return LaneGraph(NavGraph(nav.site, places, lanes), sides, extra, derived, near_vertices(places), nav.junctions())


def near_vertices(places: dict[str, Place]) -> dict[str, list[str]]:
    """Vertices closer than NEAR_M to each other (e.g. the carriageway ends at a corner): a robot on one
    stands in the way of a robot on the other, so the planner never puts robots on both at once. (Pairs found
    with a KD-tree: a site imported from a grid has thousands of places.)"""
    names = sorted(places)
    out: dict[str, list[str]] = {}
    if len(names) < 2:
        return out
    tree = cKDTree([(places[n].x, places[n].y) for n in names])
    for i, j in sorted(tree.query_pairs(max(NEAR_M, SAME_PLACE_NEAR_M), output_type="ndarray").tolist()):
        a, b = names[i], names[j]
        pa, pb = places[a], places[b]
        limit = SAME_PLACE_NEAR_M if base_name(a) == base_name(b) else NEAR_M
        if math.hypot(pa.x - pb.x, pa.y - pb.y) < limit:
            out.setdefault(a, []).append(b)
            out.setdefault(b, []).append(a)
    return out
