"""One writer at a time inside the process, for SQLite (issue 16: the API under load).

SQLite lets one connection write at a time. A connection that finds the database locked by another waits in
SQLite's busy handler, which sleeps and retries (1, 2, 5, 10 ... 100 ms) without knowing when the lock is freed:
under a few dozen writes a second from the request threads, the audit writer and the recorder, a write waited
hundreds of milliseconds to seconds while the process sat mostly idle, and every request queued behind it in the
thread pool waited too.

`writer_connection(lock)` gives a `sqlite3.Connection` class for `connect_args={"factory": ...}` whose connections
take `lock` (one per database file in this process) before the first statement that writes, and give it back when
their transaction ends (commit, rollback, close) or, outside a transaction, right after the statement. A waiting
writer is woken the moment the lock is free. Reads never take it (WAL: readers do not block the writer). Other
processes (the CLI, replay workers) still meet the busy handler, as before. A writer that cannot get the lock
within `timeout` goes on without it and meets SQLite's own locking, so a mistake elsewhere (a thread writing
through two connections at once) is still the "database is locked" error it was, never a hang."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable
from typing import Any

# the statements that take SQLite's write lock (or start a transaction that will)
_WRITES = ("INSERT", "UPDATE", "DELETE", "REPLACE", "CREATE", "DROP", "ALTER", "BEGIN IMMEDIATE",
           "BEGIN EXCLUSIVE", "VACUUM", "REINDEX")


def _writes(sql: str) -> bool:
    return sql.lstrip()[:16].upper().startswith(_WRITES)


def writer_connection(lock: threading.Lock, timeout: float = 30.0) -> type[sqlite3.Connection]:
    """A connection class whose connections write one at a time under `lock`."""

    class WriterCursor(sqlite3.Cursor):
        connection: WriterConnection

        def execute(self, sql: str, parameters: Any = (), /) -> WriterCursor:
            return self._run(super().execute, sql, parameters)

        def executemany(self, sql: str, parameters: Any, /) -> WriterCursor:
            return self._run(super().executemany, sql, parameters)

        def _run(self, call: Callable[[str, Any], Any], sql: str, parameters: Any) -> WriterCursor:
            if _writes(sql):
                self.connection.take_writer()
            try:
                call(sql, parameters)
                return self
            finally:
                self.connection.settle()

    class WriterConnection(sqlite3.Connection):
        holds_writer = False

        def cursor(self, factory: Any = WriterCursor) -> Any:  # type: ignore[override]
            return super().cursor(factory)

        def execute(self, sql: str, parameters: Any = (), /) -> sqlite3.Cursor:
            return self.cursor().execute(sql, parameters)

        def executemany(self, sql: str, parameters: Any, /) -> sqlite3.Cursor:
            return self.cursor().executemany(sql, parameters)

        def take_writer(self) -> None:
            """Take the process's write lock unless this connection holds it."""
            if not self.holds_writer:
                self.holds_writer = lock.acquire(timeout=timeout)

        def settle(self) -> None:
            """Give the lock back once no transaction is open (a statement outside one, or the end of one)."""
            if self.holds_writer and not self.in_transaction:
                self._release()

        def _release(self) -> None:
            if self.holds_writer:
                self.holds_writer = False
                lock.release()

        def commit(self) -> None:
            try:
                super().commit()
            finally:
                self.settle()

        def rollback(self) -> None:
            try:
                super().rollback()
            finally:
                self.settle()

        def close(self) -> None:
            try:
                super().close()
            finally:
                self._release()

    return WriterConnection
