"""A VDA 5050 vehicle in the console (issue 15), in Debian Chromium (playwright-core), against a lab of its own:
the smart factory's mixed fleet (`--fleet mixed --robots 6`: four VDA 5050 tuggers on the MQTT broker, two Nav2
robots; the fourteen other registered tuggers never report). Its VDA 5050 interface name is drawn at random, so
that no other test's vehicles are seen.

A material transport is submitted to the first VDA 5050 vehicle through the API, and a second one waits for it;
vda5050.e2e.mjs checks every robot's adapter label and that only robots with a pose are drawn, opens the
vehicle's detail (its factsheet's type, no errors, the note that VDA 5050 has no remote e-stop), pauses, resumes
and e-stops it from its row (the e-stop cancels its order: the first mission is held, paused with the reason),
releases it (the mission goes on and completes: issue 18, "holds, not failures"), and cancels the second mission
from the queue. The audit log then holds each command and the cancel.
"""

from __future__ import annotations

import math
import os
import time
import uuid
from collections.abc import Iterator

import pytest

from tests.browser.e2e import fresh_screenshots, run_e2e
from tests.conftest import VENV_BIN, next_domain_id
from tests.lab_process import LabProcess, http

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def mixed_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabProcess]:
    env = dict(os.environ)
    env["ROS_DOMAIN_ID"] = str(next_domain_id())
    env["ROS_AUTOMATIC_DISCOVERY_RANGE"] = "LOCALHOST"
    env["PATH"] = f"{VENV_BIN}:{env.get('PATH', '')}"
    env["LABFLEET_VDA5050_INTERFACE"] = f"uagv_b{uuid.uuid4().hex[:10]}"
    lab = LabProcess(env, tmp_path_factory.mktemp("mixed_lab"),
                     extra=("--site", "smart_factory", "--fleet", "mixed", "--robots", "6", "--speed", "3"))
    try:
        lab.wait_ready(robots=6)
        yield lab
    finally:
        lab.stop()


def _far_transport(places: list[dict], start: dict, taken: set[str]) -> dict[str, str]:
    """A material transport from the cart bay farthest from `start` to a line station: a long drive, so that the
    vehicle is still moving when it is paused and resumed."""
    def far(kind: str) -> dict:
        return max((p for p in places if p["kind"] == kind and p["name"] not in taken),
                   key=lambda p: math.dist((p["x"], p["y"]), (start["x"], start["y"])))

    pickup, station = far("pickup"), far("station")
    taken |= {pickup["name"], station["name"]}
    return {"pickup": pickup["name"], "station": station["name"]}


def _audit_with_cancel(api: str, mission_id: int, wait_s: float = 30.0) -> list[dict]:
    """The admin's audit entries once the cancel of `mission_id` is among them (or after `wait_s`): a request is
    recorded when it ends, and a cancel ends after the vehicle has dropped its order, which can be after the
    mission reads canceled."""
    deadline = time.monotonic() + wait_s
    while True:
        audit = http.get(f"{api}/audit", params={"username": "admin", "limit": 500}, timeout=10).json()
        if any(e["path"].endswith(f"/missions/{mission_id}/cancel") for e in audit) or time.monotonic() > deadline:
            return audit
        time.sleep(0.5)


def _final(api: str, mission_id: int, wait_s: float = 120.0) -> dict:
    deadline = time.monotonic() + wait_s
    while True:
        mission = http.get(f"{api}/missions/{mission_id}", timeout=10).json()
        if mission["status"] in ("completed", "failed", "canceled") or time.monotonic() > deadline:
            return mission
        time.sleep(1.0)


def test_a_vda5050_vehicle_is_commanded_from_the_console(mixed_lab):
    api = f"{mixed_lab.url}/api/v1"
    robots = http.get(f"{api}/robots", timeout=10).json()
    vehicles = [r for r in robots if r["adapter"] == "vda5050" and r["pose"] is not None]
    assert len(vehicles) == 4 and len([r for r in robots if r["adapter"] == "nav2"]) == 2, robots
    robot = vehicles[0]
    places = http.get(f"{api}/sites/smart_factory/map", timeout=10).json()["places"]
    taken: set[str] = set()
    missions = []
    for _ in range(2):  # the first is e-stopped; the second waits for the vehicle, then is canceled
        answer = http.post(f"{api}/missions", timeout=10, json={
            "template": "material_transport", "params": _far_transport(places, robot["pose"], taken),
            "robot_id": robot["id"]})
        assert answer.is_success, answer.text
        missions.append(answer.json()["id"])
    shots = fresh_screenshots("vda-detail.png", "vda-estop.png")

    run = run_e2e("vda5050.e2e.mjs", mixed_lab, 150, args=(robot["id"], *map(str, missions)))
    print(run.stdout)
    for shot in shots:
        assert shot.stat().st_size > 10_000, shot

    second = http.get(f"{api}/missions/{missions[1]}", timeout=10).json()
    assert second["status"] == "canceled", second
    first = _final(api, missions[0])
    assert first["status"] == "completed", first
    texts = [e["message"] for e in first["events"]]
    held = next(i for i, text in enumerate(texts) if text.startswith(f"held: robot {robot['id']} is e-stopped"))
    assert any(text.startswith("resumed: the e-stop") for text in texts[held:]), texts
    assert not any("retrying" in text or "attempt 2" in text for text in texts), texts  # not counted as an attempt
    audit = _audit_with_cancel(api, missions[1])
    commands = [e["action"] for e in audit
                if e["method"] == "COMMAND" and e["target"] == f"robot_id={robot['id']}" and e["outcome"] == "ok"]
    for command in ("pause", "resume", "estop", "release"):
        assert f"robot {command}" in commands, commands
    cancels = [e for e in audit if e["path"].endswith(f"/missions/{missions[1]}/cancel") and e["outcome"] == "ok"]
    assert cancels, [e["path"] for e in audit]
