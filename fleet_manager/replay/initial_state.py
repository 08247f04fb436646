"""What a recording must hold for a mission to be re-simulated: the one place that names the metadata keys.

MCAP metadata holds strings only, so the structured parts are JSON. `replay_metadata` builds the whole
"labfleet_mission" record (recording/writer.py's `mission_metadata` plus the keys below); the recording
wiring calls it when a mission starts. `InitialState.from_metadata` reads it back.

Keys added to `mission_metadata`'s (mission_id, site, robots, template, seed, sim_start_ns, wall_start):
    replay_format   "1"
    robot_id        the robot that carries out the mission
    params          JSON: the template's resolved parameters
    steps           JSON: the mission's step records (Mission.steps: index, kind, target, action, params,
                    seconds, prompt, timeout, retries, zone, spacing; run-time keys are dropped)
    robot_kind      the kind the mission asks for ("" when any)
    capabilities    comma-separated capabilities the mission asks for
    priority        low | normal | high | emergency
    initial_state   JSON: {"robots": {ROBOT_ID: {"x", "y", "yaw", "battery"}}} for every robot of the site
                    at the mission's start (map frame, metres, radians; battery in percent)
    settings        JSON: allocation settings in force, e.g. {"battery_reserve_pct": 10}
    missions        JSON (optional): further missions run at the same time, each {"mission_id", "robot_id",
                    "steps", "start_s", "robot_kind", "capabilities", "priority"}; start_s is sim seconds

Injected events are mission events on /mission/events (JSON): the mission service's status changes to
"paused" and back to "underway", and the two built here: an operator's robot command and a fault.
Each carries "sim_time" (sim seconds); without it, the message's log time is used.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from fleet_manager.core.errors import InvalidInput
from fleet_manager.recording.writer import mission_metadata

REPLAY_FORMAT = "1"
RUN_KEYS = frozenset({"status", "started_at", "ended_at", "message", "attempt"})  # step keys of a run, not a spec
COMMANDS = ("pause", "resume", "estop", "release", "dock")
ROBOT_COMMAND = "robot_command"  # {"type", "robot_id", "command", "sim_time", "mission_id"?, "result"?, ...}
FAULT = "fault"  # {"type", "kind": "slowdown", "robot_id", "factor", "sim_time"}


@dataclass(frozen=True)
class RobotStart:
    x: float
    y: float
    yaw: float
    battery: float  # percent


@dataclass(frozen=True)
class MissionStart:
    mission_id: int
    robot_id: str
    steps: list[dict[str, Any]]
    start_s: float
    template: str = ""
    robot_kind: str | None = None
    capabilities: tuple[str, ...] = ()
    priority: str = "normal"


@dataclass(frozen=True)
class InitialState:
    site: str
    seed: int
    sim_start_s: float
    wall_start: str
    robots: dict[str, RobotStart]
    missions: list[MissionStart]
    settings: dict[str, float] = field(default_factory=dict)

    @classmethod
    def from_metadata(cls, meta: Mapping[str, str]) -> InitialState:
        """The initial state of a recording's "labfleet_mission" record; InvalidInput names a missing key."""
        if meta.get("replay_format") != REPLAY_FORMAT:
            raise InvalidInput(f"the recording cannot be replayed: its metadata has replay_format "
                               f"{meta.get('replay_format')!r}, not {REPLAY_FORMAT!r} (recorded before replay "
                               f"metadata existed?)", field="recording.replay_format")
        sim_start_ns = _get(meta, "sim_start_ns")
        start_s = int(sim_start_ns) / 1e9 if sim_start_ns else 0.0
        raw_robots = _json(meta, "initial_state").get("robots") or {}
        robots = {rid: RobotStart(float(r["x"]), float(r["y"]), float(r.get("yaw", 0.0)),
                                  float(r.get("battery", 100.0))) for rid, r in raw_robots.items()}
        caps = tuple(c for c in meta.get("capabilities", "").split(",") if c)
        main = MissionStart(int(_get(meta, "mission_id")), _get(meta, "robot_id"), _spec(_json(meta, "steps")),
                            start_s, meta.get("template", ""), meta.get("robot_kind") or None, caps,
                            meta.get("priority") or "normal")
        others = [MissionStart(int(m["mission_id"]), str(m["robot_id"]), _spec(m["steps"]), float(m["start_s"]),
                               str(m.get("template", "")), m.get("robot_kind") or None,
                               tuple(m.get("capabilities") or ()), str(m.get("priority", "normal")))
                  for m in (json.loads(meta["missions"]) if meta.get("missions") else [])]
        settings = {k: float(v) for k, v in (json.loads(meta["settings"]) if meta.get("settings") else {}).items()}
        seed = meta.get("seed", "")
        return cls(_get(meta, "site"), int(seed) if seed else 0, start_s, meta.get("wall_start", ""), robots,
                   [main, *others], settings)


def _get(meta: Mapping[str, str], key: str) -> str:
    value = meta.get(key)
    if value is None or (value == "" and key != "sim_start_ns"):
        raise InvalidInput(f"the recording's metadata has no {key!r}", field=f"recording.{key}")
    return value


def _json(meta: Mapping[str, str], key: str) -> Any:
    try:
        return json.loads(_get(meta, key))
    except ValueError as exc:
        raise InvalidInput(f"the recording's metadata {key!r} is not JSON: {exc}", field=f"recording.{key}") from None


def _spec(steps: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    return [{k: v for k, v in s.items() if k not in RUN_KEYS} for s in steps]


def replay_metadata(*, mission_id: int, site: str, robot_id: str, template: str | None, params: Mapping[str, Any],
                    steps: Sequence[Mapping[str, Any]], robots: Mapping[str, RobotStart], seed: int | None,
                    sim_start_ns: int | None, wall_start: datetime, robot_kind: str | None = None,
                    capabilities: Sequence[str] = (), priority: str = "normal",
                    settings: Mapping[str, float] | None = None,
                    others: Sequence[MissionStart] = ()) -> dict[str, str]:
    """The full "labfleet_mission" metadata record of a mission's recording (strings only)."""
    involved = list(dict.fromkeys([robot_id, *(m.robot_id for m in others)]))
    meta = mission_metadata(mission_id=mission_id, site=site, robots=involved,
                            template=template or "", seed=seed, sim_start_ns=sim_start_ns, wall_start=wall_start)
    meta.update({
        "replay_format": REPLAY_FORMAT,
        "robot_id": robot_id,
        "params": _dumps(dict(params)),
        "steps": _dumps(_spec(steps)),
        "robot_kind": robot_kind or "",
        "capabilities": ",".join(capabilities),
        "priority": str(priority),
        "initial_state": _dumps({"robots": {rid: {"x": r.x, "y": r.y, "yaw": r.yaw, "battery": r.battery}
                                            for rid, r in robots.items()}}),
        "settings": _dumps(dict(settings or {})),
    })
    if others:
        meta["missions"] = _dumps([{"mission_id": m.mission_id, "robot_id": m.robot_id, "steps": _spec(m.steps),
                                    "start_s": m.start_s, "template": m.template, "robot_kind": m.robot_kind,
                                    "capabilities": list(m.capabilities), "priority": m.priority} for m in others])
    return meta


def _dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), allow_nan=False, default=str)


def command_event(robot_id: str, command: str, sim_time: float, mission_id: int | None = None, *,
                  result: str | None = None, message: str = "", reason: str = "") -> dict[str, Any]:
    """An operator's command to a robot (pause, resume, estop, release, dock), as a recorded mission event;
    `result` is the robot's answer (ok, rejected, ...: a re-simulation injects only the commands it took)."""
    if command not in COMMANDS:
        raise ValueError(f"command must be one of {COMMANDS}, not {command!r}")
    event: dict[str, Any] = {"type": ROBOT_COMMAND, "robot_id": robot_id, "command": command, "sim_time": sim_time,
                             "mission_id": mission_id}
    if result is not None:
        event["result"] = result
        event["message"] = f"operator {command} on {robot_id}: {result}" + (f" ({message})" if message else "")
    if reason:
        event["reason"] = reason
    return event


def slowdown_event(robot_id: str, factor: float, sim_time: float) -> dict[str, Any]:
    """A fault: the robot's achievable speeds scale by `factor` (0..1] from `sim_time` on (1.0 ends it)."""
    if not 0 < factor <= 1 or math.isnan(factor):
        raise ValueError(f"factor must be in (0, 1], not {factor}")
    return {"type": FAULT, "kind": "slowdown", "robot_id": robot_id, "factor": factor, "sim_time": sim_time}
