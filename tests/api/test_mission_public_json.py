"""GET /missions, GET /missions/{id} and POST /missions/{id}/cancel answer JSON built without a MissionPublic model
(missions/public_json.py): over HTTP, on SQLite and PostgreSQL (whose timestamps come back in the session's time
zone), the bytes are those FastAPI wrote for the models MissionService.search / get give, and the OpenAPI
document still names MissionPublic. A user of one site sees that site's missions only."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pydantic import TypeAdapter
from sqlmodel import Session

from fleet_manager.core.robots import RobotMode, RobotReport
from fleet_manager.db.tables import Mission
from fleet_manager.missions import service as service_module
from fleet_manager.missions.endpoints import _where
from fleet_manager.missions.schemas import MissionPublic
from fleet_manager.missions.texts import say
from tests.api.conftest import API, MakeUser

LIST = TypeAdapter(list[MissionPublic])
ONE = TypeAdapter(MissionPublic)
NOW = datetime(2026, 3, 4, 12, 0, 0, 654321, tzinfo=UTC)


def fastapi_list(models: list[MissionPublic]) -> bytes:
    """What FastAPI answered for a route with response_model=list[MissionPublic] (fastapi/routing.py)."""
    return LIST.dump_json(LIST.validate_python(models, from_attributes=True))


def fastapi_one(model: MissionPublic) -> bytes:
    return ONE.dump_json(ONE.validate_python(model, from_attributes=True))


def _add(client: Any, **fields: Any) -> int:
    with Session(client.app.state.lab.engine, expire_on_commit=False) as session:
        row = Mission(site="living_lab", created_at=NOW - timedelta(hours=1), **fields)
        session.add(row)
        session.commit()
        assert row.id is not None
        return row.id


@pytest.fixture
def lab(client: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    """The lab, its missions' estimates reckoned at NOW, delivery_1 next to the lobby, a mission of each kind."""
    monkeypatch.setattr(service_module, "utcnow", lambda: NOW)
    lab = client.app.state.lab
    lobby = lab.site.navgraph.places["lobby"]
    lab.registry.update(RobotReport("delivery_1", "delivery", "deliverybot", RobotMode.MOVING, lobby.x + 0.3,
                                    lobby.y, 0.0, 0.3, 0.0, 90.0, False, "", 0.0, (), 0.0, 0.0))
    steps = [{"index": 0, "kind": "go_to", "target": "ward_a", "status": "done"},
             {"index": 1, "kind": "wait", "seconds": 25.0, "status": "active",
              "started_at": (NOW - timedelta(seconds=10)).isoformat()},
             {"index": 2, "kind": "go_to", "target": "pharmacy", "status": "pending"}]
    _add(client, status="queued", params={"destination": "lobby"}, not_before=NOW + timedelta(hours=2),
         capabilities=["tray"], steps=steps[2:], priority="high")
    running = _add(client, status="underway", robot_id="delivery_1", steps=steps, route=["ward_a", "pharmacy"],
                   assigned_at=NOW - timedelta(minutes=2), started_at=NOW - timedelta(minutes=1))
    lab.missions.add_event(running, say("step_confirmed_by", step=1, by="Ana"), step_index=1)
    _add(client, status="completed", robot_id="delivery_1", distance_m=850.0, energy_wh=21.5,
         final_pose={"x": 1.5, "y": -2.25, "yaw": 0.1}, started_at=NOW - timedelta(minutes=8),
         ended_at=NOW - timedelta(minutes=3))
    _add(client, status="failed", robot_id="delivery_2", failure_reason="blocked by an obstacle for 60 s",
         status_reason="blocked by an obstacle for 60 s", status_code="reason_blocked",
         status_params={"seconds": 60}, ended_at=NOW, energy_wh=2.0, distance_m=0.0, sim_started_at=1.0,
         sim_ended_at=2.5)
    _add(client, status="canceled", robot_id="delivery_2", status_reason="canceled by operator",
         status_code="canceled_by_operator", status_params={}, ended_at=NOW, final_pose={"x": 2, "y": 0, "yaw": 0})
    return lab


@pytest.mark.parametrize("query", ["", "?limit=50", "?status=underway", "?status=failed&status=canceled",
                                   "?robot_id=delivery_1", "?status=completed&robot_id=delivery_1",
                                   "?limit=2&offset=1", "?robot_id=nobody"])
def test_the_list_is_what_fastapi_wrote(client: Any, lab: Any, query: str) -> None:
    r = client.get(f"{API}/missions{query}")
    assert r.status_code == 200 and r.headers["content-type"] == "application/json"
    params = dict(p.split("=") for p in query[1:].split("&") if p)
    statuses = [p.split("=")[1] for p in query[1:].split("&") if p.startswith("status=")]
    expected = lab.missions.search(statuses, params.get("robot_id"), int(params.get("limit", 100)),
                                   int(params.get("offset", 0)), _where(lab))
    assert r.content == fastapi_list(expected)


def test_one_mission_is_what_fastapi_wrote(client: Any, lab: Any) -> None:
    listed = client.get(f"{API}/missions").json()
    assert any(m["remaining_s"] is not None for m in listed)  # the running one, estimated
    for m in listed:
        r = client.get(f"{API}/missions/{m['id']}")
        assert r.status_code == 200 and r.headers["content-type"] == "application/json"
        assert r.content == fastapi_one(lab.missions.get(m["id"], True, _where(lab))), m["id"]
    assert client.get(f"{API}/missions/999999").status_code == 404


def test_a_cancel_answers_what_fastapi_wrote(client: Any, lab: Any) -> None:
    made = client.post(f"{API}/missions", json={"spec": {"steps": [{"go_to": "lobby"}]}})
    assert made.status_code == 201, made.text
    r = client.post(f"{API}/missions/{made.json()['id']}/cancel")
    assert r.status_code == 200 and r.json()["status"] == "canceled"
    assert [e["status"] for e in r.json()["events"]] == ["queued", "canceled"]
    assert r.content == fastapi_one(lab.missions.get(made.json()["id"]))
    again = client.post(f"{API}/missions/{made.json()['id']}/cancel")  # idempotent: the same final state
    assert again.status_code == 200 and again.content == r.content
    assert client.post(f"{API}/missions/999999/cancel").status_code == 404


def test_the_openapi_document_names_mission_public(client: Any) -> None:
    paths = client.get(f"{API}/openapi.json").json()["paths"]

    def schema(path: str, method: str) -> Any:
        return paths[path][method]["responses"]["200"]["content"]["application/json"]["schema"]

    listed = schema(f"{API}/missions", "get")
    assert (listed["type"], listed["items"]) == ("array", {"$ref": "#/components/schemas/MissionPublic"})
    assert schema(f"{API}/missions/{{mission_id}}", "get") == {"$ref": "#/components/schemas/MissionPublic"}
    assert schema(f"{API}/missions/{{mission_id}}/cancel", "post") == {"$ref": "#/components/schemas/MissionPublic"}


def test_a_user_of_another_site_sees_no_mission_of_this_one(client: Any, lab: Any, make_user: MakeUser) -> None:
    ours = make_user("here", "viewer", sites=["living_lab"])
    assert len(ours.get(f"{API}/missions").json()) == 5
    theirs = make_user("elsewhere", "viewer", sites=["city_block"])
    assert theirs.get(f"{API}/missions").status_code == 403
    assert theirs.get(f"{API}/missions/1").status_code == 403
