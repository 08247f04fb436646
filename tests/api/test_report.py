"""The pilot report over HTTP (HTML and CSV) and through the CLI, against SQLite and PostgreSQL (no ROS)."""

from __future__ import annotations

import csv
import html
import io
import json
import re
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
import yaml
from sqlmodel import Session, select
from typer.testing import CliRunner

from fleet_manager.cli.client import ApiError, Client
from fleet_manager.cli.main import app, write_report
from fleet_manager.db.tables import Incident, Intervention, Mission
from fleet_manager.pilots.report import CSV_COLUMNS
from tests.api.test_pilots import API, make_pilot

REPO = Path(__file__).resolve().parents[2]

DAY1 = datetime(2026, 3, 2, 9, tzinfo=UTC)
TARGETS = {"success_rate": 0.9, "mdbi_km": 0.3, "incidents_per_100km.SEV0": 0, "availability": 0.9}


def _mission(pilot_id, robot, status, start=None, end=None, distance=None, day=0, **extra):
    wall = DAY1 + timedelta(days=day)
    return Mission(site="living_lab", pilot_id=pilot_id, robot_id=robot, status=status, distance_m=distance,
                   created_at=wall, sim_started_at=start, sim_ended_at=end, template="delivery",
                   started_at=None if start is None else wall + timedelta(seconds=start),
                   ended_at=None if end is None else wall + timedelta(seconds=end), **extra)


def _intervention(pilot_id, robot, kind, start, end, distance, mission_id=None):
    return Intervention(id=str(uuid.uuid4()), pilot_id=pilot_id, robot_id=robot, kind=kind, source="operator",
                        mission_id=mission_id, started_at=DAY1 + timedelta(seconds=start), sim_started_at=start,
                        ended_at=DAY1 + timedelta(seconds=end), sim_ended_at=end, distance_m=distance)


def _incident(pilot_id, robot, severity, kind, at, x, y):
    return Incident(id=str(uuid.uuid4()), pilot_id=pilot_id, robot_id=robot, severity=severity, kind=kind,
                    source="automatic", time=DAY1 + timedelta(seconds=at), sim_time=at, x=x, y=y)


@pytest.fixture
def pilot(client):
    """A pilot with hand-inserted records on the sim clock (now = 800 s, the latest record)."""
    p = make_pilot(client, targets=TARGETS)
    pid = p["id"]
    other = make_pilot(client, name="another pilot")["id"]
    with Session(client.app.state.lab.engine) as session:
        m1 = _mission(pid, "delivery_1", "completed", 100, 400, 600, final_pose={"x": 1.0, "y": 2.0, "yaw": 0.0},
                      route=["lobby", "ward_a"])
        missions = [
            m1,
            _mission(pid, "delivery_1", "failed", 500, 700, 100, day=1, failure_reason="blocked at the door"),
            _mission(pid, "guide_1", "canceled", None, 50, day=1),
            _mission(pid, "guide_1", "queued", day=1),
            _mission(other, "guide_1", "completed", 0, 100, 5000),  # another pilot's
        ]
        session.add_all(missions)
        session.flush()
        session.add_all([
            _intervention(pid, "delivery_1", "remote_assist", 150, 250, 50.0, mission_id=m1.id),
            _intervention(pid, "guide_1", "on_site", 600, 650, 0.0),  # no mission: no position to draw
            _incident(pid, "delivery_1", "SEV0", "collision", 300, 1.5, 2.5),
            _incident(pid, "guide_1", "SEV3", "blocked", 800, -3.0, 4.0),
            _incident(other, "guide_1", "SEV1", "collision", 10, 0.0, 0.0),
        ])
        session.commit()
        ids = [m.id for m in missions[:4]]
    return p, ids


def _flat(kpis: dict) -> dict:
    out = {}
    for name, value in kpis.items():
        if isinstance(value, dict) or name == "incidents_per_100km":
            for severity in ("SEV0", "SEV1", "SEV2", "SEV3"):
                out[f"{name}.{severity}"] = None if value is None else value[severity]
        else:
            out[name] = value
    return out


def test_html_report_shows_the_kpis_of_the_kpis_endpoint(client, pilot):
    p, _ = pilot
    kpis = client.get(f"{API}/pilots/{p['id']}/kpis").json()
    assert kpis["clock"] == "sim" and kpis["now"] == 800
    r = client.get(f"{API}/pilots/{p['id']}/report")
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/html")
    page = r.text

    shown = {name: html.unescape(value) for name, value in re.findall(r'data-kpi="([^"]+)" data-value="([^"]*)"', page)}
    expected = _flat(kpis["kpis"])
    assert set(shown) == set(expected)
    for name, value in expected.items():
        if value is None:
            assert shown[name] == "null", name
        else:
            assert float(shown[name]) == pytest.approx(value), name
    assert expected["success_rate"] == pytest.approx(1 / 3) and expected["missions_total"] == 4  # a real pilot
    verdicts = dict(re.findall(r'data-verdict="([^"]+)">([^<]*)<', page))
    assert {t["kpi"]: t["met"] for t in kpis["targets"]} == {
        "success_rate": False, "mdbi_km": True, "incidents_per_100km.SEV0": False, "availability": None}
    assert {k: verdicts[k] for k in TARGETS} == {"success_rate": "not met", "mdbi_km": "met",
                                                  "incidents_per_100km.SEV0": "not met", "availability": "n.a."}
    assert verdicts["missions_total"] == "—"  # no target

    for div in ("chart-targets", "chart-trends", "chart-missions-per-day", "chart-site-map"):
        assert f'id="{div}"' in page
    assert page.count('data-plotly-figure="') == 4  # each chart's figure, drawn by the page's one script
    assert not re.search(r'<script[^>]+src="https?:', page)  # plotly.js is inline: no network
    assert p["name"] in page and "living_lab" in page and "delivery_1, guide_1" in page
    assert "incident SEV0" in page and "incident SEV3" in page and '"interventions"' in page
    assert "1 intervention(s) without a recorded position" in page
    visible = re.sub(r"<script.*?</script>|<[^>]+>", " ", page, flags=re.S)  # what a reader sees
    assert not re.search(r"\bNone\b", visible), "a Python None shown to readers"

    rows = {robot: cells for robot, cells in re.findall(r'<tr data-robot="([^"]+)">(.*?)</tr>', page)}
    numbers = {robot: re.findall(r'class="num">([^<]*)<', cells) for robot, cells in rows.items()}
    # missions, completed, distance (km), interventions, incidents
    assert numbers == {"delivery_1": ["2", "1", "0.7", "1", "1"], "guide_1": ["2", "0", "0", "1", "1"]}


def test_csv_has_one_row_per_mission_run(client, pilot):
    p, ids = pilot
    r = client.get(f"{API}/pilots/{p['id']}/report.csv")
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert tuple(rows[0]) == CSV_COLUMNS
    assert [(int(x["id"]), x["robot_id"], x["status"]) for x in rows] == [
        (ids[0], "delivery_1", "completed"), (ids[1], "delivery_1", "failed"), (ids[2], "guide_1", "canceled"),
        (ids[3], "guide_1", "queued")]
    first, failed, canceled, queued = rows
    assert float(first["duration_s"]) == 300 and float(first["distance_m"]) == 600
    assert first["route"] == "lobby > ward_a" and first["template"] == "delivery"
    assert datetime.fromisoformat(first["started_at"]) == DAY1 + timedelta(seconds=100)
    assert failed["failure_reason"] == "blocked at the door" and float(failed["duration_s"]) == 200
    assert canceled["duration_s"] == "" and queued["started_at"] == "" and queued["distance_m"] == ""


def _report_figures(page: str) -> dict[str, dict]:
    """The figures the HTML report draws: each chart's `{data, layout, config}` data block, decoded."""
    figures = {}
    for chart, block in re.findall(r'<script type="application/json" data-plotly-figure="([^"]+)">(.*?)</script>',
                                   page, re.S):
        figure = json.loads(block)
        figures[chart] = {"data": figure["data"], "layout": figure["layout"]}
    return figures


def test_charts_are_the_report_figures_as_json(client, pilot):
    p, _ = pilot
    r = client.get(f"{API}/pilots/{p['id']}/charts")
    assert r.status_code == 200, r.text
    answer = r.json()
    charts = {c["id"]: c for c in answer["charts"]}
    assert [c["id"] for c in answer["charts"]] == ["chart-targets", "chart-trends", "chart-missions-per-day",
                                                   "chart-site-map"]
    assert charts["chart-site-map"]["title"] == "Interventions and incidents on the site map"
    # the very figures the HTML report inlines, trace for trace and layout for layout
    page = client.get(f"{API}/pilots/{p['id']}/report").text
    assert {k: c["figure"] for k, c in charts.items()} == _report_figures(page)
    assert answer["config"] == {"displaylogo": False, "responsive": True}

    # and they draw the pilot's records: the targets' values, the missions by day and outcome, the incidents
    bars = [t for t in charts["chart-targets"]["figure"]["data"] if t["type"] == "bar"]
    kpis = client.get(f"{API}/pilots/{p['id']}/kpis").json()
    assert [(b["y"][0], b["x"][0], b["marker"]["color"]) for b in bars] == [
        (t["kpi"], t["value"] or 0.0, {True: "#2e7d32", False: "#c62828", None: "#bdbdbd"}[t["met"]])
        for t in kpis["targets"]]
    per_day = {t["name"]: dict(zip(t["x"], t["y"], strict=True))
               for t in charts["chart-missions-per-day"]["figure"]["data"]}
    assert per_day == {"completed": {"2026-03-02": 1, "2026-03-03": 0}, "failed": {"2026-03-02": 0, "2026-03-03": 1},
                       "canceled": {"2026-03-02": 0, "2026-03-03": 1}, "open": {"2026-03-02": 0, "2026-03-03": 1}}
    on_map = {t["name"]: list(zip(t["x"], t["y"], strict=True)) for t in charts["chart-site-map"]["figure"]["data"]}
    assert on_map["incident SEV0"] == [(1.5, 2.5)] and on_map["incident SEV3"] == [(-3.0, 4.0)]
    assert on_map["interventions"] == [(1.0, 2.0)]  # at its mission's final pose; the other has none
    assert len(on_map["places"]) > 10 and "walls" in on_map

    assert answer["robots"] == [
        {"robot_id": "delivery_1", "missions": 2, "completed": 1, "distance_km": 0.7, "interventions": 1,
         "incidents": 1},
        {"robot_id": "guide_1", "missions": 2, "completed": 0, "distance_km": 0.0, "interventions": 1,
         "incidents": 1}]


def test_the_console_draws_the_charts_with_the_plotly_js_of_the_report(client):
    """The console bundles the plotly.js release that plotly (Python) inlines in the report, so the figure JSON
    of /charts means the same thing in both."""
    p = make_pilot(client, targets={})
    inlined = client.get(f"{API}/pilots/{p['id']}/charts").json()["plotlyjs_version"]
    assert re.fullmatch(r"\d+\.\d+\.\d+", inlined)
    console = json.loads((REPO / "web_console" / "package.json").read_text())
    assert console["devDependencies"]["plotly.js-dist-min"] == inlined
    lock = json.loads((REPO / "web_console" / "package-lock.json").read_text())
    assert lock["packages"]["node_modules/plotly.js-dist-min"]["version"] == inlined


def test_empty_and_unknown_pilots(client):
    p = make_pilot(client, targets={})
    r = client.get(f"{API}/pilots/{p['id']}/report")
    assert r.status_code == 200 and "No missions yet." in r.text and "The pilot sets no KPI targets." in r.text
    assert 'data-kpi="success_rate" data-value="null">n.a.<' in r.text
    assert client.get(f"{API}/pilots/{p['id']}/report.csv").text == ",".join(CSV_COLUMNS) + "\n"
    charts = client.get(f"{API}/pilots/{p['id']}/charts").json()
    notes = [a["text"] for c in charts["charts"] for a in c["figure"]["layout"].get("annotations", [])]
    assert notes == ["The pilot sets no KPI targets.", "No missions yet.", "No missions yet."]  # trends too
    assert charts["robots"] == [{"robot_id": r, "missions": 0, "completed": 0, "distance_km": 0.0, "interventions": 0,
                                 "incidents": 0} for r in ("delivery_1", "guide_1")]
    for path in ("/pilots/nope/report", "/pilots/nope/report.csv", "/pilots/nope/charts"):
        r = client.get(f"{API}{path}")
        assert r.status_code == 404 and "unknown pilot 'nope'" in r.json()["detail"], r.text


def _client_over(test_client) -> Client:
    """The CLI's HTTP client, its transport handing each request to the app under test."""

    def forward(request: httpx.Request) -> httpx.Response:
        r = test_client.request(request.method, request.url.raw_path.decode(), content=request.content,
                                headers={"accept": request.headers.get("accept", "*/*")})
        return httpx.Response(r.status_code, headers={"content-type": r.headers["content-type"]}, content=r.content)

    return Client("http://fleet", transport=httpx.MockTransport(forward))


def test_cli_writes_the_report_files(client, pilot, tmp_path):
    p, ids = pilot
    out, table = tmp_path / "report.html", tmp_path / "missions.csv"
    assert write_report(_client_over(client), p["id"], out, table) == [out, table]
    page = out.read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>") and 'id="chart-site-map"' in page and p["name"] in page
    assert [int(x["id"]) for x in csv.DictReader(io.StringIO(table.read_text()))] == ids

    with pytest.raises(ApiError) as err:
        write_report(_client_over(client), "nope", tmp_path / "nope.html", None)
    assert err.value.status == 404 and not (tmp_path / "nope.html").exists()


def test_cli_report_command_fails_cleanly_without_a_service(tmp_path):
    out = tmp_path / "r.html"
    result = CliRunner().invoke(app, ["report", "some-pilot", "--out", str(out), "--api", "http://127.0.0.1:9"])
    assert result.exit_code == 1 and "cannot reach the fleet manager" in result.output
    assert not out.exists()


def test_energy_and_co2_in_the_report_are_the_formulas_over_the_database(client):
    """Issue 18, acceptance 4: energy and CO2 in /kpis, the HTML report and the CSV equal docs/kpis.md's
    formulas applied to the stored missions, with the factors of the site's own site.yaml."""
    p = make_pilot(client, name="energy pilot")
    with Session(client.app.state.lab.engine) as session:
        session.add_all([
            _mission(p["id"], "delivery_1", "completed", 0, 300, 850.0, energy_wh=21.5),
            _mission(p["id"], "delivery_1", "failed", 400, 500, 120.0, energy_wh=4.25),
            _mission(p["id"], "guide_1", "completed", 0, 200, 400.0),  # energy not measured: counts 0 Wh
        ])
        session.commit()
        rows = session.exec(select(Mission.id, Mission.energy_wh, Mission.distance_m)
                            .where(Mission.pilot_id == p["id"]).order_by(Mission.id)).all()
    carbon = yaml.safe_load((REPO / "sim_worlds" / "living_lab" / "site.yaml").read_text())["carbon"]
    factor, reference = carbon["grid_kg_co2e_per_kwh"], carbon["reference_g_co2_per_km"]
    kwh = sum(e or 0.0 for _, e, _ in rows) / 1000
    km = sum(d or 0.0 for _, _, d in rows) / 1000
    expected = {"energy_kwh": kwh, "energy_wh_per_km": kwh * 1000 / km, "co2_kg": kwh * factor,
                "co2_g_per_km": kwh * factor * 1000 / km, "reference_co2_kg": km * reference / 1000,
                "co2_avoided_kg": km * reference / 1000 - kwh * factor}

    kpis = client.get(f"{API}/pilots/{p['id']}/kpis").json()
    assert {k: kpis["kpis"][k] for k in expected} == pytest.approx(expected, rel=1e-9)
    assert any(str(factor) in note and str(carbon["grid_year"]) in note for note in kpis["notes"]), kpis["notes"]

    page = client.get(f"{API}/pilots/{p['id']}/report").text
    shown = dict(re.findall(r'data-kpi="([^"]+)" data-value="([^"]*)"', page))
    assert {k: float(shown[k]) for k in expected} == pytest.approx(expected, rel=1e-9)
    section = re.search(r'<section id="energy">(.*?)</section>', page, re.S)
    assert section and html.escape(carbon["grid_source"]) in section.group(1), page[-3000:]
    assert f"{factor:g} kg CO₂e/kWh" in section.group(1) and html.escape(carbon["reference_source"]) in section.group(1)

    table = list(csv.DictReader(io.StringIO(client.get(f"{API}/pilots/{p['id']}/report.csv").text)))
    by_id = {int(r["id"]): r for r in table}
    for mission_id, energy, _ in rows:
        row = by_id[mission_id]
        if energy is None:
            assert row["energy_wh"] == row["co2_g"] == "", row
        else:
            assert float(row["energy_wh"]) == energy and float(row["co2_g"]) == pytest.approx(energy * factor)


def test_the_report_in_korean_opens_offline_under_one_and_a_half_megabytes(client, pilot, tmp_path):
    """Issue 18, acceptance 3 (through `labfleet report PILOT --lang ko`'s own code path): Korean throughout,
    human KPI names with definitions, percentages, per-distance rates over too little distance marked as such,
    times in the site's zone, plotly.js's basic bundle inlined once, no network, under 1.5 MB."""
    p, _ = pilot
    out = tmp_path / "report-ko.html"
    write_report(_client_over(client), p["id"], out, None, lang="ko")
    page = out.read_text(encoding="utf-8")
    assert len(page.encode()) < 1_500_000, len(page.encode())
    assert page.startswith("<!DOCTYPE html>") and '<html lang="ko">' in page
    for korean in ("실증 보고서", "요약", "성공률", "주행 거리", "자율 운행률 (시간 기준)", "일별 추이", "로봇별",
                   "목표 4개 중 1개 달성", "결과가 난 미션(완료, 실패, 취소) 중 완료된 미션의 비율."):
        assert korean in page, korean
    assert "Pilot report" not in page and "KPIs against targets" not in page
    cell = dict(re.findall(r'data-kpi="([^"]+)" data-value="[^"]*">([^<]*)<', page))
    assert cell["success_rate"] == "33.3 %"  # 1 of 3, a percentage
    assert cell["incidents_per_100km.SEV0"].startswith("주행 거리 부족 (0.7 km")  # 0.7 km: too little for a rate
    assert cell["distance_km"] == "0.7 km"
    assert "(Asia/Seoul)" in page  # the living lab's zone (site.yaml)
    assert page.count("plotly.js (basic - minified)") == 1 and page.count('data-plotly-figure="') == 4
    assert not re.search(r'<(script|link|img)[^>]+(src|href)="(https?:)?//', page)  # nothing from the network


def test_the_trends_are_the_kpis_of_each_day(client, pilot):
    p, _ = pilot
    charts = {c["id"]: c for c in client.get(f"{API}/pilots/{p['id']}/charts").json()["charts"]}
    trends = {t["name"]: dict(zip(t["x"], t["y"], strict=True)) for t in charts["chart-trends"]["figure"]["data"]}
    days = ("2026-03-02", "2026-03-03")  # in Asia/Seoul: 18:00 on the first day
    assert trends["Success rate"] == dict(zip(days, (100.0, 0.0), strict=True))  # completed; failed and canceled
    assert trends["Interventions"] == dict(zip(days, (2, 0), strict=True))
    assert trends["Incidents"] == dict(zip(days, (2, 0), strict=True))
    assert trends["Distance driven"] == pytest.approx(dict(zip(days, (0.6, 0.1), strict=True)))
    ko = client.get(f"{API}/pilots/{p['id']}/charts", params={"lang": "ko"}).json()
    assert [c["title"] for c in ko["charts"]][:2] == ["KPI와 목표", "일별 추이"]
    assert ko["kpi_terms"]["success_rate"] == {"name": "성공률", "shown": "33.3 %", "definition":
                                               "결과가 난 미션(완료, 실패, 취소) 중 완료된 미션의 비율."}
    assert client.get(f"{API}/pilots/{p['id']}/report", params={"lang": "fr"}).status_code == 422


def test_the_inlined_plotly_bundle_is_the_release_plotly_draws_for():
    from fleet_manager.pilots.report_charts import PLOTLY_BASIC, bundled_version, plotlyjs_version

    assert bundled_version() == plotlyjs_version()
    assert PLOTLY_BASIC.stat().st_size < 1_300_000
