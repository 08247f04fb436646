"""Background database work retried while the database is out of reach (fleet_manager/db/retry.py)."""

from __future__ import annotations

import asyncio
import socket
import sqlite3
import threading

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import IntegrityError, OperationalError

from fleet_manager.db import retry
from fleet_manager.db.retry import call_retrying, to_thread_retrying, unreachable


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _refused() -> OperationalError:
    engine = create_engine(f"postgresql+psycopg://postgres@127.0.0.1:{_closed_port()}/none",
                           connect_args={"connect_timeout": 2})
    try:
        with engine.connect():
            pass
    except OperationalError as exc:
        return exc
    finally:
        engine.dispose()
    raise AssertionError("a connection to a closed port succeeded")


def test_a_refused_connection_is_retried_a_bad_statement_or_constraint_is_not(tmp_path):
    assert unreachable(_refused())
    engine = create_engine(f"sqlite:///{tmp_path / 'x.db'}")
    with pytest.raises(OperationalError) as missing, engine.connect() as conn:
        conn.execute(text("SELECT * FROM no_such_table"))
    assert not unreachable(missing.value)  # a bug, not an outage
    locked = OperationalError("INSERT", {}, sqlite3.OperationalError("database is locked"))
    assert unreachable(locked)
    assert not unreachable(IntegrityError("INSERT", {}, sqlite3.IntegrityError("UNIQUE constraint failed")))
    assert not unreachable(ValueError("not a database error"))


def test_background_work_is_stored_once_the_database_is_back(monkeypatch):
    monkeypatch.setattr(retry, "FIRST_DELAY_S", 0.01)
    outage = _refused()
    calls: list[int] = []

    def write(value: int) -> int:
        calls.append(value)
        if len(calls) < 4:
            raise outage
        return value * 2

    assert asyncio.run(to_thread_retrying(write, 21)) == 42
    assert calls == [21, 21, 21, 21]

    def bug() -> None:
        calls.append(0)
        raise IntegrityError("INSERT", {}, sqlite3.IntegrityError("UNIQUE constraint failed"))

    calls.clear()
    with pytest.raises(IntegrityError):
        asyncio.run(to_thread_retrying(bug))
    assert calls == [0]  # not retried


def test_a_thread_stops_retrying_when_told_or_after_its_time():
    outage = _refused()
    attempts: list[int] = []

    def write() -> None:
        attempts.append(1)
        raise outage

    stop = threading.Event()
    stop.set()
    with pytest.raises(OperationalError):
        call_retrying(write, stop)
    assert len(attempts) == 1
    attempts.clear()
    with pytest.raises(OperationalError):
        call_retrying(write, retry_for_s=0.5)
    assert 2 <= len(attempts) <= 5  # 0.2 s, then 0.4 s: past the half second
