"""The navgraph's caution level for robots whose own safety does not hear of it (Nav2, VDA 5050): speed caps on the
lane into a caution waypoint and on the lanes into and out of a junction (core/robots.py, with_caution_caps). The
VDA 5050 adapter's test sees the cap as an edge's maxSpeed."""

from __future__ import annotations

from fleet_manager.core.robots import TaskRequest, Waypoint, with_caution_caps


def caps(route: tuple[Waypoint, ...], speed: float = 0.5) -> list[float]:
    return [w.max_speed for w in with_caution_caps(TaskRequest("t", 1, route), speed).route]


def test_caution_lanes_and_the_lanes_at_a_junction_are_capped_and_a_lower_cap_stays() -> None:
    route = (Waypoint("a", 0, 0), Waypoint("door", 1, 0, caution=True), Waypoint("c", 2, 0),
             Waypoint("cross", 3, 0, junction=True), Waypoint("e", 4, 0, max_speed=0.3), Waypoint("f", 5, 0),
             Waypoint("g", 6, 0, max_speed=0.8, caution=True))
    assert caps(route) == [0.0, 0.5, 0.0, 0.5, 0.3, 0.0, 0.5]


def test_a_route_without_caution_places_or_a_model_without_a_caution_speed_is_left_as_it_is() -> None:
    plain = TaskRequest("t", 1, (Waypoint("a", 0, 0), Waypoint("b", 1, 0, max_speed=0.7)))
    assert with_caution_caps(plain, 0.5) is plain
    cautious = TaskRequest("t", 1, (Waypoint("a", 0, 0), Waypoint("b", 1, 0, caution=True)))
    assert with_caution_caps(cautious, 0.0) is cautious
