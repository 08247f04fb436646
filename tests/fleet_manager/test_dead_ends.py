"""Dead ends and the dispatcher's one-robot-at-a-time rule for them (core/dead_ends.py)."""

from __future__ import annotations

from pathlib import Path

from fleet_manager.core.dead_ends import dead_ends, held_back, taken_dead_ends
from fleet_manager.core.navgraph import load_navgraph

SITE = Path(__file__).resolve().parents[2] / "sim_worlds" / "pharmacy_wing"


def test_a_dead_end_comes_with_the_one_lane_approach_that_leads_only_to_it():
    dead = dead_ends(load_navgraph(SITE / "navgraph.yaml"))
    assert dead["pharmacy"] == {"pharmacy", "service"}  # up the single-lane service corridor
    assert dead["room_2"] == {"room_2"}  # behind its door, off the corridor
    assert dead["parking_1"] == {"parking_1"}
    assert "c_service" not in dead and "service" not in dead and "entrance" in dead


def test_missions_to_a_taken_dead_end_stay_queued_one_per_dead_end():
    dead = dead_ends(load_navgraph(SITE / "navgraph.yaml"))
    # a robot loaded at the pharmacy still stands in the service corridor; another is bound for room_3
    taken = taken_dead_ends(dead, [("room_2",), ("room_3",)], ["service", "c_room_3"])
    assert taken == {"pharmacy", "room_2", "room_3"}
    assert held_back(["pharmacy", "room_4", "room_4", "c_room_1", None], dead, taken) == [
        True, False, True, False, False]
    assert held_back(["pharmacy", "pharmacy"], dead, set()) == [False, True]  # the first in the queue goes
