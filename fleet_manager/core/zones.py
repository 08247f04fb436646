"""Operating zones of a site (zones.yaml): speed limits, no-go areas and opening hours, with shapely.

Kinds (`cleaning` zones belong to coverage.py and are skipped here):
- `speed_limit`: robots inside drive at most `limit_mps`.
- `no_go`: robots never enter; lanes and places touching it are blocked.
- `hours`: robots may be inside only from `open` to `close` ("HH:MM", local site time; open inclusive,
  close exclusive; a close before the open runs over midnight). An optional `limit_mps` holds while open.

Time of day is `clock_s`: seconds since local midnight at the site, taken modulo a day. With no clock
(None) the time is unknown: an hours zone counts as open, so it blocks nothing and its limit applies
(the cautious reading for a speed). A closed hours zone has no limit: robots must not be in it at all.
A point on a zone's edge is inside the zone; a segment that touches a zone crosses it.

On routes (missions/traffic.py): lanes crossing a closed zone are not planned on, lane speed limits take
the zones' limits (with_lane_limits), and `cut` names the zones that leave no way round. zones.yaml may
also set `speed_caps` (SpeedCaps): each robot model's top speed, by default its mass tier.
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import networkx as nx
import numpy as np
import shapely
import yaml
from shapely.geometry import LineString, Point, Polygon
from shapely.geometry.base import BaseGeometry

from fleet_manager.core.errors import InvalidInput
from fleet_manager.core.navgraph import NavGraph, Place

KINDS = ("speed_limit", "no_go", "hours")
SKIPPED_KINDS = ("cleaning",)  # parsed by coverage.parse_cleaning_zones
DAY_S = 86_400
DEFAULT_SPEED_TOLERANCE = 0.05  # a speed up to 5 % over a zone's limit is not a violation
# (mass in kg, km/h): a robot heavier than a threshold is capped at its km/h; the heaviest tier wins.
DEFAULT_MASS_TIERS: tuple[tuple[float, float], ...] = ((0.0, 15.0), (100.0, 10.0), (230.0, 5.0))

Sample = tuple[float, float, float, float]  # (t, x, y, speed)
_CLOCK = re.compile(r"(\d{1,2}):(\d{2})")


@dataclass(frozen=True)
class OperatingZone:
    name: str
    kind: str  # one of KINDS
    polygon: tuple[tuple[float, float], ...]
    limit_mps: float | None = None
    open: str | None = None  # "HH:MM", hours zones only
    close: str | None = None
    shape: Polygon = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        shape = Polygon(self.polygon)
        shapely.prepare(shape)
        object.__setattr__(self, "shape", shape)

    def allows(self, clock_s: float | None) -> bool:
        """Whether a robot may be inside at that time of day."""
        if self.kind == "no_go":
            return False
        if self.kind != "hours" or clock_s is None or self.open is None or self.close is None:
            return True
        now, start, end = clock_s % DAY_S, _seconds(self.open), _seconds(self.close)
        return start <= now < end if start < end else now >= start or now < end

    def limit_at(self, clock_s: float | None) -> float | None:
        """The speed limit this zone sets at that time (None: none, or the zone is closed)."""
        return self.limit_mps if self.allows(clock_s) else None

    def contains(self, x: float, y: float) -> bool:
        return bool(shapely.intersects_xy(self.shape, x, y))


@dataclass(frozen=True)
class ZoneViolation:
    """A run of consecutive trajectory samples that broke one zone's rule."""

    zone: str
    kind: str  # "speeding", "no_go" (inside a no-go zone) or "closed" (inside an hours zone out of hours)
    start_t: float
    end_t: float
    max_speed: float


@dataclass(frozen=True)
class OperatingZones:
    zones: tuple[OperatingZone, ...] = ()

    def __len__(self) -> int:
        return len(self.zones)

    def speed_limit_at(self, x: float, y: float, clock_s: float | None = None) -> float | None:
        """The lowest limit of the zones containing the point; None when no zone limits it."""
        return _lowest(z.limit_at(clock_s) for z in self.zones if z.contains(x, y))

    def forbidden_at(self, x: float, y: float, clock_s: float | None = None) -> str | None:
        """The name of the first no-go zone, or hours zone closed at clock_s, containing the point."""
        return next((z.name for z in self.zones if not z.allows(clock_s) and z.contains(x, y)), None)

    def limit_on_segment(self, ax: float, ay: float, bx: float, by: float,
                         clock_s: float | None = None) -> float | None:
        """The lowest limit of the zones the segment from a to b crosses or touches."""
        segment = _segment(ax, ay, bx, by)
        return _lowest(z.limit_at(clock_s) for z in self.zones if z.shape.intersects(segment))

    def blocked_lanes(self, graph: NavGraph, clock_s: float | None = None) -> set[str]:
        """Ids of the lanes whose segment crosses or touches a no-go zone or an hours zone closed at clock_s."""
        closed = [z.shape for z in self.zones if not z.allows(clock_s)]
        blocked: set[str] = set()
        for lane in graph.lanes:
            a, b = graph.places[lane.start], graph.places[lane.end]
            segment = _segment(a.x, a.y, b.x, b.y)
            if any(shape.intersects(segment) for shape in closed):
                blocked.add(lane.id)
        return blocked

    def blocked_places(self, graph: NavGraph, clock_s: float | None = None) -> set[str]:
        """Names of the places inside (or on the edge of) a no-go zone or an hours zone closed at clock_s."""
        return {p.name for p in graph.places.values() if self.forbidden_at(p.x, p.y, clock_s) is not None}

    def closed(self, clock_s: float | None = None) -> tuple[str, ...]:
        """Names of the zones robots may not be in at that time (no-go zones, hours zones out of hours)."""
        return tuple(z.name for z in self.zones if not z.allows(clock_s))

    def describe(self, name: str) -> str:
        """How a reason names a zone robots may not enter: "no-go zone X", "zone X (open 07:00-21:00)"."""
        zone = next(z for z in self.zones if z.name == name)
        return f"no-go zone {name}" if zone.kind == "no_go" else f"zone {name} (open {zone.open}-{zone.close})"

    def crossed(self, points: Sequence[tuple[float, float]], clock_s: float | None = None) -> list[str]:
        """Names of the zones closed at clock_s that the polyline through `points` crosses or touches."""
        line = _segment(*points[0], *points[0]) if len(points) == 1 else LineString(points)
        return [z.name for z in self.zones if not z.allows(clock_s) and z.shape.intersects(line)]

    def with_lane_limits(self, graph: NavGraph) -> NavGraph:
        """The graph with each lane's speed_limit lowered to the lowest limit of the zones it crosses (with
        no clock: an hours zone's limit always holds), so plans and routes both keep the zones' limits."""
        lanes = []
        for lane in graph.lanes:
            a, b = graph.places[lane.start], graph.places[lane.end]
            limit = _lowest([lane.speed_limit, self.limit_on_segment(a.x, a.y, b.x, b.y)])
            lanes.append(dataclasses.replace(lane, speed_limit=limit))
        return NavGraph(graph.site, dict(graph.places), lanes)

    def cut(self, graph: NavGraph, start: str, goals: Collection[str], closed: Collection[str] = (),
            clock_s: float | None = None, blocked: Collection[str] | None = None) -> list[str]:
        """The zones closed at clock_s that cut every way from `start` to the `goals` on the graph (its lanes
        but `closed`): [] when a way avoids them, or when there is no way even through them. Named are the
        zones the shortest way through them crosses. `blocked`: the lanes they block, when known."""
        blocked = self.blocked_lanes(graph, clock_s) if blocked is None else blocked
        if not blocked:
            return []
        if _shortest_way(graph, start, goals, {*closed, *blocked}) is not None:
            return []
        way = _shortest_way(graph, start, goals, set(closed))
        return [] if way is None else self.crossed([(p.x, p.y) for p in way], clock_s)

    def violations(self, samples: Sequence[Sample], *, tolerance: float = DEFAULT_SPEED_TOLERANCE,
                   clock: Callable[[float], float] | None = None) -> list[ZoneViolation]:
        """The zone rules a trajectory of (t, x, y, speed) samples broke, ordered by start time.

        Speeding is a speed more than `tolerance` (a fraction) over the limit of a zone the sample is in;
        each zone is judged on its own, so overlapping zones may both report one stretch. Being inside a
        no-go zone, or an hours zone while closed, is a violation at any speed. `clock` maps a sample's t
        to the site's clock_s; without it opening hours are not checked. Consecutive samples breaking
        the same rule of the same zone merge into one violation from the first to the last of them.
        """
        if tolerance < 0:
            raise ValueError("tolerance must be >= 0")
        rows = sorted(samples, key=lambda s: s[0])
        if not rows or not self.zones:
            return []
        t, x, y, speed = (np.asarray(column, dtype=float) for column in zip(*rows, strict=True))
        clocks = [None if clock is None else clock(float(ti)) for ti in t]
        found: list[ZoneViolation] = []
        for zone in self.zones:
            inside = shapely.intersects_xy(zone.shape, x, y)
            allowed = np.array([zone.allows(c) for c in clocks], dtype=bool)
            rules = {"no_go" if zone.kind == "no_go" else "closed": inside & ~allowed}
            if zone.limit_mps is not None:
                rules["speeding"] = inside & allowed & (speed > zone.limit_mps * (1 + tolerance))
            for kind, broken in rules.items():
                for i, j in _runs(broken):
                    found.append(ZoneViolation(zone.name, kind, float(t[i]), float(t[j]),
                                               float(speed[i:j + 1].max())))
        return sorted(found, key=lambda v: (v.start_t, v.zone, v.kind))

    def to_map_json(self) -> list[dict[str, object]]:
        """The zones as plain dicts for the map endpoint."""
        return [{"name": z.name, "kind": z.kind, "polygon": [[px, py] for px, py in z.polygon],
                 "limit_mps": z.limit_mps, "open": z.open, "close": z.close} for z in self.zones]


def speed_cap_for_mass(mass_kg: float, tiers: Sequence[tuple[float, float]] = DEFAULT_MASS_TIERS) -> float:
    """The speed cap in m/s of a robot that heavy: the km/h of the heaviest tier whose mass threshold it is
    above (strictly). The default, after the Korean outdoor mobile-robot rule: 15 km/h, 10 km/h above
    100 kg, 5 km/h above 230 kg."""
    if isinstance(mass_kg, bool) or not isinstance(mass_kg, int | float) or not mass_kg > 0:
        raise InvalidInput(f"mass_kg must be a number > 0, got {mass_kg!r}", field="mass_kg")
    caps = [kmh for threshold, kmh in sorted(tiers) if mass_kg > threshold]
    if not caps:
        raise InvalidInput(f"mass_kg: no speed tier covers {mass_kg} kg", field="mass_kg")
    return caps[-1] / 3.6


@dataclass(frozen=True)
class SpeedCaps:
    """The top speed of each robot model on a site (zones.yaml `speed_caps`): the model's own max_speed,
    capped by the speed tier of its mass (`tiers`, default the Korean outdoor-robot rule) or, when one is
    set for the model (`models`, m/s), by that instead."""

    tiers: tuple[tuple[float, float], ...] = DEFAULT_MASS_TIERS  # (mass above, kg; km/h)
    models: Mapping[str, float] = field(default_factory=dict)

    def max_speed(self, model: str, mass_kg: float, max_speed: float) -> float:
        cap = self.models.get(model)
        return min(max_speed, speed_cap_for_mass(mass_kg, self.tiers) if cap is None else cap)


def parse_speed_caps(raw: object) -> SpeedCaps:
    """zones.yaml's optional `speed_caps: {tiers: [[KG, KMH], ...], models: {MODEL: MPS}}`."""
    if raw is None:
        return SpeedCaps()
    if not isinstance(raw, dict) or set(raw) - {"tiers", "models"}:
        raise InvalidInput("zones.yaml: speed_caps: expected a mapping with tiers and/or models", field="speed_caps")
    tiers = raw.get("tiers", DEFAULT_MASS_TIERS)
    if not isinstance(tiers, list | tuple) or not tiers or not all(
            isinstance(t, list | tuple) and len(t) == 2 and all(_is_number(v) for v in t) and t[0] >= 0 and t[1] > 0
            for t in tiers):
        raise InvalidInput("zones.yaml: speed_caps.tiers: expected a list of [mass above (kg) >= 0, km/h > 0]",
                           field="speed_caps.tiers")
    models = raw.get("models") or {}
    if not isinstance(models, dict) or not all(isinstance(k, str) and _is_number(v) and v > 0
                                               for k, v in models.items()):
        raise InvalidInput("zones.yaml: speed_caps.models: expected a mapping of model name to m/s > 0",
                           field="speed_caps.models")
    return SpeedCaps(tuple((float(a), float(b)) for a, b in tiers), {k: float(v) for k, v in models.items()})


def load_zones_file(path: Path) -> dict[str, Any]:
    """The document of a site's zones.yaml ({} when there is none); a bad file is a ValueError naming it."""
    if not path.exists():
        return {}
    try:
        doc = yaml.safe_load(path.read_text()) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise ValueError(f"{path}: {exc}") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("zones") or [], list):
        raise ValueError(f"{path}: expected a mapping with a list of zones")
    return doc


def parse_operating_zones(raw: Sequence[object]) -> OperatingZones:
    """The speed-limit, no-go and hours zones of zones.yaml's `zones` list; cleaning zones are skipped.

    A malformed zone is an InvalidInput naming the zone and the field.
    """
    zones: list[OperatingZone] = []
    seen: set[str] = set()
    for i, entry in enumerate(raw):
        if not isinstance(entry, dict):
            raise InvalidInput(f"zones.yaml: zones[{i}]: expected a mapping with name, kind and polygon",
                               field=f"zones[{i}]")
        if entry.get("kind") in SKIPPED_KINDS:
            continue
        name = entry.get("name")
        if not isinstance(name, str) or not name:
            raise _bad(f"zones[{i}]", i, "name", "must be a non-empty string")
        zone = _ZoneReader(name, i, entry)
        if name in seen:
            raise zone.bad("name", "is used by another zone")
        seen.add(name)
        zones.append(zone.read())
    return OperatingZones(tuple(zones))


class _ZoneReader:
    """Reads and checks the fields of one zone entry."""

    def __init__(self, name: str, index: int, entry: dict[str, object]) -> None:
        self.name, self.index, self.entry = name, index, entry

    def bad(self, key: str, problem: str) -> InvalidInput:
        return _bad(f"zone {self.name!r}", self.index, key, problem)

    def read(self) -> OperatingZone:
        kind = self.entry.get("kind")
        if kind not in KINDS:
            raise self.bad("kind", f"{kind!r} is not one of {', '.join(KINDS + SKIPPED_KINDS)}")
        assert isinstance(kind, str)
        allowed = {"speed_limit": {"limit_mps"}, "no_go": set(), "hours": {"limit_mps", "open", "close"}}[kind]
        for key in ("limit_mps", "open", "close"):
            if key in self.entry and key not in allowed:
                raise self.bad(key, f"does not apply to a {kind} zone")
        polygon = self.polygon()
        limit = self.limit(required=kind == "speed_limit") if "limit_mps" in allowed else None
        if kind != "hours":
            return OperatingZone(self.name, kind, polygon, limit)
        opens, closes = self.clock("open"), self.clock("close")
        if opens == closes:
            raise self.bad("close", f"must differ from open ({opens})")
        return OperatingZone(self.name, kind, polygon, limit, opens, closes)

    def polygon(self) -> tuple[tuple[float, float], ...]:
        raw = self.entry.get("polygon")
        if not isinstance(raw, list) or not all(isinstance(p, list | tuple) and len(p) == 2
                                                and all(_is_number(c) for c in p) for p in raw):
            raise self.bad("polygon", "must be a list of [x, y] points")
        points = tuple((float(px), float(py)) for px, py in raw)
        if len(points) < 3 or not Polygon(points).is_valid or Polygon(points).area <= 0:
            raise self.bad("polygon", "must be a simple polygon of 3 or more points")
        return points

    def limit(self, *, required: bool) -> float | None:
        value = self.entry.get("limit_mps")
        if value is None:
            if required:
                raise self.bad("limit_mps", "is required")
            return None
        if not _is_number(value):
            raise self.bad("limit_mps", f"must be a number, got {value!r}")
        assert isinstance(value, int | float)
        if not value > 0:
            raise self.bad("limit_mps", "must be > 0")
        return float(value)

    def clock(self, key: str) -> str:
        value = self.entry.get(key)
        if value is None:
            raise self.bad(key, "is required")
        match = _CLOCK.fullmatch(value) if isinstance(value, str) else None
        if match is None or int(match[1]) > 23 or int(match[2]) > 59:
            hint = " (quote it: YAML reads 22:00 as a number)" if isinstance(value, int) else ""
            raise self.bad(key, f'must be a time of day "HH:MM"{hint}, got {value!r}')
        return f"{int(match[1]):02d}:{match[2]}"


def _bad(who: str, index: int, key: str, problem: str) -> InvalidInput:
    return InvalidInput(f"zones.yaml: {who}: {key} {problem}", field=f"zones[{index}].{key}")


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _seconds(hhmm: str) -> int:
    hours, minutes = hhmm.split(":")
    return int(hours) * 3600 + int(minutes) * 60


def _lowest(limits: Iterable[float | None]) -> float | None:
    values = [v for v in limits if v is not None]
    return min(values) if values else None


def _segment(ax: float, ay: float, bx: float, by: float) -> BaseGeometry:
    return Point(ax, ay) if (ax, ay) == (bx, by) else LineString([(ax, ay), (bx, by)])


def _shortest_way(graph: NavGraph, start: str, goals: Collection[str], skip: set[str]) -> list[Place] | None:
    """The places of the shortest way from start to the nearest of the goals, on the lanes not in `skip`."""
    g = nx.DiGraph()
    for lane in graph.lanes:
        if lane.id in skip:
            continue
        a, b = graph.places[lane.start], graph.places[lane.end]
        length = math.hypot(b.x - a.x, b.y - a.y)
        g.add_edge(a.name, b.name, length=length)
        if not lane.oneway:
            g.add_edge(b.name, a.name, length=length)
    sink = object()
    g.add_edges_from(((goal, sink) for goal in goals if goal in g), length=0.0)
    if start not in g or sink not in g:
        return None
    try:
        path = nx.shortest_path(g, start, sink, weight="length")
    except nx.NetworkXNoPath:
        return None
    return [graph.places[name] for name in path[:-1]]


def _runs(flags: np.ndarray) -> list[tuple[int, int]]:
    """Index ranges [first, last] of the runs of True."""
    runs: list[tuple[int, int]] = []
    start: int | None = None
    for k, flag in enumerate(flags):
        if flag and start is None:
            start = k
        elif not flag and start is not None:
            runs.append((start, k - 1))
            start = None
    if start is not None:
        runs.append((start, len(flags) - 1))
    return runs
