"""The HTTP API against SQLite and PostgreSQL (no ROS: missions stay queued without robots)."""

from __future__ import annotations

import pytest

from tests.api.conftest import admin_client

API = "/api/v1"


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
    assert {"delivery", "security_patrol", "floor_cleaning", "pick_and_place"} <= set(templates)
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
        ({"template": "pick_and_place", "robot_id": "delivery_1"}, 422, "lacks the capability arm"),
        ({"template": "floor_cleaning", "params": {"zone": "attic"}}, 422, "params.zone: unknown zone 'attic'"),
        ({"template": "floor_cleaning", "params": {"spacing": "wide"}}, 422, "params.spacing: expected number"),
        ({"spec": {"steps": [{"cover": "attic"}]}}, 422, "unknown zone 'attic'"),
        ({"spec": {"steps": [{"action": "pick", "retries": 99}]}}, 422, "retries"),
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
    with admin_client(settings) as c:
        m = submit(c, {"spec": {"steps": [{"go_to": "lobby"}]}})
    with admin_client(settings) as c:
        again = c.get(f"{API}/missions/{m['id']}").json()
    assert again["status"] == "queued" and again["steps"] == m["steps"]


def test_openapi_document(client):
    doc = client.get("/openapi.json").json()
    assert f"{API}/missions" in doc["paths"]


def test_operator_actions_on_a_mission_that_is_not_running_are_conflicts(client):
    m = submit(client, {"template": "delivery", "params": {"destination": "ward_bed_1"}})
    assert m["steps"][3]["kind"] == "confirm" and m["steps"][3]["timeout"] == 300.0
    for verb, needle in (("pause", "it is queued"), ("resume", "it is queued"),
                         ("confirm", "has no step waiting for confirmation")):
        r = client.post(f"{API}/missions/{m['id']}/{verb}")
        assert r.status_code == 409 and needle in r.json()["detail"], r.text
    assert client.post(f"{API}/missions/{m['id']}/confirm", json={"step_index": -1}).status_code == 422
    assert client.get(f"{API}/dispatch").json() == {"paused": False}
    assert client.post(f"{API}/dispatch/pause").json() == {"paused": True}
    assert client.get(f"{API}/dispatch").json() == {"paused": True}
    assert client.post(f"{API}/dispatch/resume").json() == {"paused": False}


def test_schedules_are_validated_stored_and_submit_when_due(client):
    from datetime import UTC, datetime, timedelta

    bad = [
        ({"template": "teleport"}, "unknown mission template"),
        ({"between": ["09:00", "25:00"]}, "between[1]: expected a time of day HH:MM"),
        ({"timezone": "Mars/Olympus"}, "unknown time zone"),
        ({"every_minutes": 0}, "every_minutes"),
        ({"params": {"rounds": "many"}}, "params.rounds"),
    ]
    base = {"name": "night watch", "template": "security_patrol", "every_minutes": 30,
            "between": ["09:00", "18:00"], "timezone": "Asia/Seoul"}
    for change, needle in bad:
        r = client.post(f"{API}/schedules", json=base | change)
        assert r.status_code == 422 and needle in r.text, r.text
    assert client.get(f"{API}/schedules").json() == []
    s = client.post(f"{API}/schedules", json=base).json()
    assert s["every_s"] == 1800 and s["enabled"] and s["window_start"] == "09:00"
    due = datetime.fromisoformat(s["next_run_at"])
    lab = client.app.state.lab
    assert lab.schedules.run_due(due - timedelta(seconds=1)) == []
    [mission_id] = lab.schedules.run_due(due)
    mission = client.get(f"{API}/missions/{mission_id}").json()
    assert mission["template"] == "security_patrol" and mission["status"] == "queued"
    again = client.get(f"{API}/schedules").json()[0]
    assert again["last_mission_id"] == mission_id
    assert datetime.fromisoformat(again["next_run_at"]) - due in (timedelta(minutes=30), timedelta(hours=15))
    assert datetime.fromisoformat(again["next_run_at"]) > datetime.now(UTC)
    assert client.post(f"{API}/schedules/{s['id']}/disable").json()["enabled"] is False
    assert lab.schedules.run_due(datetime.now(UTC) + timedelta(days=2)) == []


def test_lanes_close_and_open_and_the_traffic_view(client):
    r = client.post(f"{API}/sites/living_lab/lanes/lab_door/close")
    assert r.status_code == 200 and r.json() == {"lane": "lab_door", "closed": True, "rerouted": []}
    lanes = {lane["id"]: lane for lane in client.get(f"{API}/sites/living_lab/map").json()["lanes"]}
    assert lanes["lab_door"]["closed"] is True and lanes["corridor_1"]["closed"] is False
    assert client.get(f"{API}/sites/living_lab/traffic").json() == {"closed_lanes": ["lab_door"], "routes": {}}
    assert client.post(f"{API}/sites/living_lab/lanes/lab_door/open").json()["closed"] is False
    assert client.get(f"{API}/sites/living_lab/traffic").json()["closed_lanes"] == []
    assert client.post(f"{API}/sites/living_lab/lanes/nowhere/close").status_code == 404
    assert client.post(f"{API}/sites/living_lab/lanes/lab_door/paint").status_code == 422
    assert client.post(f"{API}/sites/atlantis/lanes/lab_door/close").status_code == 404
