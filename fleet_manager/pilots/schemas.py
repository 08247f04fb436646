"""Pilot, intervention and incident schemas at the HTTP boundary (Base / Create / Update / Public)."""

from __future__ import annotations

import math
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, PlainSerializer

from fleet_manager.boundary import Count, IsoDatetime, Number
from fleet_manager.core.kpis import KpiReport, TargetCheck
from fleet_manager.db.tables import Incident, Intervention, Pilot
from fleet_manager.missions.schemas import as_utc, shallow

_ID = Field(min_length=1, max_length=200)
MISSION_ID_MAX = 2**31 - 1  # the mission table's integer key
RobotId = Annotated[str, Field(min_length=1, max_length=200)]
KpiName = Annotated[str, Field(min_length=1, max_length=100)]


class InterventionKind(StrEnum):  # core/kpis.py INTERVENTION_KINDS
    REMOTE_ASSIST = "remote_assist"
    TELEOPERATION = "teleoperation"
    ON_SITE = "on_site"


class Source(StrEnum):
    OPERATOR = "operator"
    AUTOMATIC = "automatic"


class Severity(StrEnum):  # core/kpis.py SEVERITIES; SEV0 is the worst
    SEV0 = "SEV0"
    SEV1 = "SEV1"
    SEV2 = "SEV2"
    SEV3 = "SEV3"


class IncidentKind(StrEnum):
    COLLISION = "collision"
    NEAR_MISS = "near_miss"
    PROTECTIVE_STOP = "protective_stop"
    PERSON_CONTACT = "person_contact"  # a pedestrian walked into a standing robot
    ESTOP = "estop"
    BLOCKED = "blocked"
    LOCALISATION_LOST = "localisation_lost"
    ZONE_VIOLATION = "zone_violation"
    PUBLIC_COMPLAINT = "public_complaint"


# datetimes out as ISO 8601 in UTC (SQLite hands them back naive)
UtcDatetime = Annotated[datetime, PlainSerializer(lambda v: as_utc(v).isoformat(), return_type=str, when_used="json")]


def _finite(value: Any, where: str = "") -> Any:
    """JSON as PostgreSQL takes it: no NaN or infinity anywhere (Python's json lets them through)."""
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"{where or 'value'}: {value} is not a finite number")
    if isinstance(value, dict):
        for key, item in value.items():
            _finite(item, f"{where}.{key}" if where else str(key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            _finite(item, f"{where}[{i}]")
    return value


FiniteJson = Annotated[list[dict[str, Any]], AfterValidator(shallow), AfterValidator(_finite)]


# -- pilots -------------------------------------------------------------------------------------
class PilotBase(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=200)
    description: str = Field("", max_length=10_000)
    period_start: IsoDatetime
    period_end: IsoDatetime
    robots: list[RobotId] = Field(default_factory=list, max_length=1000, description="robot ids of the site's fleet")
    targets: dict[KpiName, Number] = Field(default_factory=dict, max_length=100,
                                          description='KPI targets, e.g. {"success_rate": 0.95}')


class PilotCreate(PilotBase):
    site: str = _ID


class PilotUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str | None = Field(None, min_length=1, max_length=200)
    description: str | None = Field(None, max_length=10_000)
    period_start: IsoDatetime | None = None
    period_end: IsoDatetime | None = None
    robots: list[RobotId] | None = Field(None, max_length=1000)
    targets: dict[KpiName, Number] | None = Field(None, max_length=100)


class PilotPublic(BaseModel):
    id: str
    site: str
    name: str
    description: str
    period_start: UtcDatetime
    period_end: UtcDatetime
    robots: list[str]
    targets: dict[str, float]
    is_default: bool
    created_at: UtcDatetime

    @classmethod
    def of(cls, row: Pilot) -> PilotPublic:
        return cls.model_validate(row.model_dump())


# -- interventions ------------------------------------------------------------------------------
class InterventionCreate(BaseModel):
    """An operator takes over a robot now; `pilot_id` defaults to the mission's pilot, else the site's default."""

    model_config = ConfigDict(extra="forbid")
    kind: InterventionKind
    robot_id: str = _ID
    mission_id: Count | None = Field(None, ge=1, le=MISSION_ID_MAX)
    pilot_id: str | None = Field(None, max_length=200)
    reason: str = Field("", max_length=2000)


class InterventionEnd(BaseModel):
    model_config = ConfigDict(extra="forbid")
    distance_m: Number | None = Field(None, ge=0, allow_inf_nan=False, description="driven under intervention")


class InterventionPublic(BaseModel):
    id: str
    pilot_id: str
    robot_id: str
    mission_id: int | None
    kind: InterventionKind
    source: Source
    reason: str
    started_at: UtcDatetime
    sim_started_at: float | None
    ended_at: UtcDatetime | None
    sim_ended_at: float | None
    distance_m: float
    open: bool

    @classmethod
    def of(cls, row: Intervention) -> InterventionPublic:
        return cls.model_validate({**row.model_dump(), "open": row.ended_at is None})


# -- incidents ----------------------------------------------------------------------------------
class PlaceIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    x: Number = Field(allow_inf_nan=False)
    y: Number = Field(allow_inf_nan=False)
    name: str | None = Field(None, max_length=200, description="the nearest place of the navgraph, if known")


class IncidentCreate(BaseModel):
    """An incident as an operator reports it; `time` defaults to now (and then `sim_time` to the clock now)."""

    model_config = ConfigDict(extra="forbid")
    severity: Severity
    kind: IncidentKind
    robot_id: str = _ID
    mission_id: Count | None = Field(None, ge=1, le=MISSION_ID_MAX)
    pilot_id: str | None = Field(None, max_length=200)
    place: PlaceIn
    time: IsoDatetime | None = None
    sim_time: Number | None = Field(None, allow_inf_nan=False)
    description: str = Field("", max_length=10_000)
    evidence: FiniteJson = Field(default_factory=list, max_length=1000, description="recent robot states, newest last")


class PlacePublic(BaseModel):
    x: float
    y: float
    name: str | None


class IncidentPublic(BaseModel):
    id: str
    pilot_id: str
    robot_id: str
    mission_id: int | None
    severity: Severity
    kind: IncidentKind
    source: Source
    time: UtcDatetime
    sim_time: float | None
    place: PlacePublic
    description: str
    evidence: list[dict[str, Any]]

    @classmethod
    def of(cls, row: Incident) -> IncidentPublic:
        data = row.model_dump()
        data["place"] = {"x": row.x, "y": row.y, "name": row.place}
        return cls.model_validate(data)


# -- KPIs ---------------------------------------------------------------------------------------
class PilotKpis(BaseModel):
    """Every KPI of the pilot (core/kpis.py, docs/kpis.md) and its targets checked."""

    pilot_id: str
    clock: Literal["sim", "wall"] = Field(description="sim: sim seconds of every record; wall: epoch seconds")
    now: float = Field(description="open missions and interventions count up to this time, on `clock`")
    kpis: KpiReport
    targets: list[TargetCheck]
    notes: list[str] = Field(default_factory=list, description="inputs the records do not hold yet")
