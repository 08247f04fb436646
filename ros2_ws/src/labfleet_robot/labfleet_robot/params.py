"""ROS parameters of an agent or a Nav2 stand-in, and their params files: what a launcher writes for each robot."""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from labfleet_robot.safety import SafetyParams

AGENT_NODE = "agent"
NAV2_NODE = "bt_navigator"  # the Nav2 stand-in's node name, as Nav2's navigator


def agent_params(*, robot_id: str, kind: str, model: str, radius: float, max_speed: float, max_accel: float,
                 max_yaw_rate: float, max_yaw_accel: float, seed: int = 0,
                 actions: dict[str, tuple[float, float]] | None = None, map_frame: str = "map",
                 tf_topic: str = "/tf", safety: SafetyParams | None = None, max_decel: float | None = None
                 ) -> dict[str, Any]:
    """The agent's parameters; `map_frame` is the frame its pose is looked up in (`<id>/map` for a robot that
    localises on a map of its own, whose poses the fleet manager then aligns); `tf_topic` where its frames come
    (`/<id>/tf` in the built-in simulator); `safety` its safety layer's (per robot model, `safety_<name>`)."""
    actions = actions or {}
    names = sorted(actions)
    return {
        "robot_id": robot_id, "kind": kind, "model": model, "map_frame": map_frame, "tf_topic": tf_topic,
        "radius": float(radius),
        "max_speed": float(max_speed), "max_accel": float(max_accel), "max_yaw_rate": float(max_yaw_rate),
        "max_yaw_accel": float(max_yaw_accel), "seed": int(seed),
        # ROS array parameters cannot be empty: a placeholder entry stands for "no actions"
        "action_names": names or [""],
        "action_durations": [float(actions[n][0]) for n in names] or [0.0],
        "action_success_rates": [float(actions[n][1]) for n in names] or [0.0],
        **(safety or SafetyParams()).as_ros(),
        **({} if max_decel is None else {"max_decel": float(max_decel)}),
    }


def nav2_params(*, robot_id: str, radius: float, max_speed: float, max_accel: float, max_yaw_rate: float,
                max_yaw_accel: float, map_frame: str = "map", docking: bool = True,
                docks: dict[str, tuple[float, float, float]] | None = None, tf_topic: str = "/tf",
                safety: SafetyParams | None = None) -> dict[str, Any]:
    """The Nav2 stand-in's parameters (labfleet-nav2): kinematics, the robot's map frame and its dock database
    (dock id → pose in that map frame, the pose's yaw being the heading the robot has when docked); `safety` its
    collision monitor's (`safety_<name>`, as the agent's safety layer)."""
    return {
        "robot_id": robot_id, "radius": float(radius), "max_speed": float(max_speed), "max_accel": float(max_accel),
        "max_yaw_rate": float(max_yaw_rate), "max_yaw_accel": float(max_yaw_accel), "map_frame": map_frame,
        "tf_topic": tf_topic, "docking": bool(docking), "docks": format_docks(docks or {}),
        **(safety or SafetyParams()).as_ros(),
    }


def declared_safety(declare: Callable[[str, Any], Any]) -> SafetyParams:
    """The safety layer's parameters a node declares (`safety_<name>`, defaults SafetyParams')."""
    return SafetyParams(**{name.removeprefix("safety_"): float(declare(name, default).value)
                           for name, default in SafetyParams.ros_defaults().items()})


def format_docks(docks: dict[str, tuple[float, float, float]]) -> list[str]:
    """The `docks` parameter: one "id:x:y:yaw" string per dock, sorted by id ([""]: none, as ROS array
    parameters cannot be empty)."""
    for dock_id in docks:
        if not dock_id or ":" in dock_id:
            raise ValueError(f"dock id {dock_id!r}: must be non-empty and without ':'")
    return [f"{i}:{x!r}:{y!r}:{yaw!r}" for i, (x, y, yaw) in sorted(docks.items())] or [""]


def parse_docks(entries: list[str]) -> dict[str, tuple[float, float, float]]:
    """The dock database from the `docks` parameter ("id:x:y:yaw" entries; empty entries are skipped)."""
    docks: dict[str, tuple[float, float, float]] = {}
    for entry in entries:
        if not entry:
            continue
        parts = entry.split(":")
        try:
            if len(parts) != 4 or not parts[0]:
                raise ValueError
            pose = (float(parts[1]), float(parts[2]), float(parts[3]))
        except ValueError:
            raise ValueError(f"docks entry {entry!r}: expected 'id:x:y:yaw' with numbers") from None
        if not all(math.isfinite(v) for v in pose):
            raise ValueError(f"docks entry {entry!r}: x, y and yaw must be finite")
        if parts[0] in docks:
            raise ValueError(f"docks entry {entry!r}: dock {parts[0]!r} given twice")
        docks[parts[0]] = pose
    return docks


def write_params_file(path: Path, robot_id: str, params: dict[str, Any], use_sim_time: bool = True,
                      node: str = AGENT_NODE) -> None:
    """A params file for the robot's node `node` (AGENT_NODE or NAV2_NODE) in namespace /<robot_id>."""
    doc = {f"/{robot_id}/{node}": {"ros__parameters": {**params, "use_sim_time": use_sim_time}}}
    Path(path).write_text(yaml.safe_dump(doc, sort_keys=False))
