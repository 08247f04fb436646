"""One writer at a time in the process on SQLite (fleet_manager/db/sqlite_writer.py), the due-schedule check's
throttle and the start-up freeze of the garbage collector (issue 16: the API under load)."""

from __future__ import annotations

import asyncio
import gc
import sqlite3
import threading
from pathlib import Path

import pytest
from sqlalchemy import text

from fleet_manager import gc_policy
from fleet_manager.db.engine import make_engine
from fleet_manager.db.sqlite_writer import writer_connection
from fleet_manager.schedules.service import ScheduleService


def test_writers_from_many_threads_all_land_and_the_lock_is_free_after(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'w.db'}")
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE t (thread INTEGER, n INTEGER)"))
    failures: list[BaseException] = []

    def write(thread: int) -> None:
        try:
            for n in range(60):
                with engine.begin() as conn:  # a read, then a write, in one transaction
                    conn.execute(text("SELECT count(*) FROM t")).scalar()
                    conn.execute(text("INSERT INTO t VALUES (:t, :n)"), {"t": thread, "n": n})
        except BaseException as exc:  # (reported below)
            failures.append(exc)

    threads = [threading.Thread(target=write, args=(i,)) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not failures
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM t")).scalar() == 360
    engine.dispose()


def test_the_lock_is_held_from_the_first_write_to_the_end_of_the_transaction(tmp_path: Path) -> None:
    lock = threading.Lock()
    conn = sqlite3.connect(tmp_path / "l.db", factory=writer_connection(lock))
    conn.execute("CREATE TABLE t (a INTEGER)")  # outside a transaction: given back at once
    assert not lock.locked()
    conn.execute("SELECT count(*) FROM t")  # reads never take it
    assert not lock.locked()
    conn.execute("INSERT INTO t VALUES (1)")  # the implicit transaction begins: held
    assert lock.locked()
    conn.execute("INSERT INTO t VALUES (2)")  # the same connection's further writes do not wait for it
    conn.commit()
    assert not lock.locked()
    conn.execute("UPDATE t SET a = 3")
    assert lock.locked()
    conn.rollback()
    assert not lock.locked()
    conn.execute("DELETE FROM t")
    conn.close()  # closed inside a transaction: given back too
    assert not lock.locked()


def test_a_second_writer_waits_for_the_first_and_never_hangs(tmp_path: Path) -> None:
    lock = threading.Lock()
    factory = writer_connection(lock, timeout=0.2)
    first = sqlite3.connect(tmp_path / "h.db", factory=factory, timeout=0.1)
    first.execute("PRAGMA journal_mode=WAL")
    first.execute("CREATE TABLE t (a INTEGER)")
    first.execute("INSERT INTO t VALUES (1)")  # holds the process's lock and SQLite's
    second = sqlite3.connect(tmp_path / "h.db", factory=factory, timeout=0.1)
    # the same thread writing through a second connection: after the lock's timeout it meets SQLite's own
    # locking, the error it always was, not a hang
    with pytest.raises(sqlite3.OperationalError, match="locked"):
        second.execute("INSERT INTO t VALUES (2)")
    first.commit()
    second.rollback()
    second.execute("INSERT INTO t VALUES (2)")
    second.commit()
    assert second.execute("SELECT count(*) FROM t").fetchone() == (2,)
    first.close()
    second.close()
    assert not lock.locked()


def test_the_due_schedules_are_looked_for_at_most_once_a_period() -> None:
    calls: list[int] = []
    service = ScheduleService.__new__(ScheduleService)  # run_due alone: no database needed
    service.run_due = lambda: calls.append(1) or [7]  # type: ignore[method-assign]
    check = service.due_check(period_s=60.0)

    async def rounds() -> list[list[int]]:
        return [await check() for _ in range(5)]

    assert asyncio.run(rounds()) == [[7], [], [], [], []]
    assert calls == [1]


def test_start_up_objects_are_frozen_and_the_young_threshold_raised_only_when_installed() -> None:
    thresholds = gc.get_threshold()
    gc_policy.after_startup()  # not installed (a test's process): nothing frozen, thresholds as they were
    assert gc.get_freeze_count() == 0
    assert gc.get_threshold() == thresholds
    gc_policy.install()
    try:
        gc_policy.after_startup()
        assert gc.get_freeze_count() > 1000
        assert gc.get_threshold() == (gc_policy.YOUNG_THRESHOLD, *thresholds[1:])
    finally:
        gc.unfreeze()
        gc.set_threshold(*thresholds)
        gc_policy._installed = False
