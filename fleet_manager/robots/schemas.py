"""Robot schemas at the HTTP/websocket boundary: the live view of a robot, operator commands, and the
registry (issue 14): a robot's adapter, connection settings, model, map transform, home and charger."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool

from fleet_manager.audit.schemas import UtcDatetime
from fleet_manager.boundary import Number
from fleet_manager.core.robots import Command, CommandResult, RobotMode

Adapter = Literal["labfleet", "nav2", "vda5050"]
Name = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")]
RosName = Annotated[str, Field(min_length=1, max_length=200, pattern=r"^/?[A-Za-z_][A-Za-z0-9_/]*$")]


class PoseOut(BaseModel):
    x: float
    y: float
    yaw: float


class VelocityOut(BaseModel):
    linear: float
    angular: float


class BatteryOut(BaseModel):
    percentage: float
    charging: bool = False


class RobotPublic(BaseModel):
    id: str
    name: str = Field(description="the registered name (the id for an unregistered robot)")
    kind: str
    model: str
    adapter: str = Field(description="labfleet | nav2 | vda5050: how the fleet manager reaches the robot")
    registration: Literal["registered", "unregistered"] = Field(
        description="unregistered: it announced itself but no admin registered it; it is never dispatched")
    mode: RobotMode
    localisation: Literal["ok", "lost", "unknown"] = Field(
        description="lost: its map pose is missing or stale (> 2 s); it is not dispatched and its mission is held")
    pose: PoseOut | None = Field(description="site map frame; null until the robot first reports")
    velocity: VelocityOut | None
    battery: BatteryOut | None
    current_mission_id: int | None
    last_seen: datetime | None
    errors: list[str]
    stamp: float | None  # the robot's clock when it took the state (sim time when simulated)
    wall_time: float | None  # seconds since the epoch when the robot took the state


class CommandIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    command: Command
    reason: str = Field("", max_length=2000)


class FleetStopIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: str = Field("", max_length=2000)


class CommandOut(BaseModel):
    robot_id: str
    command: Command
    result: CommandResult
    message: str


# -- the registry ---------------------------------------------------------------------------------
class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


class ConnectionIn(_Strict):
    """How to reach the robot. ROS robots (labfleet, nav2): its namespace and, for nav2, where its frames are;
    VDA 5050 vehicles: manufacturer and serial number (topics uagv/v2/<manufacturer>/<serial>/...) and map id.
    Fields left out take their defaults; a field of another adapter is refused."""

    namespace: RosName | None = Field(None, description="ROS namespace (default /<id>)")
    tf_topic: RosName | None = Field(None, description="nav2: the robot's TF topic (default /tf)")
    tf_static_topic: RosName | None = Field(None, description="nav2: its static TF topic (default /tf_static)")
    map_frame: RosName | None = Field(None, description="nav2: its map frame (default map, or <id>/map with a "
                                                        "map transform)")
    base_frame: RosName | None = Field(None, description="nav2: its base frame (default <id>/base_link)")
    manufacturer: Name | None = Field(None, description="vda5050: manufacturer (default LabFleet)")
    serial_number: Name | None = Field(None, description="vda5050: serial number (default the id)")
    map_id: Name | None = Field(None, description="vda5050: the vehicle's map id (default the site's name)")


class ActionIn(_Strict):
    duration_s: Number = Field(gt=0, le=86_400)
    success_rate: Number = Field(1.0, ge=0, le=1)


class _ModelRest(_Strict):
    capabilities: list[Annotated[str, Field(min_length=1, max_length=64)]] = Field(default_factory=list,
                                                                                   max_length=32)
    battery_capacity_wh: Number = Field(gt=0, le=1_000_000)
    mass_kg: Number = Field(50.0, gt=0, le=100_000)
    max_accel: Number = Field(0.5, gt=0, le=20)
    max_decel: Number = Field(1.5, gt=0, le=20)
    max_yaw_rate: Number = Field(1.0, gt=0, le=20)
    max_yaw_accel: Number = Field(2.0, gt=0, le=50)
    idle_power_w: Number = Field(20.0, ge=0, le=100_000)
    drive_power_w: Number = Field(60.0, ge=0, le=100_000)
    actions: dict[Annotated[str, Field(min_length=1, max_length=64)], ActionIn] = Field(default_factory=dict,
                                                                                        max_length=64)


Kind = Annotated[str, Field(min_length=1, max_length=32, pattern=r"^[a-z][a-z0-9_]*$")]


class RobotModelIn(_ModelRest):
    """What the fleet manager must know of the robot to plan for it; the rest has defaults."""

    name: Name = Field(description="the model's name (e.g. turtlebot4)")
    kind: Kind = Field(description="delivery | guide | amr | cleaning | patrol | manipulator | ...")
    radius: Number = Field(gt=0, le=3, description="footprint radius, m")
    max_speed: Number = Field(gt=0, le=10, description="m/s")


FROM_FACTSHEET = ("name", "kind", "radius", "max_speed")  # required, unless a VDA 5050 factsheet gives them


class RobotModelDraft(_ModelRest):
    """A model as registered: for a vda5050 robot, what it leaves out of name, kind, radius, max_speed, max_accel
    and max_decel its factsheet fills (typeSpecification.seriesName and agvClass, physicalParameters: half the
    diagonal of width and length, speedMax, accelerationMax, decelerationMax)."""

    name: Name | None = Field(None, description="the model's name (e.g. turtlebot4); vda5050: default seriesName")
    kind: Kind | None = Field(None, description="delivery | guide | amr | cleaning | patrol | manipulator | ...; "
                                                "vda5050: default the agvClass in lower case")
    radius: Number | None = Field(None, gt=0, le=3, description="footprint radius, m; vda5050: default half the "
                                                              "diagonal of the factsheet's width and length")
    max_speed: Number | None = Field(None, gt=0, le=10, description="m/s; vda5050: default speedMax")

    def left_out(self) -> list[str]:
        """The required fields not given."""
        return [f for f in FROM_FACTSHEET if getattr(self, f) is None]


class MapTransformIn(_Strict):
    """The robot's own map on the site map: site = scale · R(yaw) · p + (x, y); every value finite."""

    x: Number = Field(0.0, ge=-1e6, le=1e6)
    y: Number = Field(0.0, ge=-1e6, le=1e6)
    yaw: Number = Field(0.0, ge=-10, le=10)
    scale: Number = Field(1.0, gt=0, le=1000)


class RobotCreate(_Strict):
    id: Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[a-z][a-z0-9_]*$")]
    name: Annotated[str, Field(min_length=1, max_length=100)] | None = None
    adapter: Adapter
    connection: ConnectionIn = Field(default_factory=ConnectionIn)
    model: RobotModelDraft = Field(description="every field required but for a vda5050 robot, whose factsheet "
                                               "fills those left out")
    map_transform: MapTransformIn = Field(default_factory=MapTransformIn)
    home: Annotated[str, Field(min_length=1, max_length=200)] | None = Field(None, description="a place")
    charger: Annotated[str, Field(min_length=1, max_length=200)] | None = Field(
        None, description="a charger place (default: the nearest free charger when it needs one)")


class RobotUpdate(_Strict):
    name: Annotated[str, Field(min_length=1, max_length=100)] | None = None
    adapter: Adapter | None = None
    connection: ConnectionIn | None = None
    model: RobotModelIn | None = None
    map_transform: MapTransformIn | None = None
    home: Annotated[str, Field(min_length=1, max_length=200)] | None = None
    charger: Annotated[str, Field(min_length=1, max_length=200)] | None = None
    clear_home: StrictBool = False
    clear_charger: StrictBool = False


class RegistrationPublic(BaseModel):
    id: str
    site: str
    name: str
    adapter: str
    connection: ConnectionIn
    model: RobotModelIn
    map_transform: MapTransformIn
    home: str | None
    charger: str | None
    source: Literal["fleet.yaml", "api"] = Field(
        description="fleet.yaml: seeded from the site's fleet.yaml (refreshed from it at start-up until edited)")
    created_at: UtcDatetime
    updated_at: UtcDatetime
    retired_at: UtcDatetime | None


class Vda5050Public(BaseModel):
    factsheet: dict[str, Any] | None = Field(description="typeSpecification, physicalParameters, protocolLimits and "
                                                         "the actions it supports; null until it sent one")
    status: dict[str, Any] = Field(description="connection, online, estopped, orderId/orderUpdateId, lastNodeId, "
                                               "newBaseRequest, errors and actionStates, as the vehicle last said")
