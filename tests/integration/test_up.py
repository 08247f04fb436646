"""`labfleet up` as a supervisor: a child that dies is reported, its robot goes offline and its mission
fails; Ctrl-C stops everything and leaves no process behind."""

from __future__ import annotations

import os
import signal
import time

import httpx
import pytest

from tests.lab_process import LabProcess, child_pid, http

pytestmark = pytest.mark.ros


def test_dead_child_is_reported_and_ctrl_c_leaves_nothing(ros_env, tmp_path):
    lab = LabProcess(ros_env | {"LABFLEET_ROBOT_TIMEOUT_S": "3"}, tmp_path, robots=2)
    try:
        lab.wait_ready(robots=2)
        api = f"{lab.url}/api/v1"
        body = {"spec": {"steps": [{"go_to": "workshop_station_1"}]}, "robot_id": "delivery_2"}
        mission = http.post(f"{api}/missions", json=body, timeout=5).json()
        deadline = time.monotonic() + 30
        while mission["status"] != "underway" and time.monotonic() < deadline:
            time.sleep(0.2)
            mission = http.get(f"{api}/missions/{mission['id']}", timeout=2).json()
        assert mission["status"] == "underway", mission
        time.sleep(2.0)
        os.kill(child_pid(lab.domain, b"labfleet-agent", b"__ns:=/delivery_2"), signal.SIGKILL)
        killed = time.monotonic()
        while mission["status"] == "underway" and time.monotonic() < killed + 15:
            time.sleep(0.2)
            mission = http.get(f"{api}/missions/{mission['id']}", timeout=2).json()
        # policy: a mission whose robot stops reporting fails, naming why, within the timeout (3 s here)
        assert mission["status"] == "failed", mission
        assert "stopped reporting" in mission["failure_reason"], mission
        assert time.monotonic() - killed < 3 + 2.0
        deadline = time.monotonic() + 20
        mode = None
        while time.monotonic() < deadline:
            mode = http.get(f"{lab.url}/api/v1/robots/delivery_2", timeout=2).json()["mode"]
            if mode == "offline" and any("delivery_2" in line and "exited with code -9" in line for line in lab.lines):
                break
            time.sleep(0.5)
        assert mode == "offline", lab.output()
        assert any("delivery_2" in line and "exited with code -9" in line for line in lab.lines), lab.output()
        assert http.get(f"{lab.url}/api/v1/robots/delivery_1", timeout=2).json()["mode"] in ("idle", "charging")
    finally:
        code = lab.stop()
    assert code == 0, lab.output()
    assert lab.leftovers == [], f"processes left behind: {lab.leftovers}"
    assert any("stopped 4 processes" in line for line in lab.lines), lab.output()


def _until(api: str, mission_id: int, done, timeout: float) -> dict:
    deadline = time.monotonic() + timeout
    mission: dict = {}
    while time.monotonic() < deadline:
        try:
            mission = http.get(f"{api}/missions/{mission_id}", timeout=2).json()
            if done(mission):
                return mission
        except httpx.HTTPError:
            pass  # the fleet manager is restarting
        time.sleep(0.2)
    raise AssertionError(f"mission {mission_id} not there in {timeout} s: {mission}")


def test_requeue_policy_puts_the_mission_of_a_dead_agent_back_in_the_queue(ros_env, tmp_path):
    lab = LabProcess(ros_env | {"LABFLEET_ROBOT_TIMEOUT_S": "3", "LABFLEET_OFFLINE_POLICY": "requeue"}, tmp_path,
                     robots=2)
    try:
        lab.wait_ready(robots=2)
        api = f"{lab.url}/api/v1"
        body = {"spec": {"steps": [{"go_to": "workshop_station_1"}]}, "robot_id": "delivery_2"}
        mission = http.post(f"{api}/missions", json=body, timeout=5).json()
        _until(api, mission["id"], lambda m: m["status"] == "underway", 30)
        time.sleep(2.0)
        os.kill(child_pid(lab.domain, b"labfleet-agent", b"__ns:=/delivery_2"), signal.SIGKILL)
        mission = _until(api, mission["id"], lambda m: m["status"] != "underway", 15)
        assert mission["status"] == "queued" and mission["robot_id"] is None, mission
        assert all(s["status"] == "pending" for s in mission["steps"])
        assert mission["events"][-1]["message"] == "requeued: robot delivery_2 stopped reporting for 3 s"
    finally:
        lab.stop()
    assert lab.leftovers == []


def test_a_killed_fleet_manager_is_restarted_and_carries_the_mission_on(ros_env, tmp_path):
    lab = LabProcess(ros_env, tmp_path, robots=2, extra=("--speed", "2"))
    try:
        lab.wait_ready(robots=2)
        api = f"{lab.url}/api/v1"
        body = {"spec": {"steps": [{"go_to": "c_ward"}, {"go_to": "workshop_station_1"}]}, "robot_id": "delivery_1"}
        mission = http.post(f"{api}/missions", json=body, timeout=5).json()
        before = _until(api, mission["id"], lambda m: m["steps"][1]["status"] == "active", 60)
        os.kill(child_pid(lab.domain, b"fleet_manager", b"-m"), signal.SIGKILL)
        killed = time.monotonic()
        after = _until(api, mission["id"], lambda m: any("reconciled" in e["message"] for e in m["events"]), 30)
        print(f"reconciled {time.monotonic() - killed:.1f} s after the kill")
        assert after["events"][: len(before["events"])] == before["events"]  # nothing lost
        done = _until(api, mission["id"], lambda m: m["status"] in ("completed", "failed", "canceled"), 120)
        assert done["status"] == "completed", done
        assert done["route"][-1] == "workshop_station_1"
        statuses = [e["status"] for e in done["events"] if e["kind"] == "status"]
        assert statuses == ["queued", "assigned", "underway", "completed"]
        assert any("manager exited with code -9: restarting it (1 of 5)" in line for line in lab.lines), lab.output()
        robot = http.get(f"{api}/robots/delivery_1", timeout=2).json()
        assert robot["current_mission_id"] is None
    finally:
        lab.stop()
    assert lab.leftovers == []


def test_a_robot_low_on_battery_is_sent_to_a_free_charger_and_charges(ros_env, tmp_path):
    # cleaner_1 starts at 85 % on a parking spot; with the threshold at 86 % it must charge, but the four
    # chargers are taken (robots 1-4 start on them) until delivery_1 leaves charger_1 for the pharmacy
    lab = LabProcess(ros_env | {"LABFLEET_CHARGE_THRESHOLD_PCT": "86"}, tmp_path, robots=5, extra=("--speed", "2"))
    try:
        lab.wait_ready(robots=5)
        api = f"{lab.url}/api/v1"
        time.sleep(3.0)
        missions = http.get(f"{api}/missions", timeout=5).json()
        assert not [m for m in missions if m["robot_id"] == "cleaner_1"], missions  # no free charger: it waits
        away = http.post(f"{api}/missions", json={"spec": {"steps": [{"go_to": "pharmacy"}]},
                                                  "robot_id": "delivery_1"}, timeout=5).json()
        deadline = time.monotonic() + 120
        charge = None
        while charge is None and time.monotonic() < deadline:
            charge = next((m for m in http.get(f"{api}/missions", timeout=5).json()
                           if m["template"] == "charge" and m["robot_id"] == "cleaner_1"), None)
            time.sleep(0.5)
        assert charge is not None, lab.output()
        assert charge["params"] == {"charger": "charger_1"} and charge["priority"] == "high"
        charge = _until(api, charge["id"], lambda m: m["status"] in ("completed", "failed", "canceled"), 180)
        assert charge["status"] == "completed", charge
        assert any("battery 85% below 86%, charger charger_1 reserved" in e["message"] for e in charge["events"]), \
            charge["events"]
        deadline = time.monotonic() + 20
        robot = {}
        # the mission completes on the task result; the robot's next state report (5 Hz) says charging
        while time.monotonic() < deadline and not (robot.get("battery", {}).get("charging")
                                                   and robot.get("mode") == "charging"):
            robot = http.get(f"{api}/robots/cleaner_1", timeout=2).json()
            time.sleep(0.5)
        assert robot["battery"]["charging"] and robot["mode"] == "charging", robot
        assert _until(api, away["id"], lambda m: m["status"] != "underway", 120)["status"] == "completed"
    finally:
        lab.stop()
    assert lab.leftovers == []


def test_cancel_during_motion_stops_the_robot_and_frees_it(ros_env, tmp_path):
    """In a lab of its own at 1x: how fast the robot stops is measured in sim time, and at 2x the fleet
    manager's reaction (wall time) would count double."""
    lab = LabProcess(ros_env, tmp_path, robots=2)
    try:
        lab.wait_ready(robots=2)
        _cancel_and_free(f"{lab.url}/api/v1")
    finally:
        lab.stop()
    assert lab.leftovers == []


def _cancel_and_free(api: str) -> None:
    m = http.post(f"{api}/missions", json={"spec": {"steps": [{"go_to": "workshop_station_1"}]}}).json()
    deadline = time.monotonic() + 60
    robot = None
    while time.monotonic() < deadline:  # wait until it is underway and driving at speed
        m = http.get(f"{api}/missions/{m['id']}").json()
        if m["status"] == "underway":
            robot = http.get(f"{api}/robots/{m['robot_id']}").json()
            if robot["velocity"]["linear"] > 0.5:
                break
        time.sleep(0.1)
    assert robot is not None and robot["velocity"]["linear"] > 0.5, m
    rid = robot["id"]
    t_cancel = http.get(f"{api}/health").json()["sim_time"]
    first = http.post(f"{api}/missions/{m['id']}/cancel").json()
    assert first["status"] == "canceled"

    stopped_at = None
    deadline = time.monotonic() + 10
    while stopped_at is None and time.monotonic() < deadline:
        state = http.get(f"{api}/robots/{rid}").json()
        if abs(state["velocity"]["linear"]) < 0.01 and state["stamp"] >= t_cancel:
            stopped_at = state["stamp"]
        time.sleep(0.05)
    assert stopped_at is not None, "the robot did not stop"
    print(f"{rid} stopped {stopped_at - t_cancel:.2f} s of sim time after the cancel")
    assert stopped_at - t_cancel <= 1.0, f"stopped {stopped_at - t_cancel:.2f} s of sim time after the cancel"

    second = http.post(f"{api}/missions/{m['id']}/cancel").json()
    assert second == first  # a no-op returning the same final state
    state = http.get(f"{api}/robots/{rid}").json()
    assert state["current_mission_id"] is None
    # freed: the same robot takes the next mission (home to its charger) and completes it
    home = {"delivery_1": "charger_1", "delivery_2": "charger_2"}[rid]
    back = http.post(f"{api}/missions", json={"template": "charge", "params": {"charger": home}, "robot_id": rid})
    back = _until(api, back.json()["id"], lambda x: x["status"] in ("completed", "failed", "canceled"), 120)
    assert back["status"] == "completed" and back["robot_id"] == rid, back
