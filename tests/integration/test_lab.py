"""The whole lab as real processes (`labfleet up`: simulator, four agents, fleet manager) on a ROS
domain of its own: a delivery submitted with the CLI completes, and the websocket streams it."""

from __future__ import annotations

import asyncio
import math
import os
import subprocess
import threading
import time
from collections import defaultdict

import pytest
import websockets

from tests.conftest import VENV_BIN
from tests.lab_process import http, telemetry_frames

pytestmark = pytest.mark.ros


class Listener:
    """A websocket client on its own thread that records every frame with its arrival time."""

    def __init__(self, url: str) -> None:
        self.frames: list[tuple[float, dict]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=lambda: asyncio.run(self._run(url)), daemon=True)
        self._thread.start()

    async def _run(self, url: str) -> None:
        async with websockets.connect(url, max_size=2**22) as ws:
            while not self._stop.is_set():
                try:
                    text = await asyncio.wait_for(ws.recv(), timeout=0.2)
                except TimeoutError:
                    continue
                now = time.monotonic()
                self.frames.extend((now, f) for f in telemetry_frames(text))

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)


@pytest.fixture(autouse=True)
def robots_at_home(running_lab):
    """The lab is shared (the browser tests use it too): every robot starts the test at its home."""
    api = f"{running_lab.url}/api/v1"
    places = {p["name"]: p for p in http.get(f"{api}/sites/living_lab/map").json()["places"]}
    sent = []
    for robot in http.get(f"{api}/robots").json():
        home = places[HOME[robot["id"]]]
        if math.hypot(robot["pose"]["x"] - home["x"], robot["pose"]["y"] - home["y"]) > 0.3:
            step = {"dock": home["name"]} if home["kind"] == "charger" else {"go_to": home["name"]}
            sent.append(http.post(f"{api}/missions", json={"spec": {"steps": [step]}, "robot_id": robot["id"],
                                                           "priority": "high"}).json()["id"])
    for mission_id in sent:
        m = _wait(api, mission_id, lambda x: x["status"] in ("completed", "failed", "canceled"), 300)
        assert m["status"] == "completed", m


def test_delivery_runs_end_to_end(running_lab):
    lab = running_lab
    api = f"{lab.url}/api/v1"
    site = http.get(f"{api}/sites/living_lab/map").json()
    places = {p["name"]: p for p in site["places"]}
    template = next(t for t in http.get(f"{api}/mission-templates").json() if t["name"] == "delivery")
    assert {"pickup", "destination"} <= {p["name"] for p in template["params"]}
    pickup, destination = "pharmacy", "ward_bed_2"
    assert pickup in places and destination in places

    listener = Listener(lab.ws_url())
    try:
        time.sleep(1.0)
        cli = subprocess.Popen(
            [str(VENV_BIN / "labfleet"), "mission", "submit", "delivery", "--param", f"pickup={pickup}",
             "--param", f"destination={destination}", "--wait", "--timeout", "300", "--api", lab.url],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            env=dict(os.environ, LABFLEET_TOKEN=lab.login()["access_token"]),  # fresh: good for the whole wait
        )
        # the recipient confirms once the robot waits at the destination
        deadline, confirmed = time.monotonic() + 300, None
        while confirmed is None and time.monotonic() < deadline and cli.poll() is None:
            for m in http.get(f"{api}/missions", params={"status": "underway"}).json():
                if any(s["status"] == "awaiting_confirmation" for s in m["steps"]):
                    confirmed = http.post(f"{api}/missions/{m['id']}/confirm", json={"by": "ward nurse"}).json()
            time.sleep(0.5)
        out, err = cli.communicate(timeout=330)
        assert confirmed is not None, f"{out}\n{err}\n{lab.output()}"
        assert cli.returncode == 0, f"{out}\n{err}\n{lab.output()}"
        assert "completed" in out
        mission_id = int(out.split()[1].rstrip(":"))
        time.sleep(1.0)
    finally:
        listener.close()

    mission = http.get(f"{api}/missions/{mission_id}").json()
    assert mission["status"] == "completed"
    robot_id = mission["robot_id"]
    assert robot_id in ("delivery_1", "delivery_2")
    assert mission["route"][-1] == destination and pickup in mission["route"]
    assert mission["created_at"] and mission["assigned_at"] and mission["started_at"] and mission["ended_at"]
    assert mission["duration_s"] > 0 and mission["distance_m"] > 1.0
    statuses = [e["status"] for e in mission["events"] if e["kind"] == "status"]
    assert statuses == ["queued", "assigned", "underway", "completed"]
    assert all(s["status"] == "done" for s in mission["steps"])
    assert any(e["message"] == "step 3 confirmed by ward nurse" for e in mission["events"])

    # the robot stopped within 0.3 m of the destination (unload happens there)
    goal = places[destination]
    pose = http.get(f"{api}/robots/{robot_id}").json()["pose"]
    assert math.hypot(pose["x"] - goal["x"], pose["y"] - goal["y"]) <= 0.3
    final = mission["final_pose"]
    assert math.hypot(final["x"] - goal["x"], final["y"] - goal["y"]) <= 0.3

    # websocket: one mission_event per status change, robot_state at >= 2 Hz for every robot
    events = [f for _, f in listener.frames if f["type"] == "mission_event" and f["mission_id"] == mission_id]
    assert [f["status"] for f in events] == statuses
    times = defaultdict(list)
    for t, f in listener.frames:
        if f["type"] == "robot_state":
            times[f["id"]].append(t)
    assert set(times) == {"delivery_1", "delivery_2", "guide_1", "amr_1", "cleaner_1", "arm_1"}
    for rid, ts in times.items():
        span = ts[-1] - ts[0]
        assert span > 10, rid
        rate = (len(ts) - 1) / span
        assert rate >= 2.0, f"{rid}: {rate:.2f} robot_state frames/s"



def _submit(api: str, body: dict) -> int:
    m = http.post(f"{api}/missions", json=body, timeout=5).json()
    assert "id" in m, m
    return int(m["id"])


def _await(api: str, mission_id: int, timeout: float = 240) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        m = http.get(f"{api}/missions/{mission_id}", timeout=5).json()
        if m["status"] in ("completed", "failed", "canceled"):
            return m
        time.sleep(0.5)
    robots = [(r["id"], r["mode"], round(r["pose"]["x"], 2), round(r["pose"]["y"], 2))
              for r in http.get(f"{api}/robots", timeout=5).json()]
    raise AssertionError(f"mission {mission_id} did not end in {timeout} s: {m['status']}, steps "
                         f"{[s['status'] for s in m['steps']]}; robots {robots}")


HOME = {"delivery_1": "charger_1", "delivery_2": "charger_2", "guide_1": "charger_3", "amr_1": "charger_4",
        "cleaner_1": "parking", "arm_1": "workshop_parking"}


def _home(api: str, *rids: str) -> None:
    """Send robots back to their charger or parking spot, out of everybody's way, all at once."""
    sent = {}
    for rid in rids:
        step = {"dock": HOME[rid]} if HOME[rid].startswith("charger") else {"go_to": HOME[rid]}
        sent[rid] = _submit(api, {"spec": {"steps": [step | {"retries": 1}]}, "robot_id": rid})
    places = {p["name"]: p for p in http.get(f"{api}/sites/living_lab/map").json()["places"]}
    for rid, mission_id in sent.items():
        charge = _await(api, mission_id)
        assert charge["status"] == "completed" and charge["route"][-1] == HOME[rid], charge
        pose = http.get(f"{api}/robots/{rid}").json()["pose"]
        place = places[HOME[rid]]
        assert math.hypot(pose["x"] - place["x"], pose["y"] - place["y"]) <= 0.3


@pytest.mark.timeout(900)
def test_templates_run_to_completion(running_lab):
    """guide_tour, material_transport, security_patrol, floor_cleaning and pick_and_place, all at once on five
    robots (traffic management keeps them apart), then every robot goes home. delivery runs to completion
    in test_delivery_runs_end_to_end."""
    api = f"{running_lab.url}/api/v1"
    ids = {
        "tour": _submit(api, {"template": "guide_tour", "params": {
            "meet": "ward_station", "first_stop": "ward_bed_2", "second_stop": "warehouse",
            "end": "warehouse_shelf"}}),
        "transport": _submit(api, {"template": "material_transport", "params": {"station": "warehouse_shelf"}}),
        "patrol": _submit(api, {"template": "security_patrol",
                                "params": {"start": "bay_entry", "via": "ward_station", "rounds": 1}}),
        "cleaning": _submit(api, {"template": "floor_cleaning", "params": {"zone": "lab_floor"}}),
        "pick": _submit(api, {"template": "pick_and_place", "params": {"pick_at": "workshop_station_2",
                                                                       "place_at": "workshop_station_1"}}),
    }
    done = {name: _await(api, mission_id, 600) for name, mission_id in ids.items()}

    tour = done["tour"]
    assert tour["status"] == "completed" and tour["robot_id"] == "guide_1", tour
    announced = [s for s in tour["steps"] if s.get("action") == "announce"]
    assert len(announced) == 4 and all(s["status"] == "done" for s in announced)
    assert announced[1]["params"]["message"] == "this is the ward_bed_2"

    transport = done["transport"]
    assert transport["status"] == "completed" and transport["robot_id"] == "amr_1", transport
    assert transport["route"][-1] == "warehouse_shelf" and "warehouse" in transport["route"]

    patrol = done["patrol"]
    assert patrol["status"] == "completed", patrol
    assert [s["target"] for s in patrol["steps"]] == ["bay_entry", "ward_station", "bay_entry"]

    cleaning = done["cleaning"]
    assert cleaning["status"] == "completed" and cleaning["robot_id"] == "cleaner_1", cleaning
    assert [s.get("action") or s["kind"] for s in cleaning["steps"]] == ["brush_on", "cover", "brush_off"]
    assert "lab_floor (coverage)" in cleaning["route"] and cleaning["distance_m"] > 20

    pick = done["pick"]
    assert pick["status"] == "completed" and pick["robot_id"] == "arm_1", pick
    assert [s.get("action") for s in pick["steps"] if s["kind"] == "action"] == ["pick", "place"]
    _home(api, *sorted({m["robot_id"] for m in done.values()}))


def _wait(api: str, mission_id: int, predicate, timeout: float = 120) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        m = http.get(f"{api}/missions/{mission_id}", timeout=5).json()
        if predicate(m):
            return m
        time.sleep(0.2)
    raise AssertionError(f"mission {mission_id}: condition not met in {timeout} s: {m['status']}")


def test_pause_resume_and_emergency_preemption(running_lab):
    api = f"{running_lab.url}/api/v1"
    # a low-priority walk for guide_1, paused and resumed on the way
    low = http.post(f"{api}/missions", json={"spec": {"steps": [{"go_to": "ward_station"}, {"wait": 2},
                                                                 {"go_to": "bay_entry"}]},
                                             "robot_id": "guide_1", "priority": "low"}).json()
    _wait(api, low["id"], lambda m: m["status"] == "underway")
    time.sleep(2.0)
    paused = http.post(f"{api}/missions/{low['id']}/pause").json()
    assert paused["status"] == "paused", paused
    time.sleep(2.0)
    robot = http.get(f"{api}/robots/guide_1").json()
    assert robot["mode"] == "paused" and abs(robot["velocity"]["linear"]) < 0.01, robot
    assert http.post(f"{api}/missions/{low['id']}/pause").status_code == 409
    assert http.post(f"{api}/missions/{low['id']}/resume").json()["status"] == "underway"
    # an emergency that only guide_1 can take preempts the low mission, which goes back to the queue
    urgent = http.post(f"{api}/missions", json={"spec": {"steps": [{"go_to": "bay_entry"}]},
                                                "robot_id": "guide_1", "priority": "emergency"}).json()
    urgent = _wait(api, urgent["id"], lambda m: m["status"] in ("completed", "failed", "canceled"), 180)
    assert urgent["status"] == "completed", urgent
    low = _wait(api, low["id"], lambda m: m["status"] in ("completed", "failed", "canceled"), 240)
    messages = [e["message"] for e in low["events"] if e["kind"] == "status"]
    assert f"preempted by emergency mission {urgent['id']}" in messages, messages
    assert [e["status"] for e in low["events"] if e["kind"] == "status"] == [
        "queued", "assigned", "underway", "paused", "underway", "queued", "assigned", "underway", "completed"]
    assert low["status"] == "completed", low
    _home(api, "guide_1")

