"""Re-simulation (issue 6, acceptance 2): a mission run in lock-step and recorded as the live lab records it
(MissionRecorder, replay metadata, the mission service's events) is replayed from its recording, twice:
bit-identical trajectories; the comparison with the original is produced and stored in SQLite; an
override (half the top speed) changes the duration."""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from rosbags.highlevel import AnyReader
from sqlmodel import Session

from fleet_manager.core.errors import InvalidInput, NotFound
from fleet_manager.core.robots import RobotMode, RobotReport
from fleet_manager.core.templates import TemplateLibrary
from fleet_manager.db.engine import make_engine, upgrade
from fleet_manager.db.tables import Mission, utcnow
from fleet_manager.recording import MissionRecorder, RecorderOptions
from fleet_manager.replay.compare import _diagonal_dp, path_deviation
from fleet_manager.replay.initial_state import (
    InitialState,
    MissionStart,
    RobotStart,
    command_event,
    replay_metadata,
)
from fleet_manager.replay.reader import (
    SPAWN_POSES,
    read_metadata,
    read_recording,
    recorded_run,
    spawn_poses,
    step_status,
)
from fleet_manager.replay.resim import job_steps, parse_overrides, resimulate
from fleet_manager.replay.runs import Trajectory
from fleet_manager.replay.service import execute_replay, recording_path, replay_mission
from fleet_manager.replay.synthetic import PlannedMission, record_lockstep_run
from fleet_manager.replay.tables import Replay

REPO = Path(__file__).resolve().parents[2]
SITES = REPO / "sim_worlds"
MISSION = 7
START_NS = 1_000 * 10**9  # the mission starts 1000 s into the lab's sim time (pedestrians walk by sim time)
PAUSE_AT, RESUME_AT = 1020.0, 1030.0
CONFIRM_DELAY_S = 7.0


def record_lab(root: Path) -> dict[str, Any]:
    """A delivery on living_lab, paused by the operator for 10 s, its receipt confirmed 7 s after it was asked
    for, run in lock-step and recorded; a database (every migration) holding the mission."""
    recordings = root / "recordings"
    recordings.mkdir()
    events = [{"type": "mission_event", "mission_id": MISSION, "status": "paused", "sim_time": PAUSE_AT},
              {"type": "mission_event", "mission_id": MISSION, "status": "underway", "sim_time": RESUME_AT}]
    original, stats = record_lockstep_run(
        recording_path(recordings, MISSION), SITES, "living_lab",
        [PlannedMission(MISSION, "delivery_1", "delivery", {"destination": "ward_bed_2"})],
        TemplateLibrary.load(REPO / "missions"), seed=3, sim_start_ns=START_NS, events=events,
        confirm_delay_s=CONFIRM_DELAY_S)
    assert stats.complete and stats.messages["/delivery_1/odom"] > 1000
    assert original.missions[0].outcome == "completed"
    url = f"sqlite:///{root / 'labfleet.db'}"
    engine = make_engine(url)
    upgrade(engine)
    with Session(engine) as session:
        session.add(Mission(id=MISSION, site="living_lab", template="delivery", status="completed",
                            robot_id="delivery_1", created_at=utcnow()))
        session.commit()
    return {"engine": engine, "url": url, "root": root, "recordings": recordings, "original": original}


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    made = record_lab(tmp_path_factory.mktemp("replay"))
    yield made
    made["engine"].dispose()


def test_the_recording_holds_what_a_replay_needs(lab: dict[str, Any]) -> None:
    bag = recording_path(lab["recordings"], MISSION)
    initial = InitialState.from_metadata(read_metadata(bag))
    assert (initial.site, initial.seed, initial.sim_start_s) == ("living_lab", 3, 1000.0)
    assert set(initial.robots) == {"delivery_1", "delivery_2", "guide_1", "amr_1", "cleaner_1", "arm_1"}
    assert (initial.robots["delivery_1"].x, initial.robots["delivery_1"].battery) == (24.9, 95.0)
    mission = initial.missions[0]
    assert (mission.mission_id, mission.robot_id, mission.robot_kind) == (MISSION, "delivery_1", "delivery")
    assert [s["kind"] for s in mission.steps] == ["go_to", "action", "go_to", "confirm", "action"]
    recording = read_recording(bag)
    track = recording.trajectories["delivery_1"]
    assert track.t[0] >= 1000.0 and np.all(np.diff(track.t) > 0)
    # the site-frame track comes from the robot states: it starts where delivery_1 spawned
    assert (track.x[0], track.y[0]) == pytest.approx((24.9, 2.0), abs=0.01)
    # /delivery_1/odom is recorded as the simulator publishes it: in its odom frame, zero where it spawned
    assert spawn_poses(recording.metadata)["delivery_1"].pose2d() == pytest.approx((24.9, 2.0, 1.5708))
    first_odom = next(_odom(bag, "delivery_1"))
    assert first_odom.header.frame_id == "delivery_1/odom"
    assert (first_odom.pose.pose.position.x, first_odom.pose.pose.position.y) == pytest.approx((0, 0), abs=1e-3)
    kinds = [(e["type"], e.get("status")) for e in recording.events if e["type"] == "mission_event"]
    assert kinds == [("mission_event", "underway"), ("mission_event", "paused"), ("mission_event", "underway"),
                     ("mission_event", "completed")]


def test_a_recorded_mission_replays_twice_to_identical_trajectories_and_the_comparison_is_stored(
        lab: dict[str, Any]) -> None:
    engine, recordings = lab["engine"], lab["recordings"]
    recording = read_recording(recording_path(recordings, MISSION))
    first = resimulate(recording.initial, recording.events, SITES)
    second = resimulate(recording.initial, recording.events, SITES)
    a, b = first.trajectories["delivery_1"], second.trajectories["delivery_1"]
    assert len(a) > 1000 and a.identical(b)  # bit for bit
    assert [m.summary() for m in first.missions] == [m.summary() for m in second.missions]
    assert [(i["event"], i["t"], i["result"]) for i in first.injected] == [
        ("pause", 20.0, "ok: paused"), ("resume", 30.0, "ok: resumed")]  # the recorded operator's pause

    stored = [replay_mission(engine, SITES, recordings, MISSION) for _ in range(2)]
    assert [r.status for r in stored] == ["done", "done"] and stored[0].id != stored[1].id
    results = [{k: v for k, v in (r.result or {}).items() if k not in ("wall_s", "cpu_s", "speedup")} for r in stored]
    assert results[0] == results[1] and stored[0].comparison == stored[1].comparison
    digest = results[0]["trajectory_digests"]["delivery_1"]  # of the whole trajectory, stored with the result
    assert digest == {"sha256": a.digest(), "samples": len(a)} and a.digest() == b.digest()
    assert results[0]["start_s"] == pytest.approx(1000.0)
    with Session(engine) as session:  # in the database, linked to the mission
        row = session.get(Replay, stored[0].id)
        assert row is not None and row.mission_id == MISSION and row.status == "done" and row.sim_s
        comparison = row.comparison
    assert comparison is not None and comparison["same_outcome"] is True
    mission = comparison["missions"][0]
    original = lab["original"].missions[0]
    # the same classes from the same initial state and events: the replay retraces the original
    assert mission["original"]["duration_s"] == pytest.approx(original.duration_s, abs=1e-6)
    assert mission["replay"]["duration_s"] == pytest.approx(original.duration_s, abs=1e-6)
    assert mission["original"]["distance_m"] == pytest.approx(mission["replay"]["distance_m"], abs=0.01)
    assert mission["path"]["frechet_m"] < 0.01 and mission["path"]["dtw_mean_m"] < 0.01
    confirm = [e for e in mission["events"] if e["step_index"] == 3]
    asked = next(e for e in confirm if e["status"] == "awaiting_confirmation")
    done = next(e for e in confirm if e["status"] == "done")
    assert done["replay_t"] - asked["replay_t"] == pytest.approx(CONFIRM_DELAY_S)  # the recorded delay
    assert all(e["delta_s"] == 0.0 for e in mission["events"])
    kpis = comparison["kpis"]
    assert kpis["original"]["missions_completed"] == kpis["replay"]["missions_completed"] == 1
    assert kpis["replay"]["mean_duration_s"] == pytest.approx(kpis["original"]["mean_duration_s"], abs=0.01)


def test_a_lower_top_speed_makes_the_replayed_mission_longer(lab: dict[str, Any]) -> None:
    # under the safety layer's caution speed (0.5 m/s near junctions and doors, where the robot slows anyway)
    replay = replay_mission(lab["engine"], SITES, lab["recordings"], MISSION, ["max_speed=0.3"])
    assert replay.status == "done" and replay.overrides == {"max_speed": 0.3}
    assert replay.comparison is not None
    mission = replay.comparison["missions"][0]
    before, after = mission["original"]["duration_s"], mission["replay"]["duration_s"]
    assert mission["replay"]["outcome"] == "completed"
    assert after > 1.2 * before  # slower drives (less so on slow lanes); actions, pause, confirmation stay
    assert mission["delta"]["duration_s"] == pytest.approx(after - before, abs=1e-3)
    assert mission["path"]["frechet_m"] < 1.0  # the same route
    assert replay.result is not None
    rows = replay.result["trajectories"]["delivery_1"]  # [t from the start, x, y] at 1 Hz
    assert rows[0][0] == 0.0 and rows[-1][0] == pytest.approx(after, abs=0.1)


def test_an_estop_recorded_as_an_event_holds_the_replayed_mission_until_it_is_released(lab: dict[str, Any]) -> None:
    recording = read_recording(recording_path(lab["recordings"], MISSION))
    plain = resimulate(recording.initial, recording.events, SITES).missions[0]
    estop = {**command_event("delivery_1", "estop", 1010.0, MISSION), "t": 1010.0}
    run = resimulate(recording.initial, sorted([*recording.events, estop], key=lambda e: e["t"]), SITES)
    held = run.missions[0]  # never released: held to the end of what the recording injects (issue 18: not failed)
    assert held.outcome == "paused" and "delivery_1 is e-stopped" in held.reason, held
    assert held.duration_s is not None and held.duration_s < plain.duration_s  # type: ignore[operator]
    release = {**command_event("delivery_1", "release", 1040.0, MISSION), "t": 1040.0}
    run = resimulate(recording.initial, sorted([*recording.events, estop, release], key=lambda e: e["t"]), SITES)
    again = run.missions[0]
    assert again.outcome == "completed", again
    assert again.duration_s > plain.duration_s + 20.0  # type: ignore[operator]  # held 30 s, then on from there
    assert not any(e["status"] in ("failed", "retrying") for e in again.events), again.events
    assert any(e["status"] == "held" for e in again.events), again.events
    assert resimulate(recording.initial, [*recording.events, estop], SITES, {"events": "off"}).missions[0].outcome \
        == "completed"


class Bodies:
    """An observer that notes which robots the lock-step simulator runs."""

    def __init__(self) -> None:
        self.robots: set[str] = set()

    def event(self, event: dict[str, Any]) -> None:
        pass

    def stepped(self, site: Any) -> None:
        self.robots = set(site.sim.bodies)


def test_only_the_robots_the_lab_ran_are_re_simulated(lab: dict[str, Any]) -> None:
    recording = read_recording(recording_path(lab["recordings"], MISSION))
    two = replace(recording.initial, robots={r: recording.initial.robots[r] for r in ("delivery_1", "delivery_2")})
    seen = Bodies()
    run = resimulate(two, recording.events, SITES, observer=seen)  # recorded by `labfleet up --robots 2`
    assert seen.robots == {"delivery_1", "delivery_2"} and run.missions[0].outcome == "completed"
    resimulate(two, recording.events, SITES, {"robot": "guide_1"}, max_run_s=1.0, observer=seen)
    assert seen.robots == {"delivery_1", "delivery_2", "guide_1"}  # a robot the mission is given joins
    resimulate(recording.initial, recording.events, SITES, max_run_s=1.0, observer=seen)
    assert len(seen.robots) == 6  # the whole fleet ran when it was recorded


def test_overrides_missing_recordings_and_unknown_step_kinds_are_refused(lab: dict[str, Any]) -> None:
    assert parse_overrides(["max_speed=0.5", "delivery_2.max_accel=0.3", "seed=4", "world=living_lab"]) == {
        "max_speed": 0.5, "delivery_2.max_accel": 0.3, "seed": 4, "world": "living_lab"}
    for bad, field in (["warp=9"], "overrides.warp"), (["max_speed=-1"], "overrides.max_speed"), (
            ["speed_factor=2"], "overrides.speed_factor"), (["seed=1.5"], "overrides.seed"), (["nothing"], "overrides"):
        with pytest.raises(InvalidInput) as err:
            parse_overrides(bad)
        assert err.value.field == field
    recording = read_recording(recording_path(lab["recordings"], MISSION))
    with pytest.raises(InvalidInput, match="no site 'moon'"):
        resimulate(recording.initial, [], SITES, {"world": "moon"})
    with pytest.raises(InvalidInput, match="'teleport' step cannot be re-simulated"):
        job_steps(MissionStart(1, "r", [{"index": 0, "kind": "teleport"}], 0.0), {}, None)
    with Session(lab["engine"]) as session:
        session.add(Mission(id=8, site="living_lab", status="completed", created_at=utcnow()))
        session.commit()
    with pytest.raises(NotFound, match="mission 8 has no recording"):
        replay_mission(lab["engine"], SITES, lab["recordings"], 8)
    with pytest.raises(NotFound, match="no mission 99"):
        replay_mission(lab["engine"], SITES, lab["recordings"], 99)
    with pytest.raises(NotFound):
        execute_replay(lab["engine"], 12345, SITES)


def test_the_original_run_reads_back_from_the_recording(lab: dict[str, Any]) -> None:
    original = recorded_run(read_recording(recording_path(lab["recordings"], MISSION)))
    truth = lab["original"].missions[0]
    mission = original.missions[0]
    assert (mission.outcome, mission.started_s) == ("completed", 1000.0)
    assert mission.duration_s == pytest.approx(truth.duration_s)
    assert mission.distance_m == pytest.approx(truth.distance_m, rel=1e-3)  # states at 10 Hz vs the simulator's sum
    assert [(e["step_index"], e["status"]) for e in mission.events] == [
        (e["step_index"], e["status"]) for e in truth.events]


def test_trajectories_come_from_the_robot_states(tmp_path: Path) -> None:
    meta = replay_metadata(mission_id=1, site="living_lab", robot_id="r1", template=None, params={},
                           steps=[{"index": 0, "kind": "wait", "seconds": 1.0, "status": "done"}],
                           robots={"r1": RobotStart(1.0, 2.0, 0.5, 50.0)}, seed=None, sim_start_ns=5 * 10**9,
                           wall_start=datetime(2026, 1, 1, tzinfo=UTC))
    rec = MissionRecorder(tmp_path / "m", meta, RecorderOptions(in_process=True))
    for i in range(10):
        rec.record_state(5 * 10**9 + i * 10**8, RobotReport(
            "r1", "delivery", "deliverybot", RobotMode.MOVING, 1.0 + 0.1 * i, 2.0, 0.5, 1.0, 0.0, 50.0, False, "1.0.1",
            0.1 * i, (), 5.0 + 0.1 * i, 0.0))
    assert rec.close().complete
    recording = read_recording(tmp_path / "m")
    assert recording.trajectories["r1"].x.tolist() == pytest.approx([1.0 + 0.1 * i for i in range(10)])
    assert (recording.initial.seed, recording.initial.sim_start_s) == (0, 5.0)
    assert recording.initial.missions[0].steps == [{"index": 0, "kind": "wait", "seconds": 1.0}]  # no run keys

    unknown_start = {**meta, "sim_start_ns": ""}  # not known when the recording began: its "underway" event is
    with MissionRecorder(tmp_path / "n", unknown_start, RecorderOptions(in_process=True)) as rec:
        rec.record_event(6 * 10**9, {"type": "mission_event", "mission_id": 1, "status": "underway", "sim_time": 6.0})
    assert read_recording(tmp_path / "n").initial.missions[0].start_s == 6.0


def _brute(d: np.ndarray, frechet: bool) -> float:
    n, m = d.shape
    c = np.full((n, m), np.inf)
    for i in range(n):
        for j in range(m):
            before = 0.0 if i == j == 0 else min(c[i - 1, j] if i else np.inf, c[i - 1, j - 1] if i and j else np.inf,
                                                   c[i, j - 1] if j else np.inf)
            c[i, j] = max(before, d[i, j]) if frechet else before + d[i, j]
    return float(c[-1, -1])


@pytest.mark.parametrize("n,m", [(1, 1), (1, 6), (7, 3), (25, 40)])
def test_frechet_and_dtw_agree_with_the_textbook_recurrences(n: int, m: int) -> None:
    rng = np.random.default_rng(n * 100 + m)
    p, q = rng.random((n, 2)) * 5, rng.random((m, 2)) * 5
    d = np.hypot(p[:, None, 0] - q[None, :, 0], p[:, None, 1] - q[None, :, 1])
    assert _diagonal_dp(p, q, frechet=True)[0] == pytest.approx(_brute(d, True), abs=1e-12)
    assert _diagonal_dp(p, q, frechet=False)[0] == pytest.approx(_brute(d, False), abs=1e-12)


def test_path_deviation_of_a_parallel_path_is_its_offset() -> None:
    t = np.linspace(0.0, 60.0, 601)
    a = Trajectory(t, t * 0.5, np.zeros_like(t))
    b = Trajectory(t, t * 0.5, np.full_like(t, 0.4))
    dev = path_deviation(a, b)
    assert dev["frechet_m"] == pytest.approx(0.4) and dev["dtw_mean_m"] == pytest.approx(0.4)
    assert path_deviation(a, a)["frechet_m"] == 0.0
    detour = Trajectory(t, t * 0.5, 2.0 * np.sin(t / 60.0 * math.pi))
    assert path_deviation(a, detour)["frechet_m"] == pytest.approx(2.0, abs=0.01)


def test_a_step_status_from_before_the_recording_is_read_from_its_stored_text() -> None:
    assert step_status({"type": "mission_step", "step_index": 0, "status": "done"}) == "done"
    history = {"type": "mission_step", "step_index": 0, "status": None, "from_history": True}
    assert step_status({**history, "message": "step 0 active"}) == "active"
    assert step_status({**history, "message": "step 0 failed: blocked"}) == "failed"
    assert step_status({**history, "message": "step 0 confirmed by nurse Kim"}) is None  # information
    assert step_status({**history, "message": "step 1 active"}) is None  # another step's text
    assert step_status({"type": "mission_step", "step_index": 0, "message": "step 0 active"}) is None  # live: info


def _odom(bag: Path, robot: str) -> Iterator[Any]:
    with AnyReader([bag]) as reader:
        connections = [c for c in reader.connections if c.topic == f"/{robot}/odom"]
        for conn, _, raw in reader.messages(connections=connections):
            yield reader.deserialize(raw, conn.msgtype)


def test_odometry_stands_in_for_a_robot_without_states_on_the_site_when_its_spawn_pose_is_known(
        tmp_path: Path) -> None:
    """r1's agent was silent: its odometry (odom frame, zero where it spawned, facing +y on the site) is taken to
    the site with the spawn pose of the metadata; without one it stays in the odom frame."""
    meta = replay_metadata(mission_id=1, site="living_lab", robot_id="r1", template=None, params={},
                           steps=[{"index": 0, "kind": "wait", "seconds": 1.0}],
                           robots={"r1": RobotStart(10.0, 2.0, math.pi / 2, 50.0)}, seed=None, sim_start_ns=0,
                           wall_start=datetime(2026, 1, 1, tzinfo=UTC))
    for name, extra in (("with", {SPAWN_POSES: '{"r1": {"x": 10.0, "y": 2.0, "yaw": 1.5707963267948966}}'}),
                        ("without", {})):
        with MissionRecorder(tmp_path / name, {**meta, **extra}, RecorderOptions(in_process=True)) as rec:
            for i in range(10):  # 0.1 m ahead per sample, in the odom frame
                rec.record_odom(i * 10**8, "r1", 0.1 * i, 0.0, 0.0, 1.0, 0.0)
    on_site = read_recording(tmp_path / "with").trajectories["r1"]
    assert on_site.x.tolist() == pytest.approx([10.0] * 10)
    assert on_site.y.tolist() == pytest.approx([2.0 + 0.1 * i for i in range(10)])  # north on the site
    in_odom = read_recording(tmp_path / "without").trajectories["r1"]
    assert in_odom.x.tolist() == pytest.approx([0.1 * i for i in range(10)]) and not in_odom.y.any()
