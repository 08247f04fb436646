"""A site's world.sdf (SDF 1.9) as the built-in simulator sees it: the footprints of static collisions, and
the scripted pedestrians (`<actor>`s with a `<script>` trajectory)."""

from __future__ import annotations

import logging
import math
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

CYLINDER_SIDES = 16
log = logging.getLogger(__name__)


class WorldError(ValueError):
    """world.sdf is malformed; the message names the file and the element."""


@dataclass(frozen=True)
class Obstacle:
    name: str  # model/link/collision
    model: str
    polygon: tuple[tuple[float, float], ...]  # counter-clockwise ring, not closed


@dataclass(frozen=True)
class Waypoint:
    time: float  # s from the start of the script
    x: float
    y: float
    yaw: float


@dataclass(frozen=True)
class Actor:
    """A scripted pedestrian: an `<actor>` walking the one `<trajectory>` of its `<script>`.

    Waypoints are in the map frame (the actor's `<pose>` composed with each waypoint's pose), their times
    strictly increasing. How the script plays over sim time is labfleet_sim.pedestrians' business.
    """

    name: str
    waypoints: tuple[Waypoint, ...]
    loop: bool = True
    delay_start: float = 0.0


@dataclass(frozen=True)
class World:
    name: str
    obstacles: tuple[Obstacle, ...]
    actors: tuple[Actor, ...] = ()

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


def _relative_to(elem: ET.Element | None) -> str:
    return "" if elem is None else (elem.get("relative_to") or "").strip()


class _Parser:
    """Walks the static models of one <world>; nested models compose their parent's pose."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.obstacles: list[Obstacle] = []

    def _ignored_frame(self, frame: str, where: str) -> None:
        log.warning("%s: <pose relative_to=%r> is not a parent frame; read as relative to the parent", where, frame)

    def model(self, model: ET.Element, parent: Pose2, scope: str, parent_static: bool) -> None:
        name = model.get("name") or ""
        if not name:
            raise WorldError(f"{self.source}: a <model> without a name{f' inside {scope!r}' if scope else ''}")
        scoped = f"{scope}::{name}" if scope else name
        where = f"{self.source}: model {scoped!r}"
        static = parent_static or (model.findtext("static") or "").strip() in ("true", "1")
        pose_elem = model.find("pose")
        frame = _relative_to(pose_elem)
        if frame not in ("", "world", "__model__", scope.rsplit("::", 1)[-1] if scope else "world"):
            self._ignored_frame(frame, where)
        mpose = _compose(parent, _pose(pose_elem, where))
        for child in model.findall("model"):
            self.model(child, mpose, scoped, static)
        if not static:
            return
        for link in model.findall("link"):
            self.link(link, mpose, name, scoped, where)

    def link(self, link: ET.Element, mpose: Pose2, mname: str, scoped: str, where: str) -> None:
        lname = link.get("name") or ""
        lwhere = f"{where} link {lname!r}"
        pose_elem = link.find("pose")
        frame = _relative_to(pose_elem)
        if frame not in ("", "__model__", mname):
            self._ignored_frame(frame, lwhere)
        lpose = _compose(mpose, _pose(pose_elem, lwhere))
        for col in link.findall("collision"):
            cname = col.get("name") or ""
            cwhere = f"{lwhere} collision {cname!r}"
            geometry = col.find("geometry")
            if geometry is None:
                raise WorldError(f"{cwhere}: no <geometry>")
            pose_elem = col.find("pose")
            frame = _relative_to(pose_elem)
            base = lpose
            if frame in ("__model__", mname):
                base = mpose  # the one non-parent frame that is trivial to honour
            elif frame not in ("", lname):
                self._ignored_frame(frame, cwhere)
            ring = _footprint(geometry, _compose(base, _pose(pose_elem, cwhere)), cwhere)
            if ring is not None:
                self.obstacles.append(Obstacle(f"{scoped}/{lname}/{cname}", scoped, ring))


def _flag(elem: ET.Element, tag: str, default: bool, where: str) -> bool:
    text = (elem.findtext(tag) or "").strip().lower()
    if not text:
        return default
    if text not in ("true", "1", "false", "0"):
        raise WorldError(f"{where}: <{tag}> must be true or false, got {text!r}")
    return text in ("true", "1")


def _seconds(elem: ET.Element, tag: str, where: str, default: float | None = None) -> float:
    text = (elem.findtext(tag) or "").strip()
    if not text and default is not None:
        return default
    try:
        value = float(text)
    except ValueError:
        raise WorldError(f"{where}: <{tag}> must be a number of seconds, got {text!r}") from None
    if not (math.isfinite(value) and value >= 0):
        raise WorldError(f"{where}: <{tag}> must be >= 0, got {text!r}")
    return value


def _actor(elem: ET.Element, source: str) -> Actor:
    """An <actor>: its pose, and the loop, delay and waypoints of its script (skin and animations are
    Gazebo's; <auto_start> is not read: every script plays from the start of the simulation)."""
    name = elem.get("name") or ""
    if not name:
        raise WorldError(f"{source}: an <actor> without a name")
    where = f"{source}: actor {name!r}"
    script = elem.find("script")
    if script is None:
        raise WorldError(f"{where}: no <script>")
    trajectories = script.findall("trajectory")
    if len(trajectories) != 1:
        raise WorldError(f"{where}: <script> needs exactly one <trajectory>, got {len(trajectories)}")
    origin = _pose(elem.find("pose"), where)
    waypoints: list[Waypoint] = []
    for i, wp in enumerate(trajectories[0].findall("waypoint")):
        wwhere = f"{where} waypoint {i}"
        t = _seconds(wp, "time", wwhere)
        if waypoints and t <= waypoints[-1].time:
            raise WorldError(f"{wwhere}: <time> {t:g} must be later than the previous waypoint's")
        x, y, yaw = _compose(origin, _pose(wp.find("pose"), wwhere))
        waypoints.append(Waypoint(t, x, y, yaw))
    if not waypoints:
        raise WorldError(f"{where}: the <trajectory> has no <waypoint>")
    return Actor(name, tuple(waypoints), _flag(script, "loop", True, f"{where} script"),
                 _seconds(script, "delay_start", f"{where} script", 0.0))


def parse_world(text: str, source: str = "world.sdf") -> World:
    """The footprints of a world's static collisions and its actors; raises WorldError naming the source
    and element."""
    try:
        root = ET.fromstring(text)
    except ET.ParseError as exc:
        raise WorldError(f"{source}: not well-formed XML: {exc}") from None
    if root.tag != "sdf":
        raise WorldError(f"{source}: the root element must be <sdf>, got <{root.tag}>")
    world = root.find("world")
    if world is None:
        raise WorldError(f"{source}: no <world> element")
    parser = _Parser(source)
    for model in world.findall("model"):
        parser.model(model, (0.0, 0.0, 0.0), "", False)
    actors = tuple(_actor(elem, source) for elem in world.findall("actor"))
    taken = {m.get("name") for m in world.findall("model")}
    for actor in actors:
        if actor.name in taken:
            raise WorldError(f"{source}: actor {actor.name!r}: the name is already used by a model or an actor")
        taken.add(actor.name)
    return World(world.get("name") or "world", tuple(parser.obstacles), actors)


def load_world(path: Path) -> World:
    try:
        text = Path(path).read_text()
    except OSError as exc:
        raise WorldError(f"{path}: {exc}") from None
    return parse_world(text, str(path))
