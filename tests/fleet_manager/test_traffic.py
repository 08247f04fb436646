"""Traffic planning in time: no two plans share a place or a lane at the same time."""

from __future__ import annotations

import itertools
import math

import pytest

from fleet_manager.core.navgraph import parse_navgraph
from fleet_manager.core.traffic import INF, Mover, NoRoute, Plan, ReservationTable, TrafficPlanner, place_key

# Two halls joined by one single-lane corridor (w_hub - b - c - e_hub); off each hub a room and a pocket
# to step aside into.
SINGLE_LANE = parse_navgraph({"site": "t", "places": {
    "w_room": {"x": 0, "y": -2}, "w_pocket": {"x": 0, "y": 2}, "w_hub": {"x": 2, "y": 0}, "b": {"x": 6, "y": 0},
    "c": {"x": 10, "y": 0}, "e_hub": {"x": 14, "y": 0}, "e_room": {"x": 16, "y": -2}, "e_pocket": {"x": 16, "y": 2}},
    "lanes": [{"from": "w_room", "to": "w_hub"}, {"from": "w_pocket", "to": "w_hub"}, {"from": "w_hub", "to": "b"},
              {"from": "b", "to": "c"}, {"from": "c", "to": "e_hub"}, {"from": "e_hub", "to": "e_room"},
              {"from": "e_hub", "to": "e_pocket"}]}, "t")

A = Mover("A", speed=1.0, clear_s=1.0)
B = Mover("B", speed=1.0, clear_s=1.0)


def overlaps(table: ReservationTable) -> list[tuple[str, object, object]]:
    bad = []
    for resource, holds in table.holds.items():
        for h1, h2 in itertools.combinations(holds, 2):
            if h1.robot != h2.robot and h1.start < h2.end and h2.start < h1.end:
                bad.append((resource, h1, h2))
    return bad


def positions(plan: Plan, t: float) -> tuple[float, float]:
    """Where a robot following the plan is at time t (linear along lanes, waiting at places)."""
    g = SINGLE_LANE.places
    for prev, nxt in itertools.pairwise(plan.visits):
        if t < prev.leave:
            p = g[prev.place]
            return p.x, p.y
        if t < nxt.arrive:
            f = (t - prev.leave) / (nxt.arrive - prev.leave)
            a, b = g[prev.place], g[nxt.place]
            return a.x + f * (b.x - a.x), a.y + f * (b.y - a.y)
    p = g[plan.visits[-1].place]
    return p.x, p.y


def test_a_lone_robot_takes_the_shortest_route_without_waiting():
    planner = TrafficPlanner(SINGLE_LANE)
    plan = planner.plan(A, "w_room", "e_room", now=10.0)
    assert plan.places == ["w_room", "w_hub", "b", "c", "e_hub", "e_room"]
    assert plan.arrival == pytest.approx(10.0 + 2 * math.sqrt(8) + 12.0)
    assert plan.visits[-1].leave == INF


def test_two_robots_swap_ends_of_a_single_lane_corridor():
    planner = TrafficPlanner(SINGLE_LANE)
    plans = planner.plan_batch([(A, "w_room", "e_room"), (B, "e_room", "w_room")], now=0.0)
    assert plans["A"].places[-1] == "e_room" and plans["B"].places[-1] == "w_room"
    assert overlaps(planner.table) == []
    # one of them steps into its pocket and lets the other through the corridor first
    assert {"w_pocket", "e_pocket"} & (set(plans["A"].places) | set(plans["B"].places))
    closest = min(math.dist(positions(plans["A"], t / 10), positions(plans["B"], t / 10)) for t in range(0, 900))
    assert closest >= 1.0


def test_a_robot_parked_on_the_route_is_waited_for_or_avoided_and_a_blocked_goal_is_refused():
    planner = TrafficPlanner(SINGLE_LANE)
    planner.park("B", "c", now=0.0)
    with pytest.raises(NoRoute, match="no route for A from w_room to e_room"):
        planner.plan(A, "w_room", "e_room", now=0.0)
    planner.table.remove_robot("B")
    planner.table.add(place_key("c"), 0.0, 20.0, "B")  # B stands on c until t = 20
    plan = planner.plan(A, "w_room", "e_room", now=0.0)
    at_c = next(v for v in plan.visits if v.place == "c")
    assert at_c.arrive >= 20.0 and overlaps(planner.table) == []


def test_lifelong_a_later_plan_fits_around_earlier_ones():
    planner = TrafficPlanner(SINGLE_LANE)
    first = planner.plan_batch([(A, "w_room", "e_room")], now=0.0)["A"]
    later = planner.plan_batch([(B, "e_pocket", "w_pocket")], now=3.0)["B"]
    assert later.places == ["e_pocket", "e_hub", "c", "b", "w_hub", "w_pocket"]
    assert overlaps(planner.table) == []
    # B may only enter the corridor after A has come out of it at e_room
    entry = next(v for v in later.visits if v.place == "c")
    assert entry.arrive >= first.arrival


def test_closed_lanes_are_not_used_and_one_way_lanes_only_one_way():
    g = parse_navgraph({"site": "t", "places": {"s": {"x": 0, "y": 0}, "n": {"x": 0, "y": 4}, "e": {"x": 4, "y": 0},
                                                "ne": {"x": 4, "y": 4}},
                        "lanes": [{"id": "west", "from": "s", "to": "n"}, {"id": "south", "from": "s", "to": "e"},
                                  {"id": "east", "from": "e", "to": "ne"}, {"id": "north", "from": "n", "to": "ne",
                                                                             "oneway": True}]}, "t")
    planner = TrafficPlanner(g)
    assert planner.plan(A, "s", "ne", 0.0).places in (["s", "n", "ne"], ["s", "e", "ne"])
    planner.closed.add("west")
    assert planner.plan(A, "s", "ne", 0.0).places == ["s", "e", "ne"]
    assert planner.plan(A, "ne", "s", 0.0).places == ["ne", "e", "s"]  # "north" is one way, n -> ne
    planner.closed.add("south")
    with pytest.raises(NoRoute):
        planner.plan(A, "s", "ne", 0.0)


# A wide two-way corridor w - m - e (a carriageway per direction) with a room off its middle.
CORRIDOR = parse_navgraph({"site": "t", "places": {
    "w": {"x": 0, "y": 0}, "m": {"x": 10, "y": 0}, "e": {"x": 20, "y": 0}, "room": {"x": 10, "y": 6, "kind": "room"}},
    "lanes": [{"id": "west", "from": "w", "to": "m", "width": 2.4},
              {"id": "east", "from": "m", "to": "e", "width": 2.4}, {"id": "door", "from": "m", "to": "room"}]}, "t")


def test_the_lane_graph_keeps_right_and_a_side_lane_crosses_the_far_carriageway():
    from fleet_manager.core.lanes import build_lane_graph

    lanes = build_lane_graph(CORRIDOR)
    assert lanes.sides["m"] == ["m@s", "m@n"]
    pts = lanes.graph.places
    assert (pts["m@s"].x, pts["m@s"].y) == (10, -0.6) and (pts["m@n"].x, pts["m@n"].y) == (10, 0.6)
    by_id = {lane.id: lane for lane in lanes.graph.lanes}
    assert (by_id["west@+"].start, by_id["west@+"].end, by_id["west@+"].oneway) == ("w@s", "m@s", True)
    assert (by_id["west@-"].start, by_id["west@-"].end) == ("m@n", "w@n")
    assert lanes.extra["door@m@s>room"] == ["m@n"]  # from the room to the eastbound side it crosses the other
    assert set(lanes.derived["door"]) == {"door@m@s>room", "door@m@n>room"}


def test_robots_going_opposite_ways_on_a_wide_corridor_pass_without_waiting():
    from fleet_manager.missions.traffic import TrafficManager

    traffic = TrafficManager(CORRIDOR)
    east = traffic.plan(A, 0, 0, "e", now=0.0)
    west = traffic.plan(B, 20, 0.6, "w", now=0.0)  # on the westbound carriageway
    assert east.plan.arrival == pytest.approx(20.0 / A.speed)
    assert west.plan.arrival == pytest.approx(20.0 / B.speed)  # no wait for the other
    assert [w.name for w in east.waypoints] == ["w", "m", "e"]
    assert [round(w.y, 1) for w in east.waypoints] == [-0.6, -0.6, -0.6]  # it stops on its carriageway
    assert traffic.releasable("A") == 3 and traffic.releasable("B") == 3  # nothing shared: all released
    assert overlaps(traffic.planner.table) == []


def test_release_follows_the_planned_order_of_passage():
    """Two robots through the single-lane corridor: the second is released into it only as the first
    leaves it, whatever their actual speeds."""
    from fleet_manager.missions.traffic import TrafficManager

    traffic = TrafficManager(SINGLE_LANE)
    g = SINGLE_LANE.places
    first = traffic.plan(A, g["w_room"].x, g["w_room"].y, "e_room", now=0.0)
    second = traffic.plan(B, g["w_pocket"].x, g["w_pocket"].y, "e_pocket", now=0.0)
    names = [w.name for w in second.waypoints]
    assert names == ["w_pocket", "w_hub", "b", "c", "e_hub", "e_pocket"]
    assert traffic.releasable("A") == len(first.waypoints)  # A goes first, all the way
    assert traffic.releasable("B") == 1  # B waits on its spot: A holds w_hub before it
    traffic.progress("A", 2)  # A heads to b: it has left w_hub
    assert traffic.releasable("B") == 1  # the lane w_hub-b is still A's
    traffic.progress("A", 3)  # A heads to c: lane w_hub-b and place w_hub are free
    assert traffic.releasable("B") == 2  # B may come to w_hub, not yet onto the corridor
    traffic.progress("A", 5)  # A heads into e_room
    assert traffic.releasable("B") == 4
    traffic.finish("A", g["e_room"].x, g["e_room"].y, now=30.0)
    assert traffic.releasable("B") == 6
    assert traffic.parked_at("e_room") == "A"


def test_closing_a_lane_flags_the_robots_that_still_need_it_and_replanning_avoids_it():
    from fleet_manager.missions.traffic import TrafficManager

    loop = parse_navgraph({"site": "t", "places": {
        "s": {"x": 0, "y": 0}, "n": {"x": 0, "y": 8}, "e": {"x": 6, "y": 0}, "ne": {"x": 6, "y": 8}},
        "lanes": [{"id": "west", "from": "s", "to": "n"}, {"id": "south", "from": "s", "to": "e"},
                  {"id": "east", "from": "e", "to": "ne"}, {"id": "north", "from": "n", "to": "ne"}]}, "t")
    traffic = TrafficManager(loop)
    route = traffic.plan(A, 0, 0, "n", now=0.0)
    assert [w.name for w in route.waypoints] == ["s", "n"]
    assert traffic.close_lane("west") == ["A"] and traffic.reroute == {"A"}
    assert traffic.close_lane("east") == []  # A's route does not use it
    traffic.open_lane("east")
    assert traffic.closed_lanes() == ["west"]
    traffic.finish("A", 0, 0, now=1.0)
    again = traffic.plan(A, 0, 0, "n", now=1.0)
    assert [w.name for w in again.waypoints] == ["s", "e", "ne", "n"]


# Two wide roads meeting at a corner: its four carriageway ends lie 0.88 m apart side by side, 1.25 m apart
# across; a spur place 1.0 m from the corner on the east road.
CORNER = parse_navgraph({"site": "t", "places": {
    "s": {"x": 0, "y": -10}, "c": {"x": 0, "y": 0}, "e": {"x": 10, "y": 0}, "k": {"x": 1.0, "y": 0}},
    "lanes": [{"id": "ns", "from": "s", "to": "c", "width": 2.5}, {"id": "ce", "from": "c", "to": "k", "width": 2.5},
              {"id": "ke", "from": "k", "to": "e", "width": 2.5}]}, "t")


def test_vertices_closer_than_a_robot_are_near_and_opposite_carriageways_are_not():
    from fleet_manager.core.lanes import build_lane_graph

    lanes = build_lane_graph(CORNER)
    pts = lanes.graph.places
    assert sorted(lanes.sides["c"]) == ["c@e", "c@n", "c@s", "c@w"]
    assert math.dist((pts["c@e"].x, pts["c@e"].y), (pts["c@n"].x, pts["c@n"].y)) == pytest.approx(0.884, abs=1e-3)
    assert "c@n" in lanes.near["c@e"] and "c@s" in lanes.near["c@e"]  # side by side at the corner
    assert "c@w" not in lanes.near["c@e"]  # across the road: robots pass
    assert "k@n" in lanes.near["c@n"]  # another place 1.0 m along the road is too close as well
    assert "k@s" not in lanes.near["c@n"]


def test_robots_turning_at_a_corner_are_never_planned_onto_ends_next_to_each_other_at_once():
    """Each robot holds only the end it is on; no plan puts a robot on an end while another is on an end
    next to it. Two robots turning through the corner in opposite directions take turns."""
    from fleet_manager.missions.traffic import TrafficManager

    traffic = TrafficManager(CORNER)
    first = traffic.plan(B, 10, 0.6, "s", now=0.0)  # west along the north carriageway, then south
    second = traffic.plan(A, 0.6, -10, "e", now=0.0)  # north along the east carriageway, then east
    near = traffic.lanes.near
    holds = traffic.planner.table.holds
    clashes = [(u, v, h1, h2) for u in near for v in near[u]
               for h1 in holds.get(place_key(u), ()) for h2 in holds.get(place_key(v), ())
               if h1.robot != h2.robot and h1.start < h2.end and h2.start < h1.end]
    assert clashes == []
    assert overlaps(traffic.planner.table) == []
    alone_b = TrafficManager(CORNER).plan(B, 10, 0.6, "s", now=0.0).plan.arrival
    alone_a = TrafficManager(CORNER).plan(A, 0.6, -10, "e", now=0.0).plan.arrival
    assert first.plan.arrival == pytest.approx(alone_b)  # planned first: no wait
    assert second.plan.arrival > alone_a + 1.0  # waits for the corner to clear
    assert traffic.releasable("B") == len(first.waypoints)
    assert traffic.releasable("A") < len(second.waypoints)  # held back before the corner
    assert traffic.blockers("A") == {"B"}


def test_a_robot_stopping_on_anothers_way_makes_it_plan_again_and_floor_in_use_is_not_released():
    from fleet_manager.missions.traffic import TrafficManager

    traffic = TrafficManager(SINGLE_LANE)
    g = SINGLE_LANE.places
    where = {"B": (g["w_pocket"].x, g["w_pocket"].y)}
    traffic.locate = where.get
    route = traffic.plan(A, g["w_room"].x, g["w_room"].y, "e_room", now=0.0)
    assert traffic.releasable("A") == len(route.waypoints)
    traffic.park("B", g["w_pocket"].x, g["w_pocket"].y, now=0.0)  # B stands off the way: nothing changes
    assert traffic.reroute == set()
    traffic.progress("A", 2)
    where["B"] = (g["c"].x, g["c"].y + 0.5)
    traffic.park("B", g["c"].x, g["c"].y + 0.5, now=1.0)  # B stops on the corridor ahead of A
    assert traffic.reroute == {"A"}
    # a new route cannot be released onto the floor B stands on, whatever the plans say
    traffic.reroute.clear()
    traffic.planner.table.remove_robot("B")
    traffic.finish("A", g["b"].x, g["b"].y, now=2.0)
    traffic.planner.table.remove_robot("B")
    again = traffic.plan(A, g["b"].x, g["b"].y, "e_room", now=2.0)
    assert [w.name for w in again.waypoints] == ["b", "c", "e_hub", "e_room"]
    assert traffic.releasable("A") == 1  # b -> c passes within 0.5 m of B
    assert traffic.blockers("A") == {"B"}  # named as what A waits for (a cycle of waiting through B gives way)
    where["B"] = (g["c"].x, g["c"].y + 3.0)
    assert traffic.releasable("A") == len(again.waypoints)
    assert traffic.blockers("A") == set()


def test_only_a_cycle_of_waiting_robots_gives_way():
    from fleet_manager.missions.traffic import TrafficManager

    traffic = TrafficManager(SINGLE_LANE)
    g = SINGLE_LANE.places
    traffic.plan(A, g["w_room"].x, g["w_room"].y, "e_room", now=0.0)
    traffic.plan(B, g["w_pocket"].x, g["w_pocket"].y, "e_pocket", now=1.0)
    assert traffic.blockers("B") == {"A"} and traffic.blockers("A") == set()
    assert not traffic.should_yield("B")  # B waits behind A, which can move: no standstill
    assert traffic.waits_for_itself("B") == []


def test_a_place_a_later_lane_crosses_stays_held_after_the_robot_passed_it():
    """A robot that drove over a place and will cross it again on a later lane (e.g. to turn into a side
    lane from the far carriageway) keeps it until it has crossed it: nobody is released onto it meanwhile."""
    from fleet_manager.core.robots import Waypoint
    from fleet_manager.core.traffic import Visit
    from fleet_manager.missions.traffic import Route, TrafficManager

    traffic = TrafficManager(CORRIDOR)
    steps = [["v:w@n"], ["l:1", "v:m@n"], ["l:2", "v:m@s"], ["l:3", "v:m@n", "v:room"]]
    for step in steps:
        for resource in step:
            traffic.planner.table.add(resource, 0.0, 50.0, "A")
    plan = Plan("A", (Visit("w@n", 0, 1, ()), Visit("m@n", 5, 6, ()), Visit("m@s", 7, 8, ()),
                      Visit("room", 10, INF, ())))
    waypoints = [Waypoint(v.place, 0.0, 0.0, None, 0.0) for v in plan.visits]
    traffic.routes["A"] = Route(plan, waypoints, steps, [[] for _ in steps], released=4)

    def held(resource: str) -> bool:
        return any(h.robot == "A" for h in traffic.planner.table.holds.get(resource, ()))

    traffic.progress("A", 3)  # on m@s, heading into the room across m@n
    assert not held("v:w@n") and not held("l:1") and not held("l:2")
    assert held("v:m@n")  # crossed again on the way into the room
    assert held("v:m@s") and held("l:3") and held("v:room")


def test_the_place_left_behind_on_a_long_lane_is_free_once_the_robot_is_clear_of_it():
    from fleet_manager.missions.traffic import TrafficManager

    traffic = TrafficManager(SINGLE_LANE)
    g = SINGLE_LANE.places
    where = {"A": (g["w_hub"].x, g["w_hub"].y)}
    traffic.locate = where.get
    traffic.movers["A"] = A
    traffic.plan(A, g["w_room"].x, g["w_room"].y, "e_room", now=0.0)
    traffic.releasable("A")
    traffic.progress("A", 2)  # left w_hub, on the 4 m lane to b

    def held(place: str) -> bool:
        return any(h.robot == "A" for h in traffic.planner.table.holds.get(place_key(place), ()))

    where["A"] = (g["w_hub"].x + 0.5, 0.0)
    traffic.progress("A", 2)
    assert held("w_hub")  # still within a footprint and clearance of it
    where["A"] = (g["w_hub"].x + 1.5, 0.0)
    traffic.progress("A", 2)
    assert not held("w_hub") and held("b")


def test_a_robot_that_finds_no_route_makes_the_robots_waiting_for_it_plan_again():
    from fleet_manager.missions.traffic import TrafficManager

    traffic = TrafficManager(SINGLE_LANE)
    g = SINGLE_LANE.places
    traffic.plan(A, g["w_room"].x, g["w_room"].y, "e_room", now=0.0)
    traffic.plan(B, g["w_pocket"].x, g["w_pocket"].y, "e_pocket", now=0.0)  # behind A all the way
    traffic.releasable("A")
    traffic.progress("A", 3)  # A heads from b to c
    traffic.releasable("B")  # B follows to w_hub
    traffic.rerouted_at["B"] = 1.0  # B planned again a moment ago: A stopping does not make it plan again
    traffic.finish("A", g["b"].x, g["b"].y, now=2.0, moving_on=True)  # A stops on b to plan again
    assert traffic.reroute == set() and traffic.blockers("B") == {"A"}
    traffic.planner.park("C", "c", 2.0)  # C stands on A's only way on
    with pytest.raises(NoRoute):
        traffic.plan(A, g["b"].x, g["b"].y, "e_room", now=7.0)  # REROUTE_GAP_S after B last planned
    assert traffic.reroute == {"B"}  # B, waiting for A, plans again


def test_a_robot_stopping_between_two_places_stands_on_the_nearer_end_of_its_lane():
    from fleet_manager.missions.traffic import TrafficManager

    traffic = TrafficManager(SINGLE_LANE)
    g = SINGLE_LANE.places
    traffic.plan(A, g["w_room"].x, g["w_room"].y, "e_room", now=0.0)
    traffic.progress("A", 4)  # between c and e_hub
    x, y = g["c"].x + 1.0, 1.9  # pushed aside, next to e_pocket's lane end: its nearest place is not on the lane
    assert traffic.park("A", x, y, now=5.0) == "c"
    assert traffic.vertex_at(x, y, "A") == "c"  # it plans from there while it stands still
    assert traffic.vertex_at(g["w_pocket"].x, g["w_pocket"].y, "A") == "w_pocket"


def test_a_robot_stopping_on_a_sweep_after_its_route_stands_on_its_nearest_place():
    """A coverage task drives waypoints past the planned route (the sweep): a robot stopping there parks
    on the place nearest to it."""
    from fleet_manager.missions.traffic import TrafficManager

    traffic = TrafficManager(SINGLE_LANE)
    g = SINGLE_LANE.places
    route = traffic.plan(A, g["w_room"].x, g["w_room"].y, "e_hub", now=0.0)
    traffic.progress("A", len(route.waypoints) + 3)  # sweeping beyond e_hub
    traffic.finish("A", g["e_room"].x, g["e_room"].y + 0.2, now=30.0)
    assert traffic.parked_at("e_room") == "A"


def test_a_robot_an_obstacle_keeps_stopped_plans_again_a_few_times_then_its_drive_fails():
    from fleet_manager.missions.drive_watch import DriveWatch
    from fleet_manager.missions.traffic import OBSTACLE_REPLAN_S, OBSTACLE_REPLANS, REROUTE, TrafficManager

    traffic = TrafficManager(SINGLE_LANE)
    g = SINGLE_LANE.places
    now, verdicts = 0.0, []
    for _ in range(OBSTACLE_REPLANS + 1):  # each drive: stopped for an obstacle before its first waypoint
        route = traffic.plan(A, g["w_room"].x, g["w_room"].y, "e_room", now=now)
        watch = DriveWatch.start("A", route, len(route.waypoints), now)
        verdict: tuple[str, int | str] = ("", 0)
        while verdict[0] != "stop":
            now += 1.0
            verdict = watch.tick(traffic, 1, now, "waiting_obstacle")
        verdicts.append(verdict[1])
        traffic.finish("A", g["w_room"].x, g["w_room"].y, now, moving_on=verdict[1] == REROUTE)
    assert verdicts[:-1] == [REROUTE] * OBSTACLE_REPLANS
    assert verdicts[-1] == f"blocked by an obstacle for {(OBSTACLE_REPLANS + 1) * OBSTACLE_REPLAN_S:.0f} s"
    # a robot that gets past the obstacle starts counting afresh
    route = traffic.plan(A, g["w_room"].x, g["w_room"].y, "e_room", now=now)
    traffic.obstacle_replans["A"] = OBSTACLE_REPLANS
    watch = DriveWatch.start("A", route, len(route.waypoints), now)
    watch.tick(traffic, 2, now + 1.0, "driving")
    assert "A" not in traffic.obstacle_replans


def test_a_released_route_is_sent_again_until_the_drive_ends() -> None:
    """A release can reach an adapter before its task runs there (a VDA 5050 vehicle still canceling an older
    order): the whole route, once released, goes again every RESEND_S, so the robot never waits for it for ever."""
    from fleet_manager.missions.drive_watch import DriveWatch
    from fleet_manager.missions.traffic import RESEND_S, TrafficManager

    traffic = TrafficManager(SINGLE_LANE)
    g = SINGLE_LANE.places
    route = traffic.plan(A, g["w_room"].x, g["w_room"].y, "e_room", now=0.0)
    total = len(route.waypoints)
    watch = DriveWatch.start("A", route, total, 0.0)
    now, releases = 0.0, []
    while now < 10 * RESEND_S:
        now += RESEND_S / 4
        verdict, count = watch.tick(traffic, 1, now, "waiting_release")
        if verdict == "release":
            releases.append((now, count))
    assert releases and releases[-1][1] == total, releases
    full = [t for t, count in releases if count == total]
    assert len(full) >= 5 and all(b - a <= RESEND_S * 1.5 for a, b in itertools.pairwise(full)), full


def test_a_robot_whose_task_ended_at_its_goal_before_any_progress_stands_on_the_goal() -> None:
    """A drive can end at its goal before the robot's progress reached the fleet manager (a short step aside): it
    parks on the goal, not on the place it left. Held on the place it left, it was asked to make way from there
    once a second, sent to where it already stood, while the others' way stayed blocked."""
    from fleet_manager.missions.traffic import TrafficManager

    traffic = TrafficManager(SINGLE_LANE)
    g = SINGLE_LANE.places
    traffic.plan(A, g["w_room"].x, g["w_room"].y, "w_pocket", now=0.0)  # no progress reported on the way
    traffic.finish("A", g["w_pocket"].x, g["w_pocket"].y + 0.1, now=12.0)
    assert traffic.parked_at("w_pocket") == "A" and traffic.parked_at("w_room") is None
    assert traffic.vertex_at(g["w_pocket"].x, g["w_pocket"].y, "A") == "w_pocket"


def test_a_robot_gone_silent_on_its_route_holds_all_released_to_it_until_it_stands_again() -> None:
    """A robot that stops reporting may drive on to the end of what was released to it (a VDA 5050 vehicle
    its base): nobody is planned or released onto that floor until it is heard of again, standing."""
    from fleet_manager.missions.traffic import TrafficManager

    traffic = TrafficManager(SINGLE_LANE)
    g = SINGLE_LANE.places
    traffic.plan(A, g["w_room"].x, g["w_room"].y, "e_room", now=0.0)
    assert traffic.releasable("A") == 6
    traffic.plan(B, g["e_pocket"].x, g["e_pocket"].y, "w_pocket", now=0.0)  # through the corridor after A
    traffic.progress("A", 2)  # A drives the lane from w_hub to b
    traffic.lost("A", now=3.0)

    def held_by_a() -> set[str]:
        return {k for k, holds in traffic.planner.table.holds.items() if any(h.robot == "A" and h.end == INF
                                                                             for h in holds)}

    assert traffic.adrift == {"A"} and "A" not in traffic.routes
    places = {place_key(p) for p in ("w_hub", "b", "c", "e_hub", "e_room")}  # from where it was last heard of
    assert {k for k in held_by_a() if k.startswith("v:")} == places
    assert len(held_by_a() - places) == 4  # and the lanes between them
    assert traffic.reroute == {"B"}  # its way crosses what A may still drive
    traffic.finish("B", g["e_pocket"].x, g["e_pocket"].y, now=3.0)
    with pytest.raises(NoRoute):
        traffic.plan(B, g["e_pocket"].x, g["e_pocket"].y, "w_pocket", now=3.0)
    traffic.park("A", g["c"].x, g["c"].y, now=10.0)  # heard of again, standing on c
    assert traffic.adrift == set() and held_by_a() == {place_key("c")}


def test_a_plan_counts_the_caution_speed_where_the_robot_drives_it():
    """Caution lanes all along, and the caution radius around junctions, at the robot's caution speed: the times
    the robot's safety layer drives (a plan at full speed there ran late and held back every robot after it)."""
    graph = parse_navgraph({"site": "t", "places": {"a": {"x": 0, "y": 0}, "j": {"x": 10, "y": 0},
                                                    "b": {"x": 20, "y": 0}, "c": {"x": 10, "y": 5}},
                            "lanes": [{"from": "a", "to": "j"}, {"from": "j", "to": "b", "caution": True},
                                      {"from": "j", "to": "c"}]}, "t")
    careful = Mover("A", speed=1.0, clear_s=1.0, caution_speed=0.5, caution_radius=1.5)
    plain = TrafficPlanner(graph).plan(careful, "a", "b", now=0.0)
    assert plain.arrival == pytest.approx(10.0 + 20.0)  # no junction known: only the caution lane is slow
    planner = TrafficPlanner(graph, junctions={"j"})
    plan = planner.plan(careful, "a", "b", now=0.0)
    assert plan.arrival == pytest.approx(8.5 + 1.5 / 0.5 + 10.0 / 0.5)
    assert planner.plan(A, "a", "b", now=0.0).arrival == pytest.approx(20.0)  # no caution speed: as before
