"""The files of an imported site (docs/site_files.md): world.sdf with one static box per merged rectangle of
occupied cells, navgraph.yaml from the roadmap, fleet.yaml, zones.yaml (no zones yet), site.yaml, and the grid
itself as map.png for the console to draw under the map."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Any

import numpy as np
import yaml

from fleet_manager.sites.importer.grid import FREE, OCCUPIED, UNKNOWN, Grid, merged_rectangles
from fleet_manager.sites.importer.roadmap import Roadmap
from fleet_manager.sites.map_image import encode_png

MAP_IMAGE = "map.png"
SHADES = {FREE: 254, OCCUPIED: 0, UNKNOWN: 205}  # as map_saver writes them

OBSTACLE_HEIGHT_M = 1.5
GZ_SYSTEMS = (("gz-sim-physics-system", "gz::sim::systems::Physics"),
              ("gz-sim-user-commands-system", "gz::sim::systems::UserCommands"),
              ("gz-sim-scene-broadcaster-system", "gz::sim::systems::SceneBroadcaster"),
              ("gz-sim-sensors-system", "gz::sim::systems::Sensors"))


def _n(value: float) -> str:
    text = f"{value:.4f}".rstrip("0").rstrip(".")
    return "0" if text in ("", "-0") else text


def _yaw(value: float) -> str:
    return f"{value:.9f}".rstrip("0").rstrip(".") or "0"


def _sub(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
    elem = ET.SubElement(parent, tag, attrs)
    if text is not None:
        elem.text = text
    return elem


def _box_link(model: ET.Element, name: str, pose: str, size: str, colour: str) -> None:
    link = _sub(model, "link", name=name)
    _sub(link, "pose", pose)
    for tag in ("collision", "visual"):
        part = _sub(link, tag, name=tag)
        _sub(_sub(_sub(part, "geometry"), "box"), "size", size)
        if tag == "visual":
            material = _sub(part, "material")
            _sub(material, "ambient", colour)
            _sub(material, "diffuse", colour)


def world_sdf(site: str, grid: Grid, header: str) -> str:
    """SDF 1.9: the gz-sim systems, a light, a ground plane under the map and the model `map_obstacles`, placed at
    the map's origin (x, y, yaw), whose links are the merged rectangles of occupied cells in grid metres."""
    res = grid.resolution
    width, height = grid.cols * res, grid.rows * res
    cx, cy = grid.to_map(width / 2, height / 2)
    sdf = ET.Element("sdf", version="1.9")
    world = _sub(sdf, "world", name=site)
    physics = _sub(world, "physics", name="1ms", type="ignored")
    _sub(physics, "max_step_size", "0.001")
    _sub(physics, "real_time_factor", "1.0")
    for filename, name in GZ_SYSTEMS:
        plugin = _sub(world, "plugin", filename=filename, name=name)
        if filename == "gz-sim-sensors-system":
            _sub(plugin, "render_engine", "ogre2")
    _sub(world, "gravity", "0 0 -9.8")
    light = _sub(world, "light", type="directional", name="sun")
    _sub(light, "cast_shadows", "true")
    _sub(light, "pose", f"{_n(cx)} {_n(cy)} 25 0 0 0")
    _sub(light, "diffuse", "0.9 0.9 0.9 1")
    _sub(light, "direction", "-0.3 0.2 -0.9")
    ground = _sub(world, "model", name="ground_plane")
    _sub(ground, "static", "true")
    _sub(ground, "pose", f"{_n(cx)} {_n(cy)} 0 0 0 {_yaw(grid.origin[2])}")
    link = _sub(ground, "link", name="link")
    for tag in ("collision", "visual"):
        plane = _sub(_sub(_sub(link, tag, name=tag), "geometry"), "plane")
        _sub(plane, "normal", "0 0 1")
        _sub(plane, "size", f"{_n(width + 4)} {_n(height + 4)}")
    obstacles = _sub(world, "model", name="map_obstacles")
    _sub(obstacles, "static", "true")
    _sub(obstacles, "pose", f"{_n(grid.origin[0])} {_n(grid.origin[1])} 0 0 0 {_yaw(grid.origin[2])}")
    rects = merged_rectangles(grid.occupied)
    for i, r in enumerate(rects, start=1):
        pose = f"{_n((r.col0 + r.col1) / 2 * res)} {_n((r.row0 + r.row1) / 2 * res)} {_n(OBSTACLE_HEIGHT_M / 2)} 0 0 0"
        size = f"{_n((r.col1 - r.col0) * res)} {_n((r.row1 - r.row0) * res)} {_n(OBSTACLE_HEIGHT_M)}"
        _box_link(obstacles, f"box_{i}", pose, size, "0.55 0.55 0.6 1")
    if not rects:  # a model needs a link: an empty one has no footprint
        _sub(obstacles, "link", name="none")
    ET.indent(sdf, space="  ")
    return f'<?xml version="1.0" ?>\n<!-- {header} -->\n{ET.tostring(sdf, encoding="unicode")}\n'


def _yaml(comment: list[str], doc: dict[str, Any]) -> str:
    body = yaml.safe_dump(doc, sort_keys=False, default_flow_style=None, width=200, allow_unicode=True)
    return "".join(f"# {line}\n" for line in comment) + body


def navgraph_yaml(site: str, roadmap: Roadmap, header: str) -> str:
    places: dict[str, dict[str, Any]] = {}
    for v in roadmap.vertices.values():
        places[v.name] = {"x": v.x, "y": v.y} | ({"kind": v.kind} if v.kind != "waypoint" else {})
    lanes = [{"id": e.id, **({"width": e.width} if e.width is not None else {}), "from": e.start, "to": e.end}
             for e in roadmap.edges]
    two_way = sum(1 for e in roadmap.edges if e.width is not None)
    return _yaml([header, f"{len(places)} places, {len(lanes)} lanes: {two_way} two-way with a side for each "
                  f"direction (width), {len(lanes) - two_way} single lanes."],
                 {"site": site, "places": places, "lanes": lanes})


def fleet_yaml(site: str, models: dict[str, dict[str, Any]], robots: list[tuple[str, str]], roadmap: Roadmap,
               header: str) -> str:
    """`robots`: (id, model) in order; each starts on its own parking spot, its home."""
    parking = roadmap.of_kind("parking")
    entries = []
    for (robot_id, model), spot in zip(robots, parking, strict=False):
        entries.append({"id": robot_id, "model": model, "spawn": {"x": spot.x, "y": spot.y, "yaw": 0.0},
                        "battery": 90, "home": spot.name})
    return _yaml([header, "Robots start on the parking spots, one each."],
                 {"site": site, "models": models, "robots": entries})


def zones_yaml(header: str) -> str:
    return _yaml([header, "Operating zones (docs/site_files.md): none yet; add speed_limit, no_go, hours or cleaning "
                  "zones here."], {"zones": []})


def map_png(grid: Grid) -> bytes:
    """The grid as the console draws it: a greyscale PNG in map_saver's shades, its top row the grid's last row."""
    shades = np.zeros(grid.cells.shape, dtype=np.uint8)
    for cell, shade in SHADES.items():
        shades[grid.cells == cell] = shade
    return encode_png(shades[::-1])


def site_yaml(header: str, timezone: str, grid: Grid) -> str:
    """The time zone, and the grid's image (MAP_IMAGE) with its resolution and origin."""
    image = {"image": MAP_IMAGE, "resolution": grid.resolution, "origin": [float(v) for v in grid.origin]}
    return _yaml([header, "The site's time zone (docs/site_files.md, site.yaml); add `carbon` for CO2 figures.",
                  "map_image: the grid the site was imported from, drawn faintly under the web console's map."],
                 {"timezone": timezone, "map_image": image})
