"""A mission's recording as the console plays it back: compact JSON for the map and the timeline.

Read from the MCAP file alone with mcap's reader; messages are decoded with rosbags from the definitions the
file itself carries (so a recording made before a .msg changed still reads). Per robot, the samples
[t, x, y, yaw, speed, mode] come from /fleet/robot_states, in the site's `map` frame (at most one per
1/SAMPLE_HZ slot of sim time, and the robot's last state); a robot with no states falls back on /<robot>/odom
(mode "", source "odom"): odometry is in the robot's odom frame (zero where it started, REP 105), taken to the
site with the robot's spawn pose when the metadata holds one (replay.reader.SPAWN_POSES), else left in the
odom frame. The mission's events [t, text, kind] come from /mission/events; t is in seconds on the
recording's clock (sim time when simulated).

    {"mission_id": 42, "site": "living_lab", "robot_id": "delivery_1", "time_source": "sim",
     "start": 812.4, "end": 871.9, "sample_hz": 10,
     "robots": [{"id": "delivery_1", "kind": "delivery", "model": "...", "samples": [[812.4, 1.2, 3.4, 0.0, 0.5,
                 "moving"], ...]}],
     "events": [[812.4, "underway", "status"], [820.1, "step 0 (go_to ward_bed_2) done", "step"], ...],
     "status": "completed", "metadata": {...the "labfleet_mission" record, JSON values parsed...}}
"""

from __future__ import annotations

import json
import logging
import math
import struct
import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mcap.exceptions import McapError
from mcap.reader import make_reader
from pydantic import BaseModel, Field
from rosbags.serde import SerdeError
from rosbags.typesys import Stores, get_types_from_msg, get_typestore
from rosbags.typesys.store import Typestore

from fleet_manager.core.errors import InvalidInput
from fleet_manager.core.robots import MODE_BY_CODE
from fleet_manager.recording.messages import EVENTS_TOPIC, STATES_TOPIC
from fleet_manager.recording.sink import METADATA_RECORD
from fleet_manager.replay.initial_state import ROBOT_COMMAND
from fleet_manager.replay.reader import SPAWN_POSES, odom_on_site, spawn_poses

if TYPE_CHECKING:
    from fleet_manager.recording.service import RecordingService

log = logging.getLogger(__name__)

SAMPLE_HZ = 10
_JSON_FIELDS = ("params", "spec", "steps", "initial_robots", "initial_state", "missions", "settings", "recorder",
                SPAWN_POSES)
_STEP_STATUSES = frozenset({"pending", "active", "awaiting_confirmation", "retrying", "done", "failed", "skipped"})

Sample = tuple[float, float, float, float, float, str]  # t, x, y, yaw, speed, mode
Event = tuple[float, str, str]  # t, text, kind (status | step | command | info)


class RobotTrack(BaseModel):
    id: str
    kind: str = ""
    model: str = ""
    source: str = Field(description="where the samples come from: the robot states (site frame), else its odometry "
                                    "(odom; on the site when the recording knows the robot's spawn pose)")
    samples: list[Sample] = Field(description="[t, x, y, yaw, speed, mode], at most sample_hz a second")


class PlaybackPublic(BaseModel):
    mission_id: int
    site: str
    robot_id: str | None
    template: str | None
    time_source: str = Field(description="sim (/clock) or ros (wall time)")
    status: str | None = Field(description="the mission's last status in the recording")
    start: float = Field(description="the first moment of the recording, seconds on its clock")
    end: float
    sample_hz: int
    robots: list[RobotTrack]
    events: list[Event] = Field(description="[t, text, kind], in time order")
    metadata: dict[str, Any] = Field(description="the recording's labfleet_mission record, JSON values parsed")


# -- decoding ----------------------------------------------------------------------------------------
State = tuple[str, str, str, int, float, float, float, float]  # id, kind, model, mode code, x, y, yaw, linear x
_U32 = struct.Struct("<I")
_F64X4 = struct.Struct("<4d")


@lru_cache(maxsize=32)
def _typestore(typename: str, definition: str) -> Typestore:
    """A typestore holding `typename` as the file defines it (the concatenated ros2msg definition)."""
    store = get_typestore(Stores.EMPTY)
    store.register(get_types_from_msg(definition, typename))
    return store


def _decoder(schema: Any) -> Callable[[bytes], Any]:
    if schema is None or schema.encoding != "ros2msg":
        raise InvalidInput(f"the recording's schema {getattr(schema, 'name', None)!r} is not a ROS 2 message "
                           f"definition", field="recording")
    store = _typestore(schema.name, schema.data.decode("utf-8"))
    name = schema.name
    return lambda data: store.deserialize_cdr(data, name)


def _state_of(msg: Any) -> State:
    return (msg.id, msg.kind, msg.model, int(msg.mode), msg.pose.x, msg.pose.y, msg.pose.yaw, msg.velocity.linear.x)


def fast_state(data: bytes) -> State:
    """The leading fields of a RobotState (little-endian CDR) with a few struct calls: stamp, wall_time, id, kind,
    model, mode, pose, velocity.linear.x. rosbags takes ~10 times as long for the whole message."""
    if data[1] != 1:
        raise ValueError("not little-endian CDR")
    pos = 4 + 16  # encapsulation header; stamp (int32, uint32) and wall_time (float64)
    text = []
    for _ in range(3):  # id, kind, model
        pos = 4 + ((pos - 4 + 3) & ~3)
        (n,) = _U32.unpack_from(data, pos)
        text.append(data[pos + 4:pos + 3 + n].decode("utf-8"))
        pos += 4 + n
    mode = data[pos]
    pos = 4 + ((pos + 1 - 4 + 7) & ~7)
    x, y, yaw, linear = _F64X4.unpack_from(data, pos)  # pose (x, y, yaw), then velocity.linear.x
    return text[0], text[1], text[2], mode, x, y, yaw, linear


def _state_decoder(schema: Any) -> Callable[[bytes], State]:
    """RobotStates of one channel: fast_state once it agrees with rosbags on the channel's first message (the
    file's definition is the one fast_state knows), else rosbags throughout."""
    slow = _decoder(schema)
    chosen: list[Callable[[bytes], State]] = []

    def decode(data: bytes) -> State:
        if chosen:
            return chosen[0](data)
        state = _state_of(slow(data))
        try:
            agrees = fast_state(data) == state
        except (ValueError, IndexError, struct.error, UnicodeDecodeError):
            agrees = False
        chosen.append(fast_state if agrees else (lambda raw: _state_of(slow(raw))))
        return state

    return decode


def _num(value: float, digits: int) -> float:
    return round(float(value), digits) if math.isfinite(value) else 0.0


class _Tracks:
    """Samples per robot, downsampled: the first of each 1/SAMPLE_HZ slot of time, and the robot's last one."""

    def __init__(self) -> None:
        self.samples: dict[str, list[Sample]] = {}
        self.latest: dict[str, Sample | None] = {}  # the newest sample not kept (its slot had one already)
        self.info: dict[str, tuple[str, str]] = {}

    def add(self, robot: str, t: float, x: float, y: float, yaw: float, speed: float, mode: str) -> None:
        if not (math.isfinite(t) and math.isfinite(x) and math.isfinite(y)):
            return
        sample = (round(t, 3), _num(x, 3), _num(y, 3), _num(yaw, 3), _num(speed, 2), mode)
        samples = self.samples.setdefault(robot, [])
        if samples and _slot(t) <= _slot(samples[-1][0]):
            self.latest[robot] = sample
        else:
            samples.append(sample)
            self.latest[robot] = None

    def tracks(self, source: str) -> dict[str, RobotTrack]:
        out = {}
        for robot, samples in self.samples.items():
            latest = self.latest.get(robot)
            if latest is not None:  # the robot's last pose: in the last kept sample's slot, so it takes its place
                if len(samples) > 1:
                    samples[-1] = latest
                else:
                    samples.append(latest)  # a recording shorter than one slot: its first and last pose
            kind, model = self.info.get(robot, ("", ""))
            out[robot] = RobotTrack(id=robot, kind=kind, model=model, source=source, samples=samples)
        return out


def _slot(t: float) -> int:
    return math.floor(t * SAMPLE_HZ + 1e-6)


# -- events --------------------------------------------------------------------------------------------
def _describe_step(record: Mapping[str, Any]) -> str:
    kind = str(record.get("kind", ""))
    what = record.get("target") or record.get("zone") or record.get("action") or record.get("prompt")
    if what is None and record.get("seconds") is not None:
        what = f"{record['seconds']} s"
    if what is None and record.get("places"):
        what = " → ".join(str(p) for p in record["places"])
    return f"{kind} {what}" if what is not None else kind


def event_text(frame: Mapping[str, Any], steps: list[Any]) -> tuple[str, str]:
    """(text, kind) of a mission event frame, as the console lists it."""
    message = str(frame.get("message") or "")
    status = frame.get("status")
    index = frame.get("step_index")
    if frame.get("type") == "mission_event":
        return (f"{status}: {message}" if message and message != status else str(status)), "status"
    if frame.get("type") == ROBOT_COMMAND:  # an operator's command to the robot (Lab.command)
        return message or f"operator {frame.get('command')} on {frame.get('robot_id')}", "command"
    if not isinstance(index, int):
        return message, "info"
    record = steps[index] if 0 <= index < len(steps) and isinstance(steps[index], Mapping) else None
    step = f"step {index}" + (f" ({_describe_step(record)})" if record else "")
    if frame.get("type") == "mission_step" and status:
        return f"{step} {status}" + (f": {message}" if message else ""), "step"
    # the events from before the recording began (history) carry the stored text: "step 0 active[: why]"
    own = f"step {index} "
    if message.startswith(own):
        rest = message[len(own):]
        word = rest.split(":", 1)[0].strip()
        return f"{step} {rest}", "step" if word in _STEP_STATUSES else "info"
    return f"{step}: {message}", "info"


def _metadata(record: Mapping[str, str]) -> dict[str, Any]:
    out: dict[str, Any] = dict(record)
    for key in _JSON_FIELDS:
        text = record.get(key)
        if text:
            try:
                out[key] = json.loads(text)
            except ValueError:
                log.warning("recording metadata %s is not JSON: %.80s", key, text)
    return out


# -- reading -------------------------------------------------------------------------------------------
def _raw(reader: Any, topics: list[str]) -> list[tuple[int, Any, Any, bytes]]:
    """(log time ns, schema, channel, data) of `topics`, sorted by log time (read in file order: cheaper than the
    reader's merge of chunks, and the file is nearly in order already)."""
    out = [(m.log_time, schema, channel, m.data)
           for schema, channel, m in reader.iter_messages(topics=topics, log_time_order=False)]
    out.sort(key=lambda item: item[0])
    return out


def read_playback(path: Path) -> PlaybackPublic:
    """The playback of one MCAP recording file (InvalidInput when it cannot be read)."""
    states, odom = _Tracks(), _Tracks()
    events: list[Event] = []
    last_status: str | None = None
    decoders: dict[int, Callable[[bytes], Any]] = {}

    def decode(schema: Any, channel: Any, data: bytes, make: Callable[[Any], Callable[[bytes], Any]]) -> Any:
        fn = decoders.get(channel.id)
        if fn is None:
            fn = decoders[channel.id] = make(schema)
        return fn(data)

    try:
        with path.open("rb") as f:
            reader = make_reader(f)
            record = next((dict(m.metadata) for m in reader.iter_metadata() if m.name == METADATA_RECORD), None)
            if record is None:
                raise InvalidInput(f"the recording {path.name} has no {METADATA_RECORD!r} metadata", field="recording")
            metadata = _metadata(record)
            mission_id = int(record.get("mission_id") or 0)
            steps = metadata["steps"] if isinstance(metadata.get("steps"), list) else []
            for t_ns, schema, channel, data in _raw(reader, [STATES_TOPIC, EVENTS_TOPIC]):
                t = t_ns / 1e9
                if channel.topic == STATES_TOPIC:
                    rid, kind, model, code, x, y, yaw, linear = decode(schema, channel, data, _state_decoder)
                    mode = MODE_BY_CODE[code] if code < len(MODE_BY_CODE) else "error"
                    states.add(rid, t, x, y, yaw, linear, str(mode))
                    states.info.setdefault(rid, (kind, model))
                    continue
                frame = json.loads(decode(schema, channel, data, _decoder).data)
                if not isinstance(frame, dict) or frame.get("mission_id") not in (mission_id, None):
                    continue
                sim_time = frame.get("sim_time")
                at = float(sim_time) if isinstance(sim_time, int | float) and sim_time > 0 else t
                text, kind = event_text(frame, steps)
                events.append((round(at, 3), text, kind))
                if frame.get("type") == "mission_event" and frame.get("status"):
                    last_status = str(frame["status"])
            # a recorded robot without states (its agent was silent): its odometry stands in
            missing = [r for r in record.get("robots", "").split(",") if r and r not in states.samples]
            if missing:
                spawns = spawn_poses(record)
                for t_ns, schema, channel, data in _raw(reader, [f"/{r}/odom" for r in missing]):
                    msg = decode(schema, channel, data, _decoder)
                    rid = channel.topic.split("/")[1]
                    p, q = msg.pose.pose.position, msg.pose.pose.orientation
                    x, y, yaw = odom_on_site(spawns.get(rid), p.x, p.y, 2 * math.atan2(q.z, q.w))
                    odom.add(rid, t_ns / 1e9, x, y, yaw, msg.twist.twist.linear.x, "")
    except (McapError, OSError, SerdeError, ValueError, KeyError, AttributeError, TypeError) as exc:
        raise InvalidInput(f"cannot read the recording {path.name}: {exc}", field="recording") from None
    robots = odom.tracks("odom") | states.tracks("robot_states")
    events.sort(key=lambda e: e[0])
    times = [s[0] for track in robots.values() for s in (track.samples[0], track.samples[-1])]
    underway = [e[0] for e in events if e[2] == "status" and e[1].startswith("underway")]
    # the timeline opens with the first pose (or the mission going underway); the submitted and assigned
    # events before it stay in the list, at their own times
    start = min(times + underway[:1] or [e[0] for e in events] or [0.0])
    end = max(times + [e[0] for e in events] or [start])
    return PlaybackPublic(
        mission_id=mission_id, site=record.get("site", ""), robot_id=record.get("robot_id") or None,
        template=record.get("template") or None, time_source=record.get("time_source", "sim"),
        status=last_status, start=start, end=max(end, start), sample_hz=SAMPLE_HZ,
        robots=[robots[r] for r in sorted(robots)], events=events, metadata=metadata)


class PlaybackCache:
    """Playbacks already read, per mission, while the recording's side-car is unchanged (a finished recording
    never changes; a new segment or pruning rewrites the side-car)."""

    def __init__(self, size: int = 16) -> None:
        self.size = size
        self._lock = threading.Lock()
        self._entries: OrderedDict[int, tuple[int, bytes]] = OrderedDict()

    def get(self, mission_id: int, version: int | None) -> bytes | None:
        with self._lock:
            entry = self._entries.get(mission_id)
            if entry is None or version is None or entry[0] != version:
                return None
            self._entries.move_to_end(mission_id)
            return entry[1]

    def put(self, mission_id: int, version: int | None, body: bytes) -> None:
        if version is None:
            return
        with self._lock:
            self._entries[mission_id] = (version, body)
            self._entries.move_to_end(mission_id)
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)


def _version(sidecar: Path) -> int | None:
    try:
        st = sidecar.stat()
    except OSError:
        return None
    return hash((st.st_mtime_ns, st.st_size, st.st_ino))  # the side-car is replaced, never edited in place


def load_playback(recordings: RecordingService, cache: PlaybackCache, mission_id: int) -> bytes:
    """The playback of a mission's recording as JSON. NotFound (unknown mission, no recording), Conflict (still
    being recorded) from the store, InvalidInput (the file cannot be read)."""
    version = _version(recordings.store.sidecar(mission_id))
    body = cache.get(mission_id, version)
    if body is not None:
        return body
    path, temporary = recordings.file_for(mission_id)
    try:
        body = read_playback(path).model_dump_json().encode()
    finally:
        if temporary:
            path.unlink(missing_ok=True)
    cache.put(mission_id, version, body)
    return body
