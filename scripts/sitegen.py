"""What the site generators (gen_smart_factory.py, gen_city_block.py) share: the shapes a generated site is
made of and how they are written into its world.sdf, navgraph.yaml and fleet.yaml (docs/site_files.md).

Numbers are written short and the same on every run, so a generated site changes only when its script does.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

Colour = tuple[float, float, float]
Waypoint = tuple[float, float, float, float]  # an actor's (time, x, y, yaw)

ACTOR_MESH = "https://fuel.gazebosim.org/1.0/Models/Mingfei/models/actor/tip/files/meshes/walk.dae"
ACTOR_Z = 1.0  # the walking mesh's origin is at the hips
TURN_S = 1.0  # a pedestrian turns on the spot at each corner of its loop


@dataclass(frozen=True)
class Box:
    """A static box of the world: its extent in the plane and its height above the floor."""

    name: str
    x0: float
    y0: float
    x1: float
    y1: float
    height: float


@dataclass(frozen=True)
class Cylinder:
    """A static upright cylinder of the world (a pillar, a tree trunk)."""

    name: str
    x: float
    y: float
    radius: float
    height: float


@dataclass(frozen=True)
class Place:
    name: str
    x: float
    y: float
    kind: str = "waypoint"
    yaw: float | None = None


@dataclass(frozen=True)
class Lane:
    id: str
    start: str
    end: str
    width: float | None = None
    speed_limit: float | None = None


@dataclass(frozen=True)
class Walk:
    """A pedestrian's closed loop: corners in walking order (back to the first at the end), a walking
    speed, and seconds it stands still at some corners (by index)."""

    name: str
    corners: tuple[tuple[float, float], ...]
    speed: float
    pauses: dict[int, float] = field(default_factory=dict)


# -- numbers -------------------------------------------------------------------------------------------

def num(value: float) -> str:
    """A number as written in the site files: at most 4 decimals, no trailing zeros, no '-0'."""
    text = f"{value:.4f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def ynum(value: float) -> str:
    """A YAML float: like num() but always with a decimal point (x: 8.0, not x: 8)."""
    text = num(value)
    return text if "." in text else f"{text}.0"


# -- world.sdf -----------------------------------------------------------------------------------------

def rgb(colour: Colour) -> str:
    return " ".join(num(c) for c in colour) + " 1"


def material(colour: Colour) -> str:
    return f"<material><ambient>{rgb(colour)}</ambient><diffuse>{rgb(colour)}</diffuse></material>"


def _link(name: str, pose: str, geometry: str, colour: Colour, indent: str, collision: bool) -> list[str]:
    out = [f'{indent}<link name="{name}">', f"{indent}  <pose>{pose}</pose>"]
    if collision:
        out += [f'{indent}  <collision name="collision">', f"{indent}    {geometry}", f"{indent}  </collision>"]
    return [*out,
            f'{indent}  <visual name="visual">',
            f"{indent}    {geometry}",
            f"{indent}    {material(colour)}",
            f"{indent}  </visual>",
            f"{indent}</link>"]


def box_link(box: Box, colour: Colour, indent: str, collision: bool = True) -> list[str]:
    """A link holding the box as collision and visual (visual only: floor markings the robots drive over)."""
    cx, cy = (box.x0 + box.x1) / 2, (box.y0 + box.y1) / 2
    size = f"{num(box.x1 - box.x0)} {num(box.y1 - box.y0)} {num(box.height)}"
    geometry = f"<geometry><box><size>{size}</size></box></geometry>"
    return _link(box.name, f"{num(cx)} {num(cy)} {num(box.height / 2)} 0 0 0", geometry, colour, indent, collision)


def cylinder_link(cyl: Cylinder, colour: Colour, indent: str) -> list[str]:
    geometry = (f"<geometry><cylinder><radius>{num(cyl.radius)}</radius><length>{num(cyl.height)}</length>"
                "</cylinder></geometry>")
    return _link(cyl.name, f"{num(cyl.x)} {num(cyl.y)} {num(cyl.height / 2)} 0 0 0", geometry, colour, indent, True)


def static_model(name: str, links: list[list[str]]) -> list[str]:
    out = [f'    <model name="{name}">', "      <static>true</static>", "      <pose>0 0 0 0 0 0</pose>"]
    for link in links:
        out += link
    return [*out, "    </model>"]


def box_model(name: str, boxes: list[Box], colour: Colour, collision: bool = True) -> list[str]:
    return static_model(name, [box_link(box, colour, "      ", collision) for box in boxes])


def walk_waypoints(walk: Walk) -> list[Waypoint]:
    """(time, x, y, yaw) of a walk: along each side at its speed, standing for its pauses, turning on the
    spot at each corner; the last waypoint is the first one again, at the loop's period."""
    corners = walk.corners
    n = len(corners)
    headings = [math.atan2(corners[(i + 1) % n][1] - y, corners[(i + 1) % n][0] - x)
                for i, (x, y) in enumerate(corners)]
    t = 0.0
    out = [(t, *corners[0], headings[0])]
    for i in range(n):
        j = (i + 1) % n
        (ax, ay), (bx, by) = corners[i], corners[j]
        t += math.hypot(bx - ax, by - ay) / walk.speed
        out.append((t, bx, by, headings[i]))
        if walk.pauses.get(j):
            t += walk.pauses[j]
            out.append((t, bx, by, headings[i]))
        t += TURN_S
        out.append((t, bx, by, headings[j]))
    return out


def actor(name: str, points: list[Waypoint]) -> list[str]:
    """An SDF <actor> (Gazebo's walking person) looping over its waypoints, as the built-in simulator reads
    it too (docs/site_files.md); `tension="1"` keeps Gazebo on the straight segments between them."""
    out = [
        f'    <actor name="{name}">',
        f"      <skin><filename>{ACTOR_MESH}</filename><scale>1.0</scale></skin>",
        f'      <animation name="walk"><filename>{ACTOR_MESH}</filename><interpolate_x>true</interpolate_x>'
        "</animation>",
        "      <script>",
        "        <loop>true</loop>",
        "        <delay_start>0</delay_start>",
        "        <auto_start>true</auto_start>",
        '        <trajectory id="0" type="walk" tension="1">',
    ]
    for t, x, y, yaw in points:
        pose = f"{num(x)} {num(y)} {num(ACTOR_Z)} 0 0 {num(yaw)}"
        out.append(f"          <waypoint><time>{num(t)}</time><pose>{pose}</pose></waypoint>")
    return [*out, "        </trajectory>", "      </script>", "    </actor>"]


def world_head(site: str, comment: list[str], size: tuple[float, float], *, ground: Colour = (0.7, 0.7, 0.7),
               sky: Colour = (0.8, 0.8, 0.8)) -> list[str]:
    """world.sdf up to and including the ground plane: the gz-sim systems, light and a plane of size
    (x, y) centred on the site, whose map frame has its origin at the south-west corner of that extent.
    `comment` is the XML comment's text, one line per item (the first one follows the header)."""
    sx, sy = size
    plane = f"<plane><normal>0 0 1</normal><size>{num(sx + 4)} {num(sy + 4)}</size></plane>"
    geometry = f"<geometry>{plane}</geometry>"
    lines = [f"<!-- {comment[0]}", *(f"     {line}" for line in comment[1:])]
    lines[-1] += " -->"
    return [
        '<?xml version="1.0" ?>',
        *lines,
        '<sdf version="1.9">',
        f'  <world name="{site}">',
        '    <physics name="1ms" type="ignored">',
        "      <max_step_size>0.001</max_step_size>",
        "      <real_time_factor>1.0</real_time_factor>",
        "    </physics>",
        '    <plugin filename="gz-sim-physics-system" name="gz::sim::systems::Physics"/>',
        '    <plugin filename="gz-sim-user-commands-system" name="gz::sim::systems::UserCommands"/>',
        '    <plugin filename="gz-sim-scene-broadcaster-system" name="gz::sim::systems::SceneBroadcaster"/>',
        '    <plugin filename="gz-sim-sensors-system" name="gz::sim::systems::Sensors">',
        "      <render_engine>ogre2</render_engine>",
        "    </plugin>",
        "    <gravity>0 0 -9.8</gravity>",
        "    <scene>",
        "      <ambient>0.6 0.6 0.6 1</ambient>",
        f"      <background>{rgb(sky)}</background>",
        "    </scene>",
        '    <light type="directional" name="sun">',
        "      <cast_shadows>true</cast_shadows>",
        f"      <pose>{num(sx / 2)} {num(sy / 2)} 25 0 0 0</pose>",
        "      <diffuse>0.9 0.9 0.9 1</diffuse>",
        "      <specular>0.2 0.2 0.2 1</specular>",
        "      <direction>-0.3 0.2 -0.9</direction>",
        "    </light>",
        '    <model name="ground_plane">',
        "      <static>true</static>",
        f"      <pose>{num(sx / 2)} {num(sy / 2)} 0 0 0 0</pose>",
        '      <link name="link">',
        '        <collision name="collision">',
        f"          {geometry}",
        "        </collision>",
        '        <visual name="visual">',
        f"          {geometry}",
        f"          {material(ground)}",
        "        </visual>",
        "      </link>",
        "    </model>",
    ]


# -- navgraph.yaml and fleet.yaml ----------------------------------------------------------------------

def place_entry(place: Place) -> str:
    fields = [f"x: {ynum(place.x)}", f"y: {ynum(place.y)}"]
    if place.yaw is not None:
        fields.append(f"yaw: {ynum(place.yaw)}")
    if place.kind != "waypoint":
        fields.append(f"kind: {place.kind}")
    return "{" + ", ".join(fields) + "}"


def lane_entry(lane: Lane) -> str:
    fields = [f"id: {lane.id}"]
    if lane.width is not None:
        fields.append(f"width: {ynum(lane.width)}")
    if lane.speed_limit is not None:
        fields.append(f"speed_limit: {ynum(lane.speed_limit)}")
    fields += [f"from: {lane.start}", f"to: {lane.end}"]
    return "  - {" + ", ".join(fields) + "}"


def flow(value: Any) -> str:
    """A value in YAML flow style (one line)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, list):
        return "[" + ", ".join(flow(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {flow(v)}" for k, v in value.items()) + "}"
    return str(value)


def model_lines(name: str, model: dict[str, Any]) -> list[str]:
    """A robot model under fleet.yaml's `models:`: one key a line, a mapping of mappings (actions) nested."""
    out = [f"  {name}:"]
    for key, value in model.items():
        if isinstance(value, dict) and value and all(isinstance(v, dict) for v in value.values()):
            out.append(f"    {key}:")
            out += [f"      {k}: {flow(v)}" for k, v in value.items()]
        else:
            out.append(f"    {key}: {flow(value)}")
    return out


# site.yaml of the generated sites (docs/site_files.md): Busan's time zone, Korea's grid emission factor and the
# reference vehicle of the CO2 comparison (sim_worlds/living_lab/site.yaml, written by hand, says the same)
SITE_YAML = """# What the site is beyond its map and fleet (docs/site_files.md, "site.yaml"): its time zone, and the
# emission factors of its energy and CO2 figures (docs/kpis.md, "Energy and CO2").
timezone: Asia/Seoul
carbon:
  # Korea's consumption-side grid electricity emission factor for 2023: 0.4173 t CO2e/MWh
  grid_kg_co2e_per_kwh: 0.4173
  grid_source: >-
    Korea Ministry of Climate, Energy and Environment, consumption-side electricity emission
    factor (announced 2025-12-18)
  grid_year: 2023
  # what a delivery robot stands in for: a new light commercial van (EU average of 2022, WLTP)
  reference_vehicle: a new delivery van
  reference_g_co2_per_km: 183.8
  reference_source: >-
    European Environment Agency, CO2 emissions of new vans registered in Europe in 2022 (WLTP)
"""


def site_yaml(header: str) -> str:
    return f"# {header}\n" + SITE_YAML


def write_files(out: Path, files: dict[str, str]) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in files.items():
        path = out / name
        path.write_text(text)
        written.append(path)
    return written


# -- the files of a corridor floor (gen_clinic.py, gen_pharmacy_wing.py) --------------------------------------

def navgraph_text(header: str, site: str, about: str, places: dict[str, Place], lanes: list[Lane],
                  single: str) -> str:
    """navgraph.yaml: the places, the two-way corridor lanes (with a width), then the single lanes (`single`
    says what they are)."""
    width = max(len(n) for n in places) + 1
    out = [f"# {header}", f"# {about}", f"site: {site}", "places:"]
    out += [f"  {name + ':':<{width}} {place_entry(p)}" for name, p in places.items()]
    out += ["lanes:", "  # the corridor: two-way, a carriageway 0.6 m either side of the centre line"]
    out += [lane_entry(lane) for lane in lanes if lane.width is not None]
    out.append(f"  # {single}: single lanes")
    out += [lane_entry(lane) for lane in lanes if lane.width is None]
    return "\n".join(out) + "\n"


def fleet_text(header: str, site: str, about: str, model: tuple[str, dict[str, Any]],
               robots: tuple[tuple[str, str, int], ...], places: dict[str, Place]) -> str:
    """fleet.yaml: one model, each robot (id, home place, battery %) spawned on its home place."""
    name, spec = model
    out = [f"# {header}", f"# {about}", f"site: {site}", "models:", *model_lines(name, spec), "robots:"]
    for rid, home, battery in robots:
        p = places[home]
        spawn = f"{{x: {ynum(p.x)}, y: {ynum(p.y)}, yaw: {ynum(p.yaw or 0.0)}}}"
        out.append(f"  - {{id: {rid}, model: {name}, spawn: {spawn}, battery: {battery}, home: {home}}}")
    return "\n".join(out) + "\n"


def corridor_zone_text(header: str, about: str, x0: float, y0: float, x1: float, y1: float) -> str:
    """zones.yaml with one zone: the corridor (a rectangle) at walking pace."""
    return (f"# {header}\n# {about}\nzones:\n  - name: ward_corridor\n    kind: speed_limit\n    limit_mps: 0.8\n"
            f"    polygon: [[{ynum(x0)}, {ynum(y0)}], [{ynum(x1)}, {ynum(y0)}], [{ynum(x1)}, {ynum(y1)}], "
            f"[{ynum(x0)}, {ynum(y1)}]]\n")
