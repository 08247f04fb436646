"""Where a robot steps aside to (missions/aside.py): the free spot on the way to its next goal, by path."""

from __future__ import annotations

from pathlib import Path

from fleet_manager.core.navgraph import load_navgraph
from fleet_manager.missions.aside import aside_spot
from fleet_manager.missions.traffic import TrafficManager

SITE = Path(__file__).resolve().parents[2] / "sim_worlds" / "pharmacy_wing"


def traffic_with(parked: dict[str, str]) -> TrafficManager:
    graph = load_navgraph(SITE / "navgraph.yaml")
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
    assert aside_spot(graph, traffic, at.x, at.y) == "charger_1"  # no next goal: the nearest by path
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
    every = {"parking_3", "parking_4", "charger_1"}
    assert aside_spot(graph, traffic, at.x, at.y, toward="entrance", avoid=every) is None

