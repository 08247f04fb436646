"""The console's pilot dashboard in Debian Chromium (playwright-core), against a real lab (issue 5, acceptance 5).

Records are made through the API: a pilot with targets, a mission the lab drives to completed and one that is
canceled, an intervention on the completed mission (ended), and two incidents. pilots.e2e.mjs then opens the
dashboard from the Pilots view and checks what is drawn against the API: the KPI table (values and verdicts of
`/kpis`), the three charts of the HTML report rendered by plotly.js (loaded only then), the per-robot table, the
interventions and incidents; it opens an intervention from the dashboard's form and ends it, and saves
var/screenshots/pilot_dashboard.png.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from tests.browser.e2e import REPO, SHOTS, e2e_env

pytestmark = pytest.mark.browser
DESTINATION = "ward_bed_2"  # a few metres from delivery_1's charger


def _ok(r: httpx.Response) -> dict:
    assert r.is_success, f"{r.request.method} {r.request.url}: {r.status_code} {r.text}"
    return r.json()


def _wait_for(api: httpx.Client, mission_id: int, lab, timeout: float = 180.0) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        mission = _ok(api.get(f"/missions/{mission_id}"))
        if mission["status"] in ("completed", "failed", "canceled"):
            return mission
        time.sleep(0.5)
    raise AssertionError(f"mission {mission_id} did not end in {timeout} s:\n{lab.output()}")


def _make_records(api: httpx.Client, lab) -> dict:
    pilot = _ok(api.post("/pilots", json={
        "name": "Ward night deliveries", "site": "living_lab", "description": "Browser test of the pilot dashboard.",
        "period_start": "2026-01-01T00:00:00Z", "period_end": "2027-01-01T00:00:00Z",
        "robots": ["delivery_1", "delivery_2", "guide_1"],
        "targets": {"success_rate": 0.9, "mdbi_km": 0.001, "incidents_per_100km.SEV0": 0, "mean_duration_s": 600},
    }))
    pid = pilot["id"]
    done = _ok(api.post("/missions", json={"spec": {"steps": [{"go_to": DESTINATION}]}, "robot_id": "delivery_1",
                                           "pilot_id": pid}))
    queued = _ok(api.post("/missions", json={"spec": {"steps": [{"go_to": "pharmacy"}]}, "robot_id": "delivery_2",
                                             "pilot_id": pid, "not_before": "2099-01-01T00:00:00Z"}))
    _ok(api.post(f"/missions/{queued['id']}/cancel"))
    ended = _wait_for(api, done["id"], lab)
    assert ended["status"] == "completed", ended

    intervention = _ok(api.post("/interventions", json={
        "kind": "remote_assist", "robot_id": "delivery_1", "mission_id": done["id"], "pilot_id": pid,
        "reason": "the ward door did not open"}))
    _ok(api.post(f"/interventions/{intervention['id']}/end", json={"distance_m": 1.5}))
    places = {p["name"]: p for p in _ok(api.get("/sites/living_lab/map"))["places"]}
    for severity, kind, place in (("SEV2", "near_miss", "ward_station"), ("SEV3", "blocked", "c_ward")):
        _ok(api.post("/incidents", json={
            "severity": severity, "kind": kind, "robot_id": "delivery_1", "mission_id": done["id"], "pilot_id": pid,
            "place": {"x": places[place]["x"], "y": places[place]["y"], "name": place},
            "description": f"{kind.replace('_', ' ')} by {place}"}))
    return pilot


def test_pilot_dashboard_draws_the_report_charts(running_lab):
    assert shutil.which("node"), "node is required for the browser test"
    assert Path("/usr/bin/chromium").exists(), "Debian chromium is required (make setup installs it)"
    with running_lab.client() as api:
        pilot = _make_records(api, running_lab)
    SHOTS.mkdir(parents=True, exist_ok=True)
    shot = SHOTS / "pilot_dashboard.png"
    shot.unlink(missing_ok=True)
    run = subprocess.run(["node", str(REPO / "web_console" / "e2e" / "pilots.e2e.mjs"), running_lab.url, str(SHOTS),
                          pilot["id"]], cwd=REPO / "web_console", capture_output=True, text=True,
                         env=e2e_env(running_lab), timeout=300)
    assert run.returncode == 0, f"{run.stdout}\n{run.stderr}\n{running_lab.output()}"
    assert shot.stat().st_size > 50_000
