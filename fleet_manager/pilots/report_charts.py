"""The plotly figures of the pilot report (report.py) and of the console's pilot dashboard
(`GET /pilots/{id}/charts`), in Korean or English: they draw numbers, they compute none. The HTML report inlines
plotly.js's basic bundle (assets/plotly-basic.min.js: scatter and bar, all these figures use) once."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import plotly.graph_objects as go
import plotly.io as pio
from plotly.offline import get_plotlyjs_version
from plotly.subplots import make_subplots

from fleet_manager.core.kpis import Direction, TargetCheck
from fleet_manager.core.missions import MissionStatus
from fleet_manager.db.tables import Mission
from fleet_manager.http_headers import script_hash
from fleet_manager.i18n import t, term
from fleet_manager.missions.schemas import as_utc
from fleet_manager.pilots.kpi_terms import PERCENT, kpi_name
from fleet_manager.pilots.schemas import IncidentPublic, InterventionPublic
from fleet_manager.pilots.trends import TrendRow

OUTCOMES = {"completed": "#2e7d32", "failed": "#c62828", "canceled": "#9e9e9e", "open": "#1976d2"}
SEVERITY_COLOURS = {"SEV0": "#7f0000", "SEV1": "#d32f2f", "SEV2": "#f57c00", "SEV3": "#fbc02d"}
VERDICT_COLOURS = {True: "#2e7d32", False: "#c62828", None: "#bdbdbd"}
_LAYOUT: dict[str, Any] = {"template": "plotly_white", "margin": {"l": 60, "r": 20, "t": 30, "b": 40}}
# how plotly.js draws every chart, in the HTML report and in the console alike
PLOTLY_CONFIG: dict[str, Any] = {"displaylogo": False, "responsive": True}
PLOTLY_BASIC = Path(__file__).parent / "assets" / "plotly-basic.min.js"
UTC = ZoneInfo("UTC")


@dataclass(frozen=True)
class Chart:
    id: str  # the element id, in the report and in the console
    title: str
    figure: go.Figure


# the one script that draws every chart of the page from its figure (a JSON data block, not a script, beside its
# <div>): the page's scripts stay the same whatever its figures, so that the Content-Security-Policy can name them
# by their hashes (script_hashes; fleet_manager/http_headers.py)
_DRAW = ('document.querySelectorAll("script[data-plotly-figure]").forEach(function (block) {'
         ' var figure = JSON.parse(block.textContent);'
         ' Plotly.newPlot(block.getAttribute("data-plotly-figure"), figure.data, figure.layout, figure.config); });')


def to_div(fig: go.Figure, div_id: str) -> str:
    """The figure as a <div id=div_id> and its JSON (`{"data", "layout", "config"}`) in a data block beside it,
    drawn by `draw_script` (plotly.js itself: `plotly_script`)."""
    figure = json.dumps(to_json(fig) | {"config": PLOTLY_CONFIG}, separators=(",", ":"))
    data = figure.replace("<", "\\u003c").replace(">", "\\u003e")  # no "</script>" inside the block
    return (f'<div id="{div_id}" class="plotly-graph-div" style="height:100%; width:100%;"></div>'
            f'<script type="application/json" data-plotly-figure="{div_id}">{data}</script>')


@cache
def plotly_script() -> str:
    """plotly.js's basic bundle in a <script> element, for the page to carry it (no network)."""
    return f'<script type="text/javascript">{_plotly_js()}</script>'


def draw_script() -> str:
    """The <script> that draws every chart `to_div` placed before it."""
    return f"<script>{_DRAW}</script>"


@cache
def script_hashes() -> tuple[str, ...]:
    """The CSP sources (sha256) of the report's inline scripts: plotly.js and `draw_script`."""
    return script_hash(_plotly_js()), script_hash(_DRAW)


@cache
def _plotly_js() -> str:
    return PLOTLY_BASIC.read_text(encoding="utf-8")


def bundled_version() -> str:
    """The release of the inlined bundle, from its header ("plotly.js (basic - minified) v4.1.1")."""
    head = PLOTLY_BASIC.read_text(encoding="utf-8")[:200]
    return head.split(" v", 1)[1].split()[0] if " v" in head else "unknown"


def to_json(fig: go.Figure) -> dict[str, Any]:
    """The figure as plotly.js takes it (`{"data", "layout"}`), through plotly's own JSON encoder."""
    figure: dict[str, Any] = json.loads(pio.to_json(fig, validate=False))
    return figure


def plotlyjs_version() -> str:
    """The plotly.js release the figures are made for: the one plotly inlines in the HTML report."""
    version: str = get_plotlyjs_version()
    return version


def report_charts(site_map: dict[str, Any], missions: Sequence[Mission], targets: Sequence[TargetCheck],
                  interventions: Sequence[InterventionPublic], incidents: Sequence[IncidentPublic],
                  trend: tuple[str, Sequence[TrendRow]] = ("day", ()), lang: str = "en",
                  tz: ZoneInfo = UTC) -> list[Chart]:
    """The report's charts in page order; the HTML report and the console's dashboard both draw these."""
    unit, rows = trend
    return [
        Chart("chart-targets", t(lang, "report.chart_targets"), targets_figure(targets, lang)),
        Chart("chart-trends", t(lang, f"report.chart_trends_{unit}"), trends_figure(rows, unit, lang)),
        Chart("chart-missions-per-day", t(lang, "report.chart_missions_per_day"), missions_per_day(missions, lang, tz)),
        Chart("chart-site-map", t(lang, "report.chart_site_map"),
              site_map_figure(site_map, missions, interventions, incidents, lang)),
    ]


def _empty(message: str) -> go.Figure:
    fig = go.Figure(layout=_LAYOUT)
    fig.add_annotation(text=message, showarrow=False, xref="paper", yref="paper", x=0.5, y=0.5)
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    fig.update_layout(height=160)
    return fig


def _axis_range(value: float, target: float) -> list[float]:
    """From 0 (or below, for a negative number) to a little past the larger of the value and the target."""
    lo, hi = min(0.0, value, target), max(0.0, value, target)
    pad = 0.12 * ((hi - lo) or 1.0)
    return [lo - pad if lo < 0 else 0.0, hi + pad]


def targets_figure(targets: Sequence[TargetCheck], lang: str = "en") -> go.Figure:
    """One row per target: the KPI's value as a bar (green met, red not, grey n.a.), the target as a tick."""
    if not targets:
        return _empty(t(lang, "report.no_targets"))
    height = 70 + 110 * len(targets)
    # about 55 px between rows: the tick labels of one and the title of the next
    fig = make_subplots(rows=len(targets), cols=1, vertical_spacing=55 / (height - 70),
                        subplot_titles=[f"{kpi_name(lang, c.kpi)} ({'≥' if c.direction is Direction.HIGHER else '≤'} "
                                        f"{c.target:g})" for c in targets])
    for row, c in enumerate(targets, start=1):
        verdict = t(lang, {True: "report.met", False: "report.not_met", None: "report.na"}[c.met])
        fig.add_trace(go.Bar(x=[c.value or 0.0], y=[c.kpi], orientation="h", name=verdict, showlegend=False,
                             marker_color=VERDICT_COLOURS[c.met],
                             hovertext=f"{kpi_name(lang, c.kpi)}: {'n.a.' if c.value is None else f'{c.value:.4g}'} "
                                       f"({verdict})",
                             hoverinfo="text"), row=row, col=1)
        fig.add_trace(go.Scatter(x=[c.target], y=[c.kpi], mode="markers", showlegend=False,
                                 name=t(lang, "report.target"),
                                 marker={"symbol": "line-ns-open", "size": 28, "color": "#000",
                                         "line": {"width": 3}},
                                 hovertext=f"{t(lang, 'report.target')} {c.target:g}", hoverinfo="text"),
                      row=row, col=1)
        fig.update_yaxes(showticklabels=False, row=row, col=1)
        fig.update_xaxes(range=_axis_range(c.value or 0.0, c.target), row=row, col=1)
    fig.update_layout(**_LAYOUT, height=height, bargap=0.4)
    return fig


def _outcome(status: str) -> str:
    return status if status in (MissionStatus.COMPLETED, MissionStatus.FAILED, MissionStatus.CANCELED) else "open"


def missions_per_day(missions: Sequence[Mission], lang: str = "en", tz: ZoneInfo = UTC) -> go.Figure:
    """Missions by the day (in the site's time zone) they were created, stacked by outcome (open: not ended);
    move-asides (the dispatcher moving a robot out of another's way) are no missions here."""
    missions = [m for m in missions if not m.move_aside]
    if not missions:
        return _empty(t(lang, "report.no_missions"))
    counts = Counter((as_utc(m.created_at).astimezone(tz).date().isoformat(), _outcome(m.status)) for m in missions)
    days = sorted({day for day, _ in counts})
    fig = go.Figure(layout=_LAYOUT)
    for outcome, colour in OUTCOMES.items():
        ys = [counts.get((day, outcome), 0) for day in days]
        if any(ys):
            fig.add_trace(go.Bar(x=days, y=ys, name=term(lang, "report.outcome", outcome), marker_color=colour))
    fig.update_layout(barmode="stack", height=340,
                      xaxis={"type": "category", "title": t(lang, "report.axis_day", zone=str(tz))},
                      yaxis={"title": t(lang, "report.axis_missions")})
    return fig


def _walls(site_map: dict[str, Any]) -> tuple[list[float | None], list[float | None]]:
    xs: list[float | None] = []
    ys: list[float | None] = []
    for wall in site_map.get("walls", []):
        points = list(wall["polygon"])
        for x, y in [*points, points[0]] if points else []:
            xs.append(x)
            ys.append(y)
        xs.append(None)
        ys.append(None)
    return xs, ys


def site_map_figure(site_map: dict[str, Any], missions: Sequence[Mission],
                    interventions: Sequence[InterventionPublic], incidents: Sequence[IncidentPublic],
                    lang: str = "en") -> go.Figure:
    """Walls as lines, places as points; incidents where they happened, coloured by severity; interventions
    at the final pose of their mission (an intervention with no mission, or no pose, has no place to draw)."""
    fig = go.Figure(layout=_LAYOUT)
    wx, wy = _walls(site_map)
    fig.add_trace(go.Scatter(x=wx, y=wy, mode="lines", name=t(lang, "report.walls"),
                             line={"color": "#555", "width": 2},
                             hoverinfo="skip"))
    places = site_map.get("places", [])
    fig.add_trace(go.Scatter(x=[p["x"] for p in places], y=[p["y"] for p in places], mode="markers+text",
                             name=t(lang, "report.places"), text=[p["name"] for p in places],
                             textposition="top center",
                             textfont={"size": 9, "color": "#777"}, marker={"size": 6, "color": "#90a4ae"}))
    poses = {m.id: m.final_pose for m in missions if m.final_pose}
    located = [(i, poses[i.mission_id]) for i in interventions if i.mission_id in poses]
    if located:
        fig.add_trace(go.Scatter(
            x=[pose["x"] for _, pose in located], y=[pose["y"] for _, pose in located], mode="markers",
            name=t(lang, "report.interventions"), marker={"symbol": "x", "size": 11, "color": "#6a1b9a"},
            hovertext=[f"{i.kind} {i.robot_id} (mission {i.mission_id}) {i.reason}" for i, _ in located],
            hoverinfo="text"))
    for severity, colour in SEVERITY_COLOURS.items():
        mine = [n for n in incidents if n.severity == severity]
        if mine:
            fig.add_trace(go.Scatter(
                x=[n.place.x for n in mine], y=[n.place.y for n in mine], mode="markers",
                name=t(lang, "report.incident_severity", severity=severity),
                marker={"size": 12, "color": colour, "line": {"width": 1, "color": "#000"}},
                hovertext=[f"{n.severity} {n.kind} {n.robot_id} {n.place.name or ''} {n.description}" for n in mine],
                hoverinfo="text"))
    unplaced = len(interventions) - len(located)
    if unplaced:
        fig.add_annotation(text=t(lang, "report.unplaced", n=unplaced),
                           showarrow=False, xref="paper", yref="paper", x=0, y=1, xanchor="left",
                           yanchor="bottom")
    fig.update_layout(height=560, xaxis={"title": "x (m)"}, yaxis={"title": "y (m)", "scaleanchor": "x"})
    return fig


_TREND_PANELS = ("success_rate", "autonomy_by_time", "interventions", "incidents", "distance_km", "energy_kwh")


def trends_figure(rows: Sequence[TrendRow], unit: str, lang: str = "en") -> go.Figure:
    """Six small panels over the periods: success and autonomy in %, interventions, incidents, distance, energy.
    Built as plain figure JSON (no make_subplots, no per-trace validation): a report is drawn on every request."""
    if not rows:
        return _empty(t(lang, "report.no_missions"))
    periods = [r.period for r in rows]
    data: list[dict[str, Any]] = []
    layout: dict[str, Any] = {"margin": _LAYOUT["margin"], "height": 620, "showlegend": False, "annotations": [],
                              "title": {"text": t(lang, f"report.per_{unit}"), "font": {"size": 12}}}
    for i, name in enumerate(_TREND_PANELS):
        row, col = divmod(i, 2)
        n = "" if i == 0 else str(i + 1)
        x0, x1 = (0.0, 0.45) if col == 0 else (0.55, 1.0)
        y1 = 1.0 - row * 0.36
        values = [getattr(r, name) for r in rows]
        if name in PERCENT:
            values = [None if v is None else round(100 * v, 1) for v in values]
        title = kpi_name(lang, name) + (" (%)" if name in PERCENT else "")
        bar = name in ("interventions", "incidents", "distance_km", "energy_kwh")
        data.append({"type": "bar" if bar else "scatter", "x": periods, "y": values, "name": kpi_name(lang, name),
                     "xaxis": f"x{n}", "yaxis": f"y{n}",
                     **({"marker": {"color": "#1565c0"}} if bar else
                        {"mode": "lines+markers", "line": {"color": "#2e7d32"}, "connectgaps": False})})
        layout[f"xaxis{n}"] = {"domain": [x0, x1], "anchor": f"y{n}", "type": "category"}
        layout[f"yaxis{n}"] = {"domain": [y1 - 0.26, y1], "anchor": f"x{n}",
                               **({"range": [0, 105]} if name in PERCENT else {})}
        layout["annotations"].append({"text": title, "showarrow": False, "xref": "paper", "yref": "paper",
                                      "x": (x0 + x1) / 2, "y": y1, "xanchor": "center", "yanchor": "bottom",
                                      "font": {"size": 14}})
    layout["template"] = _template()
    return go.Figure(data=data, layout=layout, _validate=False)


@cache
def _template() -> dict[str, Any]:
    """The charts' template as figure JSON (a figure built without validation takes it so)."""
    template: dict[str, Any] = pio.templates[_LAYOUT["template"]].to_plotly_json()
    return template
