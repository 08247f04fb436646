"""`labfleet site import`: the whole site from a drawn map, loaded with the fleet manager's own loaders
(fleet_manager/sites/importer/__init__.py, roadmap.py, writer.py)."""

from __future__ import annotations

import math
from pathlib import Path

import networkx as nx
import numpy as np
import pytest
import yaml
from labfleet_sim.world import load_world
from shapely.geometry import LineString, Point, Polygon
from typer.testing import CliRunner

from fleet_manager.cli.main import app
from fleet_manager.core.lanes import build_lane_graph
from fleet_manager.settings import REPO_ROOT
from fleet_manager.sites.importer import SiteImportError, import_site
from fleet_manager.sites.service import Site
from tests.gazebo.helpers import ign_sdf_check
from tests.sites.drawing import WAREHOUSE_FLOOR, floor_image, write_map

MODELS = [REPO_ROOT / "sim_worlds"]
AISLE = (4.0, 5.0, 14.0, 6.0)  # x0, y0, x1, y1 of the 1 m aisle between the two long shelves (map = drawing here)


@pytest.fixture(scope="module")
def floor(tmp_path_factory: pytest.TempPathFactory) -> Site:
    folder = tmp_path_factory.mktemp("floor")
    map_yaml = write_map(folder, floor_image(20.0, 12.0, 0.05, WAREHOUSE_FLOOR), resolution=0.05)
    imported = import_site(map_yaml, "occupancy", "floor", folder / "sites", fleet=[(3, "wardbot")],
                           model_dirs=MODELS)
    return Site.load(imported.directory)


def test_the_site_loads_with_the_fleet_managers_loaders(floor: Site):
    assert sorted(p.name for p in floor.directory.iterdir()) == ["fleet.yaml", "map.png", "navgraph.yaml",
                                                                 "site.yaml", "world.sdf", "zones.yaml"]
    assert [r.id for r in floor.fleet.robots] == ["wardbot_1", "wardbot_2", "wardbot_3"]
    parking = {p.name: p for p in floor.navgraph.places.values() if p.kind == "parking"}
    assert len(parking) == 3 and {r.home for r in floor.fleet.robots} == set(parking)
    for robot in floor.fleet.robots:
        assert (robot.spawn.x, robot.spawn.y) == (parking[robot.home].x, parking[robot.home].y)
    assert [p for p in floor.navgraph.places.values() if p.kind == "charger"]
    assert floor.zones == [] and floor.profile.timezone == "UTC"
    build_lane_graph(floor.navgraph)  # the traffic manager's lane graph builds


def test_world_sdf_is_valid_sdf_and_its_boxes_are_the_drawn_obstacles(floor: Site):
    result = ign_sdf_check(floor.directory / "world.sdf")
    assert result.returncode == 0 and "Valid." in result.stdout, result.stdout + result.stderr
    world = load_world(floor.directory / "world.sdf")
    covered = sum(Polygon(o.polygon).area for o in world.obstacles)
    drawn = sum((x1 - x0) * (y1 - y0) for x0, y0, x1, y1 in WAREHOUSE_FLOOR) + 2 * 20 * 0.2 + 2 * (12 - 0.4) * 0.2
    assert covered == pytest.approx(drawn)
    shelf = Polygon([(4, 4), (14, 4), (14, 5), (4, 5)])
    assert any(Polygon(o.polygon).equals(shelf) for o in world.obstacles)  # a whole shelf is one box


def test_every_place_is_reachable_and_every_lane_keeps_the_robot_clear(floor: Site):
    nav = floor.navgraph
    first = next(iter(nav.places))
    assert set(nav.distances_from(first)) == set(nav.places)
    undirected = nx.Graph([(lane.start, lane.end) for lane in nav.lanes])
    assert nx.is_connected(undirected)
    walls = [Polygon(o.polygon) for o in floor.world.obstacles]
    for lane in nav.lanes:
        a, b = nav.places[lane.start], nav.places[lane.end]
        line = LineString([(a.x, a.y), (b.x, b.y)])
        assert min(w.distance(line) for w in walls) >= 0.3 + 0.1 - 0.05, lane  # radius + margin, a cell's slack


def _in_aisle(x: float, y: float) -> bool:
    x0, y0, x1, y1 = AISLE
    return x0 < x < x1 and y0 < y < y1


def test_the_narrow_aisle_is_one_lane_and_the_open_floor_two_way(floor: Site):
    nav = floor.navgraph
    aisle = [lane for lane in nav.lanes
             if all(_in_aisle(nav.places[n].x, nav.places[n].y) for n in (lane.start, lane.end))]
    assert len(aisle) >= 2  # the aisle is driven along, not lost
    assert all(lane.width is None for lane in aisle)
    through = nx.Graph([(lane.start, lane.end) for lane in aisle])
    assert nx.is_connected(through) and max(nav.places[n].x for n in through) - min(
        nav.places[n].x for n in through) >= 4.5
    assert [lane for lane in nav.lanes if lane.width is not None]  # and the open floor has two-way lanes


def test_a_hall_is_two_way_and_a_corridor_off_it_one_lane(tmp_path):
    # a hall 20 x 5 m inside its walls; north of it, behind a wall, a corridor 1 m wide reached by a 1 m door
    img = floor_image(20.4, 8.4, 0.05, [(0.2, 5.2, 20.2, 6.2), (0.2, 7.2, 20.2, 8.2)])
    img[round((8.4 - 7.2) / 0.05):round((8.4 - 5.2) / 0.05), round(1.2 / 0.05):round(2.2 / 0.05)] = 254  # the door
    site = Site.load(import_site(write_map(tmp_path, img, resolution=0.05), "occupancy", "hall", tmp_path / "sites",
                                 fleet=[(1, "wardbot")], model_dirs=MODELS).directory)
    nav = site.navgraph
    hall = [lane for lane in nav.lanes if all(nav.places[n].y < 5.2 and nav.places[n].kind == "waypoint"
                                              for n in (lane.start, lane.end))]
    corridor = [lane for lane in nav.lanes if all(nav.places[n].y > 6.2 for n in (lane.start, lane.end))]
    along = [lane for lane in hall if abs(nav.places[lane.start].y - nav.places[lane.end].y) < 0.01]
    two_way = [lane for lane in along if lane.width is not None and lane.width >= 2.0]
    assert len(two_way) >= 10 and len(two_way) >= 0.8 * len(along), along  # (lanes beside the door's bend narrow)
    assert len(corridor) >= 5 and all(lane.width is None for lane in corridor), corridor
    assert set(nav.distances_from(next(iter(nav.places)))) == set(nav.places)
    build_lane_graph(nav)


def test_pickups_and_dropoffs_stand_by_the_shelves(floor: Site):
    shelves = [Polygon([(x0, y0), (x1, y0), (x1, y1), (x0, y1)]) for x0, y0, x1, y1 in WAREHOUSE_FLOOR]
    goods = [p for p in floor.navgraph.places.values() if p.kind in ("pickup", "dropoff")]
    assert {p.kind for p in goods} == {"pickup", "dropoff"}
    for place in goods:
        assert min(s.distance(Point(place.x, place.y)) for s in shelves) <= 2.5, place
    stands = [p for p in floor.navgraph.places.values() if p.kind in ("parking", "charger")]
    lanes_at = {name: [lane for lane in floor.navgraph.lanes if name in (lane.start, lane.end)] for name in
                floor.navgraph.places}
    for place in [*goods, *stands]:  # a robot stops there: its lanes are single, the place is not split in sides
        assert all(lane.width is None for lane in lanes_at[place.name]), place


def test_origin_and_yaw_move_the_whole_site(tmp_path):
    img = floor_image(8.0, 6.0, 0.1, [(3, 2, 5, 3)])
    plain = import_site(write_map(tmp_path, img, resolution=0.1, name="a"), "occupancy", "plain",
                        tmp_path / "sites", model_dirs=MODELS, fleet=[(1, "wardbot")])
    turned = import_site(write_map(tmp_path, img, resolution=0.1, name="b", origin=(10.0, -4.0, math.pi / 2)),
                         "occupancy", "turned", tmp_path / "sites", model_dirs=MODELS, fleet=[(1, "wardbot")])
    a, b = Site.load(plain.directory), Site.load(turned.directory)
    assert a.navgraph.places.keys() == b.navgraph.places.keys()
    for name, p in a.navgraph.places.items():
        q = b.navgraph.places[name]
        assert (q.x, q.y) == pytest.approx((10.0 - p.y, -4.0 + p.x), abs=1e-3)
    box = Polygon([(3, 2), (5, 2), (5, 3), (3, 3)])
    turned_box = Polygon([(10 - y, -4 + x) for x, y in box.exterior.coords])
    assert any(Polygon(o.polygon).hausdorff_distance(turned_box) < 1e-4 for o in b.world.obstacles)


def test_a_movingai_warehouse_imports_with_one_lane_aisles(tmp_path):
    rows = ["@" * 14, "@............@", "@.@@@@.@@@@..@", "@............@", "@.@@@@.@@@@..@", "@............@",
            "@" * 14]
    path = tmp_path / "tiny.map"
    path.write_text(f"type octile\nheight {len(rows)}\nwidth {len(rows[0])}\nmap\n" + "\n".join(rows) + "\n")
    site = Site.load(import_site(path, "movingai", "tiny", tmp_path / "sites", resolution=1.0, robot_radius=0.35,
                                 fleet=[(2, "wardbot")], model_dirs=MODELS).directory)
    free = sum(row.count(".") for row in rows)
    assert len(site.navgraph.places) == free  # one cell a vertex: every free cell is a place
    assert all(lane.width is None for lane in site.navgraph.lanes)  # one-cell aisles: single lanes
    assert set(site.navgraph.distances_from(next(iter(site.navgraph.places)))) == set(site.navgraph.places)
    assert sum(1 for p in site.navgraph.places.values() if p.kind == "pickup") == 4  # one for each shelf


def test_import_refuses_what_it_cannot_make(tmp_path):
    map_yaml = write_map(tmp_path, floor_image(8.0, 6.0, 0.1, []), resolution=0.1)
    with pytest.raises(SiteImportError, match="--fleet: no site defines model hovercraft"):
        import_site(map_yaml, "occupancy", "x", tmp_path / "sites", fleet=[(1, "hovercraft")], model_dirs=MODELS)
    with pytest.raises(SiteImportError, match=r"--resolution: .*YAML gives the resolution"):
        import_site(map_yaml, "occupancy", "x", tmp_path / "sites", resolution=0.5, model_dirs=MODELS)
    with pytest.raises(SiteImportError, match="--name: a site name is lower-case"):
        import_site(map_yaml, "occupancy", "Bad Name", tmp_path / "sites", model_dirs=MODELS)
    with pytest.raises(SiteImportError, match="parking spots where a robot blocks no way; 40 are needed"):
        import_site(map_yaml, "occupancy", "x", tmp_path / "sites", fleet=[(40, "wardbot")], model_dirs=MODELS)
    assert not (tmp_path / "sites").exists()  # nothing written


def test_the_cli_writes_the_site_and_fails_naming_the_file_and_field(tmp_path, monkeypatch):
    monkeypatch.setenv("LABFLEET_SITES_DIR", str(tmp_path / "sites"))
    runner = CliRunner()
    map_yaml = write_map(tmp_path, floor_image(10.0, 8.0, 0.1, [(3, 3, 7, 4)]), resolution=0.1)
    ok = runner.invoke(app, ["site", "import", str(map_yaml), "--kind", "occupancy", "--name", "scan",
                             "--fleet", "1:wardbot", "--fleet", "1:deliverybot"], env={"LABFLEET_LANG": "en"})
    assert ok.exit_code == 0, ok.output
    assert f"wrote {tmp_path / 'sites' / 'scan' / 'world.sdf'}" in ok.output
    assert "site scan: a 100 x 80 grid" in ok.output
    fleet = yaml.safe_load((tmp_path / "sites" / "scan" / "fleet.yaml").read_text())
    assert [r["id"] for r in fleet["robots"]] == ["wardbot_1", "deliverybot_1"]
    again = runner.invoke(app, ["site", "import", str(map_yaml), "--kind", "occupancy", "--name", "scan"],
                          env={"LABFLEET_LANG": "en"})
    assert again.exit_code == 2 and "--replace overwrites it" in again.output
    map_yaml.write_text(map_yaml.read_text().replace("resolution: 0.1\n", ""))
    bad = runner.invoke(app, ["site", "import", str(map_yaml), "--kind", "occupancy", "--name", "other"],
                        env={"LABFLEET_LANG": "en"})
    assert bad.exit_code == 2 and f"error: {map_yaml}: resolution: missing" in bad.output
    wrong = Path(tmp_path / "wide.map")
    wrong.write_text("type octile\nheight 1\nwidth 3\nmap\n....\n")
    bad = runner.invoke(app, ["site", "import", str(wrong), "--kind", "movingai", "--name", "other"],
                        env={"LABFLEET_LANG": "en"})
    assert bad.exit_code == 2 and f"error: {wrong}:5: width: the header says 3 cells a row" in bad.output
    assert np.array_equal(sorted(p.name for p in (tmp_path / "sites").iterdir()), ["scan"])
