"""Issue 17's hospital deadlock in lock-step (fleet_manager/replay: simulator physics, robot agents, the fleet
manager's traffic layer, and the dispatcher's allocation and dead-end rule, no ROS): on pharmacy_wing
(scripts/gen_pharmacy_wing.py) the pickup is a dead end up a single-lane corridor and the rooms are dead ends
behind their doors. 24 deliveries to three rooms, submitted at once, to three robots: every one completes, no
robot touches another, and the robots sent out of the way are move-asides, not deliveries. (bench/dead_end.py
runs issue 17's 40 with 2, 3 and 4 robots; 24 keep this test near a minute.)"""

from __future__ import annotations

from pathlib import Path

import pytest

from fleet_manager.replay.dispatch_loop import DispatchLoop
from fleet_manager.replay.lockstep import Job, LockstepSite, load_site
from tests.site_scripts import load_script

REPO = Path(__file__).resolve().parents[2]
SITE = REPO / "sim_worlds" / "pharmacy_wing"
SCRIPTS = REPO / "scripts"
ROOMS = ("room_2", "room_3", "room_4")
DELIVERIES = 24
HORIZON_S = 6000.0  # sim seconds: far more than the deliveries need (about 2700 s), so a deadlock shows as a failure


@pytest.mark.timeout(900)  # a hang guard only: about 50 s alone, 136-149 s in `make test`, once over 300 s there
def test_deliveries_from_a_dead_end_pharmacy_all_complete_without_contact():
    world, fleet, graph = load_site(SITE)
    site = LockstepSite(world, fleet, graph, robots=["ward_1", "ward_2", "ward_3"])
    ended: list[Job] = []
    site.on_job_end = lambda driver, job: ended.append(job)
    loop = DispatchLoop(site)
    for k in range(DELIVERIES):
        loop.submit(k + 1, [("go_to", "pharmacy"), ("action", "load"), ("go_to", ROOMS[k % len(ROOMS)]),
                            ("action", "unload")])

    assert site.run_until(HORIZON_S, before_step=loop.tick, until=loop.done), "deliveries still open"
    outcomes = [(j.id, j.status, j.reason) for j in loop.jobs]
    assert outcomes == [(k + 1, "completed", "") for k in range(DELIVERIES)]
    assert site.stats.contacts == []
    asides = [j for j in ended if j.move_aside]
    assert all(j.id == 0 and len(j.steps) == 1 for j in asides)  # a move-aside is one drive, no delivery
    assert {j.id for j in ended if not j.move_aside} == set(range(1, DELIVERIES + 1))


def test_the_site_files_are_those_the_generator_writes(monkeypatch):
    module = load_script(monkeypatch, SCRIPTS / "gen_pharmacy_wing.py")
    for name, text in module.site_files().items():
        assert (SITE / name).read_text() == text, f"{name} is stale: run .venv/bin/python scripts/gen_pharmacy_wing.py"
