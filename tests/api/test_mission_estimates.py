"""Per mission over HTTP (issue 18): energy per km, CO2 and CO2 avoided by the pilot KPIs' formulas at the site's
emission factors, and a running mission's time left and ETA (no ROS: the robot's state is handed to the registry,
where the adapters hand theirs)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml
from sqlmodel import Session

from fleet_manager.core.robots import RobotMode, RobotReport
from fleet_manager.db.tables import Mission, utcnow
from tests.api.conftest import API

REPO = Path(__file__).resolve().parents[2]


def _add(client, **fields) -> int:
    with Session(client.app.state.lab.engine, expire_on_commit=False) as session:
        row = Mission(site="living_lab", created_at=utcnow(), **fields)
        session.add(row)
        session.commit()
        assert row.id is not None
        return row.id


def test_a_missions_co2_is_the_formula_over_its_energy_at_the_sites_factor(client):
    carbon = yaml.safe_load((REPO / "sim_worlds" / "living_lab" / "site.yaml").read_text())["carbon"]
    factor, reference = carbon["grid_kg_co2e_per_kwh"], carbon["reference_g_co2_per_km"]
    measured = _add(client, robot_id="delivery_1", status="completed", distance_m=850.0, energy_wh=21.5)
    unmeasured = _add(client, robot_id="delivery_1", status="completed", distance_m=120.0)
    standing = _add(client, robot_id="delivery_1", status="failed", distance_m=0.0, energy_wh=0.5)

    m = client.get(f"{API}/missions/{measured}").json()
    assert m["energy_wh"] == 21.5
    assert m["energy_wh_per_km"] == pytest.approx(21.5 / 0.85)
    assert m["co2_g"] == pytest.approx(21.5 * factor)  # Wh x kg/kWh = g
    assert m["co2_avoided_g"] == pytest.approx(0.85 * reference - 21.5 * factor)
    listed = {x["id"]: x for x in client.get(f"{API}/missions").json()}
    assert listed[measured]["co2_g"] == pytest.approx(21.5 * factor)
    none = listed[unmeasured]
    assert none["energy_wh"] is none["energy_wh_per_km"] is none["co2_g"] is none["co2_avoided_g"] is None
    still = listed[standing]  # no distance: no energy per km; CO2 all the same
    assert still["energy_wh_per_km"] is None and still["co2_g"] == pytest.approx(0.5 * factor)
    assert still["co2_avoided_g"] == pytest.approx(-0.5 * factor)


def test_a_running_missions_eta_is_its_route_at_top_speed_plus_its_waits(client):
    lab = client.app.state.lab
    site = lab.site
    lobby = site.navgraph.places["lobby"]
    x, y = lobby.x + 0.3, lobby.y  # next to the lobby
    lab.registry.update(RobotReport("delivery_1", "delivery", "deliverybot", RobotMode.MOVING, x, y, 0.0, 0.3, 0.0,
                                    90.0, False, "", 0.0, (), 0.0, 0.0))
    started = (datetime.now(UTC) - timedelta(seconds=10)).isoformat()
    steps = [{"index": 0, "kind": "go_to", "target": "ward_a", "status": "done"},
             {"index": 1, "kind": "wait", "seconds": 25.0, "status": "active", "started_at": started},
             {"index": 2, "kind": "go_to", "target": "pharmacy", "status": "pending"},
             {"index": 3, "kind": "confirm", "prompt": "sign", "status": "pending"}]
    running = _add(client, robot_id="delivery_1", status="underway", steps=steps)
    queued = _add(client, status="queued", steps=steps)

    before = datetime.now(UTC)
    m = client.get(f"{API}/missions/{running}").json()
    place, offset = site.navgraph.nearest_place(x, y)
    drive = offset + site.navgraph.distance(place.name, "pharmacy")
    expected = drive / site.max_speed("delivery_1") + 15.0  # what is left of the wait; the confirmation: nothing
    assert m["remaining_s"] == pytest.approx(expected, abs=1.5)
    eta = datetime.fromisoformat(m["eta"])
    assert before + timedelta(seconds=expected - 2) <= eta <= datetime.now(UTC) + timedelta(seconds=expected + 2)
    listed = {x["id"]: x for x in client.get(f"{API}/missions").json()}
    assert listed[running]["remaining_s"] == pytest.approx(expected, abs=1.5)
    assert listed[queued]["remaining_s"] is None and listed[queued]["eta"] is None  # no robot yet: no estimate
