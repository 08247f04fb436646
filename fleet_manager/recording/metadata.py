"""What a mission recording says about its mission: the "labfleet_mission" metadata record.

MCAP metadata holds strings only; structured values are JSON. The record (also in metadata.yaml's
custom_data) is replay/initial_state.py's `replay_metadata` (what a re-simulation reads: mission_id, site,
template, seed, sim_start_ns, wall_start, replay_format, robot_id, params, steps, robot_kind, capabilities,
priority, initial_state, settings, missions) plus:

    robots              the robots recorded (comma-separated): the mission's robot
    missions            (replay_metadata's) the other missions in flight when the segment started, with the
                        steps they still had to do and start_s = the segment's start (sim seconds)
    segment             0 for the first recording of a mission; 1, 2, ... for the next ones (the fleet
                        manager restarted, or the mission was requeued)
    resumed             "true" when the segment starts a mission already underway
    time_source         "sim" (/clock) or "ros" (wall time of the ROS clock)
    status              the mission's status when the segment started
    pilot_id, requested_robot_id
    spec                JSON {"steps": [...]} in the mission language (what POST /missions takes as "spec")
    initial_robots      JSON {robot_id: {kind, model, x, y, yaw, battery, charging, mode}}: every robot of the
                        site as last reported when the segment started
    recorder            JSON: what was recorded (scan rate and decimation, topics)
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from fleet_manager.core.robots import RobotReport
from fleet_manager.replay.initial_state import MissionStart, RobotStart, replay_metadata

_RUN_KEYS = frozenset({"index", "status", "started_at", "ended_at", "message", "attempt", "confirmed_by"})


def _json(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), sort_keys=True, default=str)


def spec_steps(records: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Stored step records ({"kind": "go_to", "target": ...}) back in the mission language ({"go_to": ...})."""
    steps = []
    for rec in records:
        kind = rec.get("kind")
        step: dict[str, Any]
        if kind in ("go_to", "dock"):
            step = {kind: rec["target"]}
        elif kind == "cover":
            step = {"cover": rec["zone"]}
            if rec.get("spacing") is not None:
                step["spacing"] = rec["spacing"]
        elif kind == "action":
            step = {"action": rec["action"], "params": dict(rec.get("params") or {})}
        elif kind == "wait":
            step = {"wait": rec["seconds"]}
        elif kind == "confirm":
            step = {"confirm": rec["prompt"]}
            if rec.get("timeout") is not None:
                step["timeout"] = rec["timeout"]
        elif kind == "patrol":
            step = {"patrol": list(rec["places"]), "repeat": rec.get("repeat", 1)}
        else:
            raise ValueError(f"unknown step kind {kind!r} in {dict(rec)}")
        if rec.get("retries"):
            step["retries"] = rec["retries"]
        steps.append(step)
    return steps


def robot_snapshot(reports: Sequence[RobotReport]) -> dict[str, dict[str, Any]]:
    return {r.id: {"kind": r.kind, "model": r.model, "x": r.x, "y": r.y, "yaw": r.yaw, "battery": r.battery,
                   "charging": r.charging, "mode": str(r.mode)} for r in reports}


def recording_metadata(mission: Mapping[str, Any], robots: Sequence[RobotReport], *, segment: int,
                       seed: int | None, use_sim_time: bool, wall_start: datetime, settings: Mapping[str, float],
                       recorder: Mapping[str, Any], others: Sequence[Mapping[str, Any]] = (),
                       now_s: float | None = None) -> dict[str, str]:
    """The record for one recording segment of `mission` (a MissionPublic as JSON); `others`: the other
    missions in flight (same form); `now_s`: the segment's start, sim seconds."""
    robot_id = mission.get("robot_id") or ""
    sim_start = mission.get("sim_started_at")
    records = [{k: v for k, v in s.items() if k not in _RUN_KEYS} for s in mission.get("steps") or []]
    in_flight = [MissionStart(int(m["id"]), m["robot_id"], [
        {k: v for k, v in s.items() if k not in _RUN_KEYS} for s in m.get("steps") or []
        if s.get("status") not in ("done", "failed", "skipped")], now_s or 0.0, m.get("template") or "",
        m.get("robot_kind"), tuple(m.get("capabilities") or ()), str(m.get("priority") or "normal"))
        for m in others if m.get("robot_id") and m.get("id") != mission.get("id")]
    meta = replay_metadata(
        mission_id=int(mission["id"]), site=mission["site"], robot_id=robot_id, template=mission.get("template"),
        params=mission.get("params") or {}, steps=records,
        robots={r.id: RobotStart(r.x, r.y, r.yaw, r.battery) for r in robots}, seed=seed,
        sim_start_ns=None if sim_start is None else round(float(sim_start) * 1e9), wall_start=wall_start,
        robot_kind=mission.get("robot_kind"), capabilities=list(mission.get("capabilities") or ()),
        priority=str(mission.get("priority") or "normal"), settings=settings, others=in_flight)
    try:
        spec: dict[str, Any] | None = {"steps": spec_steps(records)}
    except (KeyError, ValueError):  # a record this version does not know: `steps` still holds them
        spec = None
    meta.update({
        "robots": robot_id,
        "segment": str(segment),
        "resumed": "true" if segment > 0 else "false",
        "time_source": "sim" if use_sim_time else "ros",
        "status": str(mission.get("status", "")),
        "pilot_id": mission.get("pilot_id") or "",
        "requested_robot_id": mission.get("requested_robot_id") or "",
        "spec": _json(spec) if spec is not None else "",
        "initial_robots": _json(robot_snapshot(robots)),
        "recorder": _json(dict(recorder)),
    })
    return meta
