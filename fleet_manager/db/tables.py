"""Table models. They never leave the process: the HTTP layer converts them to schemas."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, Column, DateTime, Index, text
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
    pilot_id: str | None = Field(default=None, index=True)  # None: the default pilot of the site
    not_before: datetime | None = _ts(nullable=True)
    route: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    failure_reason: str | None = None
    status_reason: str | None = None  # the message of its last status change (why it is paused, requeued...)
    status_code: str | None = None  # its text's code (missions/texts.py), None for a plain one
    status_params: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    distance_m: float | None = None
    energy_wh: float | None = None  # battery energy used while running (None: not measured)
    final_pose: dict[str, float] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    created_at: datetime = _ts(nullable=False)
    assigned_at: datetime | None = _ts(nullable=True)
    started_at: datetime | None = _ts(nullable=True)
    ended_at: datetime | None = _ts(nullable=True)
    sim_started_at: float | None = None
    sim_ended_at: float | None = None
    move_aside: bool = False  # sent by the dispatcher to make way for another robot: not a mission of the KPIs


class MissionEvent(SQLModel, table=True):
    __tablename__ = "mission_event"

    id: int | None = Field(default=None, primary_key=True)
    mission_id: int = Field(foreign_key="mission.id", index=True)
    time: datetime = _ts(nullable=False)
    sim_time: float | None = None
    kind: str  # status | step | info
    status: str | None = None
    step_index: int | None = None
    message: str = ""  # in English (the API, the CLI)
    code: str | None = None  # its stable code, when it is a known text (missions/texts.py): the console translates it
    params: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))  # ... with these


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


class Pilot(SQLModel, table=True):
    """A demonstration pilot: a site, a period, the robots enrolled and the KPI targets it must meet."""

    __tablename__ = "pilot"

    id: str = Field(primary_key=True)  # a uuid; the default pilot of a site has a fixed one (uuid5 of the site)
    site: str = Field(index=True)
    name: str
    description: str = ""
    period_start: datetime = _ts(nullable=False)
    period_end: datetime = _ts(nullable=False)
    robots: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    targets: dict[str, float] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    is_default: bool = False
    created_at: datetime = _ts(nullable=False)


_OPEN = text("ended_at IS NULL")


class Intervention(SQLModel, table=True):
    """A human taking over a robot. Open while `ended_at` is None; at most one open per robot."""

    __tablename__ = "intervention"
    __table_args__ = (
        Index("ux_intervention_open_robot", "robot_id", unique=True, sqlite_where=_OPEN, postgresql_where=_OPEN),
    )

    id: str = Field(primary_key=True)
    pilot_id: str = Field(foreign_key="pilot.id", index=True)
    robot_id: str = Field(index=True)
    mission_id: int | None = Field(default=None, foreign_key="mission.id")
    kind: str  # remote_assist | teleoperation | on_site
    source: str  # operator | automatic
    reason: str = ""
    started_at: datetime = _ts(nullable=False)
    sim_started_at: float | None = None
    ended_at: datetime | None = _ts(nullable=True)
    sim_ended_at: float | None = None
    distance_m: float = 0.0


class Incident(SQLModel, table=True):
    """A safety or service incident, with the robot states that led to it as evidence."""

    __tablename__ = "incident"

    id: str = Field(primary_key=True)
    pilot_id: str = Field(foreign_key="pilot.id", index=True)
    robot_id: str = Field(index=True)
    mission_id: int | None = Field(default=None, foreign_key="mission.id")
    severity: str  # SEV0 (worst) .. SEV3
    kind: str
    source: str  # operator | automatic
    time: datetime = _ts(nullable=False)
    sim_time: float | None = None
    x: float
    y: float
    place: str | None = None
    description: str = ""
    evidence: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))


class User(SQLModel, table=True):
    """An account: one role (viewer < researcher < operator < admin) and the sites it may use ("*": all).
    Disabling bumps `token_version`, which every token carries: the user's tokens are refused from then on."""

    __tablename__ = "users"

    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(unique=True, index=True)
    password_hash: str  # argon2id, with its parameters and salt
    role: str
    sites: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    enabled: bool = True
    token_version: int = 0
    created_at: datetime = _ts(nullable=False)
    disabled_at: datetime | None = _ts(nullable=True)


class TokenFamily(SQLModel, table=True):
    """The tokens descending from one login (issue 19): every refresh hands out the next pair of the family.
    Revoked (logout, or a spent refresh token presented again) means every token of the family is refused.
    Kept until `expires_at`, when its newest token has expired; a family not found is refused too."""

    __tablename__ = "token_family"

    id: str = Field(primary_key=True)  # the tokens' `fam` claim
    username: str = Field(index=True)
    created_at: datetime = _ts(nullable=False)
    expires_at: datetime = _ts(nullable=False, index=True)
    revoked_at: datetime | None = _ts(nullable=True)
    revoked_reason: str | None = None  # logout | reuse


class RefreshToken(SQLModel, table=True):
    """A refresh token issued (its `jti`), spent once it has been exchanged for the next pair: a refresh token
    is used once. Kept until it expires, so that presenting it again is known for reuse."""

    __tablename__ = "refresh_token"

    jti: str = Field(primary_key=True)
    family_id: str = Field(foreign_key="token_family.id", index=True)
    expires_at: datetime = _ts(nullable=False, index=True)
    spent_at: datetime | None = _ts(nullable=True)


class RobotRegistration(SQLModel, table=True):
    """A robot registered at a site (issue 14): how the fleet manager reaches it and what it is. `config` holds
    its fleet.yaml-style entry (model, home, map transform, VDA 5050 identity, spawn when simulated). A retired
    robot keeps its row (and its missions and recordings): `retired_at` is set and it is never dispatched."""

    __tablename__ = "robot_registration"

    site: str = Field(primary_key=True)
    id: str = Field(primary_key=True)
    name: str
    adapter: str  # labfleet | nav2 | vda5050
    config: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    connection: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    charger: str | None = None
    source: str  # fleet.yaml (seeded at start-up, refreshed from the file until edited) | api
    created_at: datetime = _ts(nullable=False)
    updated_at: datetime = _ts(nullable=False)
    retired_at: datetime | None = _ts(nullable=True)


class Alert(SQLModel, table=True):
    """Something an operator must see (issue 18): a condition (an e-stop, a robot offline, a step awaiting
    confirmation...) raised while it holds and cleared when it ends, or an event (a mission failed, an incident)
    cleared as it is raised. One alert per `key` while it is not cleared; listed as open until it is acknowledged
    and cleared."""

    __tablename__ = "alert"

    id: int | None = Field(default=None, primary_key=True)
    site: str = Field(index=True)
    key: str = Field(index=True)  # what it stands for: "estop:amr_01", "mission_failed:12", "incident:<id>"...
    kind: str
    severity: str  # SEV0 (worst) .. SEV3, as incidents
    robot_id: str | None = None
    mission_id: int | None = None
    incident_id: str | None = None
    message: str = ""
    raised_at: datetime = _ts(nullable=False)
    cleared_at: datetime | None = _ts(nullable=True)
    acknowledged_at: datetime | None = _ts(nullable=True)
    acknowledged_by: str | None = None
