"""Where a robot steps aside to: a free parking spot or charger on the way to where it goes next.

A robot in another's way (idle and parked on it, or on a mission and waiting for its own route) moves to a
spot nobody holds. The spot is the one with the least path length robot -> spot -> its next goal on the
navgraph, so that stepping aside is part of its trip rather than a detour away from it (issue 17: the
straight-line nearest spot made deliveries of 103-128 m out of 58-89 m ones); a robot with no next goal takes
the spot nearest by path. Two Dijkstra runs (from the robot's place, and to the goal) whatever the number of
spots, so the choice stays cheap on large sites.
"""

from __future__ import annotations

from collections.abc import Collection

from fleet_manager.core.navgraph import NavGraph
from fleet_manager.core.traffic import INF, place_key
from fleet_manager.missions.traffic import TrafficManager

ASIDE_KINDS = ("parking", "charger")


def held_for_ever(traffic: TrafficManager, place: str) -> bool:
    """A robot stands on `place` with no end to its hold (parked there)."""
    return any(h.end == INF for v in traffic.lanes.vertices_of(place)
               for h in traffic.planner.table.holds.get(place_key(v), ()))


def aside_spot(graph: NavGraph, traffic: TrafficManager, x: float, y: float, toward: str | None = None,
               avoid: Collection[str] = (), kinds: tuple[str, ...] = ASIDE_KINDS) -> str | None:
    """The free spot of `kinds` (not in `avoid`: the way the robot is to clear) a robot at (x, y) steps aside to:
    the least path robot -> spot -> `toward`; without `toward` (or when no spot reaches it), the nearest by
    path. Ties go to the spot nearer the robot, then by name. None when no free spot can be reached."""
    start, _ = graph.nearest_place(x, y)
    from_robot = graph.distances_from(start.name)
    to_goal = graph.distances_to(toward) if toward is not None and toward in graph.places else {}
    best: tuple[float, float, str] | None = None
    fallback: tuple[float, float, str] | None = None
    for place in graph.places.values():
        name = place.name
        if place.kind not in kinds or name in avoid or name not in from_robot or held_for_ever(traffic, name):
            continue
        near = (from_robot[name], 0.0, name)
        fallback = near if fallback is None or near < fallback else fallback
        if name in to_goal:
            key = (round(from_robot[name] + to_goal[name], 6), from_robot[name], name)
            best = key if best is None or key < best else best
    chosen = best or fallback
    return chosen[2] if chosen is not None else None


__all__ = ["ASIDE_KINDS", "aside_spot", "held_for_ever"]
