"""A pilot's report: one self-contained HTML page (plotly.js inline, no network), a CSV of its mission runs,
and the same charts as plotly figure JSON for the console's pilot dashboard.

Every number comes from the pilot service: the KPIs and targets are `service.pilot_kpis` (what
`GET /pilots/{id}/kpis` answers), the per-robot figures are `core.kpis.compute_kpis` over the same
mission runs. Nothing here computes a KPI of its own.
"""

from __future__ import annotations

import csv
import html
import io
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field
from sqlmodel import Session

from fleet_manager.core import kpis
from fleet_manager.db.tables import Mission, utcnow
from fleet_manager.missions.schemas import as_utc
from fleet_manager.pilots import repository, service
from fleet_manager.pilots.report_charts import PLOTLY_CONFIG, Chart, plotlyjs_version, report_charts, to_div, to_json
from fleet_manager.pilots.schemas import IncidentPublic, InterventionPublic, PilotKpis, PilotPublic
from fleet_manager.sites.profile import Carbon
from fleet_manager.sites.service import Site

NO_ROBOT = "(no robot)"
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


def build_report(session: Session, pilot_id: str, map_of: Callable[[str], dict[str, Any]],
                 sim_now: float | None = None, sites_dir: Path | None = None) -> PilotReport:
    """Everything the report shows. `map_of(site)` returns a site's map (`site_map`); `sites_dir` holds the
    sites' emission factors (site.yaml); NotFound for an unknown pilot."""
    row = repository.get_pilot(session, pilot_id)
    pilot = PilotPublic.of(row)
    answer = service.pilot_kpis(session, pilot_id, sim_now, sites_dir)
    # the records pilot_kpis reads, converted to runs as it converts them
    missions = repository.missions_of(session, row)
    runs = [service.mission_run(m, answer.clock == "sim") for m in missions]
    interventions = [InterventionPublic.of(i) for i in repository.interventions(session, pilot_id=pilot_id)]
    incidents = [IncidentPublic.of(n) for n in repository.incidents(session, pilot_id=pilot_id)]
    return PilotReport(pilot, answer, missions, runs, interventions, incidents, map_of(pilot.site),
                       _robot_rows(pilot, runs, interventions, incidents, answer.now), utcnow(),
                       service.site_carbon(sites_dir, pilot.site))  # (the KPIs' notes say why there are none)


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
def charts_of(report: PilotReport) -> list[Chart]:
    """The report's plotly charts, in page order: what the HTML report inlines and `/charts` answers."""
    return report_charts(report.site_map, report.missions, report.answer.targets, report.interventions,
                         report.incidents)


class ChartPublic(BaseModel):
    id: str = Field(description="the chart's element id, as in the HTML report")
    title: str
    figure: dict[str, Any] = Field(description="plotly figure JSON: {data, layout}, for Plotly.newPlot")


class PilotCharts(BaseModel):
    """The HTML report's charts and per-robot table, for the console's pilot dashboard."""

    pilot_id: str
    plotlyjs_version: str = Field(description="the plotly.js release the figures are made for")
    config: dict[str, Any] = Field(description="plotly.js config the report draws them with")
    charts: list[ChartPublic]
    robots: list[RobotRow]


def render_charts(report: PilotReport) -> PilotCharts:
    return PilotCharts(pilot_id=report.pilot.id, plotlyjs_version=plotlyjs_version(), config=PLOTLY_CONFIG,
                       charts=[ChartPublic(id=c.id, title=c.title, figure=to_json(c.figure))
                               for c in charts_of(report)],
                       robots=report.robots)


# -- HTML ---------------------------------------------------------------------------------------
def fmt(value: float | int | None) -> str:
    """A KPI value for people: n.a. for None, integers as they are, others to 4 significant digits."""
    if value is None:
        return "n.a."
    if isinstance(value, int) or (isinstance(value, float) and value.is_integer()):
        return str(int(value))
    return f"{value:.4g}"


def kpi_values(answer: PilotKpis) -> dict[str, float | int | None]:
    """Every KPI of the answer by name; per-severity ones as `incidents.SEV0`, `incidents_per_100km.SEV0`, ..."""
    flat: dict[str, float | int | None] = {}
    for name, value in asdict(answer.kpis).items():
        if name in ("incidents", "incidents_per_100km"):
            for severity in kpis.SEVERITIES:
                flat[f"{name}.{severity}"] = None if value is None else value[severity]
        else:
            flat[name] = value
    return flat


def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _kpi_table(answer: PilotKpis) -> str:
    checks = {t.kpi: t for t in answer.targets}
    rows = []
    for name, value in kpi_values(answer).items():
        check = checks.get(name)
        raw = "null" if value is None else repr(value)
        if check is None:
            target, verdict, css = "—", "—", "none"
        else:
            sign = "≥" if check.direction is kpis.Direction.HIGHER else "≤"
            target = f"{sign} {fmt(check.target)}"
            verdict, css = {True: ("met", "met"), False: ("not met", "missed"), None: ("n.a.", "na")}[check.met]
        rows.append(f'<tr class="{css}"><td>{_e(name)}</td><td class="num" data-kpi="{_e(name)}" '
                    f'data-value="{_e(raw)}">{_e(fmt(value))}</td><td class="num">{_e(target)}</td>'
                    f'<td data-verdict="{_e(name)}">{verdict}</td></tr>')
    return ('<table id="kpi-table"><thead><tr><th>KPI</th><th>value</th><th>target</th><th>verdict</th></tr>'
            f'</thead><tbody>{"".join(rows)}</tbody></table>')


def _robot_table(rows: Sequence[RobotRow]) -> str:
    body = "".join(
        f'<tr data-robot="{_e(r.robot_id)}"><td>{_e(r.robot_id)}</td><td class="num">{r.missions}</td>'
        f'<td class="num">{r.completed}</td><td class="num">{_e(fmt(r.distance_km))}</td>'
        f'<td class="num">{r.interventions}</td><td class="num">{r.incidents}</td></tr>' for r in rows)
    return ('<table id="robot-table"><thead><tr><th>robot</th><th>missions</th><th>completed</th>'
            '<th>distance (km)</th><th>interventions</th><th>incidents</th></tr></thead>'
            f'<tbody>{body}</tbody></table>')


def _energy_section(report: PilotReport) -> str:
    """Energy and CO2 in a few lines, with the factors and their sources (docs/kpis.md has the formulas)."""
    k, c = report.answer.kpis, report.carbon
    rows = [("energy used", f"{fmt(k.energy_kwh)} kWh"),
            ("energy per km", "n.a." if k.energy_wh_per_km is None else f"{fmt(k.energy_wh_per_km)} Wh/km")]
    if c is None:
        rows.append(("CO2", "n.a.: the site gives no grid emission factor (site.yaml: carbon)"))
    else:
        rows += [("CO2 from the grid", f"{fmt(k.co2_kg)} kg CO2e at {fmt(c.grid_kg_per_kwh)} kg CO2e/kWh "
                                       f"({c.grid_source}, {c.grid_year})"),
                 ("CO2 per km", "n.a." if k.co2_g_per_km is None else f"{fmt(k.co2_g_per_km)} g CO2e/km")]
        if c.reference_g_per_km is not None:
            rows += [(f"the same distance by {c.reference_vehicle or 'the reference vehicle'}",
                      f"{fmt(k.reference_co2_kg)} kg CO2 at {fmt(c.reference_g_per_km)} g/km ({c.reference_source})"),
                     ("CO2 avoided", f"{fmt(k.co2_avoided_kg)} kg")]
    body = "".join(f"<dt>{_e(name)}</dt><dd>{_e(value)}</dd>" for name, value in rows)
    return f'<section id="energy"><h2>Energy and CO2</h2><dl>{body}</dl></section>'


_CSS = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1100px; color: #222; }
table { border-collapse: collapse; margin: 1em 0; } th, td { padding: .25em .8em; border-bottom: 1px solid #ddd; }
th { text-align: left; } td.num { text-align: right; font-variant-numeric: tabular-nums; }
tr.met td:last-child { color: #1a7f37; } tr.missed td:last-child { color: #c62828; font-weight: bold; }
tr.na td:last-child { color: #888; } .muted { color: #666; font-size: .9em; } dt { font-weight: bold; }
"""


def render_html(report: PilotReport) -> str:
    """The report as one HTML page; plotly.js is inlined once, in the first chart."""
    p, answer = report.pilot, report.answer
    unit = "sim" if answer.clock == "sim" else "wall (epoch seconds)"
    sections = "".join(f"<section><h2>{_e(c.title)}</h2>{to_div(c.figure, c.id, first=i == 0)}</section>"
                       for i, c in enumerate(charts_of(report)))
    notes = "".join(f"<li>{_e(n)}</li>" for n in answer.notes)
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Pilot report: {_e(p.name)}</title><style>{_CSS}</style></head>
<body>
<header id="pilot-header"><h1>Pilot report: {_e(p.name)}</h1>
<dl><dt>site</dt><dd>{_e(p.site)}</dd>
<dt>period</dt><dd>{_e(_iso(p.period_start))} to {_e(_iso(p.period_end))}</dd>
<dt>robots</dt><dd>{_e(", ".join(p.robots) or "—")}</dd>
<dt>pilot id</dt><dd>{_e(p.id)}</dd></dl>
<p>{_e(p.description)}</p>
<p class="muted">Generated {_e(_iso(report.generated_at))}; KPIs on the {unit} clock up to {_e(fmt(answer.now))}.
{len(report.missions)} missions, {len(report.interventions)} interventions, {len(report.incidents)} incidents.</p>
</header>
<section><h2>KPIs</h2>{_kpi_table(answer)}<ul class="muted">{notes}</ul></section>
{_energy_section(report)}
{sections}
<section><h2>Per robot</h2>{_robot_table(report.robots)}</section>
</body></html>
"""


def html_report(session: Session, pilot_id: str, map_of: Callable[[str], dict[str, Any]],
                sim_now: float | None = None, sites_dir: Path | None = None) -> str:
    return render_html(build_report(session, pilot_id, map_of, sim_now, sites_dir))


def charts_report(session: Session, pilot_id: str, map_of: Callable[[str], dict[str, Any]],
                  sim_now: float | None = None, sites_dir: Path | None = None) -> PilotCharts:
    return render_charts(build_report(session, pilot_id, map_of, sim_now, sites_dir))


def csv_report(session: Session, pilot_id: str, sim_now: float | None = None, sites_dir: Path | None = None) -> str:
    return render_csv(build_report(session, pilot_id, lambda _: {}, sim_now, sites_dir))
