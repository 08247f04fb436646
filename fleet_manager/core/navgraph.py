"""The site's navigation graph: named places joined by lanes, shortest paths by length."""

from __future__ import annotations

import itertools
import math
from collections.abc import Collection
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import networkx as nx
import yaml

from fleet_manager.core.errors import InvalidInput, NotFound

PLACE_KINDS = {"waypoint", "room", "charger", "station", "pickup", "dropoff", "parking"}


class NavGraphError(ValueError):
    """navgraph.yaml is malformed; the message names the file and the entry."""


@dataclass(frozen=True)
class Place:
    name: str
    x: float
    y: float
    yaw: float | None = None
    kind: str = "waypoint"


@dataclass(frozen=True)
class Lane:
    id: str
    start: str
    end: str
    oneway: bool = False
    speed_limit: float | None = None
    width: float | None = None  # metres of free floor; two-way lanes this wide keep right
    caution: bool = False  # robots drive it at their caution level (a door, a crossing, a blind corner)

    @property
    def length_key(self) -> tuple[str, str]:
        return (self.start, self.end)


@dataclass
class NavGraph:
    site: str
    places: dict[str, Place]
    lanes: list[Lane]
    _graph: nx.DiGraph = field(init=False, repr=False)

    def __post_init__(self) -> None:
        g = nx.DiGraph()
        for place in self.places.values():
            g.add_node(place.name)
        for lane in self.lanes:
            a, b = self.places[lane.start], self.places[lane.end]
            length = math.hypot(b.x - a.x, b.y - a.y)
            g.add_edge(a.name, b.name, length=length, lane=lane.id)
            if not lane.oneway:
                g.add_edge(b.name, a.name, length=length, lane=lane.id)
        self._graph = g

    def place(self, name: str) -> Place:
        try:
            return self.places[name]
        except KeyError:
            raise NotFound(f"unknown place {name!r} in site {self.site!r}", field="place") from None

    def nearest_place(self, x: float, y: float) -> tuple[Place, float]:
        best = min(self.places.values(), key=lambda p: (p.x - x) ** 2 + (p.y - y) ** 2)
        return best, math.hypot(best.x - x, best.y - y)

    def shortest_path(self, start: str, goal: str) -> list[str]:
        """Place names from start to goal inclusive; InvalidInput when the goal cannot be reached."""
        self.place(start)
        self.place(goal)
        try:
            return list(nx.shortest_path(self._graph, start, goal, weight="length"))
        except nx.NetworkXNoPath:
            raise InvalidInput(f"no route from {start!r} to {goal!r}", field="place") from None

    def path_length(self, path: list[str]) -> float:
        return sum(self._graph.edges[a, b]["length"] for a, b in itertools.pairwise(path))

    def distance(self, start: str, goal: str) -> float:
        """Shortest travel distance in metres; math.inf when unreachable."""
        try:
            return float(nx.shortest_path_length(self._graph, start, goal, weight="length"))
        except (nx.NetworkXNoPath, nx.NodeNotFound):
            return math.inf

    def distances_from(self, start: str, avoid: Collection[str] = ()) -> dict[str, float]:
        """Shortest travel distance from `start` to every place it reaches; with `avoid`, on ways that pass none
        of those places (`start` itself excepted)."""
        graph = self._graph if not avoid else nx.subgraph_view(
            self._graph, filter_node=lambda name: name == start or name not in avoid)
        return dict(nx.single_source_dijkstra_path_length(graph, start, weight="length"))

    def distances_to(self, goal: str) -> dict[str, float]:
        """Shortest travel distance from every place that reaches `goal` to it (one Dijkstra, lanes reversed)."""
        return dict(nx.single_source_dijkstra_path_length(self._graph.reverse(copy=False), goal, weight="length"))

    def junctions(self) -> set[str]:
        """Places where three or more lanes meet (a door or a side lane on a corridor, a crossing): robots pass
        them at their caution level."""
        undirected = self._graph.to_undirected(as_view=True)
        return {name for name in self.places if undirected.degree(name) >= 3}

    def lane_between(self, a: str, b: str) -> Lane:
        lane_id = self._graph.edges[a, b]["lane"]
        return next(lane for lane in self.lanes if lane.id == lane_id)


def _float(entry: dict[str, Any], key: str, where: str, default: float | None = None) -> float | None:
    value = entry.get(key, default)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise NavGraphError(f"{where}: {key!r} must be a number, got {value!r}")
    return float(value)


def parse_navgraph(data: Any, source: str) -> NavGraph:
    if not isinstance(data, dict):
        raise NavGraphError(f"{source}: expected a mapping with 'places' and 'lanes'")
    site = str(data.get("site", ""))
    raw_places = data.get("places")
    if not isinstance(raw_places, dict) or not raw_places:
        raise NavGraphError(f"{source}: 'places' must be a non-empty mapping of name to {{x, y}}")
    places: dict[str, Place] = {}
    for name, entry in raw_places.items():
        where = f"{source}: places.{name}"
        if not isinstance(entry, dict):
            raise NavGraphError(f"{where}: expected a mapping with x and y")
        x, y = _float(entry, "x", where), _float(entry, "y", where)
        if x is None or y is None:
            raise NavGraphError(f"{where}: 'x' and 'y' are required")
        kind = str(entry.get("kind", "waypoint"))
        if kind not in PLACE_KINDS:
            raise NavGraphError(f"{where}: kind {kind!r} is not one of {sorted(PLACE_KINDS)}")
        places[str(name)] = Place(str(name), x, y, _float(entry, "yaw", where), kind)
    lanes: list[Lane] = []
    seen: set[str] = set()
    for i, entry in enumerate(data.get("lanes") or []):
        where = f"{source}: lanes[{i}]"
        if not isinstance(entry, dict) or "from" not in entry or "to" not in entry:
            raise NavGraphError(f"{where}: a lane needs 'from' and 'to'")
        start, end = str(entry["from"]), str(entry["to"])
        for end_name in (start, end):
            if end_name not in places:
                raise NavGraphError(f"{where}: unknown place {end_name!r}")
        lane_id = str(entry.get("id", f"{start}-{end}"))
        if lane_id in seen:
            raise NavGraphError(f"{where}: duplicate lane id {lane_id!r}")
        seen.add(lane_id)
        caution = entry.get("caution", False)
        if not isinstance(caution, bool):
            raise NavGraphError(f"{where}: 'caution' must be true or false, got {caution!r}")
        lanes.append(Lane(lane_id, start, end, bool(entry.get("oneway", False)),
                          _float(entry, "speed_limit", where), _float(entry, "width", where), caution))
    return NavGraph(site, places, lanes)


def load_navgraph(path: Path) -> NavGraph:
    try:
        data = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise NavGraphError(f"{path}: {exc}") from exc
    return parse_navgraph(data, str(path))
