"""`labfleet site import`: a site folder (docs/site_files.md) from an occupancy grid someone already has, a
map_server map (YAML + image) or a MovingAI `.map`. Pure Python (numpy, scipy, networkx): no ROS here."""

from __future__ import annotations

import math
import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from labfleet_sim.fleet_config import FleetConfigError, load_fleet

from fleet_manager.core.errors import DomainError
from fleet_manager.sites.importer.grid import Grid, SiteImportError, merged_rectangles
from fleet_manager.sites.importer.movingai import load_movingai
from fleet_manager.sites.importer.occupancy import load_occupancy
from fleet_manager.sites.importer.roadmap import Roadmap, build_roadmap, two_way_width
from fleet_manager.sites.importer.writer import (
    MAP_IMAGE,
    fleet_yaml,
    map_png,
    navgraph_yaml,
    site_yaml,
    world_sdf,
    zones_yaml,
)
from fleet_manager.sites.service import Site

__all__ = ["ImportedSite", "SiteImportError", "import_site", "load_grid", "parse_fleet_spec"]

MapKind = Literal["occupancy", "movingai"]
SITE_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
DEFAULT_FLEET = ((2, "deliverybot"),)
OCCUPANCY_SPACING_M = 2.5  # an occupancy map's default lane spacing (at least the two-way width)


@dataclass(frozen=True)
class ImportedSite:
    directory: Path
    files: list[Path]
    grid: Grid
    roadmap: Roadmap
    boxes: int  # merged rectangles in world.sdf
    robots: int


def parse_fleet_spec(items: list[str]) -> list[tuple[int, str]]:
    """`N:MODEL` items: how many robots of which model; ValueError naming the item."""
    out = []
    for item in items:
        count, sep, model = item.partition(":")
        if not sep or not count.isdigit() or int(count) < 1 or not model:
            raise SiteImportError(f"--fleet: expected N:MODEL (e.g. 3:deliverybot), got {item!r}")
        out.append((int(count), model))
    return out


def model_catalogue(sites_dirs: list[Path]) -> dict[str, tuple[dict[str, Any], str]]:
    """Robot models by name from the fleet.yaml of every site in `sites_dirs` (the first site to define a name wins):
    the model's parameters as fleet.yaml writes them, and the site it came from."""
    found: dict[str, tuple[dict[str, Any], str]] = {}
    for sites_dir in sites_dirs:
        for path in sorted(sites_dir.glob("*/fleet.yaml")):
            try:
                fleet = load_fleet(path)
            except (FleetConfigError, OSError):
                continue  # a broken site elsewhere is not this import's business
            for name, model in fleet.models.items():
                found.setdefault(name, (model.model_dump(mode="json", exclude={"name"}), path.parent.name))
    return found


def load_grid(path: Path, kind: MapKind, resolution: float | None) -> Grid:
    if kind == "occupancy":
        if resolution is not None:
            raise SiteImportError(f"--resolution: {path}'s YAML gives the resolution of an occupancy map")
        return load_occupancy(path)
    if resolution is not None and not (resolution > 0 and math.isfinite(resolution)):
        raise SiteImportError(f"--resolution: must be above 0 m per cell, got {resolution:g}")
    return load_movingai(path, 1.0 if resolution is None else resolution)


def import_site(map_path: Path, kind: MapKind, name: str, sites_dir: Path, *, resolution: float | None = None,
                lane_spacing: float | None = None, robot_radius: float | None = None,
                fleet: list[tuple[int, str]] | None = None, timezone: str = "UTC", model_dirs: list[Path] | None = None,
                replace: bool = False) -> ImportedSite:
    """Read the map, build the site and write it to `sites_dir/name`, loaded once with the fleet manager's own
    loaders before it takes the place of anything. Robot models come from the sites of `model_dirs` (default:
    `sites_dir`)."""
    if not SITE_NAME.match(name):
        raise SiteImportError(f"--name: a site name is lower-case letters, digits and _, got {name!r}")
    target = sites_dir / name
    if target.exists() and not replace:
        raise SiteImportError(f"--name: {target} exists (--replace overwrites it)")
    fleet = list(fleet or DEFAULT_FLEET)
    catalogue = model_catalogue(model_dirs or [sites_dir])
    missing = sorted({model for _, model in fleet} - set(catalogue))
    if missing:
        raise SiteImportError(f"--fleet: no site defines model {', '.join(missing)} (known: "
                              f"{', '.join(sorted(catalogue)) or 'none'})")
    radius = robot_radius if robot_radius is not None else max(catalogue[m][0]["radius"] for _, m in fleet)
    if not (0 < radius <= 3):
        raise SiteImportError(f"--robot-radius: must be above 0 and at most 3 m, got {radius:g}")
    grid = load_grid(map_path, kind, resolution)
    if lane_spacing is None:
        lane_spacing = max(OCCUPANCY_SPACING_M, two_way_width(radius)) if kind == "occupancy" else grid.resolution
    if not (lane_spacing > 0 and math.isfinite(lane_spacing)):
        raise SiteImportError(f"--lane-spacing: must be above 0 m, got {lane_spacing:g}")
    count = sum(n for n, _ in fleet)
    roadmap = build_roadmap(grid, lane_spacing=lane_spacing, robot_radius=radius, parking=count,
                            chargers=max(1, count // 2))
    robots = [(f"{model}_{i}", model) for model in dict.fromkeys(m for _, m in fleet)
              for i in range(1, sum(n for n, m in fleet if m == model) + 1)]
    header = (f"Imported by `labfleet site import` from {map_path.name} ({kind}): import the map again rather than "
              "edit the lanes by hand.")
    files = {"world.sdf": world_sdf(name, grid, header), "navgraph.yaml": navgraph_yaml(name, roadmap, header),
             "fleet.yaml": fleet_yaml(name, {m: catalogue[m][0] for _, m in fleet}, robots, roadmap, header),
             "zones.yaml": zones_yaml(header), "site.yaml": site_yaml(header, timezone, grid)}
    sites_dir.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{name}-", dir=sites_dir))
    try:
        for file_name, text in files.items():
            (staging / file_name).write_text(text, encoding="utf-8")
        (staging / MAP_IMAGE).write_bytes(map_png(grid))
        _check_loads(staging)
        if target.exists():
            shutil.rmtree(target)
        staging.rename(target)
    finally:
        if staging.exists():
            shutil.rmtree(staging)
    return ImportedSite(target, [target / f for f in [*files, MAP_IMAGE]], grid, roadmap,
                        len(merged_rectangles(grid.occupied)), len(robots))


def _check_loads(directory: Path) -> None:
    """The site as `labfleet up` and the fleet manager load it (fleet_manager/sites/service.py)."""
    try:
        Site.load(directory)
    except (DomainError, ValueError, OSError) as exc:  # a bug of the importer: say what the loader said
        raise SiteImportError(f"the imported site does not load: {exc}") from exc
