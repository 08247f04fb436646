"""The alerts API (issue 18, item 2) on SQLite and PostgreSQL: a robot's e-stop (fed as the bridge feeds states)
is an open alert with the banner flag; an operator acknowledges it (recorded in the audit log, by whom), a viewer
may read but not acknowledge, and an unknown alert is a 404 problem."""

from __future__ import annotations

from fastapi.testclient import TestClient

from fleet_manager.alerts.watch import AlertWatch
from fleet_manager.core.robots import RobotMode, RobotReport
from tests.api.conftest import API, MakeUser


def feed(client: TestClient, robot_id: str, mode: RobotMode) -> None:
    lab = client.app.state.lab  # type: ignore[attr-defined]
    report = RobotReport(robot_id, "delivery", "deliverybot", mode, 3.0, 4.0, 0.0, 0.0, 0.0, 80.0, False, "", 0.0, (),
                         1.0, 1.7e9)
    client.portal.call(lab.on_ros_states, [report])  # type: ignore[union-attr]
    watch = AlertWatch(lab.alerts, lab.registry, lab.dispatcher.runs, lab.settings.alert_battery_pct)
    client.portal.call(watch.tick)  # type: ignore[union-attr]


def test_an_estop_alert_is_listed_and_acknowledged_by_an_operator(client: TestClient, make_user: MakeUser) -> None:
    feed(client, "delivery_1", RobotMode.ESTOP)
    (alert,) = client.get(f"{API}/alerts").json()
    assert (alert["kind"], alert["severity"], alert["robot_id"], alert["active"], alert["banner"]) == (
        "estop", "SEV1", "delivery_1", True, True)
    assert alert["acknowledged_at"] is None and "e-stopped" in alert["message"]

    viewer = make_user("vic", "viewer")
    assert viewer.get(f"{API}/alerts").json() == [alert]
    refused = viewer.post(f"{API}/alerts/{alert['id']}/acknowledge")
    assert refused.status_code == 403, refused.text

    olga = make_user("olga", "operator")
    acked = olga.post(f"{API}/alerts/{alert['id']}/acknowledge")
    assert acked.status_code == 200 and acked.json()["acknowledged_by"] == "olga", acked.text
    assert client.get(f"{API}/alerts").json()[0]["acknowledged_by"] == "olga"  # still holding: still open

    client.app.state.lab.audit.flush(5.0)  # type: ignore[attr-defined]
    entries = client.get(f"{API}/audit", params={"username": "olga"}).json()
    path = f"{API}/alerts/{alert['id']}/acknowledge"
    assert any(e["path"] == path and e["outcome"] == "ok" for e in entries), entries

    feed(client, "delivery_1", RobotMode.IDLE)  # released: cleared, and acknowledged: no longer open
    assert client.get(f"{API}/alerts").json() == []
    (closed,) = client.get(f"{API}/alerts", params={"state": "all"}).json()
    assert not closed["active"] and closed["cleared_at"] is not None

    missing = olga.post(f"{API}/alerts/99999/acknowledge")
    assert missing.status_code == 404 and missing.headers["content-type"].startswith("application/problem+json")
    assert client.get(f"{API}/alerts", params={"state": "some"}).status_code == 422
