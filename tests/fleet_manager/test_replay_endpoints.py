"""The replay routes and the worker process behind them: POST /missions/{id}/replay re-simulates in a child
process that writes the result to the database (the same as a replay run in this process, bit for bit),
GET /replays/{id} reads it; bad overrides and unknown missions are 4xx naming the field."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from fastapi import APIRouter, FastAPI
from fastapi.testclient import TestClient
from sqlmodel import Session

from fleet_manager import exception_handlers
from fleet_manager.auth.deps import require
from fleet_manager.auth.roles import Principal, Role
from fleet_manager.cli.main import format_replay
from fleet_manager.replay.endpoints import router
from fleet_manager.replay.queue import ReplayQueue
from fleet_manager.replay.service import replay_mission
from fleet_manager.replay.tables import Replay
from fleet_manager.settings import Settings
from tests.fleet_manager.test_replay import MISSION, SITES, record_lab


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TestClient, dict[str, Any]]]:
    made = record_lab(tmp_path_factory.mktemp("replay_api"))
    app = FastAPI()
    exception_handlers.install(app)
    api = APIRouter(prefix="/api/v1")
    api.include_router(router)
    app.include_router(api)
    settings = Settings(data_dir=made["root"], sites_dir=SITES, database_url=made["url"], ros_enabled=False)
    queue = ReplayQueue(made["engine"], made["url"], SITES, made["recordings"], workers=1, per_user=2, per_site=3)
    app.state.lab = SimpleNamespace(settings=settings, engine=made["engine"], replays=queue)  # what the routes use
    app.dependency_overrides[require(Role.researcher)] = lambda: Principal("tester", Role.researcher, ("*",))
    with TestClient(app) as http:
        yield http, made
    made["engine"].dispose()


def test_a_replay_posted_runs_in_a_worker_process_and_is_stored(client: tuple[TestClient, dict[str, Any]]) -> None:
    http, made = client
    response = http.post(f"/api/v1/missions/{MISSION}/replay", params={"wait": 300},
                         json={"overrides": {"max_speed": 0.5}})
    assert response.status_code == 202, response.text
    body = response.json()
    assert (body["mission_id"], body["status"], body["overrides"], body["error"]) == (
        MISSION, "done", {"max_speed": 0.5}, None)
    assert body["speedup"] > 1.0 and body["comparison"]["missions"][0]["replay"]["outcome"] == "completed"
    again = http.get(f"/api/v1/replays/{body['id']}")
    assert again.status_code == 200 and again.json()["comparison"] == body["comparison"]
    here = replay_mission(made["engine"], SITES, made["recordings"], MISSION, {"max_speed": 0.5})
    assert here.comparison == body["comparison"]  # another process, the same run
    assert here.result is not None and here.result["trajectories"] == body["result"]["trajectories"]
    text = "\n".join(format_replay(body))
    assert f"replay {body['id']} of mission {MISSION}: done" in text and "Frechet" in text


def test_bad_requests_are_4xx_naming_the_field(client: tuple[TestClient, dict[str, Any]]) -> None:
    http, _ = client
    bad = http.post(f"/api/v1/missions/{MISSION}/replay", json={"overrides": {"warp": 9}})
    assert bad.status_code == 422 and bad.json()["field"] == "overrides.warp"
    slow = http.post(f"/api/v1/missions/{MISSION}/replay", json={"overrides": {"max_speed": 0}})
    assert slow.status_code == 422 and slow.json()["field"] == "overrides.max_speed"
    missing = http.post("/api/v1/missions/999/replay")
    assert missing.status_code == 404 and missing.json()["field"] == "mission_id"
    assert http.get("/api/v1/replays/999").status_code == 404
    assert http.get("/api/v1/replays/0").status_code == 422


def test_an_unknown_world_is_refused_without_telling_where_the_sites_are(
        client: tuple[TestClient, dict[str, Any]]) -> None:
    http, _ = client
    r = http.post(f"/api/v1/missions/{MISSION}/replay", json={"overrides": {"world": "atlantis"}})
    assert r.status_code == 422 and r.json()["field"] == "overrides.world", r.text
    assert "unknown site 'atlantis'" in r.text and str(SITES) not in r.text


def test_replays_wait_their_turn_within_the_limits(client: tuple[TestClient, dict[str, Any]]) -> None:
    """One worker: the second replay waits (position 1) and starts when the first ends; a user's third is refused;
    the worker's command line holds no database URL."""
    http, made = client
    first = http.post(f"/api/v1/missions/{MISSION}/replay").json()
    second = http.post(f"/api/v1/missions/{MISSION}/replay", json={"overrides": {"max_speed": 0.4}}).json()
    assert (first["status"], second["status"], second["position"]) == ("running", "queued", 1), (first, second)
    third = http.post(f"/api/v1/missions/{MISSION}/replay")
    assert third.status_code == 409 and "2 replays waiting or running (at most 2 per user)" in third.text
    workers = [Path(f"/proc/{pid}/cmdline").read_bytes() for pid in os.listdir("/proc") if pid.isdigit()
               and Path(f"/proc/{pid}/cmdline").exists() and b"fleet_manager.replay.worker" in _cmdline(pid)]
    assert workers and not any(made["url"].encode() in line for line in workers)
    deadline, seen = time.monotonic() + 300, []
    while time.monotonic() < deadline:
        states = [http.get(f"/api/v1/replays/{r['id']}").json()["status"] for r in (first, second)]
        seen.append(states)
        if states == ["done", "done"]:
            break
        time.sleep(0.2)
    assert seen[-1] == ["done", "done"], seen[-1]
    assert ["running", "running"] not in seen  # never two at once with one worker
    assert ["done", "queued"] in seen or ["done", "running"] in seen  # the second started after the first


def test_a_site_has_at_most_its_limit_of_replays_whoever_asks(client: tuple[TestClient, dict[str, Any]],
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """The site's bound (3 here) holds across users: the first user's two wait, a second user's first waits
    (position 3), and that user's second is refused (409) naming the site's limit, though the user has one of at
    most two. (No worker is started: the replays only wait, and are withdrawn at the end.)"""
    http, made = client
    queue = http.app.state.lab.replays  # type: ignore[attr-defined]
    monkeypatch.setattr(queue, "_start_next", lambda: None)
    researcher = require(Role.researcher)
    posted: list[dict[str, Any]] = []
    try:
        for _ in range(2):
            r = http.post(f"/api/v1/missions/{MISSION}/replay")
            assert r.status_code == 202, r.text
            posted.append(r.json())
        overrides = http.app.dependency_overrides  # type: ignore[attr-defined]
        monkeypatch.setitem(overrides, researcher, lambda: Principal("rita", Role.researcher, ("*",)))
        r = http.post(f"/api/v1/missions/{MISSION}/replay")
        assert r.status_code == 202, r.text
        posted.append(r.json())
        assert [(p["status"], p["position"]) for p in posted] == [("queued", 1), ("queued", 2), ("queued", 3)]
        beyond = http.post(f"/api/v1/missions/{MISSION}/replay")
        assert beyond.status_code == 409, beyond.text
        assert "3 replays of this site are waiting or running (at most 3)" in beyond.json()["detail"], beyond.text
    finally:
        with Session(made["engine"]) as session:  # withdrawn: the module's other tests see an empty queue
            for p in posted:
                row = session.get(Replay, p["id"])
                assert row is not None
                row.status, row.error = "error", "withdrawn by the test"
                session.add(row)
            session.commit()
    assert [http.get(f"/api/v1/replays/{p['id']}").json()["status"] for p in posted] == ["error"] * 3


def _cmdline(pid: str) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""
