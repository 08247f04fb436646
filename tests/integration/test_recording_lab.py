"""Acceptance 1 of issue 6, end to end: the whole lab as real processes (`labfleet up`, the built-in
simulator, two agents, the fleet manager) records a mission while it runs; the file downloaded from
GET /missions/{id}/recording reads back with rosbags and with mcap_ros2, with the expected topics,
non-zero message counts and the mission metadata."""

from __future__ import annotations

import json
import math
import time
import warnings
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import pytest
from mcap.reader import make_reader
from rosbags.highlevel import AnyReader

from fleet_manager.replay.initial_state import InitialState
from tests.lab_process import LabProcess

with warnings.catch_warnings():  # mcap-ros2-support 0.6.0 warns on import that this module is deprecated
    warnings.simplefilter("ignore", DeprecationWarning)
    from mcap_ros2.reader import read_ros2_messages

pytestmark = pytest.mark.ros

ROBOT = "delivery_1"
TOPICS = {"/fleet/robot_states", "/mission/events", f"/{ROBOT}/odom", f"/{ROBOT}/cmd_vel",
          f"/{ROBOT}/battery_state", f"/{ROBOT}/scan"}


def _poll(fn: Any, done: Any, timeout: float, what: str, lab: LabProcess) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = fn()
        if done(value):
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: {value}\n{lab.output()}")
        time.sleep(0.3)


def test_a_mission_run_is_recorded_and_downloads_as_mcap(ros_env: dict[str, str], tmp_path: Path) -> None:
    lab = LabProcess(ros_env, tmp_path / "lab", robots=2, extra=("--speed", "2", "--seed", "5"))
    try:
        lab.wait_ready(robots=2)
        api = f"{lab.url}/api/v1"
        places = {p["name"]: p for p in httpx.get(f"{api}/sites/living_lab/map").json()["places"]}
        spec = {"steps": [{"go_to": "bay_1"}, {"wait": 2}]}
        mission = httpx.post(f"{api}/missions", json={"spec": spec, "robot_id": ROBOT}).json()
        mission_id = mission["id"]
        mission = _poll(lambda: httpx.get(f"{api}/missions/{mission_id}").json(),
                        lambda m: m["status"] in ("completed", "failed", "canceled"), 180, "mission", lab)
        assert mission["status"] == "completed", mission
        got = _poll(lambda: httpx.get(f"{api}/missions/{mission_id}/recording", timeout=30),
                    lambda r: r.status_code != 409, 60, "recording still open", lab)
        assert got.status_code == 200, got.text
        assert got.headers["content-disposition"] == f'attachment; filename="mission-{mission_id}.mcap"'
        info = httpx.get(f"{api}/missions/{mission_id}/recording/info").json()
    finally:
        lab.stop()
    assert not lab.leftovers, f"processes left running: {lab.leftovers}"
    troubles = [line for line in lab.lines if "record" in line.lower() and ("error" in line.lower()
                                                                          or "exception" in line.lower())]
    assert not troubles, "\n".join(troubles)
    path = tmp_path / f"mission-{mission_id}.mcap"
    path.write_bytes(got.content)

    # -- rosbags ------------------------------------------------------------------------------------
    with AnyReader([path]) as reader:
        counts = {c.topic: c.msgcount for c in reader.connections}
        decoded = [(c.topic, t, reader.deserialize(raw, c.msgtype)) for c, t, raw in reader.messages()]
    print(f"mission {mission_id}: {path.stat().st_size} bytes, {counts}")
    assert set(counts) == TOPICS and all(n > 0 for n in counts.values()), counts
    assert counts == info["segments"][0]["messages"]
    by_topic: dict[str, list[tuple[int, Any]]] = {}
    for topic, t, msg in decoded:
        by_topic.setdefault(topic, []).append((t, msg))
    assert {m.id for _, m in by_topic["/fleet/robot_states"]} == {ROBOT}  # the robots of the mission only
    assert counts["/fleet/robot_states"] >= 10 and counts[f"/{ROBOT}/odom"] >= 20
    start_ns = round(mission["sim_started_at"] * 1e9)
    end_ns = round(mission["sim_ended_at"] * 1e9)
    for topic in TOPICS - {"/mission/events"}:  # sim time, within the mission (a robot's clock may lag a little)
        times = [t for t, _ in by_topic[topic]]
        assert start_ns - 2e9 <= times[0] and times[-1] <= end_ns + 2e9, (topic, start_ns, times[0], times[-1], end_ns)
    goal = places["bay_1"]
    odom = [m for _, m in by_topic[f"/{ROBOT}/odom"]]
    assert odom[-1].header.frame_id == f"{ROBOT}/odom"
    last = odom[-1].pose.pose.position
    assert math.hypot(last.x - goal["x"], last.y - goal["y"]) < 0.5  # it ends where the mission took it
    assert any(abs(m.linear.x) > 0.05 for _, m in by_topic[f"/{ROBOT}/cmd_vel"])
    assert 0.0 < by_topic[f"/{ROBOT}/battery_state"][0][1].percentage <= 1.0
    scans = [t for t, _ in by_topic[f"/{ROBOT}/scan"]]
    assert len({t // 500_000_000 for t in scans}) == len(scans) >= 2  # downsampled: one per 0.5 s of sim time
    events = [json.loads(m.data) for _, m in by_topic["/mission/events"]]
    statuses = [e["status"] for e in events if e["type"] == "mission_event"]
    assert statuses == ["queued", "assigned", "underway", "completed"]
    assert {e["mission_id"] for e in events} == {mission_id}

    # -- mcap_ros2: the same file, its own decoder --------------------------------------------------
    msgs = list(read_ros2_messages(path))
    assert Counter(m.channel.topic for m in msgs) == counts
    assert next(m.ros_msg for m in msgs if m.channel.topic == "/fleet/robot_states").id == ROBOT

    # -- the mission metadata, inside the file ------------------------------------------------------
    with path.open("rb") as f:
        mcap = make_reader(f)
        assert mcap.get_header().profile == "ros2"
        meta = next(m.metadata for m in mcap.iter_metadata() if m.name == "labfleet_mission")
    assert (meta["mission_id"], meta["site"], meta["robots"], meta["segment"]) == (str(mission_id), "living_lab",
                                                                                   ROBOT, "0")
    assert meta["time_source"] == "sim" and meta["sim_start_ns"] == str(start_ns)
    assert json.loads(meta["spec"]) == {"steps": [{"go_to": "bay_1"}, {"wait": 2.0}]}
    initial = json.loads(meta["initial_robots"])
    assert set(initial) == {"delivery_1", "delivery_2"}
    assert math.hypot(initial[ROBOT]["x"] - 24.9, initial[ROBOT]["y"] - 2.0) < 0.3  # its spawn, fleet.yaml
    assert 0 < initial["delivery_2"]["battery"] <= 100
    state = InitialState.from_metadata(meta)  # what `labfleet replay` starts from
    assert set(state.robots) == {"delivery_1", "delivery_2"} and state.missions[0].mission_id == mission_id
    assert [s["kind"] for s in state.missions[0].steps] == ["go_to", "wait"]
