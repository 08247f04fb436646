"""Playback of a recorded mission (the console's timeline): a recording written with MissionRecorder, read back
by recording/playback.py into per-robot samples (at most 10 a second) and the mission's events; and the route
GET /missions/{id}/playback on a real RecordingStore: 404 without a recording, 409 while it is being written,
segments merged, the answer kept while the recording is unchanged."""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from fastapi import APIRouter, FastAPI
from fastapi.testclient import TestClient

from fleet_manager import exception_handlers
from fleet_manager.auth.deps import require
from fleet_manager.auth.roles import Principal, Role
from fleet_manager.core.robots import RobotMode, RobotReport
from fleet_manager.recording import MissionRecorder, RecorderOptions, mission_metadata
from fleet_manager.recording.messages import ROBOT_STATE, STATE, Codec
from fleet_manager.recording.playback import SAMPLE_HZ, fast_state, read_playback
from fleet_manager.recording.playback_endpoints import router
from fleet_manager.recording.store import RecordingStore
from fleet_manager.recording.writer import RecordingStats
from fleet_manager.replay.initial_state import command_event
from fleet_manager.replay.reader import SPAWN_POSES

SECOND = 1_000_000_000
MISSION = 42
START = 100.0  # sim seconds: the mission goes underway
STEPS = [{"kind": "go_to", "target": "ward_bed_2"}, {"kind": "wait", "seconds": 2}]
OPTIONS = RecorderOptions(in_process=True, flush_period_s=0.05)


def state(t: float, x: float, mode: RobotMode = RobotMode.MOVING) -> RobotReport:
    return RobotReport(id="delivery_1", kind="delivery", model="deliverybot", mode=mode, x=x, y=2.0, yaw=0.25,
                       linear=0.5 if mode == RobotMode.MOVING else 0.0, angular=0.0, battery=80.0, charging=False,
                       task_id="42-0", task_progress=0.5, errors=(), stamp=t, wall_time=1.7e9 + t)


def frame(kind: str, at: float, **fields: Any) -> dict[str, Any]:
    return {"type": kind, "mission_id": MISSION, "time": "2026-05-01T09:30:00+00:00", "sim_time": at, **fields}


def record(folder: Path, t0: float = START, seconds: float = 3.0, x0: float = 0.0) -> None:
    """delivery_1's states at 20 Hz (driving +x at 0.5 m/s, the last half second idle); odometry only for
    guide_1 (its agent silent); the mission's events, an operator's command, one event of another mission,
    and history before t0."""
    meta = mission_metadata(mission_id=MISSION, site="living_lab", robots=["delivery_1", "guide_1"],
                            template="delivery", seed=3, sim_start_ns=round(t0 * SECOND),
                            wall_start=datetime(2026, 5, 1, 9, 30, tzinfo=UTC))
    meta |= {"robot_id": "delivery_1", "time_source": "sim", "steps": json.dumps(STEPS), "params": '{"a": 1}'}
    with MissionRecorder(folder, meta, OPTIONS) as rec:
        rec.record_event(round((t0 - 30) * SECOND), frame("mission_event", t0 - 30, status="assigned",
                                                          message="assigned to delivery_1", from_history=True))
        rec.record_event(round((t0 - 0.1) * SECOND), frame("mission_step", t0 - 0.1, step_index=0, status=None,
                                                           message="step 0 active", from_history=True))
        rec.record_event(round(t0 * SECOND), frame("mission_event", t0, status="underway", message="underway"))
        n = round(seconds * 20)
        for i in range(n + 1):
            t = t0 + i / 20
            moving = i < n - 10
            x = x0 + 0.5 * min(i, n - 10) / 20
            rec.record_states(round(t * SECOND), [state(t, x, RobotMode.MOVING if moving else RobotMode.IDLE)])
            rec.record_odom(round(t * SECOND), "guide_1", -1.0, 0.1 * i, math.pi / 2, 0.1, 0.0)
        rec.record_event(round((t0 + 1.5) * SECOND), frame("mission_step", t0 + 1.5, step_index=0, status="done",
                                                           message=""))
        rec.record_event(round((t0 + 2) * SECOND), frame("mission_step", t0 + 2, step_index=1, status=None,
                                                         message="confirmed by nurse Kim"))
        rec.record_event(round((t0 + 2) * SECOND), {**frame("mission_event", t0 + 2, status="paused"),
                                                     "mission_id": 7})
        rec.record_event(round((t0 + 2.5) * SECOND), command_event("delivery_1", "pause", t0 + 2.5, MISSION,
                                                                   result="ok", message="paused"))
        rec.record_event(round((t0 + seconds) * SECOND), frame("mission_event", t0 + seconds, status="completed",
                                                               message="completed"))


def test_a_recording_plays_back_as_samples_and_events(tmp_path: Path) -> None:
    record(tmp_path / "mission-42")
    play = read_playback(tmp_path / "mission-42" / "mission-42_0.mcap")
    assert (play.mission_id, play.site, play.robot_id, play.template, play.time_source, play.status) == (
        MISSION, "living_lab", "delivery_1", "delivery", "sim", "completed")
    assert (play.start, play.end) == (START, START + 3.0)
    assert play.metadata["steps"] == STEPS and play.metadata["params"] == {"a": 1}

    tracks = {r.id: r for r in play.robots}
    assert sorted(tracks) == ["delivery_1", "guide_1"]
    delivery = tracks["delivery_1"]
    assert (delivery.kind, delivery.model, delivery.source) == ("delivery", "deliverybot", "robot_states")
    samples = delivery.samples
    # 61 states at 20 Hz over 3 s: one per 0.1 s slot, the last state in the last slot
    assert len(samples) == 31
    slots = [math.floor(s[0] * SAMPLE_HZ + 1e-6) for s in samples]
    assert slots == sorted(set(slots))
    assert samples[0] == (START, 0.0, 2.0, 0.25, 0.5, "moving")
    assert samples[10] == (START + 1.0, 0.5, 2.0, 0.25, 0.5, "moving")
    assert samples[-1] == (START + 3.0, 1.25, 2.0, 0.25, 0.0, "idle")
    assert {s[5] for s in samples} == {"moving", "idle"}

    guide = tracks["guide_1"]  # no states recorded: its odometry stands in, without a mode, in its odom frame
    assert guide.source == "odom" and len(guide.samples) == 31
    assert guide.samples[-1] == (START + 3.0, -1.0, 6.0, pytest.approx(math.pi / 2, abs=1e-3), 0.1, "")

    assert play.events == [
        (START - 30, "assigned: assigned to delivery_1", "status"),
        (START - 0.1, "step 0 (go_to ward_bed_2) active", "step"),
        (START, "underway", "status"),
        (START + 1.5, "step 0 (go_to ward_bed_2) done", "step"),
        (START + 2.0, "step 1 (wait 2 s): confirmed by nurse Kim", "info"),
        (START + 2.5, "operator pause on delivery_1: ok (paused)", "command"),
        (START + 3.0, "completed", "status"),
    ]  # mission 7's event is not this mission's


def test_odometry_is_taken_to_the_site_with_the_spawn_pose_of_the_metadata(tmp_path: Path) -> None:
    """guide_1 spawned at (-1, 0) facing +y: its odometry (zero there, driving +x in the odom frame) plays back
    on the site, heading north."""
    meta = mission_metadata(mission_id=MISSION, site="living_lab", robots=["guide_1"], template="delivery",
                            seed=3, sim_start_ns=round(START * SECOND), wall_start=datetime(2026, 5, 1, tzinfo=UTC))
    meta |= {"robot_id": "guide_1", SPAWN_POSES: json.dumps({"guide_1": {"x": -1.0, "y": 0.0, "yaw": math.pi / 2}})}
    with MissionRecorder(tmp_path / "m", meta, OPTIONS) as rec:
        for i in range(11):
            rec.record_odom(round((START + i / 10) * SECOND), "guide_1", 0.1 * i, 0.0, 0.0, 1.0, 0.0)
    play = read_playback(tmp_path / "m" / "m_0.mcap")
    (guide,) = play.robots
    assert guide.source == "odom" and len(guide.samples) == 11
    assert guide.samples[0][1:4] == pytest.approx((-1.0, 0.0, math.pi / 2), abs=1e-3)
    assert guide.samples[-1][1:4] == pytest.approx((-1.0, 1.0, math.pi / 2), abs=1e-3)
    assert play.metadata[SPAWN_POSES] == {"guide_1": {"x": -1.0, "y": 0.0, "yaw": math.pi / 2}}


def test_the_fast_robot_state_decoder_reads_what_rosbags_reads() -> None:
    codec = Codec()
    for n in range(9):  # every alignment of the strings, and the mode byte, before the pose
        rid, kind, model = "r" * (n + 1), "k" * n, "é" * (n % 3)
        item = (STATE, 0, rid, kind, model, n % 10, 1.5 + n, -2.25, 0.3, 0.5 * n, -0.1, 80.5, True, "42-1", 0.25,
                ("obstacle",) * (n % 2), 12.5, 1.7e9)
        data = codec.encode(item)[2]
        msg = codec.store.deserialize_cdr(data, ROBOT_STATE)
        assert fast_state(data) == (msg.id, msg.kind, msg.model, msg.mode, msg.pose.x, msg.pose.y, msg.pose.yaw,
                                    msg.velocity.linear.x) == (rid, kind, model, n % 10, 1.5 + n, -2.25, 0.3, 0.5 * n)


# -- the route ---------------------------------------------------------------------------------------------
class Recordings:
    """What the route uses of the lab's RecordingService: its store, and file_for."""

    def __init__(self, store: RecordingStore) -> None:
        self.store = store
        self.reads = 0

    def file_for(self, mission_id: int) -> tuple[Path, bool]:
        self.reads += 1
        return self.store.file_for(mission_id)


@pytest.fixture
def api(tmp_path: Path) -> Iterator[tuple[TestClient, Recordings]]:
    app = FastAPI()
    exception_handlers.install(app)
    outer = APIRouter(prefix="/api/v1")
    outer.include_router(router)
    app.include_router(outer)
    recordings = Recordings(RecordingStore(tmp_path / "recordings"))
    app.state.lab = SimpleNamespace(recordings=recordings)
    app.dependency_overrides[require(Role.researcher)] = lambda: Principal("tester", Role.researcher, ("*",))
    with TestClient(app) as http:
        yield http, recordings


def finish(store: RecordingStore, number: int, folder: Path) -> None:
    store.finish(MISSION, number, RecordingStats(path=folder, mcap_path=folder / f"{folder.name}_0.mcap"),
                 "completed")


def test_the_route_answers_404_409_and_the_playback(api: tuple[TestClient, Recordings]) -> None:
    http, recordings = api
    store = recordings.store
    missing = http.get(f"/api/v1/missions/{MISSION}/playback")
    assert missing.status_code == 404 and "has no recording" in missing.json()["detail"]
    assert http.get("/api/v1/missions/0/playback").status_code == 422

    number, folder = store.begin(MISSION, "underway")  # being written
    busy = http.get(f"/api/v1/missions/{MISSION}/playback")
    assert busy.status_code == 409 and "still being recorded" in busy.json()["detail"]
    record(folder)
    finish(store, number, folder)

    ok = http.get(f"/api/v1/missions/{MISSION}/playback")
    assert ok.status_code == 200 and ok.headers["content-type"] == "application/json"
    body = ok.json()
    assert (body["start"], body["end"], body["status"]) == (START, START + 3.0, "completed")
    assert [r["id"] for r in body["robots"]] == ["delivery_1", "guide_1"]
    assert body["robots"][0]["samples"][0] == [START, 0.0, 2.0, 0.25, 0.5, "moving"]
    assert body["events"][2] == [START, "underway", "status"]
    reads = recordings.reads
    assert http.get(f"/api/v1/missions/{MISSION}/playback").content == ok.content
    assert recordings.reads == reads  # unchanged recording: answered from the cache

    # a second segment (the fleet manager restarted): both are merged, the temporary file deleted
    number, folder = store.begin(MISSION, "underway")
    record(folder, t0=START + 10, x0=5.0)
    finish(store, number, folder)
    both = http.get(f"/api/v1/missions/{MISSION}/playback").json()
    assert recordings.reads == reads + 1
    assert (both["start"], both["end"]) == (START, START + 13.0)
    xs = [s[1] for s in both["robots"][0]["samples"]]
    assert xs[0] == 0.0 and xs[-1] == 6.25 and len(xs) == 62
    assert not list(store.directory.glob(".merge-*"))
