from __future__ import annotations

import math

import pytest

from fleet_manager.core.errors import InvalidInput, NotFound
from fleet_manager.core.navgraph import NavGraphError, parse_navgraph


def test_shortest_path_follows_lanes(graph):
    assert graph.shortest_path("dock", "e") == ["dock", "w", "mid", "e"]
    assert graph.path_length(["dock", "w", "mid", "e"]) == pytest.approx(12.0)


def test_oneway_lane_is_used_only_forwards(graph):
    # room -> e: the one-way shortcut (4 + ... ) is shorter than going back through mid
    assert graph.shortest_path("room", "e") == ["room", "e"]
    assert graph.shortest_path("e", "room") == ["e", "mid", "room"]


def test_unreachable_and_unknown_places(graph):
    with pytest.raises(InvalidInput, match="no route from 'w' to 'island'"):
        graph.shortest_path("w", "island")
    with pytest.raises(NotFound, match="unknown place 'nowhere'"):
        graph.shortest_path("w", "nowhere")
    assert math.isinf(graph.distance("w", "island"))


def test_nearest_place(graph):
    place, offset = graph.nearest_place(5.2, 3.9)
    assert place.name == "room"
    assert offset == pytest.approx(math.hypot(0.2, 0.1))


def test_lane_attributes(graph):
    assert graph.lane_between("e", "mid").speed_limit == 0.5
    assert graph.places["dock"].kind == "charger"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"places": {}}, "'places' must be a non-empty mapping"),
        ({"places": {"a": {"x": 1}}}, "places.a: 'x' and 'y' are required"),
        ({"places": {"a": {"x": "one", "y": 0}}}, "places.a: 'x' must be a number"),
        ({"places": {"a": {"x": 0, "y": 0, "kind": "moon"}}}, "kind 'moon' is not one of"),
        ({"places": {"a": {"x": 0, "y": 0}}, "lanes": [{"from": "a", "to": "b"}]}, "lanes\\[0\\]: unknown place 'b'"),
        ({"places": {"a": {"x": 0, "y": 0}}, "lanes": [{"from": "a"}]}, "lanes\\[0\\]: a lane needs 'from' and 'to'"),
    ],
)
def test_malformed_navgraph_names_the_entry(data, message):
    with pytest.raises(NavGraphError, match=message):
        parse_navgraph(data, "navgraph.yaml")
