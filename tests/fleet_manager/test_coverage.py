from __future__ import annotations

import math

import pytest
from shapely.geometry import Point, Polygon

from fleet_manager.core.coverage import coverage_path, covered_fraction, parse_cleaning_zones
from fleet_manager.core.errors import InvalidInput

ROOM = Polygon([(0, 0), (6, 0), (6, 3), (0, 3)])


def test_passes_run_along_the_long_side_and_alternate():
    path = coverage_path(ROOM, spacing=1.0, margin=0.5)
    # inner rectangle 0.5..5.5 x 0.5..2.5: three passes at y = 0.5, 1.5, 2.5, each 5 m long
    assert len(path) == 6
    ys = sorted({round(y, 3) for _, y in path})
    assert ys == [0.5, 1.5, 2.5]
    first, second = path[0:2], path[2:4]
    assert math.isclose(abs(first[1][0] - first[0][0]), 5.0, abs_tol=1e-6)
    assert (first[1][0] - first[0][0]) * (second[1][0] - second[0][0]) < 0  # back, then forth


def test_path_stays_inside_and_covers_the_zone():
    zone = Polygon([(0, 0), (5, 0), (5, 4), (2, 6), (0, 4)])
    path = coverage_path(zone, spacing=0.5, margin=0.35)
    inner = zone.buffer(-0.35 + 0.005)  # waypoints are rounded to the millimetre
    assert all(inner.covers(Point(p)) for p in path)
    assert covered_fraction(zone, path, width=0.7) > 0.85


def test_a_zone_thinner_than_the_robot_has_no_path():
    assert coverage_path(Polygon([(0, 0), (4, 0), (4, 0.4), (0, 0.4)]), spacing=0.5, margin=0.3) == []
    with pytest.raises(ValueError, match="spacing"):
        coverage_path(ROOM, spacing=0, margin=0.1)


def test_cleaning_zones_are_checked():
    zones = [{"name": "hall", "kind": "cleaning", "entry": "lobby", "polygon": [[0, 0], [4, 0], [4, 3]]},
             {"name": "school", "kind": "speed_limit", "polygon": []}]
    parsed = parse_cleaning_zones(zones, ["lobby"])
    assert list(parsed) == ["hall"] and parsed["hall"].entry == "lobby"
    with pytest.raises(InvalidInput, match=r"zones\[0\].entry: 'attic' is not a place"):
        parse_cleaning_zones([{**zones[0], "entry": "attic"}], ["lobby"])
    with pytest.raises(InvalidInput, match=r"zones\[0\].polygon: not a simple polygon"):
        parse_cleaning_zones([{**zones[0], "polygon": [[0, 0], [1, 1]]}], ["lobby"])
    bowtie = [[0, 0], [2, 2], [2, 0], [0, 2]]
    with pytest.raises(InvalidInput, match=r"zones\[0\].polygon"):
        parse_cleaning_zones([{**zones[0], "polygon": bowtie}], ["lobby"])
