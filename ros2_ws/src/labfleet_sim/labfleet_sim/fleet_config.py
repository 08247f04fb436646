"""fleet.yaml: robot models (kinematics, battery, lidar, timed actions) and the robots that use them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError


class FleetConfigError(ValueError):
    """fleet.yaml is malformed; the message names the file and the field."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Pose(_Strict):
    x: float
    y: float
    yaw: float = 0.0


class ActionSpec(_Strict):
    duration_s: float = Field(gt=0)
    success_rate: float = Field(default=1.0, ge=0, le=1)


class LidarSpec(_Strict):
    samples: int = Field(default=180, ge=8, le=4096)
    fov_deg: float = Field(default=360.0, gt=0, le=360)
    range_max: float = Field(default=8.0, gt=0)


class RobotModel(_Strict):
    name: str
    kind: str
    radius: float = Field(gt=0, le=3)
    mass_kg: float = Field(gt=0)
    max_speed: float = Field(gt=0)
    max_accel: float = Field(gt=0)
    max_decel: float = Field(default=1.5, gt=0)  # braking (stop, cancel, e-stop), m/s^2
    max_yaw_rate: float = Field(gt=0)
    max_yaw_accel: float = Field(gt=0)
    battery_capacity_wh: float = Field(gt=0)
    idle_power_w: float = Field(ge=0)
    drive_power_w: float = Field(ge=0)
    charge_power_w: float = Field(default=300.0, gt=0)  # while docked on a charger
    capabilities: list[str] = Field(default_factory=list)
    lidar: LidarSpec = Field(default_factory=LidarSpec)
    actions: dict[str, ActionSpec] = Field(default_factory=dict)


class RobotConfig(_Strict):
    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    model: RobotModel
    spawn: Pose
    battery: float = Field(default=100.0, ge=0, le=100)
    home: str | None = None


class FleetConfig(_Strict):
    site: str
    models: dict[str, RobotModel]
    robots: list[RobotConfig]

    def robot(self, robot_id: str) -> RobotConfig:
        for robot in self.robots:
            if robot.id == robot_id:
                return robot
        raise KeyError(f"no robot {robot_id!r} in the fleet of {self.site!r}")


def _where(loc: tuple[int | str, ...]) -> str:
    return ".".join(str(p) for p in loc)


def parse_fleet(data: Any, source: str = "fleet.yaml") -> FleetConfig:
    if not isinstance(data, dict):
        raise FleetConfigError(f"{source}: expected a mapping with 'models' and 'robots'")
    raw_models = data.get("models") or {}
    if not isinstance(raw_models, dict):
        raise FleetConfigError(f"{source}: models: expected a mapping of model name to its parameters")
    models = {}
    try:
        for name, spec in raw_models.items():
            if not isinstance(spec, dict):
                raise FleetConfigError(f"{source}: models.{name}: expected a mapping")
            models[name] = RobotModel.model_validate({"name": name, **spec})
    except ValidationError as exc:
        err = exc.errors()[0]
        raise FleetConfigError(f"{source}: models.{name}.{_where(err['loc'])}: {err['msg']}") from None
    robots = []
    seen: set[str] = set()
    for i, raw in enumerate(data.get("robots") or []):
        if not isinstance(raw, dict):
            raise FleetConfigError(f"{source}: robots[{i}]: expected a mapping")
        model_name = raw.get("model")
        if model_name not in models:
            raise FleetConfigError(f"{source}: robots[{i}].model: unknown model {model_name!r} (have {sorted(models)})")
        try:
            robot = RobotConfig.model_validate({**raw, "model": models[model_name]})
        except ValidationError as exc:
            err = exc.errors()[0]
            raise FleetConfigError(f"{source}: robots[{i}].{_where(err['loc'])}: {err['msg']}") from None
        if robot.id in seen:
            raise FleetConfigError(f"{source}: robots[{i}].id: duplicate robot id {robot.id!r}")
        seen.add(robot.id)
        robots.append(robot)
    return FleetConfig(site=str(data.get("site", "")), models=models, robots=robots)


def load_fleet(path: Path) -> FleetConfig:
    try:
        data = yaml.safe_load(Path(path).read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise FleetConfigError(f"{path}: {exc}") from None
    return parse_fleet(data, str(path))
