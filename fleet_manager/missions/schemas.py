"""Mission schemas at the HTTP/websocket boundary."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_serializer, model_validator

from fleet_manager.boundary import Count, IsoDatetime
from fleet_manager.core.missions import MissionStatus, Priority
from fleet_manager.db.tables import Mission, MissionEvent
from fleet_manager.missions.texts import coded, reason

MAX_JSON_DEPTH = 20  # levels of free-form JSON (params, steps, evidence) a request may nest


def shallow(value: Any) -> Any:
    """Free-form JSON nested at most MAX_JSON_DEPTH levels: deeper input is refused, not stored (a record
    too deep to serialise would fail every later read of it)."""
    stack = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if depth > MAX_JSON_DEPTH:
            raise ValueError(f"nested deeper than {MAX_JSON_DEPTH} levels")
        if isinstance(item, dict):
            stack.extend((v, depth + 1) for v in item.values())
        elif isinstance(item, list):
            stack.extend((v, depth + 1) for v in item)
    return value


class SpecIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    steps: Annotated[list[dict[str, Any]], AfterValidator(shallow)] = Field(min_length=1, max_length=1000)


Params = Annotated[dict[Annotated[str, Field(max_length=100)], Any], AfterValidator(shallow)]


class MissionCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    template: str | None = Field(None, min_length=1, max_length=200)
    params: Params = Field(default_factory=dict, max_length=100)
    spec: SpecIn | None = None
    robot_id: str | None = Field(None, min_length=1, max_length=200)
    priority: Priority = Priority.NORMAL
    pilot_id: str | None = Field(None, max_length=200)
    not_before: IsoDatetime | None = None

    @model_validator(mode="after")
    def _one_source(self) -> MissionCreate:
        if (self.template is None) == (self.spec is None):
            raise ValueError("give exactly one of 'template' (with 'params') or 'spec'")
        if self.spec is not None and self.params:
            raise ValueError("'params' goes with 'template', not with an inline 'spec'")
        return self


class ConfirmIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    step_index: Count | None = Field(None, ge=0, description="the step confirmed (default: the one waiting)")
    by: str | None = Field(None, max_length=200, description="who confirms, e.g. the recipient's name")


class DispatchState(BaseModel):
    paused: bool


class EventPublic(BaseModel):
    time: datetime
    sim_time: float | None
    kind: str
    status: str | None
    step_index: int | None
    message: str  # in English
    code: str | None = None  # a known text's stable code (missions/texts.py): clients translate it, with params
    params: dict[str, Any] | None = None

    @field_serializer("time")
    def _utc(self, value: datetime) -> str:
        return as_utc(value).isoformat()


class MissionPublic(BaseModel):
    id: int
    site: str
    status: MissionStatus
    robot_id: str | None
    requested_robot_id: str | None
    template: str | None
    params: dict[str, Any]
    priority: Priority
    pilot_id: str | None
    not_before: datetime | None
    robot_kind: str | None
    capabilities: list[str]
    steps: list[dict[str, Any]]
    route: list[str]
    failure_reason: str | None
    status_reason: str | None = None  # why it has its status, as its last status event says (e.g. why held)
    # the code and params of the status reason's and the failure reason's text when known (missions/texts.py:
    # clients translate them, as an event's), None for a plain English one
    status_code: str | None = None
    status_params: dict[str, Any] | None = None
    failure_code: str | None = None
    failure_params: dict[str, Any] | None = None
    distance_m: float | None
    energy_wh: float | None = None
    # per mission, by the pilot KPIs' formulas (docs/kpis.md) at its site's emission factors (site.yaml)
    energy_wh_per_km: float | None = None
    co2_g: float | None = None
    co2_avoided_g: float | None = None  # the site's reference vehicle over the same distance, less co2_g
    final_pose: dict[str, float] | None
    created_at: datetime
    assigned_at: datetime | None
    started_at: datetime | None
    ended_at: datetime | None
    sim_started_at: float | None
    sim_ended_at: float | None
    duration_s: float | None
    move_aside: bool = False  # sent by the dispatcher to make way for another robot (not counted in the KPIs)
    # while it runs, over HTTP: the time its robot needs for the steps left (the route at the robot's top speed,
    # the waits and actions; confirmations not foreseen) and when that brings it to its end
    remaining_s: float | None = None
    eta: datetime | None = None
    events: list[EventPublic] | None = None

    @field_serializer("created_at", "assigned_at", "started_at", "ended_at", "not_before", "eta")
    def _utc(self, value: datetime | None) -> str | None:
        return as_utc(value).isoformat() if value is not None else None

    @classmethod
    def of(cls, row: Mission, events: list[MissionEvent] | None = None) -> MissionPublic:
        duration = None
        if row.sim_started_at is not None and row.sim_ended_at is not None:
            duration = row.sim_ended_at - row.sim_started_at
        elif row.started_at is not None and row.ended_at is not None:
            duration = (as_utc(row.ended_at) - as_utc(row.started_at)).total_seconds()
        data = row.model_dump()
        data["duration_s"] = duration
        if row.failure_reason:  # stored as plain English: recognised by its wording (texts.reason)
            _, data["failure_code"], data["failure_params"] = coded(reason(row.failure_reason))
        if events is not None:
            data["events"] = [EventPublic.model_validate(e.model_dump()) for e in events]
        return cls.model_validate(data)


def as_utc(value: datetime) -> datetime:
    """SQLite hands back naive datetimes; everything stored is UTC."""
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)
