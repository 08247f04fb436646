"""The audit log through the API, against SQLite and PostgreSQL: a mission submitted, a refused request, a
robot command (an operator's and the fleet manager's own) and logins are found with who, what and the outcome;
only admins read it; nothing changes it, not even SQL (triggers)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from fleet_manager.core.robots import Command, RobotMode
from tests.api.conftest import USER_PASSWORD, MakeUser
from tests.api.test_robot_estop import AgentStandIn, feed, plug_in

API = "/api/v1"


def audit(client: TestClient, **params: Any) -> list[dict[str, Any]]:
    r = client.get(f"{API}/audit", params=params)
    assert r.status_code == 200, r.text
    entries: list[dict[str, Any]] = r.json()
    return entries


def find(entries: list[dict[str, Any]], action: str, username: str | None = None) -> dict[str, Any]:
    found = [e for e in entries if e["action"] == action and (username is None or e["username"] == username)]
    assert found, f"no {action} by {username} in {[(e['action'], e['username']) for e in entries]}"
    return found[0]  # the newest


def test_requests_commands_and_logins_are_recorded_with_who_what_and_outcome(client: TestClient,
                                                                            make_user: MakeUser) -> None:
    lab = client.app.state.lab  # type: ignore[attr-defined]
    robot = AgentStandIn()
    plug_in(lab, robot)
    feed(client, lab, "delivery_1", 95.0, RobotMode.MOVING)
    olga = make_user("olga", "operator")
    vera = make_user("vera", "viewer")

    places = [p["name"] for p in client.get(f"{API}/sites/living_lab/map").json()["places"]]
    r = olga.post(f"{API}/missions", json={"spec": {"steps": [{"go_to": places[1]}]}})
    assert r.status_code == 201, r.text
    mission_id = r.json()["id"]
    assert vera.post(f"{API}/missions/{mission_id}/cancel").status_code == 403
    anonymous = TestClient(client.app)
    anonymous.portal = client.portal  # type: ignore[attr-defined]
    assert anonymous.post(f"{API}/missions/{mission_id}/cancel").status_code == 401
    assert olga.post(f"{API}/missions", json={"spec": {"steps": [{"go_to": "atlantis"}]}}).status_code == 422
    r = olga.post(f"{API}/robots/delivery_1/commands", json={"command": "estop", "reason": "blocking a fire door"})
    assert r.status_code == 200 and r.json()["result"] == "ok", r.text
    client.portal.call(lab.dispatcher._command, "delivery_1", Command.RELEASE)  # the fleet manager's own

    entries = audit(client)
    assert [e["at"] for e in entries] == sorted((e["at"] for e in entries), reverse=True)  # newest first

    (submitted,) = [e for e in entries if e["action"] == "POST /missions" and e["outcome"] == "ok"]
    assert (submitted["role"], submitted["method"], submitted["path"], submitted["status_code"],
            submitted["outcome"], submitted["client"]) == ("operator", "POST", "/api/v1/missions", 201, "ok",
                                                           "testclient")
    invalid = [e for e in entries if e["action"] == "POST /missions" and e["outcome"] == "invalid"]
    assert len(invalid) == 1 and invalid[0]["status_code"] == 422 and "atlantis" in invalid[0]["detail"]

    refused = find(entries, "POST /missions/{mission_id}/cancel", "vera")
    assert (refused["role"], refused["target"], refused["status_code"], refused["outcome"]) == (
        "viewer", f"mission_id={mission_id}", 403, "refused")
    assert "operator" in refused["detail"]  # names the role needed
    anon = next(e for e in entries if e["action"] == "POST /missions/{mission_id}/cancel" and e["username"] is None)
    assert (anon["status_code"], anon["outcome"], anon["role"]) == (401, "refused", None)

    http_command = find(entries, "POST /robots/{robot_id}/commands", "olga")
    assert (http_command["target"], http_command["outcome"]) == ("robot_id=delivery_1", "ok")
    estop = find(entries, "robot estop")
    assert (estop["username"], estop["role"], estop["target"], estop["outcome"], estop["status_code"]) == (
        "olga", "operator", "robot_id=delivery_1", "ok", None)
    assert estop["detail"] == "ok: emergency stop (reason: blocking a fire door)"
    release = find(entries, "robot release")
    assert (release["username"], release["role"], release["client"], release["outcome"]) == (
        "system", "system", None, "ok")

    assert all(USER_PASSWORD not in str(e) and "not her password" not in str(e) for e in entries)
    assert all(not e["action"].startswith("GET ") for e in entries)  # reading is not recorded

    # the filters
    assert {e["username"] for e in audit(client, username="olga")} == {"olga"}
    assert {e["outcome"] for e in audit(client, outcome="refused")} == {"refused"}
    assert len(audit(client, limit=2)) == 2 and audit(client, limit=2) == entries[:2]
    newest = datetime.fromisoformat(entries[0]["at"])
    assert audit(client, since=(newest + timedelta(seconds=1)).isoformat()) == []
    assert audit(client, until=(newest - timedelta(days=1)).isoformat()) == []
    assert len(audit(client, since=(newest - timedelta(hours=1)).isoformat(), until=(
        newest + timedelta(seconds=1)).isoformat(), limit=1000)) == len(audit(client, limit=1000))


def test_only_admins_read_the_audit_log(client: TestClient, make_user: MakeUser) -> None:
    operator = make_user("olga", "operator")
    r = operator.get(f"{API}/audit")
    assert r.status_code == 403 and "admin" in r.json()["detail"]
    anonymous = TestClient(client.app)
    anonymous.portal = client.portal  # type: ignore[attr-defined]
    assert anonymous.get(f"{API}/audit").status_code == 401
    assert client.get(f"{API}/audit").status_code == 200


BAD_FILTERS = [({"limit": 0}, "limit"), ({"limit": 1001}, "limit"), ({"outcome": "maybe"}, "outcome"),
               ({"since": "yesterday"}, "since"), ({"since": "0001-01-01T00:00:00+01:00"}, "since"),
               ({"since": "2026-01-02T00:00:00Z", "until": "2026-01-01T00:00:00Z"}, "until"),
               ({"username": ""}, "username")]


def test_bad_filters_are_a_422_naming_the_field(client: TestClient) -> None:
    for params, field in BAD_FILTERS:
        r = client.get(f"{API}/audit", params=params)
        assert r.status_code == 422 and field in r.text, (params, r.text)


def test_a_body_over_the_limit_is_recorded_too(client: TestClient) -> None:
    r = client.post(f"{API}/missions", content=b"x", headers={"content-type": "application/json",
                                                              "content-length": str(10**9)})
    assert r.status_code == 413
    (entry,) = [e for e in audit(client) if e["status_code"] == 413]
    assert (entry["username"], entry["path"], entry["outcome"]) == (None, "/api/v1/missions", "invalid")


def test_a_hostile_path_is_recorded_like_any_other(client: TestClient) -> None:
    r = client.post(f"{API}/missions/%00abc/cancel")  # PostgreSQL takes no NUL in text
    assert r.status_code == 422
    entries = audit(client, outcome="invalid")
    assert [(e["path"], e["target"]) for e in entries] == [(f"{API}/missions/\\0abc/cancel", "mission_id=\\0abc")]
    assert client.app.state.lab.audit.stats.failed == 0  # type: ignore[attr-defined]


def test_the_audit_log_is_append_only_through_the_api_and_in_the_database(client: TestClient) -> None:
    paths = client.get(f"{API}/openapi.json").json()["paths"]
    assert {(path, method) for path, ops in paths.items() if path.startswith(f"{API}/audit") for method in ops} == {
        (f"{API}/audit", "get")}
    for method in ("PUT", "PATCH", "DELETE"):
        assert client.request(method, f"{API}/audit").status_code == 405
    lab = client.app.state.lab  # type: ignore[attr-defined]
    assert lab.audit.flush(10.0)
    with lab.engine.connect() as conn:
        before = conn.execute(text("SELECT id, detail FROM audit_log ORDER BY id")).all()
    assert before, "the admin's login should be there"
    for sql in ("UPDATE audit_log SET detail = 'rewritten'", "DELETE FROM audit_log"):
        with pytest.raises(DBAPIError, match="append-only"), lab.engine.begin() as conn:
            conn.execute(text(sql))
    with lab.engine.connect() as conn:
        assert conn.execute(text("SELECT id, detail FROM audit_log ORDER BY id")).all()[: len(before)] == before
    if lab.engine.dialect.name == "postgresql":
        with pytest.raises(DBAPIError, match="append-only"), lab.engine.begin() as conn:
            conn.execute(text("TRUNCATE audit_log"))


def test_login_attempts_are_recorded_with_the_username_the_form_named(client: TestClient,
                                                                      make_user: MakeUser) -> None:
    make_user("olga", "operator")  # logs in
    r = client.post(f"{API}/auth/token", data={"username": "olga", "password": "not her password"})
    assert r.status_code == 401
    r = client.post(f"{API}/auth/token", data={"username": "nobody", "password": "whatever-it-is"})
    assert r.status_code == 401
    logins = [e for e in audit(client) if e["action"] == "POST /auth/token"]
    assert [(e["username"], e["outcome"], e["status_code"]) for e in logins] == [
        ("nobody", "refused", 401), ("olga", "refused", 401), ("olga", "ok", 200), ("admin", "ok", 200)]
    assert all("not her password" not in str(e) and USER_PASSWORD not in str(e) for e in logins)
    at = datetime.fromisoformat(logins[0]["at"])
    assert at.utcoffset() == timedelta(0) and abs(datetime.now(UTC) - at) < timedelta(minutes=5)
