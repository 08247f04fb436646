"""Reading a mission recording back for re-simulation: its metadata record, each robot's trajectory, battery
levels and the mission events, with rosbags' AnyReader (the definitions come from the file itself) and the
metadata record with mcap's reader; and the recorded run (`recorded_run`): what the missions did, for the
comparison.

Trajectories are in the site's `map` frame, from /fleet/robot_states (the poses the robots report on the site
map). A robot with no states falls back on its odometry, /<id>/odom, which is in the robot's odom frame (zero
where it started, REP 105): taken to the site with its spawn pose when the metadata holds one (SPAWN_POSES),
else left in the odom frame. Odometry drifts, so even on the site it is only an approximation.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from labfleet_robot.frames import Transform
from mcap.exceptions import McapError
from mcap.reader import make_reader
from rosbags.highlevel import AnyReader, AnyReaderError

from fleet_manager.core.errors import InvalidInput, NotFound
from fleet_manager.recording.messages import EVENTS_TOPIC, STATES_TOPIC
from fleet_manager.recording.sink import METADATA_RECORD
from fleet_manager.replay.initial_state import InitialState
from fleet_manager.replay.runs import MissionRun, Run, Trajectory

# metadata key: JSON {robot_id: {"x", "y", "yaw"}}, the site pose where each robot's odometry is zero (its spawn
# pose); written by synthetic.py (the live recorder may add it for simulated robots)
SPAWN_POSES = "spawn_poses"


@dataclass(frozen=True)
class Recording:
    path: Path
    metadata: dict[str, str]
    initial: InitialState
    trajectories: dict[str, Trajectory]
    batteries: dict[str, list[tuple[float, float]]] = field(default_factory=dict)  # (t, percent)
    events: list[dict[str, Any]] = field(default_factory=list)  # each with "t": sim seconds


def mcap_file(bag: Path) -> Path:
    files = sorted(bag.glob("*.mcap")) if bag.is_dir() else [bag]
    if not files or not files[0].is_file():
        raise NotFound(f"no recording at {bag}", field="recording")
    return files[0]


def read_metadata(bag: Path) -> dict[str, str]:
    """The recording's "labfleet_mission" metadata record."""
    try:
        with mcap_file(bag).open("rb") as f:
            for record in make_reader(f).iter_metadata():
                if record.name == METADATA_RECORD:
                    return dict(record.metadata)
    except (McapError, OSError, ValueError) as exc:
        raise InvalidInput(f"cannot read the recording {bag}: {exc}", field="recording") from None
    raise InvalidInput(f"the recording {bag} has no {METADATA_RECORD!r} metadata", field="recording")


def spawn_poses(meta: Mapping[str, Any]) -> dict[str, Transform]:
    """The SPAWN_POSES of a metadata record (its JSON text, or already parsed), as site → odom transforms; {}
    when the record has none or they cannot be read."""
    raw = meta.get(SPAWN_POSES)
    try:
        poses = json.loads(raw) if isinstance(raw, str) else raw
        if not isinstance(poses, dict):
            return {}
        return {str(rid): Transform.planar(float(p["x"]), float(p["y"]), float(p.get("yaw", 0.0)))
                for rid, p in poses.items()}
    except (ValueError, TypeError, KeyError, AttributeError):
        return {}


def odom_on_site(spawn: Transform | None, x: float, y: float, yaw: float) -> tuple[float, float, float]:
    """An odometry pose (odom frame) on the site map through the spawn pose; unchanged without one."""
    return (x, y, yaw) if spawn is None else (spawn * Transform.planar(x, y, yaw)).pose2d()


def read_recording(bag: Path, robots: set[str] | None = None) -> Recording:
    """Metadata, initial state, trajectories (of `robots`; default the robots of the recorded missions; site
    frame from the robot states, else odometry: see the module's docstring), batteries and events of a
    recording folder (or a bare .mcap file)."""
    meta = read_metadata(bag)
    initial = InitialState.from_metadata(meta)
    wanted = robots if robots is not None else {m.robot_id for m in initial.missions}
    odom: dict[str, list[tuple[float, float, float]]] = {r: [] for r in wanted}
    states: dict[str, list[tuple[float, float, float]]] = {r: [] for r in wanted}
    batteries: dict[str, list[tuple[float, float]]] = {r: [] for r in wanted}
    events: list[dict[str, Any]] = []
    first: float | None = None  # the recording's first message (sim seconds)
    topics = {EVENTS_TOPIC, STATES_TOPIC, *(f"/{r}/battery_state" for r in wanted)}
    try:
        with AnyReader([bag if bag.is_dir() else bag.parent]) as reader:
            connections = [c for c in reader.connections if c.topic in topics]  # (none given: rosbags reads all)
            for conn, t_ns, raw in reader.messages(connections=connections) if connections else ():
                t = t_ns / 1e9
                first = t if first is None else first
                msg: Any = reader.deserialize(raw, conn.msgtype)
                topic = conn.topic
                if topic == EVENTS_TOPIC:
                    event = json.loads(msg.data)
                    if isinstance(event, dict):
                        sim_time = event.get("sim_time")
                        events.append({**event, "t": float(sim_time) if sim_time is not None else t})
                elif topic == STATES_TOPIC:
                    if msg.id in wanted:
                        states[msg.id].append((t, msg.pose.x, msg.pose.y))
                else:
                    batteries[topic.split("/")[1]].append((t, 100.0 * float(msg.percentage)))
            # a robot without states (its agent was silent): its odometry stands in
            missing = {f"/{r}/odom" for r in wanted if not states[r]}
            spawns = spawn_poses(meta) if missing else {}
            connections = [c for c in reader.connections if c.topic in missing]
            for conn, t_ns, raw in reader.messages(connections=connections) if connections else ():
                first = t_ns / 1e9 if first is None else min(first, t_ns / 1e9)
                msg = reader.deserialize(raw, conn.msgtype)
                rid = conn.topic.split("/")[1]
                p, q = msg.pose.pose.position, msg.pose.pose.orientation
                x, y, _ = odom_on_site(spawns.get(rid), p.x, p.y, 2 * math.atan2(q.z, q.w))
                odom[rid].append((t_ns / 1e9, x, y))
    except (AnyReaderError, OSError, ValueError) as exc:
        raise InvalidInput(f"cannot read the recording {bag}: {exc}", field="recording") from None
    trajectories = {r: Trajectory.of(states[r] or odom[r]) for r in wanted}
    events.sort(key=lambda e: e["t"])
    if not meta.get("sim_start_ns"):  # not known when recording began: the mission's start, as recorded
        initial = _started_at(initial, events, first)
    return Recording(bag, meta, initial, trajectories, batteries, events)


def _started_at(initial: InitialState, events: list[dict[str, Any]], first: float | None) -> InitialState:
    main = initial.missions[0]
    start = next((e["t"] for e in events if e.get("mission_id") == main.mission_id
                  and e.get("type") == "mission_event" and e.get("status") == "underway"), first)
    if start is None:
        return initial
    missions = [replace(m, start_s=start) if m.start_s == 0.0 else m for m in initial.missions]
    return replace(initial, sim_start_s=start, missions=missions)


TERMINAL = ("completed", "failed", "canceled")
STEP_STATUSES = frozenset({"pending", "active", "awaiting_confirmation", "retrying", "done", "failed", "skipped"})


def step_status(event: dict[str, Any]) -> str | None:
    """A mission_step event's status; the events from before the recording began (history) hold it only in
    their stored text, "step N STATUS[: why]"."""
    if event.get("status"):
        return str(event["status"])
    index, words = event.get("step_index"), str(event.get("message") or "").split(":", 1)[0].split()
    if event.get("from_history") and len(words) == 3 and words[:2] == ["step", str(index)] and (
            words[2] in STEP_STATUSES):
        return words[2]
    return None


def recorded_run(recording: Recording) -> Run:
    """The recorded missions as a Run: each mission from its first "underway" (else the recording's start)
    to its terminal status (else the robot's last sample); step events from the mission_step events. Missions
    in flight alongside whose events the recording does not hold are left out."""
    runs = []
    for m in recording.initial.missions:
        mine = [e for e in recording.events if e.get("mission_id") == m.mission_id]
        if not mine and m is not recording.initial.missions[0]:
            continue  # in flight alongside, not recorded: re-simulated as context, not compared
        status = [e for e in mine if e.get("type") == "mission_event"]
        started = next((e["t"] for e in status if e.get("status") == "underway"), m.start_s)
        end = next((e for e in status if e.get("status") in TERMINAL), None)
        track = recording.trajectories.get(m.robot_id, Trajectory.of([]))
        finished = end["t"] if end is not None else (float(track.t[-1]) if len(track) else None)
        detail = (end or {}).get("mission") or {}
        energy = detail.get("energy_wh")
        steps = [{"t": round(e["t"] - started, 3), "step_index": e.get("step_index"), "status": step,
                  "message": e.get("message") or ""}
                 for e in mine if e.get("type") == "mission_step" and (step := step_status(e))]
        runs.append(MissionRun(
            m.mission_id, m.robot_id, end["status"] if end is not None else "unfinished",
            (detail.get("failure_reason") or end.get("message", "")) if end is not None else "", started, finished,
            track.between(started, finished if finished is not None else started).length_m(),
            float(energy) if energy is not None else None, steps))
    starts = [r.started_s for r in runs if r.started_s is not None]
    ends = [r.finished_s for r in runs if r.finished_s is not None]
    start = min(starts, default=recording.initial.sim_start_s)
    return Run(recording.initial.site, runs, dict(recording.trajectories), start, max(ends, default=start),
               recording.initial.seed)
