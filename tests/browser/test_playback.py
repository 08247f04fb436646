"""The console plays back a recorded mission (issue 6, acceptance 5), in Debian Chromium (playwright-core), against
a real lab: a short mission (drive, wait, drive) is run to completed, so the lab records it; once its recording is
closed, GET /missions/{id}/playback answers with the robot's trajectory and the mission's events, and
playback.e2e.mjs opens the playback from the mission's detail view, checks the trajectory and the robot marker
drawn, plays (the time cursor moves), seeks to where the robot drives (the marker moves between two moments),
changes the speed, seeks by clicking an event, pauses, and saves var/screenshots/playback.png mid-playback.

Then the same mission is re-simulated from the console (replay.e2e.mjs): "Re-simulate" in the mission's detail
view opens the playback at its re-simulation panel; a bad override is refused in the form; "Re-simulate" posts
the replay and polls it until done; the comparison table (robot, outcome, duration, distance, energy, Fréchet and
DTW path deviation), the step events and the KPIs are checked against GET /replays/{id}, the re-simulated
trajectory is drawn dashed over the recorded one with a ghost marker that follows the timeline; a what-if run at
half the top speed takes longer. Screenshots: replay_comparison.png (as recorded), replay_whatif.png.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from itertools import pairwise
from pathlib import Path

import httpx
import pytest

from tests.browser.e2e import REPO, SHOTS, e2e_env
from tests.lab_process import http

pytestmark = pytest.mark.browser
STEPS = [{"go_to": "ward_station"}, {"wait": 2}, {"go_to": "ward_bed_2"}]


def _ok(r: httpx.Response) -> dict:
    assert r.is_success, f"{r.request.method} {r.request.url}: {r.status_code} {r.text}"
    return r.json()


def _until(what: str, probe, lab, timeout: float) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        answer = probe()
        if answer is not None:
            return answer
        time.sleep(0.5)
    raise AssertionError(f"{what}: not within {timeout} s\n{lab.output()}")


def _recorded_mission(api: httpx.Client, lab) -> tuple[dict, dict]:
    mission = _ok(api.post("/missions", json={"spec": {"steps": STEPS}, "robot_id": "delivery_1"}))
    mid = mission["id"]

    def ended() -> dict | None:
        m = _ok(api.get(f"/missions/{mid}"))
        return m if m["status"] in ("completed", "failed", "canceled") else None

    mission = _until(f"mission {mid} ends", ended, lab, 240)
    assert mission["status"] == "completed", mission

    def playback() -> dict | None:
        r = api.get(f"/missions/{mid}/playback")
        if r.status_code == 409:  # the recording is being closed, off the event loop
            return None
        return _ok(r)

    return mission, _until(f"the recording of mission {mid} is ready", playback, lab, 60)


@pytest.fixture(scope="module")
def recorded(running_lab) -> tuple[dict, dict]:
    """A mission run to completed in the lab, and its playback once its recording is closed."""
    with running_lab.client() as api:
        return _recorded_mission(api, running_lab)


def test_a_recorded_mission_plays_back_in_the_console(running_lab, recorded):
    assert shutil.which("node"), "node is required for the browser test"
    assert Path("/usr/bin/chromium").exists(), "Debian chromium is required (make setup installs it)"
    mission, play = recorded
    with running_lab.client() as api:
        assert api.get("/missions/999999/playback").status_code == 404

    # what the console is given: delivery_1's drive and the mission's status events, on the sim clock
    assert (play["mission_id"], play["robot_id"], play["status"], play["time_source"]) == (
        mission["id"], "delivery_1", "completed", "sim")
    track = next(r for r in play["robots"] if r["id"] == "delivery_1")
    samples = track["samples"]
    assert len(samples) > 20 and all(a[0] < b[0] for a, b in pairwise(samples))
    assert play["start"] <= samples[0][0] and samples[-1][0] <= play["end"]
    assert {"moving"} <= {s[5] for s in samples}
    statuses = [text for _, text, kind in play["events"] if kind == "status"]
    assert statuses[-1].startswith("completed") and any(s.startswith("underway") for s in statuses), statuses
    places = {p["name"]: p for p in _ok(http.get(f"{running_lab.url}/api/v1/sites/living_lab/map"))["places"]}
    end = samples[-1]
    assert abs(end[1] - places["ward_bed_2"]["x"]) < 0.6 and abs(end[2] - places["ward_bed_2"]["y"]) < 0.6, end

    SHOTS.mkdir(parents=True, exist_ok=True)
    shot = SHOTS / "playback.png"
    shot.unlink(missing_ok=True)
    run = subprocess.run(["node", str(REPO / "web_console" / "e2e" / "playback.e2e.mjs"), running_lab.url,
                          str(SHOTS), str(mission["id"])],
                         cwd=REPO / "web_console", capture_output=True, text=True, env=e2e_env(running_lab),
                         timeout=300)
    assert run.returncode == 0, f"{run.stdout}\n{run.stderr}\n{running_lab.output()}"
    assert shot.stat().st_size > 50_000


def test_a_recorded_mission_is_re_simulated_and_compared_in_the_console(running_lab, recorded):
    assert shutil.which("node"), "node is required for the browser test"
    mission, _ = recorded
    SHOTS.mkdir(parents=True, exist_ok=True)
    shots = [SHOTS / "replay_comparison.png", SHOTS / "replay_whatif.png"]
    for shot in shots:
        shot.unlink(missing_ok=True)
    run = subprocess.run(["node", str(REPO / "web_console" / "e2e" / "replay.e2e.mjs"), running_lab.url,
                          str(SHOTS), str(mission["id"])],
                         cwd=REPO / "web_console", capture_output=True, text=True, env=e2e_env(running_lab),
                         timeout=600)
    print(run.stdout)
    assert run.returncode == 0, f"{run.stdout}\n{run.stderr}\n{running_lab.output()}"
    for shot in shots:
        assert shot.stat().st_size > 50_000, shot

    # what the console showed is stored: both replays of the mission, done, with their comparison
    with running_lab.client() as api:
        ids = [int(line.split()[-1]) for line in run.stdout.splitlines() if line.startswith("replay id ")]
        assert len(ids) == 2, run.stdout
        replays = [_ok(api.get(f"/replays/{i}")) for i in ids]
    assert [(r["mission_id"], r["status"]) for r in replays] == [(mission["id"], "done")] * 2
    as_recorded, slower = (r["comparison"]["missions"][0] for r in replays)
    assert replays[0]["overrides"] == {} and replays[1]["overrides"] == {"max_speed": 0.5}
    assert as_recorded["replay"]["outcome"] == "completed" and as_recorded["path"]["frechet_m"] < 1.5
    assert slower["replay"]["duration_s"] > as_recorded["replay"]["duration_s"]
