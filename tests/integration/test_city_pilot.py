"""Issue 5, acceptance 2: a simulated sidewalk pilot on city_block (3 delivery robots, 30 deliveries to the
block's doors, the built-in simulator at 5x with its pedestrians) produces a report whose numbers match
the database, with at least one automatic intervention and one automatic incident.

An operator e-stops a courier mid-drive from the API (the way the console does): that opens an automatic
intervention and records an e-stop incident. The numbers of the report (the HTML page, its CSV and the
KPIs it shows) are then checked against the lab's own SQLite database, read with sqlite3.
"""

from __future__ import annotations

import collections
import csv
import io
import json
import os
import random
import re
import sqlite3
import time
from datetime import UTC, datetime, timedelta

import pytest

from tests.conftest import VENV_BIN, next_domain_id
from tests.lab_process import LabProcess, http

pytestmark = pytest.mark.ros

TERMINAL = {"completed", "failed", "canceled"}
MISSIONS = 30
ROBOTS = ["courier_1", "courier_2", "courier_3"]


def delivery(rng: random.Random, doors: list[str]) -> dict:
    """A sidewalk delivery as an inline spec: the courier drives its parcel to a door round the block and
    hands it over (a public interaction). Short missions keep the 30 of them affordable in the suite."""
    return {"spec": {"steps": [{"go_to": rng.choice(doors)}, {"action": "handover"}]}}


def estop_a_moving_courier(api: str, deadline: float) -> str:
    """E-stop the first courier seen driving a mission, hold it 3 s, then release and resume it."""
    while time.monotonic() < deadline:
        moving = [r for r in http.get(f"{api}/robots", timeout=5).json()
                  if r["mode"] == "moving" and r["current_mission_id"] is not None]
        if moving:
            rid = moving[0]["id"]
            r = http.post(f"{api}/robots/{rid}/commands", json={"command": "estop"}, timeout=10)
            assert r.status_code == 200, r.text
            time.sleep(3.0)
            for command in ("release", "resume"):
                r = http.post(f"{api}/robots/{rid}/commands", json={"command": command}, timeout=10)
                assert r.status_code == 200, r.text
            return str(rid)
        time.sleep(0.5)
    raise AssertionError("no courier was seen driving a mission")


@pytest.mark.timeout(1500)
def test_city_block_pilot_report_matches_the_database(tmp_path):
    env = dict(os.environ, ROS_DOMAIN_ID=str(next_domain_id()), ROS_AUTOMATIC_DISCOVERY_RANGE="LOCALHOST",
               PATH=f"{VENV_BIN}:{os.environ.get('PATH', '')}")
    lab = LabProcess(env, tmp_path, extra=("--site", "city_block", "--speed", "5"))
    try:
        lab.wait_ready(robots=3)
        api = f"{lab.url}/api/v1"
        now = datetime.now(UTC)
        pilot = http.post(f"{api}/pilots", json={
            "name": "Sidewalk delivery, city block", "site": "city_block", "robots": ROBOTS,
            "period_start": (now - timedelta(hours=1)).isoformat(), "period_end": (now + timedelta(days=1)).isoformat(),
            "targets": {"success_rate": 0.9, "autonomy_by_time": 0.95}}, timeout=10)
        assert pilot.status_code == 201, pilot.text
        pilot_id = pilot.json()["id"]

        places = collections.defaultdict(list)
        for p in http.get(f"{api}/sites/city_block/map", timeout=10).json()["places"]:
            places[p.get("kind")].append(p["name"])
        rng = random.Random(20261130)
        ids = []
        for _ in range(MISSIONS):
            r = http.post(f"{api}/missions", json=delivery(rng, places["pickup"] + places["dropoff"])
                          | {"pilot_id": pilot_id}, timeout=10)
            assert r.status_code == 201, r.text
            ids.append(r.json()["id"])

        deadline = time.monotonic() + 1200
        stopped = estop_a_moving_courier(api, time.monotonic() + 120)
        missions: list[dict] = []
        while time.monotonic() < deadline:
            missions = [m for m in http.get(f"{api}/missions", params={"limit": 1000}, timeout=10).json()
                        if m["id"] in ids]
            if len(missions) == MISSIONS and all(m["status"] in TERMINAL for m in missions):
                break
            time.sleep(2.0)
        assert all(m["status"] in TERMINAL for m in missions), [
            (m["id"], m["status"]) for m in missions if m["status"] not in TERMINAL]

        answer = http.get(f"{api}/pilots/{pilot_id}/kpis", timeout=30).json()
        html = http.get(f"{api}/pilots/{pilot_id}/report", timeout=60)
        assert html.status_code == 200 and "text/html" in html.headers["content-type"]
        rows = list(csv.DictReader(io.StringIO(http.get(f"{api}/pilots/{pilot_id}/report.csv", timeout=30).text)))
    finally:
        lab.stop()
    assert lab.leftovers == []

    db = sqlite3.connect(tmp_path / "lab.db")
    db.row_factory = sqlite3.Row
    stored = {r["id"]: r for r in db.execute("SELECT * FROM mission WHERE pilot_id = ?", (pilot_id,))}
    interventions = db.execute("SELECT * FROM intervention WHERE pilot_id = ?", (pilot_id,)).fetchall()
    incidents = db.execute("SELECT * FROM incident WHERE pilot_id = ?", (pilot_id,)).fetchall()
    print(f"city pilot: {collections.Counter(r['status'] for r in stored.values())}; "
          f"{len(interventions)} interventions, {len(incidents)} incidents "
          f"({collections.Counter((i['kind'], i['severity']) for i in incidents)})")

    # the evidence the issue asks for: automatic records, among them the e-stop of `stopped`
    automatic = [i for i in interventions if i["source"] == "automatic"]
    assert any(i["robot_id"] == stopped for i in automatic), [dict(i) for i in interventions]
    assert any(i["source"] == "automatic" for i in incidents), [dict(i) for i in incidents]

    # the KPIs the report shows are the database's numbers
    k = answer["kpis"]
    by_status = collections.Counter(r["status"] for r in stored.values())
    assert set(stored) == set(ids)
    assert k["missions_total"] == MISSIONS
    assert (k["missions_completed"], k["missions_failed"], k["missions_canceled"]) == (
        by_status["completed"], by_status["failed"], by_status["canceled"])
    assert k["success_rate"] == pytest.approx(by_status["completed"] / MISSIONS)
    distance_m = sum(r["distance_m"] or 0.0 for r in stored.values())
    assert distance_m > 100 and k["distance_km"] == pytest.approx(distance_m / 1000)
    assert k["interventions"] == len(interventions)
    severities = collections.Counter(i["severity"] for i in incidents)
    assert k["incidents"] == {s: severities[s] for s in ("SEV0", "SEV1", "SEV2", "SEV3")}
    handovers = sum(1 for r in stored.values() for step in json.loads(r["steps"])
                    if step.get("action") == "handover" and step.get("status") == "done")
    assert k["public_interactions"] == handovers
    energy_wh = sum(r["energy_wh"] or 0.0 for r in stored.values())
    assert energy_wh > 0 and k["energy_wh_per_km"] == pytest.approx(energy_wh / (distance_m / 1000))
    shown = dict(re.findall(r'data-kpi="([^"]+)" data-value="([^"]*)"', html.text))
    for name in ("missions_total", "missions_completed", "distance_km", "interventions"):
        assert float(shown[name]) == pytest.approx(k[name]), name

    # the CSV holds every run as stored
    assert sorted(int(r["id"]) for r in rows) == sorted(stored)
    for row in rows:
        mission = stored[int(row["id"])]
        assert row["status"] == mission["status"] and row["robot_id"] == (mission["robot_id"] or "")
        assert float(row["distance_m"] or 0) == pytest.approx(mission["distance_m"] or 0.0)
