"""Where a robot steps aside to: a free parking spot (a charger when none is left) on the way to where it goes next.

A robot in another's way (idle and parked on it, or on a mission and waiting for its own route) moves to a
spot nobody holds. The spot is the one with the least path length robot -> spot -> its next goal on the
navgraph, so that stepping aside is part of its trip rather than a detour away from it (issue 17: the
straight-line nearest spot made deliveries of 103-128 m out of 58-89 m ones); a robot with no next goal takes
the spot nearest by path.

- The way to the spot passes no other robot standing still: a spot behind one (a charger up the charging bay's
  entry where an idle robot stands) is one the robot cannot plan a route to, so it would stay where it is, in
  the way, while the robot it makes way for waits for it until both fail. Only when every free spot lies behind
  a standing robot is one of those taken: the move-aside then waits for its own route and asks those robots to
  make way in turn.
- Parking spots come first, a charger only when no parking spot can be had: a robot sent aside stands on the
  charger without being sent to charge, so the charger is lost to the robots that do (the charger book counts
  it occupied) and to missions that dock there (a robot's way home to its own charger).

Dijkstra runs from the robot's place and to the goal, whatever the number of spots, so the choice stays cheap
on large sites.
"""

from __future__ import annotations

from collections.abc import Collection

from fleet_manager.core.navgraph import NavGraph
from fleet_manager.core.traffic import INF, place_key
from fleet_manager.missions.traffic import TrafficManager

ASIDE_KINDS = ("parking", "charger")  # in order of preference


def held_for_ever(traffic: TrafficManager, place: str) -> bool:
    """A robot stands on `place` with no end to its hold (parked there, or its route ends there)."""
    return any(h.end == INF for v in traffic.lanes.vertices_of(place)
               for h in traffic.planner.table.holds.get(place_key(v), ()))


def aside_spot(graph: NavGraph, traffic: TrafficManager, x: float, y: float, toward: str | None = None,
               avoid: Collection[str] = (), kinds: tuple[str, ...] = ASIDE_KINDS) -> str | None:
    """The free spot (not in `avoid`: the way the robot is to clear) a robot at (x, y) steps aside to: of those it
    reaches without passing a robot that stands still if there are any, of the first of `kinds` among them, the
    least path robot -> spot -> `toward`; without `toward` (or when no spot reaches it), the nearest by path.
    Ties go to the spot nearer the robot, then by name. None when no free spot can be reached."""
    start, _ = graph.nearest_place(x, y)
    held = {name for name in graph.places if name != start.name and held_for_ever(traffic, name)}
    free = [p for p in graph.places.values() if p.kind in kinds and p.name not in avoid and p.name not in held]
    from_robot = graph.distances_from(start.name, avoid=held)
    if not any(p.name in from_robot for p in free):  # every one behind a robot: its move-aside waits for them
        from_robot = graph.distances_from(start.name)
    reached = [p for p in free if p.name in from_robot]
    if not reached:
        return None
    kind = min((p.kind for p in reached), key=kinds.index)
    to_goal = graph.distances_to(toward) if toward is not None and toward in graph.places else {}

    def cost(name: str) -> tuple[bool, float, float, str]:
        return (name not in to_goal, round(from_robot[name] + to_goal.get(name, 0.0), 6), from_robot[name], name)

    return min((p.name for p in reached if p.kind == kind), key=cost)


__all__ = ["ASIDE_KINDS", "aside_spot", "held_for_ever"]
