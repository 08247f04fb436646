"""ROS parameters of an agent, and their params file: what a launcher writes for each robot."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml


def agent_params(*, robot_id: str, kind: str, model: str, radius: float, max_speed: float, max_accel: float,
                 max_yaw_rate: float, max_yaw_accel: float, seed: int = 0,
                 actions: dict[str, tuple[float, float]] | None = None) -> dict[str, Any]:
    actions = actions or {}
    names = sorted(actions)
    return {
        "robot_id": robot_id, "kind": kind, "model": model, "radius": float(radius),
        "max_speed": float(max_speed), "max_accel": float(max_accel), "max_yaw_rate": float(max_yaw_rate),
        "max_yaw_accel": float(max_yaw_accel), "seed": int(seed),
        # ROS array parameters cannot be empty: a placeholder entry stands for "no actions"
        "action_names": names or [""],
        "action_durations": [float(actions[n][0]) for n in names] or [0.0],
        "action_success_rates": [float(actions[n][1]) for n in names] or [0.0],
    }


def write_params_file(path: Path, robot_id: str, params: dict[str, Any], use_sim_time: bool = True) -> None:
    doc = {f"/{robot_id}/agent": {"ros__parameters": {**params, "use_sim_time": use_sim_time}}}
    Path(path).write_text(yaml.safe_dump(doc, sort_keys=False))
