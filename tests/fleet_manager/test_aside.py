"""Where a robot steps aside to (missions/aside.py): the free spot on the way to its next goal, by path."""

from __future__ import annotations

from pathlib import Path

from fleet_manager.core.navgraph import load_navgraph
from fleet_manager.missions.aside import aside_spot
from fleet_manager.missions.traffic import TrafficManager

SITES = Path(__file__).resolve().parents[2] / "sim_worlds"


def traffic_with(parked: dict[str, str], site: str = "pharmacy_wing") -> TrafficManager:
    """A traffic manager on the site's navgraph with robots parked on the given places."""
    graph = load_navgraph(SITES / site / "navgraph.yaml")
    traffic = TrafficManager(graph)
    for robot, place in parked.items():
        p = graph.place(place)
        traffic.park(robot, p.x, p.y, 0.0)
    return traffic


def test_a_robot_at_the_dead_end_steps_aside_toward_its_next_goal_not_to_the_nearest_spot():
    # from the pharmacy (30, 2) the charger (33, 7) is the nearest spot in a straight line and by path, but it
    # lies east, away from room_1 (5, 14.2): every parking spot on the way west costs only its spur there and back
    traffic = traffic_with({"ward_1": "pharmacy"})
    graph = traffic.graph
    at = graph.place("pharmacy")
    assert aside_spot(graph, traffic, at.x, at.y, kinds=("charger", "parking")) == "charger_1"
    assert aside_spot(graph, traffic, at.x, at.y) == "parking_4"  # no next goal: the nearest parking spot by path
    spot = aside_spot(graph, traffic, at.x, at.y, toward="room_1")
    assert spot == "parking_4"  # on the way, and of those the nearest to the robot
    trip = graph.distance("pharmacy", spot) + graph.distance(spot, "room_1")
    detour = graph.distance("pharmacy", "charger_1") + graph.distance("charger_1", "room_1")
    assert trip == min(graph.distance("pharmacy", s) + graph.distance(s, "room_1")
                       for s in ("parking_1", "parking_2", "parking_3", "parking_4", "charger_1"))
    assert trip < detour - 5.0


def test_spots_held_by_parked_robots_or_on_the_way_to_clear_are_not_chosen():
    traffic = traffic_with({"ward_1": "room_2", "ward_2": "parking_2", "ward_3": "parking_1"})
    graph = traffic.graph
    at = graph.place("room_2")
    # toward the entrance (west) parking_1 would be best, parking_2 next: both are taken
    assert aside_spot(graph, traffic, at.x, at.y, toward="entrance") == "parking_3"
    assert aside_spot(graph, traffic, at.x, at.y, toward="entrance", avoid={"parking_3"}) == "parking_4"
    # a charger only when no parking spot is left
    assert aside_spot(graph, traffic, at.x, at.y, toward="entrance", avoid={"parking_3", "parking_4"}) == "charger_1"
    every = {"parking_3", "parking_4", "charger_1"}
    assert aside_spot(graph, traffic, at.x, at.y, toward="entrance", avoid=every) is None


def test_no_spot_behind_a_robot_standing_on_the_way_to_it():
    # tests/integration/test_lab.py, templates: guide_1 at the warehouse waits to reach the shelf, where amr_1 stands
    # idle; amr_1, sent aside, waits for guide_1 to let it out and asks it to step aside. By path the chargers are
    # nearest, but delivery_2 stands idle at the charging bay's entry: guide_1 could plan no route there and both
    # failed after 90 s. It goes to ward_parking, which it can reach.
    traffic = traffic_with({"delivery_1": "charger_1", "delivery_2": "bay_entry", "amr_1": "warehouse_shelf",
                            "guide_1": "warehouse", "cleaner_1": "lab", "arm_1": "workshop_station_1"}, "living_lab")
    graph = traffic.graph
    at = graph.place("warehouse")
    way = {"warehouse_shelf", "warehouse", "warehouse_parking"}  # amr_1's way out
    assert aside_spot(graph, traffic, at.x, at.y, toward="warehouse_shelf", avoid=way) == "ward_parking"
    # amr_1 itself can reach no spot without passing guide_1: the nearest one, its move-aside waits for guide_1
    shelf = graph.place("warehouse_shelf")
    assert aside_spot(graph, traffic, shelf.x, shelf.y, avoid={"warehouse", "warehouse_shelf"}) == "warehouse_parking"


def test_a_robot_at_the_charging_bay_is_sent_to_a_parking_spot_not_onto_a_charger():
    # delivery_2 idle at bay_entry, in amr_1's way home to charger_4: charger_2, 4.6 m off, is its own home, where it
    # is sent next (docks there); standing on it without charging, the charger is lost to the robots sent to charge
    traffic = traffic_with({"delivery_1": "charger_1", "delivery_2": "bay_entry", "amr_1": "warehouse_parking"},
                           "living_lab")
    graph = traffic.graph
    at = graph.place("bay_entry")
    way = set(graph.shortest_path("warehouse_parking", "charger_4"))
    assert aside_spot(graph, traffic, at.x, at.y, avoid=way) == "ward_parking"
    assert aside_spot(graph, traffic, at.x, at.y, avoid=way, kinds=("charger",)) == "charger_2"
