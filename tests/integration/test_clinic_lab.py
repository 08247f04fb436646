"""Issue 20, acceptance 5: the clinic (a hospital ward floor the fleet had never seen) runs as a live lab with
reactive pedestrians, real processes: `labfleet up --site clinic` at 4x, its staff and visitors walking by
people.yaml (social force). Each of the three ward robots makes a delivery (pharmacy to a room, a room to the
lab, the lab to the nurse station) and hands over. Every delivery completes, no robot moves into a person
(the simulator's contacts, as incidents), and the fleet manager follows where the simulator's people are
(`/sim/pedestrians`), so that near misses are measured against where people really are."""

from __future__ import annotations

import pytest

from tests.lab_process import LabProcess, http, run_deliveries

pytestmark = pytest.mark.ros

# (pick up at, deliver to): medicine to a room, samples from a room to the lab, results to the nurse station
DELIVERIES = (("pharmacy", "room_2"), ("room_5", "lab"), ("lab", "nurse_station"))


@pytest.mark.timeout(600)
def test_the_clinic_delivers_among_reactive_people(tmp_path, ros_env):
    lab = LabProcess(ros_env, tmp_path, extra=("--site", "clinic", "--speed", "4"))
    try:
        lab.wait_ready(robots=3)
        api = f"{lab.url}/api/v1"
        missions = run_deliveries(api, DELIVERIES, 420, hand_over="handover")
        incidents = http.get(f"{api}/incidents", params={"limit": 1000}, timeout=10).json()
    finally:
        lab.stop()
    assert lab.leftovers == []
    assert [m["status"] for m in missions] == ["completed"] * len(DELIVERIES), [
        (m["id"], m["status"], [(s.get("status"), s.get("message")) for s in m["steps"]]) for m in missions]
    collisions = [i for i in incidents if i["kind"] == "collision"]
    assert collisions == [], collisions
    log = "\n".join(lab.lines)
    assert "pedestrians: 2 actors reactive, crowds visitor (up to 6, 90 an hour)" in log  # people.yaml was read
    assert "pilot watch: following the simulator's pedestrians" in log  # /sim/pedestrians reached the watch
