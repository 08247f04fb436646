"""A pilot's KPIs over time (issue 18, item 7): per day in the site's time zone, or per ISO week when the records
span more than WEEKLY_AFTER_DAYS days. Each period's figures are the KPIs of that period's records (a mission by
the day it was created, an intervention by its start, an incident by its time), computed by core.kpis like the
pilot's own: nothing here computes a KPI."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from fleet_manager.missions.schemas import as_utc
from fleet_manager.pilots.service import PilotRecords

WEEKLY_AFTER_DAYS = 31


@dataclass(frozen=True)
class TrendRow:
    period: str  # 2026-12-05, or 2026-W49
    missions: int
    success_rate: float | None
    autonomy_by_time: float | None
    interventions: int
    incidents: int
    distance_km: float
    energy_kwh: float


def _day(tz: ZoneInfo) -> Callable[[datetime], str]:
    return lambda at: as_utc(at).astimezone(tz).date().isoformat()


def _week(tz: ZoneInfo) -> Callable[[datetime], str]:
    def key(at: datetime) -> str:
        year, week, _ = as_utc(at).astimezone(tz).isocalendar()
        return f"{year}-W{week:02d}"
    return key


def _in(records: PilotRecords, key: Callable[[datetime], str], period: str) -> PilotRecords:
    return records.window(lambda m: key(m.created_at) == period, lambda i: key(i.started_at) == period,
                          lambda n: key(n.time) == period)


def trends(records: PilotRecords, tz: ZoneInfo) -> tuple[str, list[TrendRow]]:
    """("day" or "week", one row per period that has a record, oldest first)."""
    stamps = ([m.created_at for m, _ in records.missions] + [i.started_at for i, _ in records.interventions]
              + [n.time for n, _ in records.incidents])
    if not stamps:
        return "day", []
    span = max(as_utc(s) for s in stamps) - min(as_utc(s) for s in stamps)
    unit = "week" if span.days > WEEKLY_AFTER_DAYS else "day"
    key = _week(tz) if unit == "week" else _day(tz)
    rows = []
    for period in sorted({key(s) for s in stamps}):
        k = _in(records, key, period).compute()
        rows.append(TrendRow(period, k.missions_total, k.success_rate, k.autonomy_by_time, k.interventions,
                             sum(k.incidents.values()), k.distance_km, k.energy_kwh))
    return unit, rows
