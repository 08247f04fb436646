"""Hostile input (issue 8): size limits, strict schemas, and a 4xx naming the problem, never a 500."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from fleet_manager.settings import Settings
from tests.api.conftest import ADMIN_PASSWORD, API, bearer
from tests.api.live_server import serve

JSON = {"content-type": "application/json"}
PILOT = {"site": "living_lab", "name": "pilot", "period_start": "2026-01-01T00:00:00Z",
         "period_end": "2027-01-01T00:00:00Z"}
INCIDENT = {"severity": "SEV3", "kind": "near_miss", "robot_id": "delivery_1", "place": {"x": 1.0, "y": 2.0}}
SMALL_BODY, SMALL_WS = 20_000, 1_000  # the live server's limits
LOADED_S = 30.0  # a request's timeout: a login hashes a password, seconds on a host busy with the labs of make test


def errors(response: httpx.Response) -> list[dict[str, Any]]:
    assert response.status_code == 422, response.text
    parts = response.json()["errors"]  # (the problem's `errors`: each invalid part)
    assert isinstance(parts, list), parts
    return parts


# -- size limits -------------------------------------------------------------------------------------------
def test_body_over_the_limit_is_413_naming_the_limit(client: TestClient, settings: Settings) -> None:
    body = b'{"name": "' + b"x" * settings.max_request_bytes + b'"}'
    r = client.post(f"{API}/pilots", content=body, headers=JSON)
    assert r.status_code == 413
    limit = settings.max_request_bytes
    assert (r.json()["code"], r.json()["detail"]) == ("too_large", f"request body over {limit} bytes")


@pytest.fixture
def live(settings: Settings) -> Iterator[tuple[str, str]]:
    """A real server (uvicorn, real sockets) with small limits; its URL and an admin token."""
    small = settings.model_copy(update={"max_request_bytes": SMALL_BODY, "max_ws_message_bytes": SMALL_WS})
    with serve(small) as url:
        login = httpx.post(f"{url}{API}/auth/token", data={"username": "admin", "password": ADMIN_PASSWORD},
                           timeout=LOADED_S)
        assert login.status_code == 200, login.text
        yield url, login.json()["access_token"]


def _chunked(body: bytes, size: int = 1000) -> Iterator[bytes]:
    """The body in chunks: httpx sends it with Transfer-Encoding: chunked and no Content-Length."""
    for i in range(0, len(body), size):
        yield body[i:i + size]


def test_chunked_body_is_counted_as_it_arrives(live: tuple[str, str]) -> None:
    url, token = live
    headers = {**bearer(token), **JSON}
    under = httpx.post(f"{url}{API}/pilots", content=_chunked(httpx.Request("POST", url, json=PILOT).content),
                       headers=headers, timeout=LOADED_S)
    assert under.status_code == 201, under.text
    assert "content-length" not in under.request.headers
    over = httpx.post(f"{url}{API}/pilots", headers=headers,
                      content=_chunked(b'{"name": "' + b"x" * 2 * SMALL_BODY + b'"}'), timeout=LOADED_S)
    assert over.status_code == 413, over.text
    assert (over.json()["code"], over.json()["detail"]) == ("too_large", f"request body over {SMALL_BODY} bytes")


def test_websocket_message_over_the_limit_closes_the_connection_1009(live: tuple[str, str]) -> None:
    url, token = live
    with connect(f"ws{url.removeprefix('http')}{API}/ws/telemetry?token={token}") as ws:
        ws.send("x" * (SMALL_WS // 2))  # clients need send nothing; what they send under the limit is read
        ws.send(b"\x00" * (SMALL_WS // 2))  # bytes too (a handler reading text only would fail here: 1011)
        ws.send("x" * (SMALL_WS + 1))
        with pytest.raises(ConnectionClosed) as closed:
            while True:
                ws.recv(timeout=10)
    assert closed.value.rcvd is not None
    assert closed.value.rcvd.code == 1009
    assert closed.value.rcvd.reason == f"message of {SMALL_WS + 1} bytes over {SMALL_WS}"


# -- malformed and unexpected bodies ----------------------------------------------------------------------
MALFORMED = [
    (b'{"name": ', "the body is not valid JSON: Expecting value at character 9"),
    (b"{'name': 'single quotes'}", "the body is not valid JSON: Expecting property name enclosed in double quotes"),
    (b'{"name": "\xff"}', "the body is not UTF-8 text (invalid start byte at byte 10)"),
    (b"[" * 100_000 + b"]" * 100_000, "the body's JSON is nested too deeply"),
]


def test_malformed_json_is_422_naming_the_problem(client: TestClient) -> None:
    for body, problem in MALFORMED:
        [error] = errors(client.post(f"{API}/pilots", content=body, headers=JSON))
        assert error["type"] == "json_invalid"
        assert error["msg"].startswith(problem), (body[:30], error)


def test_broken_form_is_422_naming_the_problem(client: TestClient) -> None:
    r = client.post(f"{API}/auth/token", content=b"username=admin&password=x",
                    headers={"content-type": "multipart/form-data"})  # no boundary
    assert errors(r) == [{"type": "form_invalid", "loc": ["body"],
                          "msg": "the form cannot be read: Missing boundary in multipart."}]


STRICT = [("POST", "/missions"), ("POST", "/pilots"), ("PATCH", "/pilots/any"), ("POST", "/schedules"),
          ("POST", "/incidents"), ("POST", "/interventions"), ("POST", "/interventions/any/end"),
          ("POST", "/robots/delivery_1/commands"), ("POST", "/missions/1/confirm"), ("POST", "/missions/1/replay"),
          ("POST", "/users"), ("POST", "/auth/refresh")]


def test_unknown_field_is_422_naming_it(client: TestClient) -> None:
    for method, path in STRICT:
        found = [(e["type"], e["loc"]) for e in errors(client.request(method, f"{API}{path}", json={"surprise": 1}))]
        assert ("extra_forbidden", ["body", "surprise"]) in found, (method, path, found)


OVERSIZED = [
    ("/pilots", {**PILOT, "name": "x" * 100_000}, ["body", "name"], "string_too_long"),
    ("/pilots", {**PILOT, "robots": ["x" * 100_000]}, ["body", "robots", 0], "string_too_long"),
    ("/pilots", {**PILOT, "robots": ["r"] * 5000}, ["body", "robots"], "too_long"),
    ("/pilots", {**PILOT, "targets": {f"kpi_{i}": 1.0 for i in range(500)}}, ["body", "targets"], "too_long"),
    ("/missions", {"template": "x" * 100_000}, ["body", "template"], "string_too_long"),
    ("/missions", {"template": "delivery", "params": {f"p{i}": i for i in range(500)}}, ["body", "params"],
     "too_long"),
    ("/robots/delivery_1/commands", {"command": "pause", "reason": "x" * 100_000}, ["body", "reason"],
     "string_too_long"),
    ("/incidents", {**INCIDENT, "description": "x" * 100_000}, ["body", "description"], "string_too_long"),
    ("/schedules", {"name": "s", "template": "delivery", "every_minutes": 60, "between": ["x" * 100_000, "18:00"]},
     ["body", "between", 0], "string_too_long"),
]


def test_huge_strings_and_lists_are_422(client: TestClient) -> None:
    for path, body, loc, kind in OVERSIZED:
        r = client.post(f"{API}{path}", json=body)
        assert (kind, loc) in [(e["type"], e["loc"]) for e in errors(r)], (path, loc, r.text[:500])
        assert len(r.content) < 5000, f"the error repeats the huge input back: {r.text[:200]}"


def _deep_bodies(depth: int) -> list[tuple[str, str]]:
    deep = "[" * depth + "]" * depth
    pilot = '"site": "living_lab", "name": "p", "period_start": "2026-01-01T00:00:00Z", "period_end": "2027-01-01"'
    return [("/missions", f'{{"template": "delivery", "params": {{"destination": {deep}}}}}'),
            ("/missions", f'{{"spec": {{"steps": [{{"go_to": {deep}}}]}}}}'),
            ("/pilots", f'{{{pilot}, "targets": {{"success_rate": {deep}}}}}'),
            ("/incidents", f'{{"severity": "SEV3", "kind": "estop", "robot_id": "delivery_1", '
                           f'"place": {{"x": 0, "y": 0}}, "evidence": [{{"state": {deep}}}]}}')]


def test_deep_nesting_inside_a_body_is_a_4xx(client: TestClient) -> None:
    for depth in (25, 100, 900):
        for path, body in _deep_bodies(depth):
            r = client.post(f"{API}{path}", content=body.encode(), headers=JSON)
            assert 400 <= r.status_code < 500, (path, depth, r.status_code, r.text[:300])
            assert len(r.content) < 5000, f"the error repeats the deep input back: {r.text[:200]}"
            if "evidence" in body or "params" in body:  # free-form JSON: its depth is what is refused
                assert "nested deeper than 20 levels" in r.text, (path, depth, r.text[:300])


def test_free_form_json_within_the_depth_limit_is_stored(client: TestClient) -> None:
    nested: Any = "leaf"
    for _ in range(18):
        nested = {"inner": nested}
    r = client.post(f"{API}/incidents", json={**INCIDENT, "evidence": [{"state": nested}]})
    assert r.status_code == 201, r.text
    assert client.get(f"{API}/incidents/{r.json()['id']}").json()["evidence"] == [{"state": nested}]


# -- path parameters -------------------------------------------------------------------------------------
OUT_OF_RANGE = [
    ("GET", "/missions/0", 422, "mission_id"),
    ("GET", "/missions/-1", 422, "mission_id"),
    ("GET", "/missions/2147483648", 422, "mission_id"),
    ("GET", "/missions/99999999999999999999", 422, "mission_id"),
    ("GET", "/missions/1e3", 422, "mission_id"),
    ("POST", "/missions/99999999999999999999/cancel", 422, "mission_id"),
    ("GET", "/missions/99999999999999999999/recording/info", 422, "mission_id"),
    ("POST", "/schedules/99999999999999999999/disable", 422, "schedule_id"),
    ("GET", "/replays/2147483648", 422, "replay_id"),
    ("GET", "/missions/2147483647", 404, "mission_id"),
    ("POST", "/missions/2147483647/pause", 404, "mission_id"),
    ("POST", "/schedules/2147483647/disable", 404, "schedule_id"),
    ("GET", "/pilots/" + "x" * 5000, 404, "pilot_id"),
    ("GET", "/incidents/" + "x" * 5000, 404, "incident_id"),
    ("GET", "/robots/" + "x" * 5000, 422, "robot_id"),  # longer than any robot id can be
]


def test_path_ids_out_of_range_are_404_or_422(client: TestClient) -> None:
    for method, path, status, name in OUT_OF_RANGE:
        r = client.request(method, f"{API}{path}")
        assert r.status_code == status, (method, path[:60], r.text[:300])
        body = r.json()
        if status == 404:
            assert body["field"] == name
        else:
            assert ["path", name] in [e["loc"] for e in body["errors"]], (path[:60], body)


def test_nul_characters_are_a_4xx_or_stored(client: TestClient, database_url: str) -> None:
    """SQLite stores a NUL character; PostgreSQL cannot, and the API says so (422), never 500."""
    created = client.post(f"{API}/pilots", json={**PILOT, "name": "a\x00b"})
    looked_up = client.get(f"{API}/pilots/a%00b")
    listed = client.get(f"{API}/missions", params={"robot_id": "a\x00b"})
    if database_url.startswith("sqlite"):
        assert (created.status_code, looked_up.status_code, listed.status_code) == (201, 404, 200)
        assert created.json()["name"] == "a\x00b"
    else:
        for r in (created, looked_up, listed):
            assert r.status_code == 422, r.text
            assert "cannot contain NUL" in r.json()["detail"]
