"""The HTTP API against SQLite and PostgreSQL (no ROS: missions stay queued without robots)."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from fleet_manager.app import create_app
from fleet_manager.settings import Settings

API = "/api/v1"


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return Settings(database_url=database_url, data_dir=tmp_path, ros_enabled=False, environment="test")


@pytest.fixture
def client(settings: Settings):
    with TestClient(create_app(settings)) as c:
        yield c


def submit(client, body, status=201):
    r = client.post(f"{API}/missions", json=body)
    assert r.status_code == status, r.text
    return r.json()


def test_health_sites_map_templates(client):
    assert client.get(f"{API}/health").json()["status"] == "ok"
    sites = client.get(f"{API}/sites").json()
    assert {"site": "living_lab", "active": True} in sites
    m = client.get(f"{API}/sites/living_lab/map").json()
    assert len(m["places"]) >= 12 and m["lanes"] and m["walls"]
    assert all(len(w["polygon"]) >= 3 for w in m["walls"])
    assert {"name", "x", "y", "kind"} <= set(m["places"][0])
    templates = {t["name"]: t for t in client.get(f"{API}/mission-templates").json()}
    assert {"delivery", "patrol"} <= set(templates)
    assert any(p["type"] == "place" for p in templates["delivery"]["params"])
    assert client.get(f"{API}/sites/atlantis/map").status_code == 404


def test_inline_spec_lifecycle_is_stored(client):
    places = [p["name"] for p in client.get(f"{API}/sites/living_lab/map").json()["places"]]
    m = submit(client, {"spec": {"steps": [{"go_to": places[1]}, {"wait": 1}, {"go_to": places[2]}]}})
    assert m["status"] == "queued" and m["robot_id"] is None
    assert [s["kind"] for s in m["steps"]] == ["go_to", "wait", "go_to"]
    got = client.get(f"{API}/missions/{m['id']}").json()
    assert [e["status"] for e in got["events"]] == ["queued"]
    assert [x["id"] for x in client.get(f"{API}/missions", params={"status": "queued"}).json()] == [m["id"]]
    first = client.post(f"{API}/missions/{m['id']}/cancel").json()
    assert first["status"] == "canceled" and first["ended_at"]
    second = client.post(f"{API}/missions/{m['id']}/cancel").json()
    assert second == first  # idempotent: the same final state
    events = client.get(f"{API}/missions/{m['id']}").json()["events"]
    assert [e["status"] for e in events if e["kind"] == "status"] == ["queued", "canceled"]


def test_template_mission(client):
    templates = {t["name"]: t for t in client.get(f"{API}/mission-templates").json()}
    place_params = [p for p in templates["delivery"]["params"] if p["type"] == "place"]
    places = [p["name"] for p in client.get(f"{API}/sites/living_lab/map").json()["places"]]
    params = {p["name"]: places[-1] for p in place_params}
    m = submit(client, {"template": "delivery", "params": params, "priority": "high"})
    assert m["template"] == "delivery" and m["priority"] == "high"
    assert all(m["params"][k] == v for k, v in params.items())


@pytest.mark.parametrize(
    ("body", "status", "needle"),
    [
        ({"spec": {"steps": [{"go_to": "narnia"}]}}, 422, "unknown place 'narnia'"),
        ({"template": "teleport", "params": {}}, 422, "unknown mission template 'teleport'"),
        ({"template": "delivery", "params": {"destination": 42}}, 422, "params.destination"),
        ({"spec": {"steps": []}}, 422, "steps"),
        ({"spec": {"steps": [{"go_to": "lobby", "fly": 1}]}}, 422, "unknown key"),
        ({"template": "delivery", "spec": {"steps": [{"go_to": "lobby"}]}}, 422, "exactly one of"),
        ({"spec": {"steps": [{"go_to": "lobby"}]}, "priority": "urgent"}, 422, "priority"),
        ({"spec": {"steps": [{"go_to": "lobby"}]}, "robot_id": "r2d2"}, 422, "unknown robot 'r2d2'"),
        ({"spec": {"steps": [{"go_to": "lobby"}]}, "colour": "red"}, 422, "colour"),
    ],
)
def test_bad_missions_are_refused_and_nothing_is_lost(client, body, status, needle):
    kept = submit(client, {"spec": {"steps": [{"go_to": "lobby"}]}})
    r = client.post(f"{API}/missions", json=body)
    assert r.status_code == status, r.text
    assert needle in r.text
    listed = client.get(f"{API}/missions").json()
    assert [m["id"] for m in listed] == [kept["id"]]


def test_malformed_and_oversized_requests(client, settings):
    kept = submit(client, {"spec": {"steps": [{"go_to": "lobby"}]}})
    r = client.post(f"{API}/missions", content=b"{not json", headers={"content-type": "application/json"})
    assert r.status_code == 422 and "json" in r.text.lower()
    big = b'{"spec": {"steps": [' + b'{"go_to": "lobby"},' * 200_000 + b'{"go_to": "lobby"}]}}'
    r = client.post(f"{API}/missions", content=big, headers={"content-type": "application/json"})
    assert r.status_code == 413
    assert client.get(f"{API}/missions/999999").status_code == 404
    assert client.get(f"{API}/missions/abc").status_code == 422
    assert client.get(f"{API}/robots/nobody").status_code == 404
    assert client.post(f"{API}/robots/nobody/commands", json={"command": "pause"}).status_code == 404
    assert client.post(f"{API}/robots/nobody/commands", json={"command": "fly"}).status_code == 422
    assert client.get(f"{API}/missions", params={"status": "lost"}).status_code == 422
    assert [m["id"] for m in client.get(f"{API}/missions").json()] == [kept["id"]]


def test_missions_survive_a_restart(settings):
    with TestClient(create_app(settings)) as c:
        m = submit(c, {"spec": {"steps": [{"go_to": "lobby"}]}})
    with TestClient(create_app(settings)) as c:
        again = c.get(f"{API}/missions/{m['id']}").json()
    assert again["status"] == "queued" and again["steps"] == m["steps"]


def test_openapi_document(client):
    doc = client.get("/openapi.json").json()
    assert f"{API}/missions" in doc["paths"]
