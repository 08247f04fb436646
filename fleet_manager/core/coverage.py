"""Coverage paths: back-and-forth (boustrophedon) passes that sweep a polygon, planned with shapely."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from shapely.affinity import rotate
from shapely.geometry import LineString, MultiLineString, Polygon
from shapely.geometry.base import BaseGeometry

from fleet_manager.core.errors import InvalidInput


@dataclass(frozen=True)
class CoverageZone:
    """A zone of zones.yaml with kind `cleaning`: its polygon and the navgraph place it is entered from."""

    name: str
    polygon: tuple[tuple[float, float], ...]
    entry: str

    @property
    def shape(self) -> Polygon:
        return Polygon(self.polygon)


def parse_cleaning_zones(zones: Sequence[dict[str, object]], places: Sequence[str]) -> dict[str, CoverageZone]:
    """The cleaning zones of a site; a malformed one is an error naming its index and field."""
    out: dict[str, CoverageZone] = {}
    for i, zone in enumerate(zones):
        if zone.get("kind") != "cleaning":
            continue
        where = f"zones[{i}]"
        name, entry, raw = zone.get("name"), zone.get("entry"), zone.get("polygon")
        if not isinstance(name, str) or not name:
            raise InvalidInput(f"{where}.name: a cleaning zone needs a name", field=f"{where}.name")
        if not isinstance(entry, str) or entry not in places:
            raise InvalidInput(f"{where}.entry: {entry!r} is not a place of the navgraph", field=f"{where}.entry")
        try:
            points = tuple((float(p[0]), float(p[1])) for p in raw)  # type: ignore[attr-defined]
        except (TypeError, ValueError, IndexError):
            raise InvalidInput(f"{where}.polygon: expected a list of [x, y] points", field=f"{where}.polygon") from None
        if len(points) < 3 or not Polygon(points).is_valid:
            raise InvalidInput(f"{where}.polygon: not a simple polygon of 3 or more points", field=f"{where}.polygon")
        out[name] = CoverageZone(name, points, entry)
    return out


def _lines(geometry: BaseGeometry) -> list[LineString]:
    if isinstance(geometry, LineString):
        return [] if geometry.is_empty else [geometry]
    if isinstance(geometry, MultiLineString):
        return list(geometry.geoms)
    return [g for g in getattr(geometry, "geoms", []) if isinstance(g, LineString)]


def coverage_path(polygon: Polygon, spacing: float, margin: float) -> list[tuple[float, float]]:
    """Waypoints of passes `spacing` apart along the polygon's longest side, `margin` inside its edge.

    Passes alternate in direction, so the path is one back-and-forth sweep. Where a pass is split (a
    concave polygon), its pieces are driven in order along the pass.
    """
    if spacing <= 0:
        raise ValueError("spacing must be positive")
    inner = polygon.buffer(-margin)
    if inner.is_empty:
        return []
    # Sweep along the direction of the longest edge of the minimum rotated rectangle: fewest turns.
    box = list(inner.minimum_rotated_rectangle.exterior.coords)
    edges = [(box[i], box[i + 1]) for i in range(4)]
    (ax, ay), (bx, by) = max(edges, key=lambda e: math.dist(*e))
    angle = math.degrees(math.atan2(by - ay, bx - ax))
    origin = inner.centroid
    flat = rotate(inner, -angle, origin=origin)
    min_x, min_y, max_x, max_y = flat.bounds
    passes = max(1, math.floor((max_y - min_y) / spacing) + 1)
    start = min_y + ((max_y - min_y) - (passes - 1) * spacing) / 2
    flat_points: list[tuple[float, float]] = []
    for k in range(passes):
        y = start + k * spacing
        pieces = sorted(_lines(flat.intersection(LineString([(min_x - 1, y), (max_x + 1, y)]))),
                        key=lambda s: s.bounds[0])
        segments = [(min(s.coords[0][0], s.coords[-1][0]), max(s.coords[0][0], s.coords[-1][0])) for s in pieces]
        if k % 2:
            segments = [(b, a) for a, b in reversed(segments)]
        for a, b in segments:
            flat_points.extend([(a, y), (b, y)])
    rotated = rotate(LineString(flat_points), angle, origin=origin) if len(flat_points) > 1 else None
    if rotated is None:
        return flat_points
    return [(round(x, 3), round(y, 3)) for x, y in rotated.coords]


def covered_fraction(polygon: Polygon, path: Sequence[tuple[float, float]], width: float) -> float:
    """Share of the polygon's area that a tool `width` wide sweeps when it follows the path."""
    if len(path) < 2:
        return 0.0
    swept = LineString(path).buffer(width / 2, cap_style="flat")
    return float(swept.intersection(polygon).area / polygon.area)


SWEEP_SPEED = 0.5  # m/s: the cleaning pace of a coverage sweep

SweepLeg = tuple[str, float, float, float | None, float]  # name, x, y, yaw (the last only), speed


def sweep_legs(zone: CoverageZone, entry: tuple[float, float, float | None], radius: float, spacing: float | None,
               pace: float = SWEEP_SPEED,
               limit_on_segment: Callable[[float, float, float, float], float | None] | None = None) -> list[SweepLeg]:
    """A back-and-forth sweep inside the zone's polygon from its entry place (x, y, yaw), then back to it,
    at `pace` kept under each leg's limit (the live mission runner and the lock-step site both drive it)."""
    sweep = coverage_path(zone.shape, spacing or 2 * radius, margin=radius + 0.1)
    ex, ey, eyaw = entry
    legs: list[SweepLeg] = []
    last = (ex, ey)
    for k, (x, y) in enumerate([*sweep, last]):
        limit = limit_on_segment(*last, x, y) if limit_on_segment is not None else None
        speed = pace if limit is None else min(pace, limit)
        name, yaw = (f"{zone.name}#{k}", None) if k < len(sweep) else (zone.entry, eyaw)
        legs.append((name, x, y, yaw, speed))
        last = (x, y)
    return legs
