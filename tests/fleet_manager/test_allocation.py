from __future__ import annotations

import math
from dataclasses import replace

import pytest

from fleet_manager.core.allocation import (
    MissionRequest,
    Plan,
    RobotCandidate,
    assign,
    completion_time,
    feasible,
    greedy_plan,
    mission_energy_wh,
    plan,
)


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


# -- completion time, energy, battery ------------------------------------------------------------------
# Distances on the T-shaped site: w-mid 5, mid-e 5, mid-room 4, dock-w 2, room->e sqrt(41) one way only.
SHORTCUT = math.sqrt(41)


def powered(rid, place, battery, speed=1.0, drive_w=360.0, idle_w=0.0, reserve=0.0, offset=0.0, ready=0.0):
    return RobotCandidate(rid, "delivery", frozenset({"cargo_bay"}), place, offset, speed, battery, drive_w, idle_w,
                          reserve, ready)  # fmt: skip


def route(mid, *places, work=0.0, priority=2, kind="delivery", caps=(), pinned=None):
    return MissionRequest(mid, kind, frozenset(caps), places[0] if places else None, pinned, places, work, priority)


def test_completion_time_and_energy_by_hand(graph):
    # Offset 1 m, w -> mid -> room 9 m, room -> e by the one-way shortcut: 1 + 9 + sqrt(41) m at 0.5 m/s.
    r = powered("r", "w", 100.0, speed=0.5, drive_w=100.0, idle_w=20.0, offset=1.0, ready=10.0)
    m = route(1, "room", "e", work=60.0)
    mission_s = (1 + 9 + SHORTCUT) / 0.5
    assert completion_time(m, r, graph) == pytest.approx(10.0 + mission_s + 60.0)
    # Then to the nearest charger: dock is 12 m from e (e -> mid -> w -> dock); treating room as a charger
    # too, it is 9 m (e -> mid -> room: the shortcut runs the other way), so room is the one counted.
    for chargers, leg_m in (((), 0.0), (("dock",), 12.0), (("dock", "room"), 9.0)):
        drive_s = mission_s + leg_m / 0.5
        expected_wh = (100.0 * drive_s + 20.0 * (drive_s + 60.0)) / 3600.0
        assert mission_energy_wh(m, r, graph, chargers) == pytest.approx(expected_wh)
    assert mission_energy_wh(route(2, "island"), r, graph, ("dock",)) == math.inf
    assert completion_time(route(2, "island"), r, graph) == math.inf


def test_battery_excludes_a_robot_that_could_not_reach_a_charger_afterwards(graph):
    # Mission to e at 1 m/s and 360 W (0.1 Wh per metre). "near" at mid: 5 m there, 12 m on to the dock,
    # 1.7 Wh. "far" at w: 10 m + 12 m, 2.2 Wh. With 1.0 Wh, near reaches e (0.5 Wh) but no charger.
    m = [route(1, "e")]
    far = powered("far", "w", 3.0)
    assert not feasible(m[0], powered("near", "mid", 1.0), graph, ["dock"])
    assert assign(m, [powered("near", "mid", 1.0), far], graph, ["dock"]) == {1: "far"}
    assert assign(m, [powered("near", "mid", 1.7), far], graph, ["dock"]) == {1: "near"}
    # the reserve must be left on arrival at the charger
    assert assign(m, [powered("near", "mid", 1.7, reserve=0.1), far], graph, ["dock"]) == {1: "far"}
    # without chargers only the mission itself counts
    assert assign(m, [powered("near", "mid", 1.0), far], graph) == {1: "near"}
    assert assign(m, [powered("near", "mid", 0.4)], graph) == {}


def test_a_busy_robot_counts_from_when_it_is_free(graph):
    robots = [robot("far", "w"), RobotCandidate("busy", "delivery", frozenset(), "mid", 0.0, 1.0, ready_s=20.0)]
    assert assign([mission(1, "e")], robots, graph) == {1: "far"}  # 10 s against 20 + 5 s


def test_the_more_urgent_mission_wins_when_robots_are_scarce(graph):
    only = [robot("only", "w")]
    cheap_normal, dear_emergency = route(1, "mid", priority=2), route(2, "e", priority=0)
    assert assign([cheap_normal, dear_emergency], only, graph) == {2: "only"}
    assert assign([cheap_normal, route(2, "e", priority=2)], only, graph) == {1: "only"}
    # Emergency mission 1 can take a or b; low-priority 2 and 3 are pinned to a and to b. Two missions
    # can be served either way; the emergency one must be among them.
    robots = [robot("a", "w"), robot("b", "e")]
    missions = [
        route(2, "w", priority=3, pinned="a"),
        route(3, "e", priority=3, pinned="b"),
        route(1, "mid", priority=0),
    ]
    chosen = assign(missions, robots, graph)
    assert len(chosen) == 2 and 1 in chosen


# -- plan: the whole queue in rounds ---------------------------------------------------------------------
def test_plan_places_every_mission_over_rounds_by_hand(graph):
    # a at w, b at e, 1 m/s. Missions: 1 -> mid, 2 -> w with 30 s of work, 3 -> e with 10 s of work.
    # Round 1, cost a|b: m1 5|5, m2 30|40, m3 20|10; best pair a-m1 + b-m3 = 15 s.
    # Round 2: a at mid, free at 5 s; b at e, free at 10 s. m2: a 5 + 5 + 30 = 40, b 10 + 10 + 30 = 50.
    robots = [robot("a", "w"), robot("b", "e")]
    missions = [route(1, "mid"), route(2, "w", work=30.0), route(3, "e", work=10.0)]
    result = plan(missions, robots, graph)
    assert result.assignments == {"a": [1, 2], "b": [3]}
    assert result.completion_s == pytest.approx({1: 5.0, 2: 40.0, 3: 10.0})
    assert result.total_cost_s == pytest.approx(55.0)
    assert result.unassigned == []


def test_plan_beats_greedy_where_greedy_is_provably_worse(graph):
    # Same case. Greedy in queue order: m1 to the first of the tied a|b (a, 5 s); m2 to the only idle
    # robot b (10 s there + 30 = 40 s); nobody idle, new round: m3 to a from mid (5 + 5 + 10 = 20 s),
    # not b (40 + 10 + 10 = 60 s). Total 65 s against plan's 55 s.
    robots = [robot("a", "w"), robot("b", "e")]
    missions = [route(1, "mid"), route(2, "w", work=30.0), route(3, "e", work=10.0)]
    greedy = greedy_plan(missions, robots, graph)
    assert greedy.assignments == {"a": [1, 3], "b": [2]}
    assert greedy.total_cost_s == pytest.approx(65.0)
    assert plan(missions, robots, graph).total_cost_s < greedy.total_cost_s


def test_plan_one_robot_takes_the_quicker_mission_first(graph):
    # From w: m1 -> mid with 20 s of work (25 s), m2 -> e (10 s). m2 first: 10, then e -> mid 5 + 20 = 35;
    # 45 s in all, against 25 + 30 = 55 s the other way round.
    result = plan([route(1, "mid", work=20.0), route(2, "e")], [robot("r", "w")], graph)
    assert result.assignments == {"r": [2, 1]}
    assert result.total_cost_s == pytest.approx(45.0)


def test_plan_draws_the_battery_down_between_missions(graph):
    # 360 W driving, 36 W idle, 1 m/s, 3.0 Wh. m1 -> mid with 100 s of work, m2 -> e. From w, m1 needs
    # (360*12 + 36*112)/3600 = 2.32 Wh with the 7 m to the dock, m2 396*22/3600 = 2.42 Wh: both fit.
    # Round 1 takes m2 (10 s against 105 s) and uses 396*10/3600 = 1.1 Wh, leaving 1.9 Wh; from e, m1
    # needs 2.32 Wh again (5 m there, 7 m to the dock) and no longer fits.
    r = powered("r", "w", 3.0, idle_w=36.0)
    missions = [route(1, "mid", work=100.0), route(2, "e")]
    assert all(feasible(m, r, graph, ["dock"]) for m in missions)
    result = plan(missions, [r], graph, ["dock"])
    assert result.assignments == {"r": [2]}
    assert result.unassigned == [1]
    assert result.total_cost_s == pytest.approx(10.0)
    assert plan(missions, [r], graph).assignments == {"r": [2, 1]}  # no charger to return to


def test_unreachable_and_infeasible_missions_end_unassigned(graph):
    robots = [robot("a", "w"), powered("b", "mid", 0.5)]
    missions = [
        route(1, "island"),  # no lane leads there
        route(2, "e", kind="amr"),  # nobody of that kind
        route(3, "e", pinned="ghost"),  # pinned to a robot that is not available
        route(4, "e", pinned="b"),  # b: 5 m there, 12 m to the dock: 1.7 Wh of 0.5
        route(5, "room"),
        route(6, "mid", "island"),  # the first place is reachable, a later one is not
    ]
    for solver in (plan, greedy_plan):
        result = solver(missions, robots, graph, ["dock"])
        assert result.unassigned == [1, 2, 3, 4, 6]
        assert [m for ms in result.assignments.values() for m in ms] == [5]
    assert plan([], robots, graph) == Plan({}, 0.0, [])
    assert plan(missions[:1], [], graph).unassigned == [1]


def test_plan_agrees_with_the_one_mission_functions(graph):
    # Replaying the plan mission by mission with completion_time and feasible gives the same figures.
    robots = [powered("a", "w", 6.0, speed=0.5, idle_w=20.0, offset=0.5), powered("b", "e", 4.0, ready=3.0)]
    missions = [route(i, *places, work=w) for i, (places, w) in enumerate(
        [(("room", "e"), 5.0), (("w",), 0.0), (("mid", "dock"), 12.0), (("e", "mid", "room"), 1.0), (("dock",), 7.0)]
    )]  # fmt: skip
    result = plan(missions, robots, graph, ["dock"])
    by_id = {m.id: m for m in missions}
    total = 0.0
    for r in robots:
        for mid in result.assignments.get(r.id, []):
            m = by_id[mid]
            assert feasible(m, r, graph, ["dock"])
            done = completion_time(m, r, graph)
            assert result.completion_s[mid] == pytest.approx(done)
            total += done
            used = mission_energy_wh(m, r, graph, ())
            r = replace(r, place=m.places[-1], offset_m=0.0, ready_s=done, battery_wh=r.battery_wh - used)
    assert result.total_cost_s == pytest.approx(total)
    assert len(result.unassigned) + len(result.completion_s) == len(missions)
