from __future__ import annotations

from fleet_manager.core.allocation import MissionRequest, RobotCandidate, assign


def robot(rid, place, kind="delivery", caps=("cargo_bay",), speed=1.0):
    return RobotCandidate(rid, kind, frozenset(caps), place, 0.0, speed)


def mission(mid, target, kind="delivery", caps=(), pinned=None):
    return MissionRequest(mid, kind, frozenset(caps), target, pinned)


def test_nearest_suitable_robot_is_chosen(graph):
    robots = [robot("far", "dock"), robot("near", "mid")]
    assert assign([mission(1, "room")], robots, graph) == {1: "near"}


def test_total_travel_is_minimised_not_greedy(graph):
    # Robots at w and e; missions to mid and to w. Greedy in mission order gives mission 1 the nearest
    # robot, a tie at 5 m broken towards "west", leaving "east" 10 m from w: 15 m in all. The optimum
    # sends "east" to mid (5 m) and "west" stays at w (0 m): 5 m.
    robots = [robot("west", "w"), robot("east", "e")]
    missions = [mission(1, "mid"), mission(2, "w")]
    assert assign(missions, robots, graph) == {1: "east", 2: "west"}


def test_kind_capabilities_and_pinning(graph):
    robots = [robot("tug", "mid", kind="amr", caps=("tow_hitch",)), robot("courier", "e")]
    assert assign([mission(1, "w", kind="amr", caps=("tow_hitch",))], robots, graph) == {1: "tug"}
    assert assign([mission(1, "w", kind=None, caps=("tow_hitch",))], robots, graph) == {1: "tug"}
    assert assign([mission(1, "w", caps=("arm",))], robots, graph) == {}
    assert assign([mission(1, "w", pinned="courier")], robots, graph) == {1: "courier"}


def test_unreachable_target_is_not_assigned(graph):
    assert assign([mission(1, "island")], [robot("a", "w")], graph) == {}


def test_a_mission_nobody_can_serve_does_not_block_others(graph):
    robots = [robot("only", "w")]
    missions = [mission(1, "e", kind="amr"), mission(2, "e")]
    assert assign(missions, robots, graph) == {2: "only"}
