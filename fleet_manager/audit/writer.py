"""The audit writer: requests hand entries to a bounded in-memory queue (never waiting on the database);
one background thread stores them in batches, in order, and retries while the database is unreachable.

- Once each: a batch is one transaction, and every entry carries a unique `uid` inserted with ON CONFLICT DO
  NOTHING, so a batch retried after a commit whose acknowledgement was lost is not stored twice.
- Queue full (`capacity` entries waiting, e.g. a long database outage under load): the new entry is dropped
  and counted (`stats.dropped`, logged), and the next batch stored carries an "audit overflow" row saying how
  many were dropped, so the gap is visible in the log itself. Requests are never slowed or refused for it.
- An entry the database refuses for good (not a connection problem) is logged and counted (`stats.failed`);
  entries still unstored when `stop()` gives up (database down at shutdown) are counted in `stats.lost`.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from sqlalchemy import Engine, Executable, Table, insert
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import DBAPIError, DisconnectionError, InterfaceError, OperationalError

from fleet_manager.audit.entries import SYSTEM, AuditEntry, Outcome, command_entry, now
from fleet_manager.audit.tables import AuditLog
from fleet_manager.db.engine import site_of

log = logging.getLogger(__name__)

Store = Callable[[Sequence[AuditEntry]], None]


def database_store(engine: Engine) -> Store:
    """Insert a batch in one transaction; an entry whose uid is already stored is skipped."""
    table: Table = AuditLog.__table__  # type: ignore[attr-defined]
    dialect = engine.dialect.name
    stmt: Executable
    if dialect == "postgresql":
        stmt = pg_insert(table).on_conflict_do_nothing(index_elements=["uid"])
    elif dialect == "sqlite":
        stmt = sqlite_insert(table).on_conflict_do_nothing(index_elements=["uid"])
    else:
        stmt = insert(table)

    def store(entries: Sequence[AuditEntry]) -> None:
        site = site_of(engine)  # the lab's (db/scope.py): its entries are listed by its lab only
        with engine.begin() as conn:
            conn.execute(stmt, [{**e.row(), "site": site} for e in entries])

    return store


def transient(exc: BaseException) -> bool:
    """A database that cannot be reached (or is locked) now, as opposed to one refusing the data."""
    if isinstance(exc, OperationalError | InterfaceError | DisconnectionError):
        return True
    return isinstance(exc, DBAPIError) and exc.connection_invalidated


@dataclass(frozen=True)
class AuditStats:
    queued: int  # waiting in the queue or in the batch being written
    stored: int
    dropped: int  # refused at submit: the queue was full
    failed: int  # refused by the database for good
    lost: int  # not stored when stop() gave up
    retries: int  # failed attempts to reach the database


class AuditWriter:
    def __init__(self, store: Store | Engine, *, capacity: int = 10_000, batch_size: int = 500,
                 retry_s: float = 0.2, max_retry_s: float = 5.0) -> None:
        if capacity < 1 or batch_size < 1:
            raise ValueError(f"capacity ({capacity}) and batch_size ({batch_size}) must be at least 1")
        self.store: Store = database_store(store) if isinstance(store, Engine) else store
        self.capacity = capacity
        self.batch_size = batch_size
        self.retry_s = retry_s
        self.max_retry_s = max_retry_s
        self._queue: queue.Queue[AuditEntry | None] = queue.Queue(maxsize=capacity)  # None: wake up (stop)
        self._cond = threading.Condition()
        self._submitted = self._settled = 0  # settled: stored, failed or lost
        self._stored = self._dropped = self._failed = self._lost = self._retries = 0
        self._dropped_reported = 0
        self._stopping = threading.Event()
        self._deadline = float("inf")
        self._thread: threading.Thread | None = None

    # -- the request side: never blocks ---------------------------------------------------------
    def submit(self, entry: AuditEntry) -> bool:
        """Queue an entry; False (and counted) when the queue is full or the writer stopped."""
        if self._stopping.is_set():
            with self._cond:
                self._dropped += 1
            log.error("audit entry after the writer stopped, dropped: %s %s", entry.action, entry.target)
            return False
        with self._cond:
            try:
                self._queue.put_nowait(entry)
            except queue.Full:
                self._dropped += 1
                dropped = self._dropped
            else:
                self._submitted += 1
                return True
        if dropped == 1 or dropped % 100 == 0:
            log.error("audit queue full (%d entries): %d entries dropped so far", self.capacity, dropped)
        return False

    def record_command(self, robot_id: str, command: str, result: str, message: str = "",
                       reason: str = "") -> None:
        """A robot command and the robot's answer (the current request's user, or "system")."""
        self.submit(command_entry(robot_id, str(command), str(result), message, reason))

    @property
    def stats(self) -> AuditStats:
        with self._cond:
            return AuditStats(self._submitted - self._settled, self._stored, self._dropped, self._failed,
                              self._lost, self._retries)

    def flush(self, timeout: float) -> bool:
        """Wait until every entry submitted so far is settled; False on timeout."""
        with self._cond:
            target = self._submitted
            return self._cond.wait_for(lambda: self._settled >= target, timeout=timeout)

    # -- lifecycle ------------------------------------------------------------------------------
    def start(self) -> None:
        if self._thread is not None:
            raise RuntimeError("the audit writer is already started")
        self._thread = threading.Thread(target=self._run, name="audit-writer", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Store what is queued, for at most `timeout` seconds (the database may be down), then stop."""
        self._deadline = time.monotonic() + timeout
        self._stopping.set()
        with contextlib.suppress(queue.Full):  # a full queue has no thread waiting on it
            self._queue.put_nowait(None)
        if self._thread is not None:
            self._thread.join(timeout + 1.0)
            self._thread = None

    # -- the writer thread ----------------------------------------------------------------------
    def _run(self) -> None:
        while True:
            batch = self._take()
            if batch:
                self._write(batch)
            elif self._stopping.is_set():
                return

    def _take(self) -> list[AuditEntry]:
        batch: list[AuditEntry] = []
        try:
            first = self._queue.get(timeout=0.05 if self._stopping.is_set() else 0.5)
            if first is not None:
                batch.append(first)
            while len(batch) < self.batch_size:
                item = self._queue.get_nowait()
                if item is not None:
                    batch.append(item)
        except queue.Empty:
            pass
        return batch

    def _overflow_row(self) -> tuple[AuditEntry | None, int]:
        with self._cond:
            dropped = self._dropped
        missing = dropped - self._dropped_reported
        if missing <= 0:
            return None, dropped
        return AuditEntry(now(), SYSTEM, SYSTEM, None, "-", "", "audit overflow", "", None, Outcome.ERROR,
                          f"{missing} audit entries dropped: the queue of {self.capacity} was full"), dropped

    def _write(self, batch: list[AuditEntry]) -> None:
        delay = self.retry_s
        overflow, dropped = self._overflow_row()
        rows = [overflow, *batch] if overflow is not None else batch
        while True:
            try:
                self.store(rows)
            except Exception as exc:
                if not transient(exc):
                    self._write_each(batch)
                    return
                with self._cond:
                    self._retries += 1
                if delay == self.retry_s:  # the first failure of this batch
                    log.warning("audit log: the database is unreachable, %d entries wait (retrying): %s",
                                len(batch) + self._queue.qsize(), str(exc).splitlines()[0])
                if not self._pause(delay):
                    log.error("audit log: %d entries not stored (the database is unreachable at shutdown)",
                              len(batch))
                    self._settle(len(batch), lost=len(batch))
                    return
                delay = min(delay * 2, self.max_retry_s)
            else:
                if overflow is not None:
                    self._dropped_reported = dropped
                if delay != self.retry_s:
                    log.info("audit log: the database is back, %d waiting entries stored", len(batch))
                self._settle(len(batch), stored=len(batch))
                return

    def _write_each(self, batch: list[AuditEntry]) -> None:
        """After a non-transient error: entry by entry, so that one bad entry does not block the others."""
        for entry in batch:
            delay = self.retry_s
            while True:
                try:
                    self.store([entry])
                except Exception as exc:
                    if transient(exc) and self._pause(delay):
                        delay = min(delay * 2, self.max_retry_s)
                        continue
                    log.error("audit entry not stored (%s %s %s): %s", entry.at.isoformat(), entry.action,
                              entry.target, str(exc).splitlines()[0])
                    if transient(exc):
                        self._settle(1, lost=1)
                    else:
                        self._settle(1, failed=1)
                else:
                    self._settle(1, stored=1)
                break

    def _pause(self, delay: float) -> bool:
        """Sleep before a retry; False when stop() has given up waiting for the database."""
        if not self._stopping.is_set():
            self._stopping.wait(delay)
            return True
        remaining = self._deadline - time.monotonic()
        if remaining <= 0:
            return False
        time.sleep(min(delay, remaining))
        return True

    def _settle(self, count: int, *, stored: int = 0, failed: int = 0, lost: int = 0) -> None:
        with self._cond:
            self._settled += count
            self._stored += stored
            self._failed += failed
            self._lost += lost
            self._cond.notify_all()
