"""The robot registry (issue 14): fleet.yaml seeds it; admins register, edit and retire robots while the lab
runs; bad entries are 422 naming the field and change nothing; a robot that reports without being registered is
listed `unregistered` and never dispatched. SQLite and PostgreSQL."""

from __future__ import annotations

import json
import uuid
from typing import Any

from fastapi.testclient import TestClient

from fleet_manager.core.robots import RobotMode, RobotReport
from fleet_manager.settings import Settings
from tests.api.conftest import API, MakeUser, admin_client
from tests.mqtt_helpers import clear_retained
from vda5050.description import VehicleDescription
from vda5050.mqtt_vehicle import BrokerSettings, VehicleLink
from vda5050.vehicle import Vehicle

TB4 = {
    "id": "tb4_1", "name": "TurtleBot 4 #1", "adapter": "nav2",
    "connection": {"namespace": "/tb4_1", "map_frame": "map", "base_frame": "tb4_1/base_link"},
    "model": {"name": "turtlebot4", "kind": "delivery", "radius": 0.18, "max_speed": 0.3, "capabilities": ["cargo_bay"],
              "battery_capacity_wh": 54.0},
    "map_transform": {"x": 2.0, "y": -1.0, "yaw": 0.5, "scale": 1.0},
    "home": "lobby", "charger": "charger_1",
}


def registry(client: TestClient, **params: Any) -> list[dict[str, Any]]:
    r = client.get(f"{API}/robot-registry", params=params)
    assert r.status_code == 200, r.text
    rows: list[dict[str, Any]] = r.json()
    return rows


def report(robot_id: str, t: float, x: float = 4.0, y: float = 4.0) -> RobotReport:
    return RobotReport(robot_id, "delivery", "turtlebot4", RobotMode.IDLE, x, y, 0.0, 0.0, 0.0, 90.0, False, "", 0.0,
                       (), t, 1.7e9 + t)


def test_fleet_yaml_seeds_the_registry(client: TestClient) -> None:
    rows = {r["id"]: r for r in registry(client)}
    assert set(rows) == {"delivery_1", "delivery_2", "guide_1", "amr_1", "cleaner_1", "arm_1"}
    amr = rows["amr_1"]
    assert (amr["adapter"], amr["source"], amr["model"]["name"], amr["model"]["radius"]) == (
        "labfleet", "fleet.yaml", "tugger", 0.4)
    assert amr["home"] == "charger_4" and amr["charger"] == "charger_4"
    assert amr["map_transform"] == {"x": 0.0, "y": 0.0, "yaw": 0.0, "scale": 1.0}
    listed = {r["id"]: r for r in client.get(f"{API}/robots").json()}
    assert listed["amr_1"]["registration"] == "registered" and listed["amr_1"]["mode"] == "offline"
    assert listed["amr_1"]["pose"] is None and listed["amr_1"]["last_seen"] is None  # it never reported


def test_register_edit_and_retire_while_running(client: TestClient, make_user: MakeUser) -> None:
    operator = make_user("olga", "operator")
    assert operator.post(f"{API}/robots", json=TB4).status_code == 403
    r = client.post(f"{API}/robots", json=TB4)
    assert r.status_code == 201, r.text
    made = r.json()
    assert (made["id"], made["adapter"], made["source"], made["connection"]["namespace"]) == (
        "tb4_1", "nav2", "api", "/tb4_1")
    lab = client.app.state.lab  # type: ignore[attr-defined]
    assert "tb4_1" in {r.id for r in lab.site.fleet.robots}  # dispatch and traffic plan with it at once
    assert lab.site.max_speed("tb4_1") == 0.3

    r = client.patch(f"{API}/robots/tb4_1", json={"model": {**TB4["model"], "max_speed": 0.5}, "name": "TB4 one"})
    assert r.status_code == 200, r.text
    assert r.json()["model"]["max_speed"] == 0.5 and r.json()["name"] == "TB4 one"
    assert lab.dispatcher.traffic.robot_caps["tb4_1"] == 0.5
    assert client.get(f"{API}/robots/tb4_1/registration").json()["home"] == "lobby"

    r = client.delete(f"{API}/robots/tb4_1")
    assert r.status_code == 200 and r.json()["retired_at"] is not None
    assert client.delete(f"{API}/robots/tb4_1").json()["retired_at"] == r.json()["retired_at"]  # idempotent
    assert "tb4_1" not in {r["id"] for r in registry(client)}
    assert "tb4_1" in {r["id"] for r in registry(client, include_retired=True)}
    assert "tb4_1" not in {r.id for r in lab.site.fleet.robots}
    again = client.post(f"{API}/robots", json=TB4)  # its history keeps the id
    assert again.status_code == 422 and again.json()["field"] == "id" and "retired" in again.json()["detail"]


def _field_of(body: dict[str, Any]) -> str:
    if "field" in body:
        return str(body["field"])
    return ".".join(str(p) for p in body["errors"][0]["loc"][1:])


def test_bad_entries_are_refused_naming_the_field_and_nothing_changes(client: TestClient) -> None:
    assert client.post(f"{API}/robots", json=TB4).status_code == 201
    before = registry(client, include_retired=True)
    cases = [
        ({**TB4, "id": "tb4_2", "adapter": "ros1"}, "adapter"),
        (TB4, "id"),  # a duplicate
        ({**TB4, "id": "tb4_2", "model": {**TB4["model"], "radius": 0}}, "model.radius"),
        ({**TB4, "id": "tb4_2", "model": {**TB4["model"], "radius": -0.2}}, "model.radius"),
        ({**TB4, "id": "tb4_2", "model": {**TB4["model"], "max_speed": 0}}, "model.max_speed"),
        ({**TB4, "id": "tb4_2", "home": "nowhere"}, "home"),
        ({**TB4, "id": "tb4_2", "charger": "lobby"}, "charger"),
        ({**TB4, "id": "tb4_2", "connection": {"manufacturer": "Acme"}}, "connection.manufacturer"),
        ({**TB4, "id": "Bad Id"}, "id"),
        ({**TB4, "id": "tb4_2", "model": {"battery_capacity_wh": 54.0}}, "model.name"),  # only a factsheet fills
    ]
    for body, field in cases:
        r = client.post(f"{API}/robots", json=body)
        assert r.status_code == 422, (field, r.text)
        assert _field_of(r.json()) == field, (field, r.json())
    for value in ("NaN", "Infinity", "-Infinity"):  # JSON as Python writes it: not finite
        text = json.dumps({**TB4, "id": "tb4_3"}).replace('"x": 2.0', f'"x": {value}')
        r = client.post(f"{API}/robots", content=text, headers={"content-type": "application/json"})
        assert r.status_code == 422 and _field_of(r.json()) == "map_transform.x", r.text
    r = client.patch(f"{API}/robots/tb4_1", json={"map_transform": {"x": 1.0, "y": 0.0, "yaw": 0.0, "scale": 0}})
    assert r.status_code == 422 and _field_of(r.json()) == "map_transform.scale"
    assert client.patch(f"{API}/robots/nobody", json={"name": "x"}).status_code == 404
    assert registry(client, include_retired=True) == before


def test_a_robot_that_reports_unregistered_is_listed_and_never_dispatched(client: TestClient) -> None:
    lab = client.app.state.lab  # type: ignore[attr-defined]
    for t in (1.0, 1.2):
        client.portal.call(lab.robots.states, "nav2", [report("visitor_1", t)])  # type: ignore[attr-defined]
    listed = {r["id"]: r for r in client.get(f"{API}/robots").json()}
    visitor = listed["visitor_1"]
    assert (visitor["registration"], visitor["adapter"], visitor["mode"]) == ("unregistered", "nav2", "idle")
    assert visitor["pose"] == {"x": 4.0, "y": 4.0, "yaw": 0.0}
    assert "visitor_1" not in {r.id for r in lab.registry.available()}
    r = client.post(f"{API}/missions", json={"spec": {"steps": [{"go_to": "lobby"}]}, "robot_id": "visitor_1"})
    assert r.status_code == 422 and r.json()["field"] == "robot_id"

    body = {**TB4, "id": "visitor_1", "map_transform": {"x": 0.0, "y": 0.0, "yaw": 0.0, "scale": 1.0}}
    body["connection"] = {"namespace": "/visitor_1"}
    assert client.post(f"{API}/robots", json=body).status_code == 201
    client.portal.call(lab.robots.states, "nav2", [report("visitor_1", 1.4)])  # type: ignore[attr-defined]
    assert client.get(f"{API}/robots/visitor_1").json()["registration"] == "registered"
    assert "visitor_1" in {r.id for r in lab.registry.available()}


def test_states_of_a_robot_with_its_own_map_reach_the_site_frame(client: TestClient) -> None:
    lab = client.app.state.lab  # type: ignore[attr-defined]
    assert client.post(f"{API}/robots", json={**TB4, "map_transform": {"x": 10.0, "y": 5.0, "yaw": 1.5707963267948966,
                                                                        "scale": 1.0}}).status_code == 201
    client.portal.call(lab.robots.states, "nav2", [report("tb4_1", 2.0, x=1.0, y=0.0)])  # type: ignore[attr-defined]
    pose = client.get(f"{API}/robots/tb4_1").json()["pose"]
    assert abs(pose["x"] - 10.0) < 1e-9 and abs(pose["y"] - 6.0) < 1e-9 and abs(pose["yaw"] - 1.5707963267948966) < 1e-9


def test_a_vda5050_vehicle_registered_without_its_model_takes_it_from_its_factsheet(settings: Settings) -> None:
    """The vehicle online on the broker (its factsheet retained); the entry gives only a battery and a speed."""
    interface = f"uagv_reg{uuid.uuid4().hex[:8]}"
    vehicle = Vehicle(VehicleDescription("Acme", "F-7", "living_lab"))
    link = VehicleLink(vehicle, BrokerSettings(interface=interface))
    link.start()
    try:
        with admin_client(settings.model_copy(update={"vda5050_interface": interface,
                                                      "vda5050_factsheet_wait_s": 3.0})) as client:
            body = {"id": "agv_7", "adapter": "vda5050", "connection": {"manufacturer": "Acme", "serial_number": "F-7"},
                    "model": {"battery_capacity_wh": 900.0, "max_speed": 0.9}, "home": "lobby"}
            r = client.post(f"{API}/robots", json=body)
            assert r.status_code == 201, r.text
            model, sheet = r.json()["model"], vehicle.factsheet()
            assert (model["name"], model["kind"], model["max_speed"], model["max_accel"]) == (
                sheet.type_specification.series_name.replace(" ", "_"),
                str(sheet.type_specification.agv_class).lower(), 0.9, sheet.physical_parameters.acceleration_max)
            assert any(row["id"] == "agv_7" and row["model"] == model for row in registry(client))  # stored
            r = client.get(f"{API}/robots/agv_7/vda5050")  # and the console shows the factsheet
            assert r.status_code == 200 and r.json()["factsheet"]["typeSpecification"]["seriesName"] == (
                sheet.type_specification.series_name)

            before = registry(client, include_retired=True)
            r = client.post(f"{API}/robots", json={**body, "id": "agv_8", "connection": {"serial_number": "F-8"}})
            assert r.status_code == 422 and _field_of(r.json()) == "model.name", r.text  # no such vehicle
            assert "sent no factsheet within 3 s" in r.json()["detail"]
            assert registry(client, include_retired=True) == before
    finally:
        link.stop()
        clear_retained(interface)
