"""Dead ends: places a robot can only leave the way it came (a room behind its door, a pickup at the end of a
single-lane corridor), with their approach, the places of one-lane passage that lead only to them.

One robot at a time is sent to a dead end. A second robot sent there while the first is still bound for it,
or stands in it or in its approach, can only wait in front of it, on the one way out the first needs, and
each waits for the other (issue 17: a robot in a room waiting for the pharmacy, the other at the pharmacy
waiting for the room, the single-lane corridor between them). The dispatcher keeps such a mission queued
until the dead end is free again; robots that only stand in the way (idle, parked) are sent aside instead.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from fleet_manager.core.navgraph import NavGraph


def dead_ends(graph: NavGraph) -> dict[str, frozenset[str]]:
    """Each place with a single neighbour (lanes either way counted once) -> itself and its approach: the places
    of two neighbours on the way back from it, up to the first place where ways part."""
    neighbours: dict[str, set[str]] = {name: set() for name in graph.places}
    for lane in graph.lanes:
        neighbours[lane.start].add(lane.end)
        neighbours[lane.end].add(lane.start)
    out: dict[str, frozenset[str]] = {}
    for end, around in neighbours.items():
        if len(around) != 1:
            continue
        region, previous, place = {end}, end, next(iter(around))
        while len(neighbours[place]) == 2 and place not in region:
            region.add(place)
            previous, place = place, next(iter(neighbours[place] - {previous}))
        out[end] = frozenset(region)
    return out


def taken_dead_ends(dead: dict[str, frozenset[str]], ahead: Iterable[Sequence[str]],
                    standing: Iterable[str]) -> set[str]:
    """The dead ends a running mission still drives to (`ahead`: each one's places to come), or in whose region
    a robot on a mission stands (`standing`: their nearest places)."""
    taken = {place for places in ahead for place in places if place in dead}
    stand = set(standing)
    taken.update(end for end, region in dead.items() if region & stand)
    return taken


def held_back(first_targets: Sequence[str | None], dead: dict[str, frozenset[str]], taken: set[str]) -> list[bool]:
    """For missions in queue order (their first places): True for those kept queued, their first place being a
    dead end that is taken, or that an earlier mission of the queue is given first (one per dead end)."""
    given = set(taken)
    out = []
    for target in first_targets:
        wait = target is not None and target in dead and target in given
        if target is not None and target in dead:
            given.add(target)
        out.append(wait)
    return out
