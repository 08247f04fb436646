"""Soak (`make test-long`): the six-robot mixed fleet of the living lab runs 12 random missions from every
template, with the simulator at 4x real time. Every mission ends terminal, and no robot is left holding a
finished one."""

from __future__ import annotations

import collections
import os
import random
import threading
import time

import httpx
import pytest

from tests.conftest import VENV_BIN, next_domain_id
from tests.lab_process import LabProcess, http

pytestmark = pytest.mark.ros

TERMINAL = {"completed", "failed", "canceled"}
MISSIONS = 12  # every template at least once, two per robot


TEMPLATES = ("delivery", "guide_tour", "security_patrol", "floor_cleaning", "material_transport", "pick_and_place",
             "charge")


def random_mission(rng: random.Random, places: dict[str, list[str]], template: str) -> dict:
    """Parameters drawn at random; places from the kinds the template expects."""
    rooms, stations, drops = places["room"], places["station"], places["dropoff"]
    params: dict = {
        "delivery": lambda: {"pickup": "pharmacy", "destination": rng.choice(drops), "confirm_timeout": 120},
        "guide_tour": lambda: dict(zip(["meet", "first_stop", "second_stop", "end"],
                                       rng.sample(rooms + drops, 4), strict=True)),
        "security_patrol": lambda: {"start": rng.choice(rooms), "via": rng.choice(rooms + stations), "rounds": 1},
        "floor_cleaning": lambda: {"zone": rng.choice(["lab_floor", "lobby_floor"])},
        "material_transport": lambda: {"station": rng.choice(stations)},
        "pick_and_place": lambda: dict(zip(["pick_at", "place_at"], rng.sample(stations, 2), strict=True)),
        "charge": lambda: {"charger": rng.choice(places["charger"])},
    }[template]()
    priority = rng.choices(["low", "normal", "high"], weights=[1, 4, 1])[0]
    return {"template": template, "params": params, "priority": priority}


def confirmer(api: str, stop: threading.Event) -> None:
    """The recipients: confirm every delivery waiting at its destination."""
    while not stop.is_set():
        try:
            for m in http.get(f"{api}/missions", params={"status": "underway"}, timeout=5).json():
                if any(s["status"] == "awaiting_confirmation" for s in m["steps"]):
                    http.post(f"{api}/missions/{m['id']}/confirm", json={"by": "soak test"}, timeout=5)
        except httpx.HTTPError:
            pass
        stop.wait(1.0)


@pytest.mark.long  # `make test-long`: three minutes of a busy lab, left out of `make test` for its 20 minutes
@pytest.mark.timeout(1500)
def test_random_missions_on_a_mixed_fleet(tmp_path):
    env = dict(os.environ, ROS_DOMAIN_ID=str(next_domain_id()), ROS_AUTOMATIC_DISCOVERY_RANGE="LOCALHOST",
               PATH=f"{VENV_BIN}:{os.environ.get('PATH', '')}")
    lab = LabProcess(env, tmp_path, extra=("--speed", "4"))
    stop = threading.Event()
    try:
        lab.wait_ready(robots=6)
        api = f"{lab.url}/api/v1"
        site = http.get(f"{api}/sites/living_lab/map").json()
        places = collections.defaultdict(list)
        for p in site["places"]:
            places[p["kind"]].append(p["name"])
        places["station"].remove("warehouse_shelf")  # keep the tugger's cart route and the arm's apart a little
        rng = random.Random(20261125)
        ids = []
        templates = [*rng.sample(TEMPLATES, len(TEMPLATES)), *rng.choices(TEMPLATES, k=MISSIONS - len(TEMPLATES))]
        for template in templates:  # every template at least once, the rest at random
            r = http.post(f"{api}/missions", json=random_mission(rng, places, template), timeout=10)
            assert r.status_code == 201, r.text
            ids.append(r.json()["id"])
        threading.Thread(target=confirmer, args=(api, stop), daemon=True).start()
        deadline = time.monotonic() + 1200
        missions: list[dict] = []
        while time.monotonic() < deadline:
            missions = [m for m in http.get(f"{api}/missions", params={"limit": 1000}, timeout=10).json()
                        if m["id"] in ids]
            if len(missions) == MISSIONS and all(m["status"] in TERMINAL for m in missions):
                break
            time.sleep(2.0)
        by_status = collections.Counter(m["status"] for m in missions)
        by_template = collections.Counter((m["template"], m["status"]) for m in missions)
        reasons = collections.Counter(m["failure_reason"] for m in missions if m["status"] == "failed")
        print(f"soak: {dict(by_status)}; by template {dict(by_template)}; failures {dict(reasons)}")
        assert all(m["status"] in TERMINAL for m in missions), [
            (m["id"], m["template"], m["status"]) for m in missions if m["status"] not in TERMINAL]
        time.sleep(2.0)
        robots = http.get(f"{api}/robots", timeout=10).json()
        held = {r["id"]: r["current_mission_id"] for r in robots if r["current_mission_id"] is not None}
        finished = {m["id"] for m in missions}
        assert not {rid: mid for rid, mid in held.items() if mid in finished}, held
        assert all(r["mode"] != "offline" for r in robots)
        # traffic standstills still fail a share of the drives under this random load (README, Limitations):
        # a floor, so that a fleet that stops working is caught
        assert by_status["completed"] >= MISSIONS // 4, f"only {by_status['completed']} of {MISSIONS} completed"
    finally:
        stop.set()
        lab.stop()
    assert lab.leftovers == []
