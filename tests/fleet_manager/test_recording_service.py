"""The recording service without ROS: mission events from the telemetry hub start and stop a recording,
robot states are fed by batch, operator commands (Lab.command) are recorded as the events a replay injects,
segments after a restart, the download (merged segments, 404 and 409), retention, and
GET /missions/{id}/recording through the app. SQLite; the driver-topic taps need ROS and
are covered by tests/integration/test_recording_lab.py."""

from __future__ import annotations

import asyncio
import json
import os
import threading
import time
import warnings
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from mcap.reader import make_reader
from rosbags.highlevel import AnyReader

from fleet_manager.core.errors import Conflict, NotFound
from fleet_manager.core.missions import MissionStatus
from fleet_manager.core.robots import Command, CommandResult, RobotMode, RobotReport
from fleet_manager.core.templates import TemplateLibrary
from fleet_manager.db.engine import make_engine, upgrade
from fleet_manager.lab import Lab
from fleet_manager.missions.schemas import MissionCreate
from fleet_manager.missions.service import MissionService
from fleet_manager.recording import RecorderOptions
from fleet_manager.recording.metadata import spec_steps
from fleet_manager.recording.service import RecordingService
from fleet_manager.replay.initial_state import ROBOT_COMMAND, InitialState, RobotStart
from fleet_manager.replay.reader import read_recording
from fleet_manager.replay.resim import injections
from fleet_manager.robots.service import RobotRegistry
from fleet_manager.settings import Settings
from fleet_manager.sites.service import Site
from fleet_manager.telemetry.hub import TelemetryHub
from tests.api.conftest import ADMIN_PASSWORD, JWT_SECRET, admin_client

with warnings.catch_warnings():  # mcap-ros2-support 0.6.0 warns on import that this module is deprecated
    warnings.simplefilter("ignore", DeprecationWarning)
    from mcap_ros2.reader import read_ros2_messages

REPO = Path(__file__).resolve().parents[2]
SECOND = 1_000_000_000


def report(rid: str, t: float, x: float = 0.0, battery: float = 80.0) -> RobotReport:
    return RobotReport(rid, "delivery", "deliverybot", RobotMode.MOVING, x, 1.0, 0.1, 0.5, 0.0, battery, False,
                       "t", 0.5, (), t, 1.7e9 + t)


class Rig:
    """A mission service, hub, registry and recording service on one event loop, with a settable sim clock."""

    def __init__(self, tmp_path: Path, **settings: Any) -> None:
        self.settings = Settings(data_dir=tmp_path, database_url=f"sqlite:///{tmp_path / 'lab.db'}",
                                 ros_enabled=False, environment="test", seed=11, **settings)
        self.engine = make_engine(self.settings.database_url)
        upgrade(self.engine)
        self.site = Site.load(REPO / "sim_worlds" / "living_lab")
        self.templates = TemplateLibrary.load(REPO / "missions")
        self.sim = 100.0
        self.registry = RobotRegistry(30.0)
        for rid, x, battery in (("delivery_1", 1.0, 77.0), ("delivery_2", 5.0, 64.0)):
            self.registry.update(report(rid, self.sim, x, battery))

    async def start(self, look_up: bool = True) -> None:
        """The service started; with `look_up`, once it has taken up the missions already underway (a mission the
        test moves on meanwhile would race that look-up, as test_a_mission_begun_twice_at_once_... wants)."""
        self.hub = TelemetryHub(asyncio.get_running_loop())
        self.missions = MissionService(self.engine, self.site, self.templates, self.hub, lambda: self.sim)
        self.service = RecordingService(self.settings, self.hub, self.missions, self.registry, None,
                                        lambda: self.sim, RecorderOptions(in_process=True))
        await self.service.start()
        if look_up:
            await asyncio.wait_for(self.service.looked_up.wait(), 20.0)

    async def submit_underway(self, robot_id: str = "delivery_1") -> int:
        body = MissionCreate(spec={"steps": [{"go_to": "pharmacy"}, {"wait": 2}, {"confirm": "ok?", "timeout": 30}]},
                             robot_id=robot_id)
        mission = await asyncio.to_thread(self.missions.submit, body)
        await asyncio.to_thread(self.missions.transition, mission.id, MissionStatus.ASSIGNED, "assigned",
                                robot_id=robot_id)
        self.sim += 1.0
        await asyncio.to_thread(self.missions.transition, mission.id, MissionStatus.UNDERWAY, "underway")
        await until(lambda: mission.id in self.service.recording)
        return mission.id

    async def finish(self, mission_id: int, status: MissionStatus = MissionStatus.COMPLETED) -> None:
        await asyncio.to_thread(self.missions.transition, mission_id, status, str(status))
        await until(lambda: self.segment_status(mission_id) not in (None, "recording"))

    def segment_status(self, mission_id: int) -> str | None:
        data = self.service.store.load(mission_id)
        return data["segments"][-1]["status"] if data else None


async def until(condition: Callable[[], bool], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.02)


def read_back(path: Path) -> tuple[dict[str, int], list[tuple[str, int, Any]], dict[str, str]]:
    with AnyReader([path]) as reader:
        counts = {c.topic: c.msgcount for c in reader.connections}
        decoded = [(c.topic, t, reader.deserialize(raw, c.msgtype)) for c, t, raw in reader.messages()]
    with path.open("rb") as f:
        meta = next(m.metadata for m in make_reader(f).iter_metadata() if m.name == "labfleet_mission")
    return counts, decoded, meta


def test_a_mission_underway_is_recorded_until_it_ends(tmp_path: Path) -> None:
    rig = Rig(tmp_path)

    async def run() -> tuple[int, Path]:
        await rig.start()
        other = await rig.submit_underway("delivery_2")  # in flight when the next one starts
        mission_id = await rig.submit_underway("delivery_1")
        assert set(rig.service.recording) == {other, mission_id}
        for i in range(20):  # the mission's robot and another one, in the same batches
            rig.sim += 0.1
            rig.service.on_states([report("delivery_1", rig.sim, 1.0 + 0.1 * i), report("delivery_2", rig.sim)])
        await asyncio.to_thread(rig.missions.update_step, mission_id, 0, "active")
        await asyncio.to_thread(rig.missions.update_step, mission_id, 0, "done")
        with pytest.raises(Conflict, match="still being recorded"):
            rig.service.file_for(mission_id)
        rig.sim += 1.0
        await rig.finish(mission_id)
        rig.service.on_states([report("delivery_1", rig.sim)])  # after the end: not recorded
        path, temporary = rig.service.file_for(mission_id)
        assert not temporary
        await rig.service.stop()
        return mission_id, path

    mission_id, path = asyncio.run(run())
    assert path == tmp_path / "recordings" / f"mission-{mission_id}" / f"mission-{mission_id}_0.mcap"
    counts, decoded, meta = read_back(path)
    assert counts == {"/fleet/robot_states": 20, "/mission/events": 6}
    states = [m for topic, _, m in decoded if topic == "/fleet/robot_states"]
    assert {s.id for s in states} == {"delivery_1"} and states[-1].pose.x == pytest.approx(2.9)
    times = [t for topic, t, _ in decoded if topic == "/fleet/robot_states"]
    assert times == sorted(times) and times[0] == round(102.1 * SECOND)  # logged at the robots' own stamps
    events = [json.loads(m.data) for topic, _, m in decoded if topic == "/mission/events"]
    assert [(e["type"], e.get("status")) for e in events] == [
        ("mission_event", "queued"), ("mission_event", "assigned"), ("mission_event", "underway"),
        ("mission_step", "active"), ("mission_step", "done"), ("mission_event", "completed")]
    assert events[0]["from_history"] and events[-1]["mission"]["status"] == "completed"

    assert meta["mission_id"] == str(mission_id) and meta["site"] == "living_lab" and meta["seed"] == "11"
    assert (meta["robots"], meta["robot_id"], meta["segment"], meta["resumed"]) == ("delivery_1", "delivery_1", "0",
                                                                                    "false")
    assert meta["sim_start_ns"] == str(102 * SECOND) and meta["time_source"] == "ros"
    assert json.loads(meta["spec"]) == {"steps": [{"go_to": "pharmacy"}, {"wait": 2.0},
                                                  {"confirm": "ok?", "timeout": 30.0}]}
    initial = json.loads(meta["initial_robots"])
    assert set(initial) == {"delivery_1", "delivery_2"}  # every robot of the site, for a re-simulation
    assert (initial["delivery_2"]["x"], initial["delivery_2"]["battery"]) == (5.0, 64.0)
    assert json.loads(meta["settings"])["battery_reserve_pct"] == 10.0
    # what a re-simulation reads (replay/initial_state.py)
    initial_state = InitialState.from_metadata(meta)
    assert initial_state.site == "living_lab" and initial_state.seed == 11 and initial_state.sim_start_s == 102.0
    assert initial_state.robots["delivery_2"] == RobotStart(5.0, 1.0, 0.1, 64.0)
    main, *others = initial_state.missions
    assert (main.mission_id, main.robot_id, [s["kind"] for s in main.steps]) == (mission_id, "delivery_1",
                                                                                 ["go_to", "wait", "confirm"])
    assert [(m.mission_id, m.robot_id, m.start_s) for m in others] == [(mission_id - 1, "delivery_2", 102.0)]

    side = json.loads((tmp_path / "recordings" / f"mission-{mission_id}.json").read_text())
    (segment,) = side["segments"]
    assert segment["status"] == "finished" and segment["bytes"] == path.stat().st_size
    assert segment["messages"] == counts and segment["mission_status"] == "completed"

    msgs = list(read_ros2_messages(path))  # the second, independent reader
    assert Counter(m.channel.topic for m in msgs) == counts


class FakeBridge:
    """The robot link's command call (every adapter's), faked at the edge: delivery_1 refuses a release while not
    e-stopped."""

    def __init__(self, rig: Rig) -> None:
        self.rig = rig
        self.sent: list[tuple[str, Command]] = []

    def now(self) -> float:
        return self.rig.sim

    async def command(self, robot_id: str, command: Command, reason: str = "") -> tuple[CommandResult, str]:
        self.sent.append((robot_id, command))
        self.rig.sim += 0.05  # the answer comes back a little later
        if command is Command.RELEASE and (robot_id, Command.ESTOP) not in self.sent:
            return CommandResult.REJECTED, "not e-stopped"
        return CommandResult.OK, f"{command}d"


class FakePilots:
    def __init__(self) -> None:
        self.estops: list[tuple[str, bool, float | None]] = []

    def expect_estop(self, robot_id: str) -> None:
        pass

    def operator_estop(self, robot_id: str, accepted: bool, sim_time: float | None, reason: str = "") -> None:
        self.estops.append((robot_id, accepted, sim_time))


def test_operator_commands_to_a_recorded_robot_are_recorded_as_replay_events(tmp_path: Path) -> None:
    rig = Rig(tmp_path)
    pilots = FakePilots()

    async def run() -> tuple[int, Path, list[str]]:
        await rig.start()
        bridge = FakeBridge(rig)
        lab = Lab(rig.settings, rig.engine, rig.site, rig.templates, rig.hub, rig.registry, rig.missions,
                  None, None, None, pilots, None, bridge, None, recordings=rig.service)  # type: ignore[arg-type]  # what Lab.command uses
        mission_id = await rig.submit_underway("delivery_1")
        sent = []
        for command in (Command.PAUSE, Command.RESUME, Command.RELEASE, Command.DOCK, Command.ESTOP,
                        Command.RELEASE):
            rig.sim += 1.0
            sent.append(rig.sim)
            await lab.command("delivery_1", command, "test")
        await lab.command("delivery_2", Command.PAUSE)  # on no recorded mission: in no recording
        assert len(bridge.sent) == 7 and pilots.estops == [("delivery_1", True, pytest.approx(sent[4] + 0.05))]
        rig.sim += 1.0
        await rig.finish(mission_id, MissionStatus.FAILED)
        await lab.command("delivery_1", Command.PAUSE)  # after the mission: not in its recording
        path, _ = rig.service.file_for(mission_id)
        await rig.service.stop()
        return mission_id, path, [f"{t:.2f}" for t in sent]

    mission_id, path, sent = asyncio.run(run())
    _, decoded, _ = read_back(path)
    frames = [json.loads(m.data) for topic, _, m in decoded if topic == "/mission/events"]
    commands = [f for f in frames if f["type"] == ROBOT_COMMAND]
    assert [(f["command"], f["result"], f"{f['sim_time']:.2f}") for f in commands] == [
        ("pause", "ok", sent[0]), ("resume", "ok", sent[1]), ("release", "rejected", sent[2]),
        ("dock", "ok", sent[3]), ("estop", "ok", sent[4]), ("release", "ok", sent[5])]
    assert all(f["robot_id"] == "delivery_1" and f["mission_id"] == mission_id and f["reason"] == "test"
               for f in commands)
    assert commands[2]["message"] == "operator release on delivery_1: rejected (not e-stopped)"
    times = [t for topic, t, m in decoded if topic == "/mission/events" and json.loads(m.data)["type"] == ROBOT_COMMAND]
    assert [f"{t / SECOND:.2f}" for t in times] == sent  # logged at the sim time each was sent
    # what the re-simulation injects: the commands the robot took, at their times (the refused release is not)
    recording = read_recording(path.parent)
    planned = injections(recording.events, {mission_id: "delivery_1"}, {"delivery_1": "delivery_1"})
    assert [(f"{t:.2f}", robot, what) for t, robot, what, _ in planned] == [
        (sent[0], "delivery_1", "pause"), (sent[1], "delivery_1", "resume"), (sent[3], "delivery_1", "dock"),
        (sent[4], "delivery_1", "estop"), (sent[5], "delivery_1", "release")]


def test_a_command_sent_before_the_mission_recording_opened_is_in_it(tmp_path: Path) -> None:
    """The robot already drives its mission while the recording service has yet to handle the mission's underway
    frame (under load, seconds): an operator's pause then is written into the recording once it opens, at the
    time it was sent (CI: a recording held the resume but not the pause before it)."""
    rig = Rig(tmp_path)

    async def run() -> tuple[int, Path, float]:
        await rig.start()
        lab = Lab(rig.settings, rig.engine, rig.site, rig.templates, rig.hub, rig.registry, rig.missions,
                  None, None, None, FakePilots(), None, FakeBridge(rig), None,  # type: ignore[arg-type]
                  recordings=rig.service)
        body = MissionCreate(spec={"steps": [{"go_to": "pharmacy"}]}, robot_id="delivery_1")
        mission = await asyncio.to_thread(rig.missions.submit, body)
        await asyncio.to_thread(rig.missions.transition, mission.id, MissionStatus.ASSIGNED, "assigned",
                                robot_id="delivery_1")
        rig.registry.assignments["delivery_1"] = mission.id  # as the dispatcher holds it
        rig.sim += 1.0
        sent = rig.sim
        await lab.command("delivery_1", Command.PAUSE, "before the recording")
        assert mission.id not in rig.service.recording
        rig.sim += 1.0
        await asyncio.to_thread(rig.missions.transition, mission.id, MissionStatus.UNDERWAY, "underway")
        await until(lambda: mission.id in rig.service.recording)
        await rig.finish(mission.id)
        path, _ = rig.service.file_for(mission.id)
        await rig.service.stop()
        return mission.id, path, sent

    mission_id, path, sent = asyncio.run(run())
    _, decoded, _ = read_back(path)
    commands = [(t / SECOND, json.loads(m.data)) for topic, t, m in decoded if topic == "/mission/events"
                and json.loads(m.data)["type"] == ROBOT_COMMAND]
    assert [(f"{t:.2f}", f["command"], f["mission_id"], f["reason"]) for t, f in commands] == [
        (f"{sent:.2f}", "pause", mission_id, "before the recording")]


def test_an_event_from_before_the_first_clock_is_logged_on_the_sim_clock(tmp_path: Path) -> None:
    rig = Rig(tmp_path)

    async def run() -> Path:
        await rig.start()
        rig.sim = None  # type: ignore[assignment]  # submitted before the fleet manager's first /clock
        body = MissionCreate(spec={"steps": [{"wait": 1}]}, robot_id="delivery_1")
        mission = await asyncio.to_thread(rig.missions.submit, body)
        rig.sim = 100.0
        await asyncio.to_thread(rig.missions.transition, mission.id, MissionStatus.ASSIGNED, "assigned",
                                robot_id="delivery_1")
        rig.sim = 101.0
        await asyncio.to_thread(rig.missions.transition, mission.id, MissionStatus.UNDERWAY, "underway")
        await until(lambda: mission.id in rig.service.recording)
        rig.sim = 103.0
        await rig.finish(mission.id)
        path, _ = rig.service.file_for(mission.id)
        await rig.service.stop()
        return path

    _, decoded, _ = read_back(asyncio.run(run()))
    events = [(t / SECOND, json.loads(m.data)) for topic, t, m in decoded if topic == "/mission/events"]
    assert [(t, e["status"], e["sim_time"]) for t, e in events] == [
        (100.0, "queued", None), (100.0, "assigned", 100.0), (101.0, "underway", 101.0),
        (103.0, "completed", 103.0)]  # not at its wall time, after the mission


def test_without_the_fleet_managers_clock_events_are_logged_at_the_robots_time(tmp_path: Path) -> None:
    rig = Rig(tmp_path)

    async def run() -> Path:
        await rig.start()
        mission_id = await rig.submit_underway()
        rig.sim = None  # type: ignore[assignment]  # the fleet manager's ROS clock, as before its first /clock
        rig.registry.update(report("delivery_1", 150.5))  # the robots' own stamps go on
        rig.registry.update(report("delivery_2", 150.2))
        (active,) = rig.service.recordings_of("delivery_1")
        assert rig.service.record_command((active,), "delivery_1", "pause", "ok") == [mission_id]
        await rig.finish(mission_id)
        path, _ = rig.service.file_for(mission_id)
        await rig.service.stop()
        return path

    _, decoded, _ = read_back(asyncio.run(run()))
    events = [(t / SECOND, json.loads(m.data)) for topic, t, m in decoded if topic == "/mission/events"]
    assert [(t, e.get("command") or e["status"]) for t, e in events][-2:] == [(150.5, "pause"), (150.5, "completed")]
    assert events[-2][1]["sim_time"] == 150.5  # not the wall time: the replay injects it at the robots' time


def test_a_mission_begun_twice_at_once_is_recorded_once(tmp_path: Path) -> None:
    """At start-up the missions underway are looked up while their events already come in: a mission found by the
    look-up and named by an event at the same time is still recorded in one new segment, not two."""
    rig = Rig(tmp_path)

    async def first_run() -> int:
        await rig.start()
        mission_id = await rig.submit_underway()
        await rig.service.stop()  # the fleet manager stops; the mission is still underway
        return mission_id

    async def second_run(mission_id: int) -> list[str]:
        await rig.start(look_up=False)  # its look-up of the missions underway runs now
        mission = await asyncio.to_thread(rig.missions.get, mission_id, False)
        frame = json.dumps({"type": "mission_event", "mission_id": mission_id, "status": "underway",
                            "sim_time": rig.sim, "mission": mission.model_dump(mode="json")})
        await rig.service.on_event(frame)  # an event of the mission meanwhile (a resume, say)
        await until(lambda: mission_id in rig.service.recording)
        await asyncio.sleep(0.5)  # the look-up has long answered: a second segment would have begun by now
        await rig.finish(mission_id)
        await rig.service.stop()
        return sorted(p.name for p in (tmp_path / "recordings").iterdir() if p.is_dir())

    mission_id = asyncio.run(first_run())
    assert asyncio.run(second_run(mission_id)) == [f"mission-{mission_id}", f"mission-{mission_id}.1"]


def test_a_restart_starts_a_new_segment_and_the_download_merges_them(tmp_path: Path) -> None:
    rig = Rig(tmp_path)

    async def first_run() -> int:
        await rig.start()
        mission_id = await rig.submit_underway()
        rig.service.on_states([report("delivery_1", rig.sim + 0.1)])
        await rig.service.stop()  # the fleet manager stops; the mission is still underway
        return mission_id

    async def second_run(mission_id: int) -> tuple[Path, bool]:
        await rig.start()  # finds the mission underway: segment 1
        await until(lambda: mission_id in rig.service.recording)
        rig.sim += 5
        rig.service.on_states([report("delivery_1", rig.sim)])
        await rig.finish(mission_id)
        got = rig.service.file_for(mission_id)
        await rig.service.stop()
        return got

    mission_id = asyncio.run(first_run())
    assert rig.segment_status(mission_id) == "finished"
    path, temporary = asyncio.run(second_run(mission_id))
    try:
        assert temporary and path.parent == tmp_path / "recordings"
        folders = sorted(p.name for p in (tmp_path / "recordings").iterdir() if p.is_dir())
        assert folders == [f"mission-{mission_id}", f"mission-{mission_id}.1"]
        counts, decoded, meta = read_back(path)
        assert counts == {"/fleet/robot_states": 2, "/mission/events": 4}  # queued, assigned, underway | completed
        assert (meta["segment"], meta["segments"]) == ("0", "2")
        assert [t for _, t, _ in decoded] == sorted(t for _, t, _ in decoded)
        with (tmp_path / "recordings" / f"mission-{mission_id}.1" / f"mission-{mission_id}.1_0.mcap").open("rb") as f:
            second = next(m.metadata for m in make_reader(f).iter_metadata() if m.name == "labfleet_mission")
        assert (second["segment"], second["resumed"], second["status"]) == ("1", "true", "underway")
    finally:
        path.unlink()


def test_no_recording_is_a_404_that_says_why(tmp_path: Path) -> None:
    rig = Rig(tmp_path, recording_max_age_days=1.0)

    async def run() -> None:
        await rig.start()
        with pytest.raises(NotFound, match="mission 99"):
            rig.service.file_for(99)  # no such mission
        queued = await asyncio.to_thread(rig.missions.submit, MissionCreate(spec={"steps": [{"wait": 1}]}))
        with pytest.raises(NotFound, match="never went underway"):
            rig.service.file_for(queued.id)
        mission_id = await rig.submit_underway()
        await rig.finish(mission_id, MissionStatus.CANCELED)
        assert rig.service.file_for(mission_id)[0].is_file()
        old = time.time() - 3 * 86_400
        for f in (tmp_path / "recordings" / f"mission-{mission_id}").iterdir():
            os.utime(f, (old, old))
        other = await rig.submit_underway("delivery_2")
        await rig.finish(other)  # each recording that closes applies the retention limits (once it is noted)
        await until(lambda: rig.segment_status(mission_id) != "finished")
        assert rig.segment_status(mission_id) == "pruned"
        with pytest.raises(NotFound, match="retention"):
            rig.service.file_for(mission_id)
        assert rig.service.file_for(other)[0].is_file()
        await rig.service.stop()

    asyncio.run(run())


def test_the_download_endpoint(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, database_url=f"sqlite:///{tmp_path / 'lab.db'}", ros_enabled=False,
                        environment="test", jwt_secret=JWT_SECRET, admin_password=ADMIN_PASSWORD)
    with admin_client(settings) as client:
        lab = client.app.state.lab  # type: ignore[attr-defined]
        api = "/api/v1/missions"
        assert client.get(f"{api}/5/recording").status_code == 404
        mission_id = client.post(api, json={"spec": {"steps": [{"go_to": "pharmacy"}]},
                                            "robot_id": "delivery_1"}).json()["id"]
        none = client.get(f"{api}/{mission_id}/recording")
        assert none.status_code == 404 and "never went underway" in none.json()["detail"]
        lab.missions.transition(mission_id, MissionStatus.ASSIGNED, "assigned", robot_id="delivery_1")
        lab.missions.transition(mission_id, MissionStatus.UNDERWAY, "underway")
        deadline = time.monotonic() + 20
        while client.get(f"{api}/{mission_id}/recording").status_code == 404 and time.monotonic() < deadline:
            time.sleep(0.05)
        busy = client.get(f"{api}/{mission_id}/recording")
        assert busy.status_code == 409 and "still being recorded" in busy.json()["detail"]
        lab.missions.transition(mission_id, MissionStatus.COMPLETED, "done")
        deadline = time.monotonic() + 120  # the recording closes in its own writer process: slow on a busy machine
        while client.get(f"{api}/{mission_id}/recording").status_code == 409 and time.monotonic() < deadline:
            time.sleep(0.05)
        got = client.get(f"{api}/{mission_id}/recording")
        assert got.status_code == 200, got.text
        assert got.headers["content-type"] == "application/octet-stream"
        assert f'filename="mission-{mission_id}.mcap"' in got.headers["content-disposition"]
        info = client.get(f"{api}/{mission_id}/recording/info").json()
        assert info["segments"][0]["status"] == "finished" and info["download"].endswith(f"/{mission_id}/recording")
    path = tmp_path / "download.mcap"
    path.write_bytes(got.content)
    counts, _, meta = read_back(path)
    assert counts == {"/mission/events": 4} and meta["mission_id"] == str(mission_id)


def test_recorded_steps_read_back_in_the_mission_language() -> None:
    records = [{"kind": "go_to", "target": "a", "retries": 2}, {"kind": "dock", "target": "c1"},
               {"kind": "action", "action": "load", "params": {"kg": 2}},
               {"kind": "cover", "zone": "z", "spacing": 0.5}, {"kind": "confirm", "prompt": "p"},
               {"kind": "wait", "seconds": 3.0}]
    assert spec_steps(records) == [{"go_to": "a", "retries": 2}, {"dock": "c1"},
                                   {"action": "load", "params": {"kg": 2}}, {"cover": "z", "spacing": 0.5},
                                   {"confirm": "p"}, {"wait": 3.0}]


def test_a_slow_recorder_close_does_not_hold_the_threads_the_api_reads_on(tmp_path: Path) -> None:
    """Closing a recording waits for its writer process (seconds on a busy host): it runs on the recordings' own
    threads, so the API's database reads (asyncio's shared threads, one here) go on meanwhile."""
    rig = Rig(tmp_path)
    release, closing = threading.Event(), threading.Event()

    async def run() -> None:
        asyncio.get_running_loop().set_default_executor(ThreadPoolExecutor(max_workers=1))
        await rig.start()
        mission_id = await rig.submit_underway()
        recorder = rig.service.recording[mission_id].recorder
        close = recorder.close

        def slow_close() -> dict[str, Any]:
            closing.set()
            release.wait(30)
            return close()

        recorder.close = slow_close  # type: ignore[method-assign]
        await asyncio.to_thread(rig.missions.transition, mission_id, MissionStatus.COMPLETED, "completed")
        await until(closing.is_set)
        read = await asyncio.wait_for(asyncio.to_thread(rig.missions.get, mission_id), 10)  # not behind the close
        assert read.status is MissionStatus.COMPLETED
        release.set()
        await until(lambda: rig.segment_status(mission_id) not in (None, "recording"))
        await rig.service.stop()

    try:
        asyncio.run(run())
    finally:
        release.set()
