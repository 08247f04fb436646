"""`labfleet site ...`: site folders made from maps people already have."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

import typer

from fleet_manager.cli.common import cli_lang, fail
from fleet_manager.i18n import t
from fleet_manager.settings import REPO_ROOT, Settings

site_app = typer.Typer(help="Make site folders (sim_worlds/<site>/) from maps.", no_args_is_help=True)


@site_app.command("import")
def site_import(
    map_file: Annotated[Path, typer.Argument(metavar="MAP", help="a map_server YAML (its image beside it) or a "
                                                                 "MovingAI .map")],
    kind: Annotated[Literal["occupancy", "movingai"], typer.Option(help="occupancy (map_server) | movingai")],
    name: Annotated[str, typer.Option(help="the site's name: its folder under the sites directory")],
    resolution: Annotated[float | None, typer.Option(help="MovingAI: metres per cell [1.0] (an occupancy map's "
                                                          "YAML gives its own)")] = None,
    lane_spacing: Annotated[float | None, typer.Option(help="metres between the lattice's lanes [occupancy 2.5, "
                                                            "MovingAI one cell]")] = None,
    robot_radius: Annotated[float | None, typer.Option(help="metres: where a robot fits [the largest radius of "
                                                            "the fleet's models]")] = None,
    fleet: Annotated[list[str] | None, typer.Option(help="N:MODEL robots of a model some site defines, repeatable "
                                                         "[2:deliverybot]")] = None,
    timezone: Annotated[str, typer.Option(help="the site's IANA time zone (site.yaml)")] = "UTC",
    replace: Annotated[bool, typer.Option("--replace", help="overwrite a site of that name")] = False,
) -> None:
    """Write a site folder from an occupancy grid: world.sdf (merged boxes of occupied cells), navgraph.yaml (a
    lattice of lanes: single lanes in narrow aisles, two-way lanes with sides on open floor; pickups and dropoffs
    by the shelves, parking spots, chargers), fleet.yaml, zones.yaml, site.yaml and map.png (the grid, drawn under
    the console's map); `labfleet up --site NAME` runs it."""
    from fleet_manager.sites.importer import SiteImportError, import_site, parse_fleet_spec

    lang = cli_lang()
    sites_dir = Settings().sites_dir
    try:
        site = import_site(map_file, kind, name, sites_dir, resolution=resolution, lane_spacing=lane_spacing,
                           robot_radius=robot_radius, fleet=parse_fleet_spec(fleet or []) or None,
                           timezone=timezone, model_dirs=list(dict.fromkeys([sites_dir, REPO_ROOT / "sim_worlds"])),
                           replace=replace)
    except SiteImportError as exc:
        fail(str(exc), 2)
    for path in site.files:
        typer.echo(t(lang, "cli.wrote", path=path))
    lanes = site.roadmap.edges
    two_way = sum(1 for lane in lanes if lane.width is not None)
    kinds = {k: len(site.roadmap.of_kind(k)) for k in ("pickup", "dropoff", "parking", "charger")}
    typer.echo(t(lang, "cli.site_imported", site=name, cols=site.grid.cols, rows=site.grid.rows,
                 resolution=f"{site.grid.resolution:g}", boxes=site.boxes, places=len(site.roadmap.vertices),
                 lanes=len(lanes), two_way=two_way, single=len(lanes) - two_way, robots=site.robots, **kinds))
