"""The pilot report as one self-contained HTML page, in Korean or English (issue 18, item 7): a one-page summary
first, then the KPIs with their names, units and definitions (ratios as percentages, per-distance rates only over
enough distance), energy and CO₂, the trends per day or week, the charts and the robots. Times in the site's time
zone. plotly.js's basic bundle is inlined once (no network). Every KPI cell keeps its raw value in `data-value`."""

from __future__ import annotations

import html
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlmodel import Session

from fleet_manager.core import kpis
from fleet_manager.i18n import t
from fleet_manager.missions.schemas import as_utc
from fleet_manager.pilots.kpi_terms import kpi_definition, kpi_name, kpi_value, kpi_values
from fleet_manager.pilots.report import PilotReport, RobotRow, build_report, charts_of
from fleet_manager.pilots.report_charts import draw_script, plotly_script, to_div

__all__ = ["fmt", "html_report", "kpi_values", "render_html"]
SUMMARY = ("success_rate", "distance_km", "autonomy_by_time", "interventions", "energy_kwh", "co2_avoided_kg")


def fmt(value: float | int | None) -> str:
    """A raw KPI value: n.a. for None, integers as they are, others to 4 significant digits."""
    if value is None:
        return "n.a."
    if isinstance(value, int) or (isinstance(value, float) and value.is_integer()):
        return str(int(value))
    return f"{value:.4g}"


def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _when(value: datetime | None, report: PilotReport) -> str:
    """A time in the site's zone, to the minute."""
    if value is None:
        return "—"
    return as_utc(value).astimezone(report.timezone).strftime("%Y-%m-%d %H:%M")


def _verdict(lang: str, met: bool | None) -> tuple[str, str]:
    return {True: (t(lang, "report.met"), "met"), False: (t(lang, "report.not_met"), "missed"),
            None: (t(lang, "report.na"), "na")}[met]


def _summary(report: PilotReport, lang: str) -> str:
    k, values = report.answer.kpis, kpi_values(report.answer)
    cards = [(t(lang, "report.summary_missions"),
              t(lang, "report.summary_missions_value", done=k.missions_completed, total=k.missions_total))]
    cards += [(kpi_name(lang, name), kpi_value(lang, name, values[name], k.distance_km)) for name in SUMMARY]
    cards.append((t(lang, "report.summary_incidents"),
                  " · ".join(f"{s} {k.incidents[s]}" for s in kpis.SEVERITIES)))
    body = "".join(f'<div class="card"><div class="label">{_e(a)}</div><div class="big">{_e(b)}</div></div>'
                   for a, b in cards)
    targets = report.answer.targets
    met = sum(1 for c in targets if c.met)
    missed = [c for c in targets if c.met is False]
    verdict = (t(lang, "report.targets_met", met=met, total=len(targets)) if targets
               else t(lang, "report.no_targets"))
    misses = "".join(f"<li>{_e(kpi_name(lang, c.kpi))}: {_e(kpi_value(lang, c.kpi, c.value, k.distance_km))} "
                     f"({_e(t(lang, 'report.target'))} {_e(kpi_value(lang, c.kpi, c.target))})</li>" for c in missed)
    return (f'<section id="summary"><h2>{_e(t(lang, "report.summary"))}</h2><div class="cards">{body}</div>'
            f'<p class="verdict">{_e(verdict)}</p>{f"<ul>{misses}</ul>" if misses else ""}</section>')


def _kpi_table(report: PilotReport, lang: str) -> str:
    answer = report.answer
    checks = {c.kpi: c for c in answer.targets}
    distance = answer.kpis.distance_km
    rows = []
    for name, value in kpi_values(answer).items():
        check = checks.get(name)
        raw = "null" if value is None else repr(value)
        if check is None:
            target, verdict, css = "—", "—", "none"
        else:
            sign = "≥" if check.direction is kpis.Direction.HIGHER else "≤"
            target = f"{sign} {kpi_value(lang, name, check.target)}"
            verdict, css = _verdict(lang, check.met)
        rows.append(f'<tr class="{css}"><td><span class="kpi-name">{_e(kpi_name(lang, name))}</span>'
                    f'<span class="def">{_e(kpi_definition(lang, name))}</span></td><td class="num" '
                    f'data-kpi="{_e(name)}" data-value="{_e(raw)}">{_e(kpi_value(lang, name, value, distance))}</td>'
                    f'<td class="num">{_e(target)}</td><td data-verdict="{_e(name)}">{_e(verdict)}</td></tr>')
    head = "".join(f"<th>{_e(t(lang, key))}</th>" for key in
                   ("report.col_kpi", "report.col_value", "report.col_target", "report.col_verdict"))
    return f'<table id="kpi-table"><thead><tr>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table>'


def _robot_table(rows: list[RobotRow], lang: str) -> str:
    body = "".join(
        f'<tr data-robot="{_e(r.robot_id)}"><td>{_e(r.robot_id)}</td><td class="num">{r.missions}</td>'
        f'<td class="num">{r.completed}</td><td class="num">{_e(fmt(r.distance_km))}</td>'
        f'<td class="num">{r.interventions}</td><td class="num">{r.incidents}</td></tr>' for r in rows)
    head = "".join(f"<th>{_e(t(lang, key))}</th>" for key in (
        "report.col_robot", "report.col_missions", "report.col_completed", "report.col_distance",
        "report.col_interventions", "report.col_incidents"))
    return f'<table id="robot-table"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def _energy_section(report: PilotReport, lang: str) -> str:
    """Energy and CO2 in a few lines, with the factors and their sources (docs/kpis.md has the formulas)."""
    k, c = report.answer.kpis, report.carbon
    per_km = "n.a." if k.energy_wh_per_km is None else f"{fmt(k.energy_wh_per_km)} Wh/km"
    rows = [(t(lang, "kpis.energy_kwh"), f"{fmt(k.energy_kwh)} kWh"), (t(lang, "kpis.energy_wh_per_km"), per_km)]
    if c is None:
        rows.append(("CO₂", t(lang, "report.no_grid_factor")))
    else:
        rows += [(t(lang, "kpis.co2_kg"), t(lang, "report.co2_at", kg=fmt(k.co2_kg), factor=fmt(c.grid_kg_per_kwh),
                                             source=c.grid_source, year=c.grid_year)),
                 (t(lang, "kpis.co2_g_per_km"),
                  "n.a." if k.co2_g_per_km is None else f"{fmt(k.co2_g_per_km)} g CO₂e/km")]
        if c.reference_g_per_km is not None:
            rows += [(t(lang, "report.reference_vehicle", vehicle=c.reference_vehicle or "—"),
                      t(lang, "report.reference_at", kg=fmt(k.reference_co2_kg), g=fmt(c.reference_g_per_km),
                        source=c.reference_source)),
                     (t(lang, "kpis.co2_avoided_kg"), f"{fmt(k.co2_avoided_kg)} kg")]
    body = "".join(f"<dt>{_e(name)}</dt><dd>{_e(value)}</dd>" for name, value in rows)
    return f'<section id="energy"><h2>{_e(t(lang, "report.energy"))}</h2><dl>{body}</dl></section>'


_CSS = """
body { font-family: system-ui, "Noto Sans KR", "Malgun Gothic", sans-serif; margin: 2em auto; max-width: 1100px;
  color: #222; padding: 0 1em; }
table { border-collapse: collapse; margin: 1em 0; } th, td { padding: .25em .8em; border-bottom: 1px solid #ddd; }
th { text-align: left; } td.num { text-align: right; font-variant-numeric: tabular-nums; }
tr.met td:last-child { color: #1a7f37; } tr.missed td:last-child { color: #c62828; font-weight: bold; }
tr.na td:last-child { color: #888; } .muted { color: #666; font-size: .9em; } dt { font-weight: bold; }
.def { display: block; color: #666; font-size: .85em; } .kpi-name { font-weight: 600; }
.cards { display: grid; grid-template-columns: repeat(auto-fill, minmax(200px, 1fr)); gap: .8em; }
.card { border: 1px solid #ddd; border-radius: 6px; padding: .6em .8em; }
.card .label { color: #555; font-size: .85em; } .card .big { font-size: 1.4em; font-weight: 600; }
#summary { page-break-after: always; } .verdict { font-weight: 600; }
"""


def render_html(report: PilotReport, lang: str = "en") -> str:
    """The report as one HTML page, in `lang`; plotly.js is inlined once, before the first chart."""
    p, answer = report.pilot, report.answer
    clock = t(lang, "report.clock_sim" if answer.clock == "sim" else "report.clock_wall")
    sections = "".join(f"<section><h2>{_e(c.title)}</h2>{to_div(c.figure, c.id)}</section>"
                       for c in charts_of(report, lang))
    notes = "".join(f"<li>{_e(n)}</li>" for n in answer.notes)
    title = t(lang, "report.title", name=p.name)
    period = t(lang, "report.period_value", start=_when(p.period_start, report), end=_when(p.period_end, report),
               zone=report.timezone.key)
    facts = [("report.site", p.site), ("report.period", period),
             ("report.robots", ", ".join(p.robots) or "—"), ("report.pilot_id", p.id)]
    header = "".join(f"<dt>{_e(t(lang, key))}</dt><dd>{_e(value)}</dd>" for key, value in facts)
    counts = t(lang, "report.counts", missions=len(report.missions), interventions=len(report.interventions),
               incidents=len(report.incidents))
    generated = t(lang, "report.generated", time=_when(report.generated_at, report), zone=report.timezone.key,
                  clock=clock,
                  now=fmt(answer.now))
    return f"""<!DOCTYPE html>
<html lang="{_e(lang)}"><head><meta charset="utf-8"><title>{_e(title)}</title><style>{_CSS}</style></head>
<body>
<header id="pilot-header"><h1>{_e(title)}</h1>
<dl>{header}</dl>
<p>{_e(p.description)}</p>
<p class="muted">{_e(generated)} {_e(counts)}</p>
</header>
{_summary(report, lang)}
<section><h2>{_e(t(lang, "report.kpis"))}</h2>{_kpi_table(report, lang)}<ul class="muted">{notes}</ul></section>
{_energy_section(report, lang)}
{plotly_script()}
{sections}
{draw_script()}
<section><h2>{_e(t(lang, "report.per_robot"))}</h2>{_robot_table(report.robots, lang)}</section>
</body></html>
"""


def html_report(session: Session, pilot_id: str, map_of: Callable[[str], dict[str, Any]],
                sim_now: float | None = None, sites_dir: Path | None = None, lang: str = "en") -> str:
    return render_html(build_report(session, pilot_id, map_of, sim_now, sites_dir), lang)
