"""Recurring schedules: stored, validated like a mission, and turned into missions when due."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, field_serializer
from sqlmodel import Session, select

from fleet_manager.boundary import Number
from fleet_manager.core.errors import NotFound
from fleet_manager.core.missions import Priority
from fleet_manager.core.schedules import next_run, parse_clock, zone
from fleet_manager.db.tables import Schedule, utcnow
from fleet_manager.missions.schemas import MissionCreate, Params, as_utc
from fleet_manager.missions.service import MissionService

log = logging.getLogger(__name__)
DUE_CHECK_S = 1.0  # the dispatcher's rounds look for due schedules at most this often (a schedule counts minutes)
Clock = Annotated[str, Field(max_length=20)]  # "HH:MM", parsed by core/schedules.parse_clock


class ScheduleCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=200)
    template: str = Field(min_length=1, max_length=200)
    params: Params = Field(default_factory=dict, max_length=100)
    priority: Priority = Priority.NORMAL
    robot_id: str | None = Field(None, min_length=1, max_length=200)
    every_minutes: Number = Field(ge=1, le=7 * 24 * 60, description="minutes between two missions")
    between: tuple[Clock, Clock] | None = Field(None, description='daily window, e.g. ["09:00", "18:00"]')
    timezone: str = Field("UTC", max_length=64, description="IANA time zone of the window, e.g. Asia/Seoul")


class SchedulePublic(BaseModel):
    id: int
    site: str
    name: str
    template: str
    params: dict[str, Any]
    priority: Priority
    robot_id: str | None
    every_s: int
    window_start: str | None
    window_end: str | None
    timezone: str
    enabled: bool
    next_run_at: datetime
    last_mission_id: int | None
    created_at: datetime

    @field_serializer("next_run_at", "created_at")
    def _utc(self, value: datetime) -> str:
        return as_utc(value).isoformat()


def _next(row: Schedule, after: datetime) -> datetime:
    start = parse_clock(row.window_start, "between[0]") if row.window_start else None
    end = parse_clock(row.window_end, "between[1]") if row.window_end else None
    return next_run(after, timedelta(seconds=row.every_s), start, end, zone(row.timezone)).astimezone(UTC)


class ScheduleService:
    def __init__(self, missions: MissionService) -> None:
        self.missions = missions
        self.engine = missions.engine
        self.site = missions.site.name

    def create(self, body: ScheduleCreate) -> SchedulePublic:
        # the mission it will submit is checked now (template, parameters, robot), so a bad one is a 422 today
        self.missions.check(MissionCreate(template=body.template, params=body.params, robot_id=body.robot_id,
                                          priority=body.priority))
        row = Schedule(site=self.site, name=body.name, template=body.template, params=body.params,
                       priority=body.priority, robot_id=body.robot_id, every_s=round(body.every_minutes * 60),
                       window_start=body.between[0] if body.between else None,
                       window_end=body.between[1] if body.between else None, timezone=body.timezone,
                       next_run_at=utcnow(), created_at=utcnow())
        row.next_run_at = _next(row, utcnow() - timedelta(microseconds=1))  # checks the window and time zone
        with Session(self.engine, expire_on_commit=False) as session:
            session.add(row)
            session.commit()
            session.refresh(row)
            return SchedulePublic.model_validate(row.model_dump())

    def all(self) -> list[SchedulePublic]:
        with Session(self.engine, expire_on_commit=False) as session:
            rows = session.exec(select(Schedule).where(Schedule.site == self.site).order_by(Schedule.id)).all()  # type: ignore[arg-type]
            return [SchedulePublic.model_validate(r.model_dump()) for r in rows]

    def disable(self, schedule_id: int) -> SchedulePublic:
        with Session(self.engine, expire_on_commit=False) as session:
            row = session.get(Schedule, schedule_id)
            if row is None or row.site != self.site:
                raise NotFound(f"no schedule {schedule_id}", field="schedule_id")
            row.enabled = False
            session.add(row)
            session.commit()
            session.refresh(row)
            return SchedulePublic.model_validate(row.model_dump())

    def run_due(self, now: datetime | None = None) -> list[int]:
        """Submit one mission for every enabled schedule that is due; returns the new mission ids.

        A schedule missed for a while (the fleet manager was down) submits once, not once per slot."""
        now = now or utcnow()
        submitted = []
        with Session(self.engine, expire_on_commit=False) as session:
            rows = session.exec(select(Schedule).where(Schedule.site == self.site, Schedule.enabled)).all()
            for row in rows:
                if as_utc(row.next_run_at) > now:
                    continue
                try:
                    mission = self.missions.submit(MissionCreate(
                        template=row.template, params=row.params, robot_id=row.robot_id,
                        priority=Priority(row.priority)))
                    row.last_mission_id = mission.id
                    submitted.append(mission.id)
                except Exception:
                    log.exception("schedule %s (%s) could not submit its mission", row.id, row.name)
                row.next_run_at = _next(row, now)
                session.add(row)
            session.commit()
        return submitted

    def due_check(self, period_s: float = DUE_CHECK_S) -> Callable[[], Awaitable[list[int]]]:
        """`run_due` in a worker thread, at most once per `period_s`: for the dispatcher's rounds, which come
        many times a second while missions are submitted and canceled (each a database query otherwise)."""
        last = [float("-inf")]

        async def check() -> list[int]:
            if time.monotonic() - last[0] < period_s:
                return []
            last[0] = time.monotonic()
            return await asyncio.to_thread(self.run_due)

        return check
