"""Mission recordings: written through MissionRecorder (writer process and in-process thread), read
back with two independent readers (rosbags' AnyReader on the bag folder, mcap_ros2 on the MCAP file)."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import math
import os
import random
import signal
import subprocess
import sys
import time
import warnings
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest
import yaml
from mcap.reader import make_reader
from rosbags.highlevel import AnyReader
from rosbags.typesys import Stores, get_types_from_msg, get_typestore

from fleet_manager.core.robots import RobotMode, RobotReport
from fleet_manager.recording import MissionRecorder, RecorderOptions, fastcdr, mission_metadata, prune
from fleet_manager.recording.messages import CMD_VEL, ODOM, STATE, Codec, interface_dirs

with warnings.catch_warnings():  # mcap-ros2-support 0.6.0 warns on import that this module is deprecated
    warnings.simplefilter("ignore", DeprecationWarning)
    from mcap_ros2.reader import read_ros2_messages

SECOND = 1_000_000_000
ROBOTS = ("r1", "r2")
RAYS = 360
EVENTS = [{"type": "mission_event", "kind": k, "mission_id": 42} for k in ("assigned", "underway", "completed")]


def report(rid: str, t_ns: int, i: int) -> RobotReport:
    return RobotReport(id=rid, kind="delivery", model="deliverybot", mode=RobotMode.MOVING, x=0.1 * i,
                       y=1.0 if rid == "r1" else -1.0, yaw=0.01 * i, linear=0.5, angular=0.05, battery=90.0 - i * 0.1,
                       charging=False, task_id="42-1", task_progress=i / 30, errors=("obstacle",) if i == 7 else (),
                       stamp=t_ns / SECOND, wall_time=1_700_000_000.0 + i * 0.1)


def ranges_at(i: int) -> np.ndarray:
    return (np.arange(RAYS, dtype=np.float32) * 0.01 + i).astype(np.float32)


def yaw_of(q: object) -> float:
    return 2 * math.atan2(q.z, q.w)  # type: ignore[attr-defined]


def record_mission(path: Path, options: RecorderOptions) -> tuple[MissionRecorder, dict[str, str]]:
    """3 s of sim time, 2 robots: states and cmd_vel at 10 Hz, odom at 20 Hz, battery at 1 Hz, scans at
    10 Hz with 360 rays (recorded at most 2 Hz, every 4th ray), and 3 mission events."""
    meta = mission_metadata(mission_id=42, site="living_lab", robots=ROBOTS, template="delivery", seed=7,
                            sim_start_ns=5 * SECOND, wall_start=datetime(2026, 5, 1, 9, 30, tzinfo=UTC))
    rec = MissionRecorder(path, meta, options)
    base = 5 * SECOND
    for i in range(60):  # 20 Hz ticks
        t = base + i * SECOND // 20
        for rid in ROBOTS:
            rec.record_odom(t, rid, 0.05 * i, 2.0, 0.01 * i, 0.5, 0.05)
            if i % 2 == 0:
                rec.record_state(t, report(rid, t, i // 2))
                rec.record_cmd_vel(t, rid, 0.5, -0.1)
                rec.record_scan(t, rid, ranges_at(i // 2), angle_min=-math.pi, angle_increment=2 * math.pi / RAYS,
                                range_min=0.05, range_max=12.0, scan_time=0.1)
            if i % 20 == 0:
                rec.record_battery(t, rid, 90.0 - i, charging=(rid == "r2"))
        if i in (0, 30, 59):
            rec.record_event(t, EVENTS[(0, 30, 59).index(i)])
    return rec, meta


EXPECTED = {"/fleet/robot_states": 60, "/mission/events": 3,
            **{f"/{r}/{topic}": n for r in ROBOTS for topic, n in
               (("odom", 60), ("cmd_vel", 30), ("battery_state", 3), ("scan", 6))}}


@pytest.mark.parametrize("in_process", [False, True], ids=["writer-process", "in-process"])
def test_a_recorded_mission_reads_back_with_rosbags_and_mcap_ros2(tmp_path: Path, in_process: bool) -> None:
    bag = tmp_path / "mission_42"
    rec, meta = record_mission(bag, RecorderOptions(scan_max_hz=2.0, scan_every=4, in_process=in_process))
    stats = rec.close()
    assert stats.complete and stats.messages == EXPECTED
    assert (stats.skipped_scans, stats.dropped_scans, stats.dropped_sensor) == (48, 0, 0)
    assert rec.close() is stats  # idempotent
    assert stats.mcap_path == bag / "mission_42_0.mcap" and stats.bytes == stats.mcap_path.stat().st_size

    # -- rosbags: the rosbag2 folder (metadata.yaml + MCAP), definitions taken from the file itself ----
    with AnyReader([bag]) as reader:
        assert {c.topic: c.msgcount for c in reader.connections} == EXPECTED
        assert {c.topic: c.msgtype for c in reader.connections if c.topic in (
            "/fleet/robot_states", "/mission/events", "/r1/odom", "/r1/cmd_vel", "/r1/battery_state", "/r1/scan")} == {
            "/fleet/robot_states": "labfleet_interfaces/msg/RobotState", "/mission/events": "std_msgs/msg/String",
            "/r1/odom": "nav_msgs/msg/Odometry", "/r1/cmd_vel": "geometry_msgs/msg/Twist",
            "/r1/battery_state": "sensor_msgs/msg/BatteryState", "/r1/scan": "sensor_msgs/msg/LaserScan"}
        scan_qos = next(c for c in reader.connections if c.topic == "/r2/scan").ext.offered_qos_profiles
        assert scan_qos[0].reliability.name == "BEST_EFFORT"
        decoded = [(c.topic, t, reader.deserialize(raw, c.msgtype)) for c, t, raw in reader.messages()]
    assert Counter(topic for topic, _, _ in decoded) == EXPECTED

    states = [(t, m) for topic, t, m in decoded if topic == "/fleet/robot_states"]
    t7, s7 = next((t, m) for t, m in states if m.id == "r1" and m.errors)
    assert t7 == 5 * SECOND + 14 * SECOND // 20  # the log time is the caller's sim time
    assert (s7.stamp.sec, s7.stamp.nanosec) == (5, 700_000_000)
    assert (s7.kind, s7.model, s7.mode, s7.current_task_id, list(s7.errors)) == (
        "delivery", "deliverybot", 1, "42-1", ["obstacle"])  # mode 1: MODE_MOVING
    assert (s7.pose.x, s7.pose.y, s7.pose.yaw) == pytest.approx((0.7, 1.0, 0.07))
    assert (s7.velocity.linear.x, s7.velocity.angular.z) == pytest.approx((0.5, 0.05))
    assert s7.battery_percentage == pytest.approx(89.3) and s7.task_progress == pytest.approx(7 / 30)
    assert s7.wall_time == pytest.approx(1_700_000_000.7)

    odom = [m for topic, _, m in decoded if topic == "/r2/odom"]
    last = odom[-1]
    assert (last.header.frame_id, last.child_frame_id) == ("r2/odom", "r2/base_link")
    assert (last.header.stamp.sec, last.header.stamp.nanosec) == (7, 950_000_000)
    assert (last.pose.pose.position.x, last.pose.pose.position.y) == pytest.approx((2.95, 2.0))
    assert yaw_of(last.pose.pose.orientation) == pytest.approx(0.59)
    assert (last.twist.twist.linear.x, last.twist.twist.angular.z) == pytest.approx((0.5, 0.05))

    cmd = next(m for topic, _, m in decoded if topic == "/r1/cmd_vel")
    assert (cmd.linear.x, cmd.angular.z) == pytest.approx((0.5, -0.1))
    batteries = [m for topic, _, m in decoded if topic == "/r2/battery_state"]
    assert [b.percentage for b in batteries] == pytest.approx([0.9, 0.7, 0.5])  # 0..1 in BatteryState
    assert batteries[0].power_supply_status == batteries[0].POWER_SUPPLY_STATUS_CHARGING

    scans = [(t, m) for topic, t, m in decoded if topic == "/r1/scan"]
    assert [t for t, _ in scans] == [5 * SECOND + k * SECOND // 2 for k in range(6)]  # one per 0.5 s slot
    for k, (_, scan) in enumerate(scans):
        expected = ranges_at(5 * k)[::4]  # the first scan of each slot: 10 Hz source, 2 Hz kept
        assert len(scan.ranges) == RAYS // 4 and np.array_equal(scan.ranges, expected)
        assert scan.angle_increment == pytest.approx(4 * 2 * math.pi / RAYS)
        assert scan.angle_max == pytest.approx(-math.pi + (RAYS // 4 - 1) * 4 * 2 * math.pi / RAYS)
        assert (scan.range_min, scan.range_max, scan.header.frame_id) == (pytest.approx(0.05), 12.0, "r1/base_link")

    events = [json.loads(m.data) for topic, _, m in decoded if topic == "/mission/events"]
    assert events == EVENTS

    # -- mcap_ros2: the MCAP file alone, decoded with its own dynamic decoder ------------------------
    msgs = list(read_ros2_messages(stats.mcap_path))
    assert Counter(m.channel.topic for m in msgs) == EXPECTED
    by_topic: dict[str, list[object]] = {}
    for m in msgs:
        by_topic.setdefault(m.channel.topic, []).append(m)
    first = by_topic["/fleet/robot_states"][0].ros_msg  # type: ignore[attr-defined]
    assert (first.id, first.pose.y, first.battery_percentage) == ("r1", 1.0, pytest.approx(90.0))
    scan = by_topic["/r2/scan"][-1]
    assert scan.log_time_ns == 7_500_000_000  # type: ignore[attr-defined]
    assert np.allclose(scan.ros_msg.ranges, ranges_at(25)[::4])  # type: ignore[attr-defined]
    assert [json.loads(m.ros_msg.data)["kind"] for m in by_topic["/mission/events"]] == [  # type: ignore[attr-defined]
        "assigned", "underway", "completed"]
    odom = by_topic["/r1/odom"][10].ros_msg  # type: ignore[attr-defined]
    assert yaw_of(odom.pose.pose.orientation) == pytest.approx(0.1)

    # -- the container: ROS 2 profile, full definitions, the mission metadata record ------------------
    with stats.mcap_path.open("rb") as f:
        mcap = make_reader(f)
        header, summary = mcap.get_header(), mcap.get_summary()
        records = {m.name: m.metadata for m in mcap.iter_metadata()}
    assert header.profile == "ros2"
    assert summary is not None
    assert {s.encoding for s in summary.schemas.values()} == {"ros2msg"}
    assert {c.message_encoding for c in summary.channels.values()} == {"cdr"}
    state_schema = next(s for s in summary.schemas.values() if s.name == "labfleet_interfaces/msg/RobotState")
    text = state_schema.data.decode()
    assert "uint8 MODE_WAITING=8" in text and "MSG: labfleet_interfaces/Pose2D" in text
    assert "MSG: geometry_msgs/Vector3" in text
    state_channel = next(c for c in summary.channels.values() if c.topic == "/fleet/robot_states")
    assert state_channel.metadata["topic_type_hash"].startswith("RIHS01_")
    assert records["labfleet_mission"] == meta == {
        "mission_id": "42", "site": "living_lab", "robots": "r1,r2", "template": "delivery", "seed": "7",
        "sim_start_ns": "5000000000", "wall_start": "2026-05-01T09:30:00+00:00"}
    info = yaml.safe_load((bag / "metadata.yaml").read_text())["rosbag2_bagfile_information"]
    assert info["custom_data"] == meta
    assert (info["version"], info["storage_identifier"], info["relative_file_paths"]) == (
        9, "mcap", ["mission_42_0.mcap"])
    assert info["message_count"] == sum(EXPECTED.values()) and info["starting_time"]["nanoseconds_since_epoch"] == (
        5 * SECOND)


def test_scans_are_kept_at_most_once_per_rate_slot(tmp_path: Path) -> None:
    rec = MissionRecorder(tmp_path / "m", {}, RecorderOptions(scan_max_hz=5.0, scan_every=1, in_process=True))
    ms = 1_000_000
    kept = [rec.record_scan(t * ms, "r1", [1.0, 2.0], angle_min=0.0, angle_increment=0.1)
            for t in (0, 100, 199, 200, 250, 399, 401, 1000)]  # 200 ms slots; jitter does not halve the rate
    assert kept == [True, False, False, True, False, False, True, True]
    assert rec.record_scan(100 * ms, "r2", [1.0], angle_min=0.0, angle_increment=0.1)  # per robot
    stats = rec.close()
    assert stats.messages == {"/r1/scan": 4, "/r2/scan": 1} and stats.skipped_scans == 4


def test_when_the_writer_stalls_the_oldest_scans_go_first_never_states_or_events(tmp_path: Path) -> None:
    opts = RecorderOptions(max_queue=10, scan_every=1, scan_max_hz=1000.0, flush_period_s=0.01)
    rec = MissionRecorder(tmp_path / "m", {"mission_id": "1"}, opts)
    pid = rec.writer_pid
    assert pid is not None
    os.kill(pid, signal.SIGSTOP)  # a stalled disk: the writer reads nothing
    try:
        # one scan bigger than the pipe: once the shipper has taken it, it is stuck writing it
        rec.record_scan(0, "big", np.ones(100_000, np.float32), angle_min=0.0, angle_increment=1e-5)
        deadline = time.monotonic() + 5
        while rec.queued and time.monotonic() < deadline:
            time.sleep(0.01)
        assert rec.queued == 0
        t = iter(range(SECOND, 2 * SECOND, 10_000_000))  # distinct 1 ms scan slots
        for _ in range(4):
            rec.record_scan(next(t), "r1", [1.0], angle_min=0.0, angle_increment=0.1)
        for _ in range(3):
            rec.record_odom(next(t), "r1", 0.0, 0.0, 0.0, 0.0, 0.0)
        for i in range(5):  # the queue is full from the 4th: each drops the oldest scan
            rec.record_state(next(t), report("r1", SECOND, i))
        for event in EVENTS:  # two more scans, then (none left) the oldest odom
            rec.record_event(next(t), event)
        rec.record_scan(next(t), "r1", [1.0], angle_min=0.0, angle_increment=0.1)  # full of others: it goes
        rec.record_odom(next(t), "r1", 0.0, 0.0, 0.0, 0.0, 0.0)  # the oldest odom makes room
        for i in range(5, 8):  # the two odoms go, then states overrun the bound
            rec.record_state(next(t), report("r1", SECOND, i))
        assert (rec.dropped_scans, rec.dropped_sensor, rec.queued) == (5, 4, 11)
    finally:
        os.kill(pid, signal.SIGCONT)
    stats = rec.close()
    assert stats.complete and (stats.dropped_scans, stats.dropped_sensor, stats.peak_queue) == (5, 4, 11)
    assert stats.messages == {"/big/scan": 1, "/fleet/robot_states": 8, "/mission/events": 3}
    with AnyReader([rec.path]) as reader:
        states = [reader.deserialize(raw, c.msgtype) for c, _, raw in reader.messages()
                  if c.topic == "/fleet/robot_states"]
    assert [round(s.task_progress * 30) for s in states] == list(range(8))


def test_a_dead_writer_costs_the_caller_nothing_and_close_says_so(tmp_path: Path) -> None:
    rec = MissionRecorder(tmp_path / "m", {}, RecorderOptions(flush_period_s=0.01))
    assert rec.writer_pid is not None
    os.kill(rec.writer_pid, signal.SIGKILL)
    deadline = time.monotonic() + 5
    while rec.lost == 0 and time.monotonic() < deadline:  # the shipper finds the broken pipe
        rec.record_state(SECOND, report("r1", SECOND, 0))
        time.sleep(0.01)
    stats = rec.close()
    assert stats.error and stats.lost > 0 and not stats.complete


def test_the_writer_process_finishes_the_file_when_its_parent_is_killed(tmp_path: Path) -> None:
    bag = tmp_path / "m"
    parent = f"""
import os, signal, time
from fleet_manager.recording import MissionRecorder, RecorderOptions
rec = MissionRecorder({str(bag)!r}, {{"mission_id": "9"}}, RecorderOptions(flush_period_s=0.01))
for i in range(100):
    rec.record_event(i * 1000, {{"seq": i}})
while rec.queued:
    time.sleep(0.01)
time.sleep(0.2)  # the shipper has written its last batch into the pipe
os.kill(os.getpid(), signal.SIGKILL)
"""
    proc = subprocess.run([sys.executable, "-c", parent], timeout=60)
    assert proc.returncode == -signal.SIGKILL
    deadline = time.monotonic() + 120  # the orphaned writer finishes on its own: slowly on a busy machine
    while not (bag / "metadata.yaml").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    with AnyReader([bag]) as reader:
        seqs = [json.loads(reader.deserialize(raw, c.msgtype).data)["seq"] for c, _, raw in reader.messages()]
    assert seqs == list(range(100))


def test_bad_input_is_refused_at_the_call(tmp_path: Path) -> None:
    with pytest.raises(TypeError, match="seed"):
        MissionRecorder(tmp_path / "a", {"seed": 7})  # type: ignore[dict-item]
    assert not (tmp_path / "a").exists()
    rec = MissionRecorder(tmp_path / "b", {}, RecorderOptions(in_process=True))
    with pytest.raises(ValueError, match="robot id"):
        rec.record_odom(0, "robot 1", 0.0, 0.0, 0.0, 0.0, 0.0)
    with pytest.raises(TypeError):
        rec.record_cmd_vel(1.5, "r1", 0.0, 0.0)  # type: ignore[arg-type]  # seconds, not nanoseconds
    with pytest.raises(ValueError, match=">= 0"):
        rec.record_event(-1, {})
    rec.close()
    rec.record_event(0, {})  # after close: counted, not written, no error
    assert rec.close().late == 0  # the figures were taken at the first close
    with pytest.raises(FileExistsError):
        MissionRecorder(tmp_path / "b", {})


def _fake_recording(root: Path, name: str, size: int, age_s: float, now: float, finished: bool = True) -> Path:
    folder = root / name
    folder.mkdir()
    files = [folder / f"{name}_0.mcap"] + ([folder / "metadata.yaml"] if finished else [])
    files[0].write_bytes(b"\0" * size)
    for f in files[1:]:
        f.write_text("")
    for f in files:
        os.utime(f, (now - age_s, now - age_s))
    return folder


def test_prune_deletes_the_oldest_recordings_beyond_age_and_size(tmp_path: Path) -> None:
    now = time.time()
    day = 86_400.0
    old = _fake_recording(tmp_path, "m1", 1000, 40 * day, now)
    a = _fake_recording(tmp_path, "m2", 3000, 5 * day, now)
    b = _fake_recording(tmp_path, "m3", 3000, 4 * day, now)
    active = _fake_recording(tmp_path, "m4", 5000, 3 * day, now, finished=False)  # being written
    c = _fake_recording(tmp_path, "m5", 3000, 1 * day, now)
    kept = _fake_recording(tmp_path, "m6", 1000, 50 * day, now)
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "readme.txt").write_text("not a recording")
    os.utime(tmp_path / "notes" / "readme.txt", (now - 90 * day, now - 90 * day))

    assert prune(tmp_path, None, 30 * day, keep=[kept], now=now) == [old]
    assert prune(tmp_path, None, None, now=now) == []
    # 15000 bytes left (m6 kept counts); down to 9000: m2 and m3 go, the unfinished m4 is skipped
    assert prune(tmp_path, 9000, None, keep=[kept], now=now) == [a, b]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m4", "m5", "m6", "notes"]
    assert prune(tmp_path, 0, 2 * day, keep=[kept], now=now) == [active, c]  # too old, unfinished or not
    assert kept.exists() and (tmp_path / "notes" / "readme.txt").exists()


def _text(rng: random.Random) -> str:
    return "".join(rng.choice("abcXYZ_09é") for _ in range(rng.randrange(0, 10)))  # é: 2 bytes in UTF-8


def test_the_fast_encoders_write_what_rosbags_writes() -> None:
    codec = Codec()
    assert codec.fast_kinds == {STATE, ODOM, CMD_VEL}
    rng = random.Random(6)
    for _ in range(300):
        f = [rng.uniform(-1e3, 1e3) for _ in range(8)]
        state = (STATE, 0, _text(rng), _text(rng), _text(rng), rng.randrange(10), *f[:5], rng.uniform(0, 100),
                 rng.random() < 0.5, _text(rng), rng.random(), tuple(_text(rng) for _ in range(rng.randrange(4))),
                 rng.uniform(0, 1e6), rng.uniform(0, 2e9))
        odom = (ODOM, rng.randrange(0, 2**40), "r" + _text(rng).replace("é", "e"), *f[:5])
        cmd = (CMD_VEL, 0, "r1", f[6], f[7])
        assert fastcdr.robot_state(state) == codec.reference(state)
        assert fastcdr.odometry(odom) == codec.reference(odom)
        assert fastcdr.twist(cmd) == codec.reference(cmd)


def test_a_changed_definition_sends_its_messages_back_to_rosbags() -> None:
    store = get_typestore(Stores.ROS2_JAZZY)
    folder = next(d for d in interface_dirs() if d.is_dir())
    types: dict[str, object] = {}
    for path in sorted(folder.glob("*.msg")):
        text = path.read_text().replace("float32 battery_percentage", "float64 battery_percentage")
        types.update(get_types_from_msg(text, f"labfleet_interfaces/msg/{path.stem}"))
    store.register(types)  # type: ignore[arg-type]
    codec = Codec(store)
    assert codec.fast_kinds == {ODOM, CMD_VEL}
    item = (STATE, 0, "r1", "k", "m", 1, 1.0, 2.0, 0.3, 0.5, 0.1, 80.0, False, "", 0.0, (), 1.0, 2.0)
    assert codec.encode(item)[2] == codec.reference(item) != fastcdr.robot_state(item)


def test_the_event_loop_ships_batches_to_a_nice_writer_process(tmp_path: Path) -> None:
    """The running lab's way: states by batch, driver messages as received (raw CDR), shipped by the loop."""
    store = Codec().store
    raw_odom = bytes(store.serialize_cdr(Codec()._build(ODOM, (ODOM, 3 * SECOND, "r1", 1.0, 2.0, 0.5, 0.3, 0.1)),
                                         "nav_msgs/msg/Odometry"))

    async def run() -> tuple[MissionRecorder, int, int]:
        loop = asyncio.get_running_loop()
        rec = MissionRecorder(tmp_path / "m", {"mission_id": "7"}, RecorderOptions(flush_period_s=0.01), loop=loop)
        assert rec.writer_pid is not None
        nice = os.getpriority(os.PRIO_PROCESS, rec.writer_pid)
        for i in range(5):
            t = SECOND + i * SECOND // 10
            rec.record_states(t, [report("r1", t, i), report("r2", t, i)])
            rec.record_raw(t, "r1", ODOM, raw_odom)
        await asyncio.sleep(0.3)  # the loop's ticks have shipped everything
        shipped = rec.queued
        rec.record_event(2 * SECOND, {"kind": "completed"})  # queued: close() ships it
        rec.record_states(0, [dataclasses.replace(report("r2", 0, 9), stamp=0.0)])  # no stamp: the batch's time
        return rec, shipped, nice

    rec, shipped, nice = asyncio.run(run())
    stats = rec.close()
    assert shipped == 0 and nice == min(19, os.getpriority(os.PRIO_PROCESS, 0) + 19)  # the lowest priority
    assert stats.complete and stats.messages == {"/fleet/robot_states": 11, "/r1/odom": 5, "/mission/events": 1}
    with AnyReader([rec.path]) as reader:
        got = [(c.topic, t, reader.deserialize(raw, c.msgtype)) for c, t, raw in reader.messages()]
    states = [(t, m) for topic, t, m in got if topic == "/fleet/robot_states"]
    assert states[0][0] == 0 and states[0][1].task_progress == pytest.approx(9 / 30)
    assert [t for t, m in states if m.id == "r1"] == [SECOND + i * SECOND // 10 for i in range(5)]  # their stamps
    odom = next(m for topic, _, m in got if topic == "/r1/odom")
    assert (odom.header.stamp.sec, odom.pose.pose.position.y, odom.twist.twist.linear.x) == (3, 2.0, 0.3)


def test_close_ships_what_the_loop_has_not_yet(tmp_path: Path) -> None:
    async def run() -> MissionRecorder:
        rec = MissionRecorder(tmp_path / "m", {}, RecorderOptions(flush_period_s=100.0),
                              loop=asyncio.get_running_loop())
        rec.record_states(SECOND, [report("r1", SECOND, i) for i in range(3)])
        return rec  # the loop never ran a tick

    rec = asyncio.run(run())
    assert rec.close().messages == {"/fleet/robot_states": 3}


def test_a_header_stamp_is_read_from_the_raw_message() -> None:
    from fleet_manager.recording.taps import header_stamp_ns

    store = Codec().store
    raw = bytes(store.serialize_cdr(Codec()._build(ODOM, (ODOM, 5 * SECOND + 7, "r1", 0.0, 0.0, 0.0, 0.0, 0.0)),
                                    "nav_msgs/msg/Odometry"))
    big = bytes(store.serialize_cdr(Codec()._build(ODOM, (ODOM, 5 * SECOND + 7, "r1", 0.0, 0.0, 0.0, 0.0, 0.0)),
                                    "nav_msgs/msg/Odometry", little_endian=False))
    assert header_stamp_ns(raw) == header_stamp_ns(big) == 5 * SECOND + 7
    assert header_stamp_ns(b"\x00\x01") == 0


def test_a_dead_writer_costs_the_event_loop_nothing_either(tmp_path: Path) -> None:
    async def run() -> MissionRecorder:
        rec = MissionRecorder(tmp_path / "m", {}, RecorderOptions(flush_period_s=0.01),
                              loop=asyncio.get_running_loop())
        assert rec.writer_pid is not None
        os.kill(rec.writer_pid, signal.SIGKILL)
        deadline = time.monotonic() + 10
        while rec.lost == 0 and time.monotonic() < deadline:  # a tick finds the broken pipe
            rec.record_states(SECOND, [report("r1", SECOND, 0)])
            await asyncio.sleep(0.01)
        return rec

    rec = asyncio.run(run())
    stats = rec.close()
    assert stats.error and stats.lost > 0 and not stats.complete
