"""The pilot report's pure parts: value formatting, KPI flattening, the figures (no database, no HTTP)."""

from __future__ import annotations

from datetime import UTC, datetime

from fleet_manager.core import kpis
from fleet_manager.db.tables import Mission
from fleet_manager.pilots.report_charts import missions_per_day, site_map_figure, targets_figure
from fleet_manager.pilots.report_html import fmt, kpi_values
from fleet_manager.pilots.schemas import IncidentPublic, PilotKpis


def _answer(runs, targets):
    report = kpis.compute_kpis(runs, now=1000.0)
    return PilotKpis(pilot_id="p", clock="sim", now=1000.0, kpis=report,
                     targets=kpis.kpis_against_targets(report, targets))


def test_fmt():
    assert [fmt(None), fmt(3), fmt(2.0), fmt(1 / 3), fmt(12345.678)] == ["n.a.", "3", "2", "0.3333", "1.235e+04"]


def test_kpi_values_flatten_every_kpi_and_keep_none():
    answer = _answer([kpis.MissionRun("1", "r", "completed", 0, 100, 0.0)], {})
    flat = kpi_values(answer)
    assert flat["missions_completed"] == 1 and flat["success_rate"] == 1.0 and flat["mdbi_km"] is None
    assert flat["incidents.SEV0"] == 0 and flat["incidents_per_100km.SEV2"] is None  # drove 0 m
    assert "incidents" not in flat and "incidents_per_100km" not in flat
    assert set(kpis.DIRECTIONS) <= set(flat)  # every KPI a target can be set on is in the table


def test_targets_figure_one_row_per_target_coloured_by_verdict():
    runs = [kpis.MissionRun("1", "r", "completed", 0, 100, 500.0), kpis.MissionRun("2", "r", "failed", 0, 10)]
    answer = _answer(runs, {"success_rate": 0.9, "distance_km": 0.1, "availability": 0.5})
    fig = targets_figure(answer.targets)
    bars = [t for t in fig.data if t.type == "bar"]
    assert [b.y[0] for b in bars] == ["success_rate", "distance_km", "availability"]
    assert [b.marker.color for b in bars] == ["#c62828", "#2e7d32", "#bdbdbd"]  # not met, met, n.a.
    ticks = [t for t in fig.data if t.type == "scatter"]
    assert [t.x[0] for t in ticks] == [0.9, 0.1, 0.5]
    assert targets_figure([]).layout.annotations[0].text == "The pilot sets no KPI targets."


def test_missions_per_day_stacks_outcomes():
    day = datetime(2026, 3, 2, 23, tzinfo=UTC)
    rows = [Mission(site="s", status=s, created_at=day.replace(day=d))
            for s, d in (("completed", 2), ("completed", 2), ("failed", 2), ("underway", 3), ("queued", 3))]
    fig = missions_per_day(rows)
    assert fig.layout.barmode == "stack"
    assert {t.name: list(t.y) for t in fig.data} == {"completed": [2, 0], "failed": [1, 0], "open": [0, 2]}
    assert list(fig.data[0].x) == ["2026-03-02", "2026-03-03"]


def test_site_map_draws_closed_walls_places_and_incidents_by_severity():
    site_map = {"walls": [{"name": "w", "polygon": [[0, 0], [1, 0], [1, 1]]}],
                "places": [{"name": "lobby", "x": 2.0, "y": 3.0}]}
    incident = IncidentPublic.model_validate({
        "id": "i", "pilot_id": "p", "robot_id": "r", "mission_id": None, "severity": "SEV1", "kind": "collision",
        "source": "automatic", "time": datetime(2026, 3, 2, tzinfo=UTC), "sim_time": None,
        "place": {"x": 5.0, "y": 6.0, "name": None}, "description": "", "evidence": []})
    fig = site_map_figure(site_map, [], [], [incident])
    walls, places, sev1 = fig.data
    assert list(walls.x) == [0, 1, 1, 0, None] and list(walls.y) == [0, 0, 1, 0, None]
    assert list(places.text) == ["lobby"]
    assert sev1.name == "incident SEV1" and (sev1.x[0], sev1.y[0]) == (5.0, 6.0)
    assert fig.layout.yaxis.scaleanchor == "x"
