"""Two Nav2 robots and two agent robots swap ends of a single-lane aisle (issue 14, acceptance 3): the west of
smart_factory with the south and north roads closed east of aisle 08 (lane closures, as an operator would), so
the 30 m single-lane aisle is the only way between the two ends. One traffic manager sequences all four through
it, whatever protocol each robot speaks: every mission completes, with no contact. It is also the lab test of
issue 4's swap (acceptance 1), which tests/traffic/test_lockstep_factory.py checks in lock-step."""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from tests.conftest import REPO, VENV_BIN, next_domain_id
from tests.lab_process import LabProcess, http

pytestmark = pytest.mark.ros

SITE = "aisle_swap"
START = {"nav2_a": ("s_05.5", "nav2"), "agent_b": ("s_10.5", "labfleet"),
         "nav2_c": ("n_11", "nav2"), "agent_d": ("n_06", "labfleet")}
GOAL = {"nav2_a": "n_06", "agent_d": "s_05.5", "agent_b": "n_11", "nav2_c": "s_10.5"}


def make_site(sites: Path) -> None:
    """smart_factory's world, navgraph and zones, with a fleet of four tuggers at the two ends of aisle 08."""
    source = REPO / "sim_worlds" / "smart_factory"
    site = sites / SITE
    site.mkdir(parents=True)
    for name in ("world.sdf", "navgraph.yaml", "zones.yaml"):
        shutil.copy(source / name, site / name)
    fleet = yaml.safe_load((source / "fleet.yaml").read_text())
    places = yaml.safe_load((source / "navgraph.yaml").read_text())["places"]
    south = {"yaw": 1.5708}
    fleet["site"] = SITE
    fleet["robots"] = [{"id": rid, "model": "tugger", "robot_api": api, "battery": 95,
                        "spawn": {"x": places[at]["x"], "y": places[at]["y"],
                                  "yaw": south["yaw"] if at.startswith("s_") else -south["yaw"]}}
                       for rid, (at, api) in START.items()]
    (site / "fleet.yaml").write_text(yaml.safe_dump(fleet, sort_keys=False))


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabProcess]:
    sites = tmp_path_factory.mktemp("sites")
    make_site(sites)
    env = dict(os.environ, ROS_DOMAIN_ID=str(next_domain_id()), ROS_AUTOMATIC_DISCOVERY_RANGE="LOCALHOST",
               PATH=f"{VENV_BIN}:{os.environ.get('PATH', '')}", LABFLEET_SITES_DIR=str(sites))
    lab = LabProcess(env, tmp_path_factory.mktemp("swap"), extra=("--site", SITE, "--speed", "3"))
    try:
        lab.wait_ready(robots=4)
        yield lab
    finally:
        lab.stop()


def test_nav2_and_agent_robots_swap_ends_of_a_single_lane_aisle(lab: LabProcess) -> None:
    api = f"{lab.url}/api/v1"
    robots = {r["id"]: r for r in http.get(f"{api}/robots").json()}
    assert {rid: r["adapter"] for rid, r in robots.items()} == {rid: a for rid, (_, a) in START.items()}
    for lane in ("south_04", "north_04"):  # the roads east of the aisle: the aisle is the only way
        r = http.post(f"{api}/sites/{SITE}/lanes/{lane}/close")
        assert r.status_code == 200 and r.json()["closed"], r.text
    # all four dispatched in one round: none stands idle on another's way (it would be sent to make way)
    assert http.post(f"{api}/dispatch/pause").status_code == 200
    ids = {}
    for rid, goal in GOAL.items():
        r = http.post(f"{api}/missions", json={"spec": {"steps": [{"go_to": goal}]}, "robot_id": rid})
        assert r.status_code == 201, r.text
        ids[rid] = r.json()["id"]
    assert http.post(f"{api}/dispatch/resume").status_code == 200
    deadline = time.monotonic() + 420
    done: dict[str, dict] = {}
    while len(done) < len(ids) and time.monotonic() < deadline:
        for rid, mission_id in ids.items():
            m = http.get(f"{api}/missions/{mission_id}").json()
            if m["status"] in ("completed", "failed", "canceled"):
                done[rid] = m
        time.sleep(1.0)
    assert len(done) == len(ids), f"not finished: {set(ids) - set(done)}\n{lab.output()}"
    assert all(m["status"] == "completed" for m in done.values()), {
        rid: (m["status"], m["failure_reason"]) for rid, m in done.items()}
    every = [(m["id"], m["robot_id"], m["status"], m["route"], m["final_pose"])
             for m in http.get(f"{api}/missions?limit=100").json()]
    for rid, m in done.items():  # each went through the aisle
        assert {"a08_12", "a08_30"} <= set(m["route"]), (rid, m["route"], every)
    assert not [line for line in lab.lines if "contact:" in line], lab.output()
    incidents = http.get(f"{api}/incidents").json()
    assert not [i for i in incidents if i["kind"] == "collision"], incidents
