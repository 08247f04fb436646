"""A pilot's report: one self-contained HTML page (report_html.py: plotly.js inline, no network; Korean or
English), a CSV of its mission runs, and the same charts as plotly figure JSON for the console's pilot dashboard.

Every number comes from the pilot service: the KPIs and targets are `service.pilot_kpis` (what
`GET /pilots/{id}/kpis` answers), the per-robot figures are `core.kpis.compute_kpis` over the same
mission runs. Nothing here computes a KPI of its own.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import BaseModel, Field
from sqlmodel import Session

from fleet_manager.core import kpis
from fleet_manager.db.tables import Mission, utcnow
from fleet_manager.missions.schemas import as_utc
from fleet_manager.pilots import service
from fleet_manager.pilots.kpi_terms import kpi_definition, kpi_name, kpi_value, kpi_values
from fleet_manager.pilots.report_charts import PLOTLY_CONFIG, Chart, plotlyjs_version, report_charts, to_json
from fleet_manager.pilots.schemas import IncidentPublic, InterventionPublic, PilotKpis, PilotPublic
from fleet_manager.pilots.trends import TrendRow, trends
from fleet_manager.sites.profile import Carbon, SiteProfileError, load_site_profile
from fleet_manager.sites.service import Site

NO_ROBOT = "(no robot)"
UTC_ZONE = ZoneInfo("UTC")
CSV_COLUMNS = ("id", "robot_id", "template", "status", "priority", "created_at", "assigned_at", "started_at",
               "ended_at", "sim_started_at", "sim_ended_at", "duration_s", "distance_m", "failure_reason", "route",
               "energy_wh", "co2_g")


@dataclass(frozen=True)
class RobotRow:
    robot_id: str
    missions: int
    completed: int
    distance_km: float
    interventions: int
    incidents: int


@dataclass(frozen=True)
class PilotReport:
    pilot: PilotPublic
    answer: PilotKpis  # what GET /pilots/{id}/kpis answers
    missions: list[Mission]
    runs: list[kpis.MissionRun]  # one per mission, on the KPIs' clock
    interventions: list[InterventionPublic]
    incidents: list[IncidentPublic]
    site_map: dict[str, Any]
    robots: list[RobotRow]
    generated_at: datetime
    carbon: Carbon | None = None  # the site's emission factors (site.yaml), as the KPIs used them
    timezone: ZoneInfo = UTC_ZONE  # the site's (site.yaml): days and times are shown in it
    trend: tuple[str, list[TrendRow]] = field(default_factory=lambda: ("day", []))  # KPIs per day or week


def site_map(sites_dir: Path, active: Site, name: str) -> dict[str, Any]:
    """The map of site `name`: the running one, or loaded from its folder (a pilot may be on another site)."""
    return active.map() if name == active.name else Site.load(sites_dir / name).map()


def _robot_rows(pilot: PilotPublic, runs: Sequence[kpis.MissionRun], interventions: Sequence[InterventionPublic],
                incidents: Sequence[IncidentPublic], now: float) -> list[RobotRow]:
    seen = [r.robot_id for r in runs] + [i.robot_id for i in interventions] + [n.robot_id for n in incidents]
    robots = list(dict.fromkeys([*pilot.robots, *sorted(set(seen) - set(pilot.robots))]))
    rows = []
    for robot in robots:
        mine = kpis.compute_kpis([r for r in runs if r.robot_id == robot], now=now)
        rows.append(RobotRow(robot or NO_ROBOT, mine.missions_total, mine.missions_completed, mine.distance_km,
                             sum(1 for i in interventions if i.robot_id == robot),
                             sum(1 for n in incidents if n.robot_id == robot)))
    return rows


def site_timezone(sites_dir: Path | None, site: str) -> ZoneInfo:
    """The site's time zone (its site.yaml), UTC without one."""
    if sites_dir is None:
        return UTC_ZONE
    try:
        return ZoneInfo(load_site_profile(sites_dir / site).timezone)
    except SiteProfileError:
        return UTC_ZONE  # (the KPIs' notes say what is wrong with the file)


def build_report(session: Session, pilot_id: str, map_of: Callable[[str], dict[str, Any]],
                 sim_now: float | None = None, sites_dir: Path | None = None) -> PilotReport:
    """Everything the report shows. `map_of(site)` returns a site's map (`site_map`); `sites_dir` holds the
    sites' emission factors and time zones (site.yaml); NotFound for an unknown pilot."""
    records = service.pilot_records(session, pilot_id, sim_now, sites_dir)  # read once: the KPIs and the rest
    answer = service.kpis_of(records)  # what GET /pilots/{id}/kpis answers
    pilot = PilotPublic.of(records.pilot)
    missions = [m for m, _ in records.missions]
    runs = [r for _, r in records.missions]
    interventions = [InterventionPublic.of(i) for i, _ in records.interventions]
    incidents = [IncidentPublic.of(n) for n, _ in records.incidents]
    tz = site_timezone(sites_dir, pilot.site)
    return PilotReport(pilot, answer, missions, runs, interventions, incidents, map_of(pilot.site),
                       _robot_rows(pilot, runs, interventions, incidents, answer.now), utcnow(),
                       records.carbon, tz, trends(records, tz))


# -- CSV ----------------------------------------------------------------------------------------
def _iso(value: datetime | None) -> str:
    return "" if value is None else as_utc(value).isoformat()


def _blank(value: Any) -> Any:
    return "" if value is None else value


def render_csv(report: PilotReport) -> str:
    """One row per mission run of the pilot, in mission id order; `duration_s` on the KPIs' clock."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    factor = report.carbon.grid_kg_per_kwh if report.carbon is not None else None
    for m, run in zip(report.missions, report.runs, strict=True):
        duration = "" if run.started_at is None else run.duration_s(report.answer.now)
        co2_g = "" if factor is None or m.energy_wh is None else m.energy_wh * factor  # Wh x kg/kWh = g
        writer.writerow([m.id, _blank(m.robot_id), _blank(m.template), m.status, m.priority, _iso(m.created_at),
                         _iso(m.assigned_at), _iso(m.started_at), _iso(m.ended_at), _blank(m.sim_started_at),
                         _blank(m.sim_ended_at), duration, _blank(m.distance_m), _blank(m.failure_reason),
                         " > ".join(m.route), _blank(m.energy_wh), co2_g])
    return out.getvalue()


# -- charts -------------------------------------------------------------------------------------
def charts_of(report: PilotReport, lang: str = "en") -> list[Chart]:
    """The report's plotly charts, in page order: what the HTML report inlines and `/charts` answers."""
    return report_charts(report.site_map, report.missions, report.answer.targets, report.interventions,
                         report.incidents, report.trend, lang, report.timezone)


class ChartPublic(BaseModel):
    id: str = Field(description="the chart's element id, as in the HTML report")
    title: str
    figure: dict[str, Any] = Field(description="plotly figure JSON: {data, layout}, for Plotly.newPlot")


class KpiTerm(BaseModel):
    name: str
    definition: str
    shown: str = Field(description="the value as the report shows it: unit, percentage, or too little distance")


class PilotCharts(BaseModel):
    """The HTML report's charts and per-robot table, for the console's pilot dashboard; the KPIs' names and
    definitions in the language asked for."""

    pilot_id: str
    kpi_terms: dict[str, KpiTerm] = Field(default_factory=dict, description="each KPI's name and definition")
    plotlyjs_version: str = Field(description="the plotly.js release the figures are made for")
    config: dict[str, Any] = Field(description="plotly.js config the report draws them with")
    charts: list[ChartPublic]
    robots: list[RobotRow]


def render_charts(report: PilotReport, lang: str = "en") -> PilotCharts:
    return PilotCharts(pilot_id=report.pilot.id, plotlyjs_version=plotlyjs_version(), config=PLOTLY_CONFIG,
                       charts=[ChartPublic(id=c.id, title=c.title, figure=to_json(c.figure))
                               for c in charts_of(report, lang)],
                       robots=report.robots,
                       kpi_terms={k: KpiTerm(name=kpi_name(lang, k), definition=kpi_definition(lang, k),
                                             shown=kpi_value(lang, k, v, report.answer.kpis.distance_km))
                                  for k, v in kpi_values(report.answer).items()})


def charts_report(session: Session, pilot_id: str, map_of: Callable[[str], dict[str, Any]],
                  sim_now: float | None = None, sites_dir: Path | None = None, lang: str = "en") -> PilotCharts:
    return render_charts(build_report(session, pilot_id, map_of, sim_now, sites_dir), lang)


def csv_report(session: Session, pilot_id: str, sim_now: float | None = None, sites_dir: Path | None = None) -> str:
    return render_csv(build_report(session, pilot_id, lambda _: {}, sim_now, sites_dir))
