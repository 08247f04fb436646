"""The city_block site (scripts/gen_city_block.py): files current, geometry, navgraph, zones, fleet, pedestrians."""

from __future__ import annotations

import importlib.util
import math
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np
import pytest
import yaml
from labfleet_sim.fleet_config import load_fleet
from labfleet_sim.pedestrians import PEDESTRIAN_RADIUS, pose_at
from labfleet_sim.physics import Simulator
from labfleet_sim.world import load_world
from shapely.geometry import LineString, Point, Polygon
from shapely.ops import unary_union

from fleet_manager.core.navgraph import NavGraph, load_navgraph
from fleet_manager.core.zones import parse_operating_zones

REPO = Path(__file__).resolve().parents[2]
SITE = REPO / "sim_worlds" / "city_block"
SCRIPT = REPO / "scripts" / "gen_city_block.py"
NOON, NIGHT = 12 * 3600.0, 23 * 3600.0
CROSSINGS_X = (30.0, 70.0)  # zebra crossings 4 m wide over the south street (y 7.2 to 16.8 between the rails)


@pytest.fixture(scope="module")
def world():
    return load_world(SITE / "world.sdf")


@pytest.fixture(scope="module")
def graph():
    return load_navgraph(SITE / "navgraph.yaml")


@pytest.fixture(scope="module")
def walls(world):
    return unary_union([Polygon(o.polygon) for o in world.obstacles])


@pytest.fixture(scope="module")
def zones():
    return parse_operating_zones(yaml.safe_load((SITE / "zones.yaml").read_text())["zones"])


def test_the_site_files_are_what_the_script_writes(monkeypatch):
    monkeypatch.syspath_prepend(str(SCRIPT.parent))  # the script imports its sibling sitegen.py
    spec = importlib.util.spec_from_file_location("gen_city_block", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, "gen_city_block", module)  # its dataclasses look their module up
    spec.loader.exec_module(module)
    for name, text in module.site_files(module.layout()).items():
        assert (SITE / name).read_text() == text, f"{name} is stale: run .venv/bin/python {SCRIPT.relative_to(REPO)}"


def test_world_has_the_block_and_pedestrians_on_closed_loops(world):
    assert world.name == "city_block"
    assert {"kerbs", "buildings", "school", "park", "trees"} <= {o.model for o in world.obstacles}
    assert "markings" not in {o.model for o in world.obstacles}  # sidewalk and zebra paint: visual only
    min_x, min_y, max_x, max_y = world.bounds()
    assert 75 <= max_x - min_x <= 100 and 60 <= max_y - min_y <= 90
    assert 4 <= len(world.actors) <= 6
    for actor in world.actors:
        first, last = actor.waypoints[0], actor.waypoints[-1]
        assert actor.loop and actor.delay_start == 0.0
        assert 60 <= last.time <= 120, actor.name
        assert (last.x, last.y) == (first.x, first.y) and math.cos(last.yaw - first.yaw) == pytest.approx(1.0)


def test_pedestrians_keep_off_walls_and_off_the_street_except_on_the_crossings(world, walls):
    for actor in world.actors:
        for t in np.arange(0.0, actor.waypoints[-1].time, 0.25):
            x, y, _ = pose_at(actor, float(t))
            assert not Point(x, y).buffer(PEDESTRIAN_RADIUS).intersects(walls), (actor.name, t, x, y)
            if 7.2 < y < 16.8:  # in the south street
                assert any(abs(x - cx) <= 2.0 - PEDESTRIAN_RADIUS for cx in CROSSINGS_X), (actor.name, t, x, y)
    crossers = {a.name for a in world.actors
                if any(7.2 < pose_at(a, float(t))[1] < 16.8 for t in np.arange(0.0, a.waypoints[-1].time, 1.0))}
    assert crossers, "a pedestrian walks over the zebra crossings"


def test_navgraph_places_and_lanes_are_clear_for_the_fleet(graph, walls):
    radius = max(r.model.radius for r in load_fleet(SITE / "fleet.yaml").robots)
    kinds = defaultdict(list)
    for place in graph.places.values():
        kinds[place.kind].append(place.name)
        assert not Point(place.x, place.y).buffer(radius).intersects(walls), place.name
    assert len(kinds["parking"]) == 3 and len(kinds["charger"]) >= 1 and kinds["station"]
    assert len(kinds["pickup"]) + len(kinds["dropoff"]) >= 4 and "school_gate" in kinds["dropoff"]
    for lane in graph.lanes:
        a, b = graph.places[lane.start], graph.places[lane.end]
        centre = LineString([(a.x, a.y), (b.x, b.y)])
        paths = [centre] if lane.width is None else [centre.offset_curve(side * lane.width / 4) for side in (-1, 1)]
        for path in paths:  # both carriageways of a two-way lane with a width
            assert not path.buffer(radius).intersects(walls), lane.id
    assert {lane.width for lane in graph.lanes if lane.id.startswith(("sidewalk", "crossing"))} == {2.0}


def test_navgraph_is_strongly_connected(graph):
    assert all(graph.distance("parking_1", p) < math.inf and graph.distance(p, "parking_1") < math.inf
               for p in graph.places)


def test_fleet_starts_on_the_depots_parking_spots(graph):
    fleet = load_fleet(SITE / "fleet.yaml")
    assert len(fleet.robots) == 3
    for robot in fleet.robots:
        model = robot.model
        assert model.kind == "delivery" and 40 <= model.mass_kg <= 60 and model.max_speed == 1.5
        home = graph.places[robot.home]
        assert home.kind == "parking" and (robot.spawn.x, robot.spawn.y) == (home.x, home.y)
        assert home.y < 7.0  # across the south street from the block


def test_zones_limit_the_school_zone_and_block_the_construction_site_and_the_closed_park(graph, zones):
    by_kind = {z.kind: z for z in zones.zones}
    assert set(by_kind) == {"speed_limit", "no_go", "hours"}
    assert by_kind["speed_limit"].limit_mps == 0.8 and (by_kind["hours"].open, by_kind["hours"].close) == (
        "07:00", "21:00")
    gate = graph.places["school_gate"]
    assert zones.speed_limit_at(gate.x, gate.y) == 0.8
    day = zones.blocked_lanes(graph, NOON)
    assert day and all(lane.startswith("sidewalk_e") for lane in day)  # the construction site only
    night = zones.blocked_lanes(graph, NIGHT)
    assert night - day == {lane.id for lane in graph.lanes if lane.id.startswith("park_path")}
    assert zones.blocked_places(graph, NIGHT) == {"park_path"} and zones.blocked_places(graph, NOON) == set()


@pytest.mark.parametrize(("clock_s", "via"), [(NOON, "park_path"), (NIGHT, "w_47")])
def test_routes_go_round_the_construction_site(graph, zones, clock_s, via):
    blocked = zones.blocked_lanes(graph, clock_s)
    open_graph = NavGraph(graph.site, graph.places, [lane for lane in graph.lanes if lane.id not in blocked])
    path = open_graph.shortest_path("school_gate", "bookshop")  # the short way is down the east sidewalk
    assert via in path and not {"e_38", "e_50"} <= set(path)
    for place in graph.places:  # every open place is still reachable from the depot
        if place not in zones.blocked_places(graph, clock_s):
            assert open_graph.distance("parking_1", place) < math.inf, place


def test_the_simulator_walks_the_pedestrians_of_the_site(world, graph):
    fleet = load_fleet(SITE / "fleet.yaml")
    chargers = [(p.x, p.y) for p in graph.places.values() if p.kind == "charger"]
    sim = Simulator(world, fleet, chargers=chargers)
    start = {p.name: (p.x, p.y) for p in sim.pedestrians()}
    assert set(start) == {a.name for a in world.actors}
    shopper = start["ped_shopper"]
    sim.set_pose("courier_1", shopper[0] + 4.0, shopper[1], math.pi)  # 4 m east of it, looking at it
    angles = sim.scan_angles("courier_1")
    assert sim.scan("courier_1")[np.argmin(np.abs(angles))] == pytest.approx(4.0 - PEDESTRIAN_RADIUS, abs=1e-6)
    for _ in range(100):
        sim.step()
    moved = {p.name: math.hypot(p.x - start[p.name][0], p.y - start[p.name][1]) for p in sim.pedestrians()}
    assert all(1.0 < d < 4.0 for d in moved.values()), moved  # 2 s at walking pace
