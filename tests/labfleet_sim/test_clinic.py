"""The clinic site (scripts/gen_clinic.py): files current, a 2.4 m corridor with 1.1 m doors and a single-lane
service corridor the fleet fits through, a connected navgraph, and its people: staff and visitors who react."""

from __future__ import annotations

import importlib.util
import math
import sys
from pathlib import Path

import numpy as np
import pytest
from labfleet_sim.fleet_config import load_fleet
from labfleet_sim.pedestrians import PEDESTRIAN_RADIUS
from labfleet_sim.site import load_simulation
from labfleet_sim.social import ReactiveCrowd
from labfleet_sim.world import load_world
from shapely.geometry import LineString, Point, Polygon
from shapely.ops import unary_union

from fleet_manager.core.navgraph import load_navgraph

REPO = Path(__file__).resolve().parents[2]
SITE = REPO / "sim_worlds" / "clinic"
SCRIPT = REPO / "scripts" / "gen_clinic.py"


def free_width(walls, at: tuple[float, float], along: str) -> float:
    """How wide the free floor is through `at`, along x or y (centimetre steps)."""
    x, y = at
    free = []
    for sign in (-1, 1):
        k = 0
        while k < 1000:
            px, py = (x + sign * k / 100, y) if along == "x" else (x, y + sign * k / 100)
            if Point(px, py).intersects(walls):
                break
            k += 1
        free.append(k / 100)
    return sum(free)


@pytest.fixture(scope="module")
def walls():
    return unary_union([Polygon(o.polygon) for o in load_world(SITE / "world.sdf").obstacles])


def test_the_site_files_are_what_the_script_writes(monkeypatch):
    monkeypatch.syspath_prepend(str(SCRIPT.parent))  # the script imports its sibling sitegen.py
    spec = importlib.util.spec_from_file_location("gen_clinic", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, "gen_clinic", module)
    spec.loader.exec_module(module)
    for name, text in module.site_files().items():
        assert (SITE / name).read_text() == text, f"{name} is stale: run .venv/bin/python {SCRIPT.relative_to(REPO)}"


def test_doors_and_corridors_are_as_narrow_as_a_ward_and_the_fleet_fits(walls):
    graph = load_navgraph(SITE / "navgraph.yaml")
    radius = max(r.model.radius for r in load_fleet(SITE / "fleet.yaml").robots)
    for place in graph.places.values():
        assert not Point(place.x, place.y).buffer(radius).intersects(walls), place.name
    for lane in graph.lanes:
        a, b = graph.places[lane.start], graph.places[lane.end]
        centre = LineString([(a.x, a.y), (b.x, b.y)])
        paths = [centre] if lane.width is None else [centre.offset_curve(side * lane.width / 4) for side in (-1, 1)]
        for path in paths:
            assert not path.buffer(radius).intersects(walls), lane.id
    for room in ("room_1", "room_6"):  # doors in the corridor's north wall (y 11.2 .. 11.4)
        assert free_width(walls, (graph.places[room].x, 11.3), "x") == pytest.approx(1.1, abs=0.03)
    for door in ("pharmacy", "lab"):  # and in its south wall (y 8.6 .. 8.8)
        assert free_width(walls, (graph.places[door].x, 8.7), "x") == pytest.approx(1.1, abs=0.03)
    assert free_width(walls, (10.0, 10.0), "y") == pytest.approx(2.4, abs=0.03)  # the corridor
    assert free_width(walls, (32.0, 6.0), "x") == pytest.approx(1.4, abs=0.03)  # the service corridor
    assert all(graph.distance("parking_1", p) < math.inf and graph.distance(p, "parking_1") < math.inf
               for p in graph.places)


def test_staff_and_visitors_walk_the_floor_and_never_through_a_wall(walls):
    loaded = load_simulation(SITE / "world.sdf", SITE / "fleet.yaml", seed=4)
    crowd = loaded.sim.crowd
    assert isinstance(crowd, ReactiveCrowd) and {"nurse", "porter"} <= set(crowd.names)
    seen: set[str] = set()
    for step in range(round(240 / loaded.sim.dt)):
        loaded.sim.step()
        if step % 25 == 0:
            for p in loaded.sim.pedestrians():
                seen.add(p.name)
                assert walls.distance(Point(p.x, p.y)) > PEDESTRIAN_RADIUS - 0.03, (p.name, p.x, p.y)
    visitors = {n for n in seen if n.startswith("visitor_")}
    assert len(visitors) >= 6  # the six there from the start, and newcomers at 90 an hour
    assert np.isfinite(crowd.centres(loaded.sim.time)).all()
