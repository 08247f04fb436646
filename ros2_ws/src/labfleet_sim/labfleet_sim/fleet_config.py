"""fleet.yaml: robot models (kinematics, battery, lidar, timed actions) and the robots that use them, with
how each robot is reached (its robot API), how its own map sits on the site map and how well it localises."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Literal

import yaml
from labfleet_robot.safety import SafetyParams
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator


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
    safety: dict[str, float] = Field(default_factory=dict)  # the agent's safety layer (labfleet_robot.safety)

    @model_validator(mode="after")
    def _safe(self) -> RobotModel:
        params = self.safety_params()  # unknown names raise here
        problems = params.problems(self.radius, self.max_decel)
        if problems:
            raise ValueError("safety." + "; safety.".join(problems))
        return self

    def safety_params(self) -> SafetyParams:
        """The model's safety layer parameters; unless given, the braking counted on is at most the base's."""
        values = dict(self.safety)
        values.setdefault("brake_decel", min(SafetyParams.brake_decel, self.max_decel))
        return SafetyParams.from_mapping(values)


class MapTransform(_Strict):
    """Where a robot's own `map` frame lies on the site map: site = scale * R(yaw) * p + (x, y), and
    site yaw = yaw + the robot's yaw. Identity by default (the robot localises on the site map itself)."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)
    x: float = 0.0
    y: float = 0.0
    yaw: float = 0.0
    scale: float = Field(default=1.0, gt=0)

    @property
    def is_identity(self) -> bool:
        return self.x == 0.0 and self.y == 0.0 and self.yaw == 0.0 and self.scale == 1.0

    def to_site(self, x: float, y: float, yaw: float = 0.0) -> tuple[float, float, float]:
        """A pose in the robot's map → the same pose on the site map."""
        c, s = math.cos(self.yaw), math.sin(self.yaw)
        return (self.x + self.scale * (c * x - s * y), self.y + self.scale * (s * x + c * y),
                math.atan2(math.sin(yaw + self.yaw), math.cos(yaw + self.yaw)))

    def to_map(self, x: float, y: float, yaw: float = 0.0) -> tuple[float, float, float]:
        """A pose on the site map → the same pose in the robot's map."""
        c, s = math.cos(self.yaw), math.sin(self.yaw)
        dx, dy = (x - self.x) / self.scale, (y - self.y) / self.scale
        return c * dx + s * dy, -s * dx + c * dy, math.atan2(math.sin(yaw - self.yaw), math.cos(yaw - self.yaw))


class Localisation(_Strict):
    """How the simulator localises a robot (REP 105): odometry (`odom → base_link`) starts at zero where the
    robot spawns and drifts by the seeded errors below; a localisation estimate (`map → odom`, as AMCL
    publishes it) is corrected every `period_s` with Gaussian noise. All zero: a perfect localisation."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)
    odom_scale_error: float = Field(default=0.0, ge=0, le=0.2)  # |distance error| / distance, drawn per robot
    odom_yaw_drift: float = Field(default=0.0, ge=0, le=0.2)  # |heading error| per metre driven (rad/m)
    period_s: float = Field(default=1.0, gt=0, le=60)  # map → odom corrected this often
    noise_m: float = Field(default=0.0, ge=0, le=1)  # standard deviation of the corrected position
    noise_yaw: float = Field(default=0.0, ge=0, le=0.5)  # standard deviation of the corrected heading (rad)


class Vda5050Identity(_Strict):
    """A VDA 5050 vehicle's identity on the broker: topics uagv/v2/<manufacturer>/<serial_number>/..."""

    manufacturer: str = Field(default="LabFleet", min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")
    serial_number: str | None = Field(default=None, min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")


RobotApi = Literal["labfleet", "nav2", "vda5050"]


class RobotConfig(_Strict):
    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    model: RobotModel
    spawn: Pose
    battery: float = Field(default=100.0, ge=0, le=100)
    home: str | None = None
    # how the fleet manager reaches the robot: our agent (ExecuteTask), Nav2 (NavigateThroughPoses) or VDA 5050
    robot_api: RobotApi = "labfleet"
    map_transform: MapTransform = Field(default_factory=MapTransform)
    localisation: Localisation = Field(default_factory=Localisation)
    vda5050: Vda5050Identity = Field(default_factory=Vda5050Identity)
    # false: the simulator runs the robot but the fleet manager's registry is not seeded with it (a robot
    # that announces itself unregistered, until an admin registers it)
    registered: bool = True

    @property
    def map_frame(self) -> str:
        """The robot's own map frame: the site's `map`, or `<id>/map` when its map is placed differently."""
        return "map" if self.map_transform.is_identity else f"{self.id}/map"

    @property
    def serial_number(self) -> str:
        return self.vda5050.serial_number or self.id


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


def _problem(prefix: str, err: Any) -> str:
    """`prefix.field: message` of a pydantic error (a model-wide check names its own field in the message)."""
    where = _where(err["loc"])
    message = str(err["msg"]).removeprefix("Value error, ")
    return f"{prefix}.{where}: {message}" if where else f"{prefix}.{message}"


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
        raise FleetConfigError(f"{source}: {_problem(f'models.{name}', err)}") from None
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
            raise FleetConfigError(f"{source}: {_problem(f'robots[{i}]', err)}") from None
        if robot.id in seen:
            raise FleetConfigError(f"{source}: robots[{i}].id: duplicate robot id {robot.id!r}")
        seen.add(robot.id)
        robots.append(robot)
    return FleetConfig(site=str(data.get("site", "")), models=models, robots=robots)


def _read(path: Path) -> Any:
    try:
        return yaml.safe_load(Path(path).read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise FleetConfigError(f"{path}: {exc}") from None


def _variant(data: dict[str, Any], path: Path, depth: int = 0) -> dict[str, Any]:
    """A fleet variant (`extends: fleet.yaml` in the same folder) resolved into a plain fleet document: the base's
    models with the variant's added or replaced, its robots with the variant's changes by id (`robots:` a mapping
    of id to changed fields), and the variant's `add:` robots after them."""
    base_name = data["extends"]
    if not isinstance(base_name, str) or "/" in base_name or depth > 4:
        raise FleetConfigError(f"{path}: extends: expected the name of another fleet file of the same folder"
                               + (" (variants nest too deep)" if depth > 4 else ""))
    base_path = path.with_name(base_name)
    base = _read(base_path)
    if not isinstance(base, dict):
        raise FleetConfigError(f"{base_path}: expected a mapping with 'models' and 'robots'")
    if "extends" in base:
        base = _variant(base, base_path, depth + 1)
    changes = data.get("robots") or {}
    if not isinstance(changes, dict):
        raise FleetConfigError(f"{path}: robots: in a variant, a mapping of robot id to the fields it changes")
    robots = [dict(r) if isinstance(r, dict) else r for r in base.get("robots") or []]
    known = {str(r.get("id")) for r in robots if isinstance(r, dict)}
    for rid, fields in changes.items():
        if rid not in known:
            raise FleetConfigError(f"{path}: robots.{rid}: no robot {rid!r} in {base_name} (have {sorted(known)})")
        if not isinstance(fields, dict):
            raise FleetConfigError(f"{path}: robots.{rid}: expected a mapping of the fields it changes")
        for robot in robots:
            if isinstance(robot, dict) and robot.get("id") == rid:
                robot.update(fields)
    added = data.get("add") or []
    if not isinstance(added, list):
        raise FleetConfigError(f"{path}: add: expected a list of robots")
    extra = set(data) - {"extends", "robots", "add", "models", "site"}
    if extra:
        raise FleetConfigError(f"{path}: unknown key(s) {sorted(extra)} in a fleet variant")
    return {"site": data.get("site", base.get("site", "")),
            "models": {**(base.get("models") or {}), **(data.get("models") or {})}, "robots": robots + added}


def load_fleet(path: Path) -> FleetConfig:
    """fleet.yaml, or a variant of it (`extends:`), validated."""
    data = _read(path)
    if isinstance(data, dict) and "extends" in data:
        data = _variant(data, Path(path))
    return parse_fleet(data, str(path))
