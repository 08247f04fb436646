"""The static geometry of a site, read from its world.sdf (SDF 1.9): footprints of static collisions."""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

CYLINDER_SIDES = 16


class WorldError(ValueError):
    """world.sdf is malformed; the message names the file and the element."""


@dataclass(frozen=True)
class Obstacle:
    name: str  # model/link/collision
    model: str
    polygon: tuple[tuple[float, float], ...]  # counter-clockwise ring, not closed


@dataclass(frozen=True)
class World:
    name: str
    obstacles: tuple[Obstacle, ...]

    def bounds(self) -> tuple[float, float, float, float]:
        xs = [x for o in self.obstacles for x, _ in o.polygon] or [0.0]
        ys = [y for o in self.obstacles for _, y in o.polygon] or [0.0]
        return min(xs), min(ys), max(xs), max(ys)

    def segments(self) -> list[tuple[float, float, float, float]]:
        """Every polygon edge as (x1, y1, x2, y2), for ray casting."""
        out = []
        for o in self.obstacles:
            ring = o.polygon
            for i, (x1, y1) in enumerate(ring):
                x2, y2 = ring[(i + 1) % len(ring)]
                out.append((x1, y1, x2, y2))
        return out


Pose2 = tuple[float, float, float]


def _pose(elem: ET.Element | None, where: str) -> Pose2:
    """x, y, yaw of a <pose> element (roll and pitch must be zero for a planar footprint)."""
    if elem is None or not (elem.text or "").strip():
        return (0.0, 0.0, 0.0)
    try:
        values = [float(v) for v in (elem.text or "").split()]
    except ValueError:
        raise WorldError(f"{where}: <pose> must hold numbers, got {elem.text!r}") from None
    if len(values) != 6:
        raise WorldError(f"{where}: <pose> needs 6 numbers (x y z roll pitch yaw), got {len(values)}")
    if elem.get("degrees") == "true":
        values[5] = math.radians(values[5])
    return (values[0], values[1], values[5])


def _compose(a: Pose2, b: Pose2) -> Pose2:
    ax, ay, ath = a
    bx, by, bth = b
    c, s = math.cos(ath), math.sin(ath)
    return (ax + c * bx - s * by, ay + s * bx + c * by, ath + bth)


def _numbers(elem: ET.Element | None, count: int, where: str) -> list[float]:
    if elem is None:
        raise WorldError(f"{where}: missing element")
    try:
        values = [float(v) for v in (elem.text or "").split()]
    except ValueError:
        raise WorldError(f"{where}: expected numbers, got {elem.text!r}") from None
    if len(values) != count or any(v <= 0 for v in values):
        raise WorldError(f"{where}: expected {count} positive number(s), got {elem.text!r}")
    return values


def _footprint(geometry: ET.Element, pose: Pose2, where: str) -> tuple[tuple[float, float], ...] | None:
    x, y, th = pose
    c, s = math.cos(th), math.sin(th)
    box = geometry.find("box")
    if box is not None:
        sx, sy, _ = _numbers(box.find("size"), 3, f"{where}/box/size")
        local = [(-sx / 2, -sy / 2), (sx / 2, -sy / 2), (sx / 2, sy / 2), (-sx / 2, sy / 2)]
    elif (cyl := geometry.find("cylinder")) is not None:
        (r,) = _numbers(cyl.find("radius"), 1, f"{where}/cylinder/radius")
        step = 2 * math.pi / CYLINDER_SIDES
        local = [(r * math.cos(i * step), r * math.sin(i * step)) for i in range(CYLINDER_SIDES)]
    else:
        return None  # planes, meshes: not part of the planar footprint
    return tuple((x + c * px - s * py, y + s * px + c * py) for px, py in local)


def parse_world(text: str, source: str = "world.sdf") -> World:
    try:
        root = ET.fromstring(text)
    except ET.ParseError as exc:
        raise WorldError(f"{source}: not well-formed XML: {exc}") from None
    if root.tag != "sdf":
        raise WorldError(f"{source}: the root element must be <sdf>, got <{root.tag}>")
    world = root.find("world")
    if world is None:
        raise WorldError(f"{source}: no <world> element")
    name = world.get("name") or "world"
    obstacles: list[Obstacle] = []
    for model in world.iter("model"):
        mname = model.get("name") or ""
        where = f"{source}: model {mname!r}"
        if not mname:
            raise WorldError(f"{source}: a <model> without a name")
        if (model.findtext("static") or "").strip() not in ("true", "1"):
            continue
        mpose = _pose(model.find("pose"), where)
        for link in model.findall("link"):
            lname = link.get("name") or ""
            lpose = _compose(mpose, _pose(link.find("pose"), f"{where} link {lname!r}"))
            for col in link.findall("collision"):
                cname = col.get("name") or ""
                cwhere = f"{where} link {lname!r} collision {cname!r}"
                geometry = col.find("geometry")
                if geometry is None:
                    raise WorldError(f"{cwhere}: no <geometry>")
                ring = _footprint(geometry, _compose(lpose, _pose(col.find("pose"), cwhere)), cwhere)
                if ring is not None:
                    obstacles.append(Obstacle(f"{mname}/{lname}/{cname}", mname, ring))
    return World(name, tuple(obstacles))


def load_world(path: Path) -> World:
    try:
        text = Path(path).read_text()
    except OSError as exc:
        raise WorldError(f"{path}: {exc}") from None
    return parse_world(text, str(path))
