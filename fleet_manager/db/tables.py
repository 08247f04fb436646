"""Table models. They never leave the process: the HTTP layer converts them to schemas."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, Column, DateTime
from sqlmodel import Field, SQLModel


def utcnow() -> datetime:
    return datetime.now(UTC)


def _ts(**kw: Any) -> Any:
    return Field(sa_column=Column(DateTime(timezone=True), **kw))


class Mission(SQLModel, table=True):
    __tablename__ = "mission"

    id: int | None = Field(default=None, primary_key=True)
    site: str = Field(index=True)
    template: str | None = None
    params: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    steps: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    robot_kind: str | None = None
    capabilities: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    status: str = Field(index=True)
    priority: str = "normal"
    robot_id: str | None = Field(default=None, index=True)
    requested_robot_id: str | None = None
    pilot_id: str | None = None
    not_before: datetime | None = _ts(nullable=True)
    route: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    failure_reason: str | None = None
    distance_m: float | None = None
    final_pose: dict[str, float] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    created_at: datetime = _ts(nullable=False)
    assigned_at: datetime | None = _ts(nullable=True)
    started_at: datetime | None = _ts(nullable=True)
    ended_at: datetime | None = _ts(nullable=True)
    sim_started_at: float | None = None
    sim_ended_at: float | None = None


class MissionEvent(SQLModel, table=True):
    __tablename__ = "mission_event"

    id: int | None = Field(default=None, primary_key=True)
    mission_id: int = Field(foreign_key="mission.id", index=True)
    time: datetime = _ts(nullable=False)
    sim_time: float | None = None
    kind: str  # status | step | info
    status: str | None = None
    step_index: int | None = None
    message: str = ""


class Robot(SQLModel, table=True):
    __tablename__ = "robot"

    id: str = Field(primary_key=True)
    site: str
    kind: str
    model: str
    first_seen: datetime = _ts(nullable=False)
    last_seen: datetime = _ts(nullable=False)
    last_pose: dict[str, float] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    battery_percentage: float | None = None


class Schedule(SQLModel, table=True):
    """A recurring mission: a template run every `every_s` seconds, inside a daily window."""

    __tablename__ = "schedule"

    id: int | None = Field(default=None, primary_key=True)
    site: str = Field(index=True)
    name: str
    template: str
    params: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    priority: str = "normal"
    robot_id: str | None = None
    every_s: int
    window_start: str | None = None  # HH:MM
    window_end: str | None = None
    timezone: str = "UTC"
    enabled: bool = True
    next_run_at: datetime = _ts(nullable=False)
    last_mission_id: int | None = None
    created_at: datetime = _ts(nullable=False)
