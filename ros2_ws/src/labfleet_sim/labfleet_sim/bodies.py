"""The robots' state inside the built-in simulator, kept in arrays (one column per quantity, one row per robot in
fleet order) so that a physics step and a lidar tick work on the whole fleet at once (pure Python).

`Body` is one robot's view of those arrays: reading or setting `body.x` reads or sets its row, so code that handles
one robot at a time (the ROS node, faults, tests) keeps its attribute access.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from labfleet_sim.fleet_config import RobotConfig

FLOAT_COLUMNS = ("x", "y", "yaw", "v", "w", "cmd_v", "cmd_w", "cmd_time", "battery_wh", "distance_m", "energy_wh",
                 "speed_factor")
FLAG_COLUMNS = ("charging", "charging_allowed")


@dataclass(frozen=True)
class BodyState:
    """A snapshot of one robot: map pose, velocity, battery (percent, 0..100) and odometry totals."""

    robot_id: str
    x: float
    y: float
    yaw: float
    v: float
    w: float
    battery_percentage: float
    distance_m: float
    energy_wh: float
    charging: bool = False


class BodyArrays:
    """Every robot's mutable state (the columns of FLOAT_COLUMNS and FLAG_COLUMNS) and its model's constants."""

    def __init__(self, robots: Sequence[RobotConfig]) -> None:
        n = len(robots)
        models = [r.model for r in robots]
        for name in FLOAT_COLUMNS:
            setattr(self, name, np.zeros(n))
        for name in FLAG_COLUMNS:
            setattr(self, name, np.zeros(n, dtype=bool))
        self.x[:] = [r.spawn.x for r in robots]
        self.y[:] = [r.spawn.y for r in robots]
        self.yaw[:] = [r.spawn.yaw for r in robots]
        self.cmd_time[:] = -math.inf
        self.battery_wh[:] = [m.battery_capacity_wh * r.battery / 100.0 for r, m in zip(robots, models, strict=True)]
        self.speed_factor[:] = 1.0
        self.charging_allowed[:] = True

        def constant(attr: str) -> np.ndarray:
            return np.array([float(getattr(m, attr)) for m in models], dtype=float)

        self.radius = constant("radius")
        self.max_speed = constant("max_speed")
        self.max_accel = constant("max_accel")
        self.max_decel = constant("max_decel")
        self.max_yaw_rate = constant("max_yaw_rate")
        self.max_yaw_accel = constant("max_yaw_accel")
        self.capacity_wh = constant("battery_capacity_wh")
        self.idle_power_w = constant("idle_power_w")
        self.drive_power_w = constant("drive_power_w")
        self.charge_power_w = constant("charge_power_w")

    # the columns, for the type checker (set in __init__)
    x: np.ndarray
    y: np.ndarray
    yaw: np.ndarray
    v: np.ndarray
    w: np.ndarray
    cmd_v: np.ndarray
    cmd_w: np.ndarray
    cmd_time: np.ndarray
    battery_wh: np.ndarray
    distance_m: np.ndarray
    energy_wh: np.ndarray
    speed_factor: np.ndarray
    charging: np.ndarray
    charging_allowed: np.ndarray


class _Column:
    """One robot's row of a column of BodyArrays, as a float (or bool) attribute of its Body."""

    def __init__(self, kind: type = float) -> None:
        self.kind = kind
        self.name = ""

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def __get__(self, body: Body | None, owner: type | None = None) -> Any:
        if body is None:
            return self
        return self.kind(getattr(body.arrays, self.name)[body.index])

    def __set__(self, body: Body, value: Any) -> None:
        getattr(body.arrays, self.name)[body.index] = value


class Body:
    """One robot inside the simulator: its config, its row of the state arrays (read them; change them through
    Simulator methods) and the contacts it is in."""

    x = _Column()
    y = _Column()
    yaw = _Column()
    v = _Column()
    w = _Column()
    cmd_v = _Column()
    cmd_w = _Column()
    cmd_time = _Column()
    battery_wh = _Column()
    distance_m = _Column()
    energy_wh = _Column()
    speed_factor = _Column()
    charging = _Column(bool)
    charging_allowed = _Column(bool)  # False: it does not charge even on a charger (a VDA 5050 stopCharging)

    def __init__(self, config: RobotConfig, arrays: BodyArrays, index: int) -> None:
        self.config = config
        self.arrays = arrays
        self.index = index
        self.contacts: set[str] = set()
        self.touched_by: set[str] = set()  # pedestrians overlapping it that walked into it

    @property
    def battery_percentage(self) -> float:
        return 100.0 * max(self.battery_wh, 0.0) / self.config.model.battery_capacity_wh

    def __repr__(self) -> str:
        return f"Body({self.config.id!r}, x={self.x:.3f}, y={self.y:.3f}, yaw={self.yaw:.3f}, v={self.v:.3f})"
