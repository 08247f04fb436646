"""Issue 20: the caution level comes from the navgraph. A lane marked `caution`, a hop between a corridor's
two sides, a narrow lane that joins a corridor (a door) are caution lanes; places where three or more lanes
meet are junctions. The fleet manager puts both on every route waypoint it sends."""

from __future__ import annotations

from pathlib import Path

import pytest

from fleet_manager.core.lanes import SIDE_SEP, build_lane_graph
from fleet_manager.core.navgraph import NavGraphError, parse_navgraph
from fleet_manager.missions.traffic import TrafficManager

CLINIC = Path(__file__).resolve().parents[2] / "sim_worlds" / "clinic"

# a corridor (wide, two-way) w - m - e; a door lane m - room; a plain narrow lane e - yard marked caution
GRAPH = {"site": "t", "places": {"w": {"x": 0, "y": 0}, "m": {"x": 5, "y": 0}, "e": {"x": 10, "y": 0},
                                 "room": {"x": 5, "y": 4, "kind": "room"}, "yard": {"x": 10, "y": -6},
                                 "gate": {"x": 10, "y": -12}},
         "lanes": [{"id": "c1", "from": "w", "to": "m", "width": 2.4},
                   {"id": "c2", "from": "m", "to": "e", "width": 2.4},
                   {"id": "door", "from": "m", "to": "room"},
                   {"id": "drive", "from": "e", "to": "yard"},
                   {"id": "blind", "from": "yard", "to": "gate", "caution": True}]}


def test_caution_lanes_and_junctions_are_derived_from_the_navgraph() -> None:
    nav = parse_navgraph(GRAPH, "navgraph.yaml")
    assert nav.junctions() == {"m"}  # w, e: two lanes; yard: two
    lanes = {lane.id: lane for lane in build_lane_graph(nav).graph.lanes}
    corridor = [lane for name, lane in lanes.items() if name.startswith(("c1", "c2"))]
    assert corridor and not any(lane.caution for lane in corridor)  # along a corridor: none
    hops = [lane for name, lane in lanes.items() if name.startswith(f"m{SIDE_SEP}")]
    assert hops and all(lane.caution for lane in hops)  # from one side of the corridor to the other
    doors = [lane for name, lane in lanes.items() if name.startswith("door")]
    assert len(doors) == 2 and all(lane.caution for lane in doors)  # the door, to either side
    drives = [lane for name, lane in lanes.items() if name.startswith("drive")]
    assert drives and all(lane.caution for lane in drives)  # joins the corridor at e
    assert lanes["blind"].caution  # marked


@pytest.mark.parametrize("value", ["yes", 1, None])
def test_a_caution_that_is_not_true_or_false_is_refused_naming_the_lane(value: object) -> None:
    bad = {**GRAPH, "lanes": [*GRAPH["lanes"][:4], {"id": "blind", "from": "yard", "to": "gate", "caution": value}]}
    with pytest.raises(NavGraphError, match=r"navgraph.yaml: lanes\[4\]: 'caution' must be true or false"):
        parse_navgraph(bad, "navgraph.yaml")


def test_route_waypoints_carry_the_caution_of_their_lane_and_whether_they_are_junctions() -> None:
    from fleet_manager.core.navgraph import load_navgraph

    nav = load_navgraph(CLINIC / "navgraph.yaml")
    traffic = TrafficManager(nav)
    room = nav.place("room_1")
    route = traffic.plan(traffic.mover("wardbot_1", 0.3, 1.0), room.x, room.y, "room_3", now=0.0)
    names = [w.name for w in route.waypoints]
    assert names[0] == "room_1" and names[-1] == "room_3"
    by_name = {w.name: w for w in route.waypoints}
    assert by_name["c_room_1"].caution  # out of the door: the door lane
    assert by_name["room_3"].caution  # in through the door
    assert by_name["c_room_1"].junction and by_name["c_room_2"].junction and by_name["c_pharmacy"].junction
    assert not by_name["room_1"].junction and not by_name["room_3"].junction
    along = [w for a, w in zip(route.waypoints, route.waypoints[1:], strict=False)
             if a.name != w.name and a.name.startswith("c_") and w.name.startswith("c_")]
    assert along and not any(w.caution for w in along)  # driving along the corridor: junctions only
