"""The pilot watch in a real lab (`labfleet up`, one robot, a ROS domain of its own): an operator e-stop over
HTTP is listed by /interventions and /incidents, and the release closes the intervention."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import VENV_BIN, next_domain_id
from tests.lab_process import LabProcess, http

pytestmark = pytest.mark.ros


@pytest.fixture
def lab(tmp_path: Path) -> Iterator[LabProcess]:
    env = dict(os.environ)
    env["ROS_DOMAIN_ID"] = str(next_domain_id())
    env["ROS_AUTOMATIC_DISCOVERY_RANGE"] = "LOCALHOST"
    env["PATH"] = f"{VENV_BIN}:{env.get('PATH', '')}"
    process = LabProcess(env, tmp_path, robots=1)
    try:
        process.wait_ready(robots=1)
        yield process
    finally:
        process.stop()


def _until(what: str, get: Callable[[], Any], ok: Callable[[Any], bool], timeout: float = 30.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = get()
        if ok(value):
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} within {timeout} s; last seen: {value}")
        time.sleep(0.2)


def test_an_operator_estop_is_recorded_and_the_release_ends_it(lab):
    api = f"{lab.url}/api/v1"
    robot = "delivery_1"
    r = http.post(f"{api}/robots/{robot}/commands", json={"command": "estop", "reason": "test"}, timeout=10)
    assert r.status_code == 200 and r.json()["result"] == "ok", r.text
    _until("the robot reports estop", lambda: http.get(f"{api}/robots/{robot}").json()["mode"],
           lambda mode: mode == "estop")

    def listed(path: str) -> list[dict[str, Any]]:
        return http.get(f"{api}/{path}", params={"robot_id": robot} if path == "interventions" else None).json()

    (opened,) = _until("an intervention", lambda: listed("interventions"), lambda rows: len(rows) >= 1)
    assert (opened["kind"], opened["source"], opened["reason"], opened["open"]) == (
        "remote_assist", "automatic", "e-stop by operator", True)
    assert opened["sim_started_at"] is not None
    (incident,) = _until("an incident", lambda: listed("incidents"), lambda rows: len(rows) >= 1)
    assert (incident["kind"], incident["severity"], incident["robot_id"]) == ("estop", "SEV2", robot)
    assert incident["evidence"] and all(s["robot_id"] == robot for s in incident["evidence"])

    r = http.post(f"{api}/robots/{robot}/commands", json={"command": "release"}, timeout=10)
    assert r.status_code == 200 and r.json()["result"] == "ok", r.text
    (closed,) = _until("the intervention ends", lambda: listed("interventions"),
                       lambda rows: len(rows) == 1 and not rows[0]["open"])
    assert closed["id"] == opened["id"] and closed["sim_ended_at"] >= closed["sim_started_at"]
    assert len(listed("incidents")) == 1  # the ESTOP states that followed were the operator's: nothing new
