"""A site: its navgraph, its world geometry (from world.sdf), its fleet (from fleet.yaml) and its zones
(zones.yaml: cleaning zones, operating zones and the robots' speed caps)."""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from labfleet_sim.fleet_config import FleetConfig, FleetConfigError, load_fleet
from labfleet_sim.world import World, load_world

from fleet_manager.core.coverage import CoverageZone, parse_cleaning_zones
from fleet_manager.core.errors import InvalidInput, NotFound
from fleet_manager.core.navgraph import NavGraph, load_navgraph
from fleet_manager.core.zones import (
    OperatingZones,
    SpeedCaps,
    load_zones_file,
    parse_operating_zones,
    parse_speed_caps,
)
from fleet_manager.sites.profile import SiteProfile, load_site_profile


@dataclass
class Site:
    name: str
    directory: Path
    navgraph: NavGraph
    world: World
    fleet: FleetConfig
    zones: list[dict[str, Any]]
    cleaning_zones: dict[str, CoverageZone] = field(default_factory=dict)
    operating_zones: OperatingZones = field(default_factory=OperatingZones)  # speed limits, no-go, hours
    speed_caps: SpeedCaps = field(default_factory=SpeedCaps)
    profile: SiteProfile = field(default_factory=SiteProfile)  # site.yaml: time zone, emission factors

    @classmethod
    def load(cls, directory: Path, fleet_file: Path | None = None) -> Site:
        """The site of a folder; its fleet from `fleet_file` (a variant of the site's fleet) or fleet.yaml."""
        if not directory.is_dir():
            raise NotFound(f"no site folder {directory}", field="site")
        zones_file = directory / "zones.yaml"
        doc = load_zones_file(zones_file)
        zones = doc.get("zones") or []
        navgraph = load_navgraph(directory / "navgraph.yaml")
        try:
            operating = parse_operating_zones(zones)  # first: it names an entry that is not a mapping
            cleaning = parse_cleaning_zones(list(zones), list(navgraph.places))
            caps = parse_speed_caps(doc.get("speed_caps"))
        except InvalidInput as exc:
            raise ValueError(f"{zones_file}: {exc.message.removeprefix('zones.yaml: ')}") from None
        return cls(
            name=directory.name,
            directory=directory,
            navgraph=navgraph,
            world=load_world(directory / "world.sdf"),
            fleet=load_fleet(fleet_file or directory / "fleet.yaml"),
            zones=list(zones),
            cleaning_zones=cleaning,
            operating_zones=operating,
            speed_caps=caps,
            profile=load_site_profile(directory),  # (SiteProfileError, a ValueError, names the file and field)
        )

    def max_speed(self, robot_id: str) -> float:
        """The robot's top speed here: its model's max_speed under the site's speed cap for the model."""
        model = self.fleet.robot(robot_id).model
        return self.speed_caps.max_speed(model.name, model.mass_kg, model.max_speed)

    def map(self) -> dict[str, Any]:
        min_x, min_y, max_x, max_y = self.world.bounds()
        return {
            "site": self.name,
            "timezone": self.profile.timezone,
            "bounds": {"min_x": min_x, "min_y": min_y, "max_x": max_x, "max_y": max_y},
            "walls": [
                {"name": o.name, "polygon": [[x, y] for x, y in o.polygon]} for o in self.world.obstacles
            ],
            "places": [
                {"name": p.name, "x": p.x, "y": p.y, "yaw": p.yaw, "kind": p.kind}
                for p in self.navgraph.places.values()
            ],
            "lanes": [
                {"id": lane.id, "from": lane.start, "to": lane.end, "oneway": lane.oneway,
                 "speed_limit": lane.speed_limit}
                for lane in self.navgraph.lanes
            ],
            "zones": self.zones,
            "grid": self.profile.map_image.public() if self.profile.map_image else None,
        }

    def grid_image(self) -> Path:
        """The PNG of the occupancy grid the site was imported from (site.yaml's map_image)."""
        if self.profile.map_image is None:
            raise NotFound(f"site {self.name!r} has no occupancy grid (only imported sites keep one)", field="site")
        return self.profile.map_image.path


def require_site(sites_dir: Path, site: str, field: str = "site") -> None:
    """InvalidInput naming `field` when `site` is not a site folder of `sites_dir`."""
    known = list_sites(sites_dir)
    if site not in known:
        raise InvalidInput(f"unknown site {site!r} (known: {', '.join(known)})", field=field)


def list_sites(sites_dir: Path) -> list[str]:
    return sorted(p.name for p in sites_dir.iterdir() if (p / "navgraph.yaml").exists())


@dataclass(frozen=True)
class SiteCatalog:
    """Every site under `sites_dir` (not just the active one) and the robots each fleet.yaml lists."""

    sites_dir: Path
    active: str  # the site this fleet manager runs

    def names(self) -> list[str]:
        return list_sites(self.sites_dir)

    def require(self, site: str, field: str = "site") -> None:
        """InvalidInput naming `field` when `site` is not a site folder."""
        require_site(self.sites_dir, site, field)

    def require_served(self, site: str, field: str = "site") -> None:
        """InvalidInput naming `field` unless `site` is the one this lab serves: a lab writes records of its own
        site only (site isolation, db/scope.py); another site's records are written through that site's lab."""
        self.require(site, field)
        if site != self.active:
            raise InvalidInput(f"site {site!r} is served by its own lab; this lab serves {self.active!r}",
                               field=field)

    def robot_ids(self, site: str) -> list[str]:
        """The robot ids of the site's fleet.yaml, in file order."""
        self.require(site)
        path = self.sites_dir / site / "fleet.yaml"
        try:
            return list(_fleet_ids(str(path), path.stat().st_mtime_ns))
        except OSError as exc:
            raise InvalidInput(f"site {site!r} has no fleet.yaml: {exc}", field="site") from None
        except FleetConfigError as exc:
            raise InvalidInput(f"site {site!r} has no usable fleet: {exc}", field="site") from None


@functools.lru_cache(maxsize=32)
def _fleet_ids(path: str, _mtime_ns: int) -> tuple[str, ...]:
    """A fleet.yaml's robot ids, read again only when the file changes (incident and intervention requests
    check their robot against it; parsing took 28 ms for 100 robots)."""
    return tuple(r.id for r in load_fleet(Path(path)).robots)
