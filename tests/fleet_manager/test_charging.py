from __future__ import annotations

from fleet_manager.core.navgraph import parse_navgraph
from fleet_manager.core.robots import RobotMode, RobotReport
from fleet_manager.missions.charging import ChargerBook, needs_charge

GRAPH = parse_navgraph({"site": "t", "places": {
    "w": {"x": 0, "y": 0}, "e": {"x": 20, "y": 0},
    "c_w": {"x": 0, "y": -2, "kind": "charger"}, "c_e": {"x": 20, "y": -2, "kind": "charger"}},
    "lanes": [{"from": "w", "to": "e"}, {"from": "w", "to": "c_w"}, {"from": "e", "to": "c_e"}]}, "t")


def robot(rid: str, x: float, y: float, battery: float, charging: bool = False) -> RobotReport:
    return RobotReport(rid, "delivery", "bot", RobotMode.IDLE, x, y, 0.0, 0.0, 0.0, battery, charging, "", 0.0,
                       (), 0.0, 0.0)


def test_the_nearest_free_charger_is_chosen_and_reservations_are_kept():
    book = ChargerBook(GRAPH)
    low = robot("low", 2, 0, 20)
    assert book.free_for(low, [low]) == "c_w"  # 2 m + 2 m against 18 m + 2 m
    book.reserve("c_w", "other")
    assert book.free_for(low, [low]) == "c_e"  # c_w is held for another robot
    book.reserve("c_e", "low")
    assert book.held_by("low") == "c_e" and book.free_for(low, [low]) == "c_e"  # its own reservation
    book.release("other")
    assert book.reserved == {"c_e": "low"}


def test_an_occupied_charger_is_not_free_and_none_means_wait():
    book = ChargerBook(GRAPH)
    low = robot("low", 2, 0, 20)
    sitting = [robot("a", 0, -2.2, 90, charging=True), robot("b", 20.3, -2, 90, charging=True)]
    assert book.free_for(low, [low, *sitting]) is None
    assert book.free_for(low, [low, sitting[1]]) == "c_w"


def test_who_needs_a_charge():
    book = ChargerBook(GRAPH)
    assert needs_charge(robot("r", 5, 0, 29), 30, book, [])
    assert not needs_charge(robot("r", 5, 0, 31), 30, book, [])
    assert not needs_charge(robot("r", 5, 0, 10, charging=True), 30, book, [])
    on_charger = robot("r", 0, -2, 10)  # on c_w, not (yet) charging: it is where it should be
    assert not needs_charge(on_charger, 30, book, [on_charger])
