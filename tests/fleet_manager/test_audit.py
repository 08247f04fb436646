"""The audit writer: entries stored in order and once each, a bounded queue, retries while the database is
unreachable; and the entries themselves (outcomes, details without secrets, the actor of a robot command)."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Annotated

import pytest
from fastapi import FastAPI, Form, Request
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text
from sqlalchemy.exc import OperationalError

from fleet_manager.audit import install, record_login
from fleet_manager.audit.entries import (
    SYSTEM,
    AuditEntry,
    Outcome,
    command_entry,
    current_request,
    detail_of,
    outcome_of,
)
from fleet_manager.audit.writer import AuditWriter, database_store
from fleet_manager.auth.roles import Principal, Role
from fleet_manager.db.engine import make_engine, upgrade


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url)
    upgrade(engine)
    yield engine
    engine.dispose()


def entry(target: str, outcome: Outcome = Outcome.OK) -> AuditEntry:
    return AuditEntry(datetime.now(UTC), "alice", "operator", "127.0.0.1", "POST", f"/api/v1/missions/{target}",
                      "POST /missions/{mission_id}/cancel", f"mission_id={target}", 200, outcome)


def stored(engine: Engine) -> list[tuple[str, str]]:
    with engine.connect() as conn:
        return [(r.action, r.target) for r in conn.execute(text("SELECT action, target FROM audit_log ORDER BY id"))]


def dead_engine() -> Engine:
    """An engine whose server is not there: a port just closed on this host."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return make_engine(f"postgresql+psycopg://postgres@127.0.0.1:{port}/test?connect_timeout=2")


def wait_until(predicate, what: str, timeout: float = 30.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)


def test_entries_are_stored_in_order_in_batches(engine: Engine) -> None:
    writer = AuditWriter(engine, batch_size=7)
    writer.start()
    try:
        for i in range(50):
            assert writer.submit(entry(str(i)))
        assert writer.flush(30.0)
    finally:
        writer.stop()
    assert stored(engine) == [("POST /missions/{mission_id}/cancel", f"mission_id={i}") for i in range(50)]
    stats = writer.stats
    assert (stats.stored, stats.queued, stats.dropped, stats.failed, stats.lost) == (50, 0, 0, 0, 0)


def test_a_full_queue_drops_new_entries_counts_them_and_says_so_in_the_log(tmp_path) -> None:  # type: ignore[no-untyped-def]
    engine = make_engine(f"sqlite:///{tmp_path / 'audit.db'}")
    upgrade(engine)
    writer = AuditWriter(engine, capacity=5)  # not started yet: nothing drains the queue
    accepted = [writer.submit(entry(str(i))) for i in range(8)]
    assert accepted == [True] * 5 + [False] * 3
    assert (writer.stats.queued, writer.stats.dropped) == (5, 3)
    writer.start()
    try:
        assert writer.flush(30.0)
    finally:
        writer.stop()
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT username, action, outcome, detail FROM audit_log ORDER BY id")).all()
    assert tuple(rows[0]) == (SYSTEM, "audit overflow", "error", "3 audit entries dropped: the queue of 5 was full")
    assert [r.action for r in rows[1:]] == ["POST /missions/{mission_id}/cancel"] * 5
    assert writer.stats.stored == 5 and writer.stats.dropped == 3
    engine.dispose()


class FailingFirst:
    """The real store, after `failures` attempts that meet a database that is not there."""

    def __init__(self, engine: Engine, failures: int) -> None:
        self.real = database_store(engine)
        self.dead = dead_engine()
        self.dead_store = database_store(self.dead)
        self.failures = failures
        self.calls = 0

    def __call__(self, entries: Sequence[AuditEntry]) -> None:
        self.calls += 1
        if self.calls <= self.failures:
            self.dead_store(entries)  # raises OperationalError: connection refused
            raise AssertionError("the dead engine connected")
        self.real(entries)


def test_entries_wait_while_the_database_is_unreachable_then_are_stored_once(engine: Engine) -> None:
    store = FailingFirst(engine, failures=3)
    writer = AuditWriter(store, retry_s=0.01, max_retry_s=0.05)
    writer.start()
    try:
        for i in range(5):
            writer.submit(entry(str(i)))
        wait_until(lambda: writer.stats.retries >= 1, "a failed attempt")
        for i in range(5, 10):  # more requests during the outage
            writer.submit(entry(str(i)))
        assert writer.flush(30.0)
    finally:
        writer.stop()
        store.dead.dispose()
    assert stored(engine) == [("POST /missions/{mission_id}/cancel", f"mission_id={i}") for i in range(10)]
    assert writer.stats.retries == 3 and writer.stats.stored == 10 and writer.stats.lost == 0


def test_a_batch_retried_after_its_commit_acknowledgement_was_lost_is_stored_once(engine: Engine) -> None:
    real = database_store(engine)
    calls: list[int] = []

    def commit_then_lose_the_answer(entries: Sequence[AuditEntry]) -> None:
        real(entries)
        calls.append(len(entries))
        if len(calls) == 1:
            raise OperationalError("COMMIT", {}, ConnectionResetError("connection reset after the commit"))

    writer = AuditWriter(commit_then_lose_the_answer, retry_s=0.01)
    for i in range(4):
        writer.submit(entry(str(i)))
    writer.start()
    try:
        assert writer.flush(30.0)
    finally:
        writer.stop()
    assert calls == [4, 4]
    assert stored(engine) == [("POST /missions/{mission_id}/cancel", f"mission_id={i}") for i in range(4)]


def test_an_entry_the_database_refuses_is_counted_and_the_others_are_stored(postgres_url: str) -> None:
    engine = make_engine(postgres_url)
    upgrade(engine)
    bad = AuditEntry(datetime.now(UTC), "alice", "admin", None, "POST", "/x", "POST /x", "", 2**40, Outcome.OK)
    writer = AuditWriter(engine)
    for item in (entry("1"), bad, entry("2")):
        writer.submit(item)
    writer.start()
    try:
        assert writer.flush(30.0)
    finally:
        writer.stop()
    assert stored(engine) == [("POST /missions/{mission_id}/cancel", "mission_id=1"),
                              ("POST /missions/{mission_id}/cancel", "mission_id=2")]
    assert (writer.stats.stored, writer.stats.failed) == (2, 1)
    engine.dispose()


def test_stop_gives_up_on_a_database_that_stays_down_and_counts_what_is_lost() -> None:
    dead = dead_engine()
    writer = AuditWriter(dead, retry_s=0.01, max_retry_s=0.05)
    writer.start()
    writer.submit(entry("1"))
    writer.submit(entry("2"))
    wait_until(lambda: writer.stats.retries >= 1, "a failed attempt")
    writer.stop(timeout=0.2)
    assert writer.stats.lost == 2 and writer.stats.stored == 0
    assert not writer.submit(entry("3")) and writer.stats.dropped == 1  # after stop: refused, counted
    dead.dispose()


def test_a_writer_refuses_a_nonsense_size() -> None:
    with pytest.raises(ValueError, match="capacity"):
        AuditWriter(lambda entries: None, capacity=0)


@pytest.mark.parametrize(("status", "outcome"), [(200, "ok"), (201, "ok"), (401, "refused"), (403, "refused"),
                                                 (429, "refused"), (404, "invalid"), (409, "invalid"),
                                                 (413, "invalid"), (422, "invalid"), (500, "error"),
                                                 (503, "error")])
def test_outcome_of_a_status(status: int, outcome: str) -> None:
    assert outcome_of(status) == outcome


def test_the_detail_of_a_validation_error_keeps_fields_and_messages_but_not_the_input() -> None:
    body = {"detail": [{"type": "string_too_short", "loc": ["body", "password"], "msg": "String should have at "
                        "least 12 characters", "input": "hunter2-secret"},
                       {"type": "missing", "loc": ["body", "role"], "msg": "Field required", "input": {}}]}
    detail = detail_of(json.dumps(body).encode())
    assert detail == "password: String should have at least 12 characters; role: Field required"
    assert detail_of(json.dumps({"detail": "x" * 500}).encode()).endswith("…")
    assert len(detail_of(json.dumps({"detail": "x" * 500}).encode())) == 200
    assert detail_of(b"<html>not json</html>") == ""


def test_a_robot_command_is_the_current_users_or_else_the_systems() -> None:
    alone = command_entry("delivery_1", "resume", "ok", "resumed")
    assert (alone.username, alone.role, alone.client, alone.action, alone.target, alone.outcome, alone.detail) == (
        SYSTEM, SYSTEM, None, "robot resume", "robot_id=delivery_1", Outcome.OK, "ok: resumed")
    scope = {"state": {"principal": Principal("olga", Role.operator, ("*",))}, "client": ("10.0.0.7", 5555)}
    token = current_request.set(scope)
    try:
        by_user = command_entry("delivery_1", "estop", "rejected", "already stopped", "blocking a door")
    finally:
        current_request.reset(token)
    assert (by_user.username, by_user.role, by_user.client, by_user.outcome, by_user.detail) == (
        "olga", "operator", "10.0.0.7", Outcome.REFUSED, "rejected: already stopped (reason: blocking a door)")


class Collect(list[AuditEntry]):
    """A store that keeps what it is given."""

    def __call__(self, entries: Sequence[AuditEntry]) -> None:
        self.extend(entries)


def test_the_middleware_records_mutating_requests_and_leaves_the_login_form_to_the_endpoint() -> None:
    store = Collect()
    writer = AuditWriter(store)
    app = FastAPI()
    app.state.lab = SimpleNamespace(audit=writer)
    install(app)
    received: list[tuple[str, str]] = []

    @app.post("/api/v1/auth/token")
    async def token(request: Request, username: Annotated[str, Form()], password: Annotated[str, Form()]) -> dict:
        received.append((username, password))
        record_login(request, username, Outcome.OK if password == "right" else Outcome.REFUSED)
        return {"ok": True}

    @app.delete("/api/v1/things/{thing_id}")
    async def boom(request: Request, thing_id: int) -> None:
        request.state.principal = Principal("alice", Role.admin, ("*",))
        raise RuntimeError("a bug")

    @app.get("/api/v1/things")
    async def things() -> list[int]:
        return []

    writer.start()
    try:
        with TestClient(app, raise_server_exceptions=False) as client:
            assert client.post("/api/v1/auth/token", data={"username": "olga", "password": "right"}).status_code == 200
            assert client.get("/api/v1/things").status_code == 200
            assert client.delete("/api/v1/things/7").status_code == 500
            assert client.post("/api/v1/things/7").status_code == 405
        assert writer.flush(10.0)
    finally:
        writer.stop()
    assert received == [("olga", "right")]  # the form reached the endpoint intact
    assert [(e.username, e.role, e.method, e.action, e.target, e.status_code, e.outcome, e.detail) for e in store] == [
        ("olga", None, "POST", "POST /auth/token", "", 200, Outcome.OK, ""),
        ("alice", "admin", "DELETE", "DELETE /things/{thing_id}", "thing_id=7", 500, Outcome.ERROR,
         "unhandled RuntimeError"),
        (None, None, "POST", "POST /things/{thing_id}", "thing_id=7", 405, Outcome.INVALID, "Method Not Allowed"),
    ]
    assert all("right" not in e.detail for e in store)
