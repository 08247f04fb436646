"""Robot schemas at the HTTP/websocket boundary."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from fleet_manager.core.robots import Command, CommandResult, RobotMode


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
    kind: str
    model: str
    mode: RobotMode
    pose: PoseOut
    velocity: VelocityOut
    battery: BatteryOut
    current_mission_id: int | None
    last_seen: datetime
    errors: list[str]
    stamp: float  # the robot's clock when it took the state (sim time when simulated)
    wall_time: float  # seconds since the epoch when the robot took the state


class CommandIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    command: Command
    reason: str = Field("", max_length=2000)


class CommandOut(BaseModel):
    robot_id: str
    command: Command
    result: CommandResult
    message: str
