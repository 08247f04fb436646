"""The site's leader, elected with a PostgreSQL advisory lock held on a connection of its own.

The lock's key is derived from the site's name. The winner holds it for as long as its connection lives: a
leader that dies (SIGKILL included) loses its connection, PostgreSQL frees the lock, and a standby that tries
every RETRY_S takes it. A leader that can no longer reach its lock connection steps down at once (it cannot
know whether a standby took over), so two leaders never drive the same robots for longer than a ping period."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import os

import psycopg
from sqlalchemy.engine import make_url

from fleet_manager.aio import within

log = logging.getLogger(__name__)

RETRY_S = 1.0  # a standby tries the lock this often
PING_S = 1.0  # the leader checks its lock connection this often
PING_TIMEOUT_S = 3.0
CONNECT_TIMEOUT_S = 5


def lock_key(site: str) -> int:
    """The advisory lock's key (a signed 64-bit integer) of a site."""
    digest = hashlib.sha256(f"labfleet-leader:{site}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def holder_pid(conninfo: str, site: str) -> int | None:
    """The OS process holding the site's leader lock (its lock connection's application_name names it), or None;
    `conninfo` a libpq URL of the site's database. For benchmarks and tests that kill the leader."""
    with psycopg.connect(conninfo, connect_timeout=5) as conn:
        row = conn.execute("SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
                           "WHERE l.locktype = 'advisory' AND l.granted AND a.application_name LIKE %s",
                           (f"labfleet-leader:{site}:%",)).fetchone()
    return int(row[0].rsplit(":", 1)[1]) if row else None


def libpq_url(database_url: str) -> str:
    """A SQLAlchemy URL (postgresql+psycopg://...) as libpq's conninfo URL."""
    return make_url(database_url).set(drivername="postgresql").render_as_string(hide_password=False)


class LeaderLock:
    """`await acquire()` returns once this process holds the site's lock; `await lost()` returns if it loses it."""

    def __init__(self, database_url: str, site: str) -> None:
        self._conninfo = libpq_url(database_url)
        self.site = site
        self.key = lock_key(site)
        self._conn: psycopg.AsyncConnection[tuple[object, ...]] | None = None

    async def try_acquire(self) -> bool:
        """One attempt; a connection is opened when there is none (and kept: it holds the lock)."""
        if self._conn is None or self._conn.closed:
            self._conn = await psycopg.AsyncConnection.connect(
                self._conninfo, autocommit=True, connect_timeout=CONNECT_TIMEOUT_S,
                application_name=f"labfleet-leader:{self.site}:{os.getpid()}")
        row = await (await self._conn.execute("SELECT pg_try_advisory_lock(%s)", (self.key,))).fetchone()
        return bool(row and row[0])

    async def acquire(self) -> None:
        """Try every RETRY_S until the lock is ours (a database out of reach is retried the same way)."""
        said = False
        while True:
            try:
                if await self.try_acquire():
                    log.info("site %s: leader lock %d taken", self.site, self.key)
                    return
                if not said:
                    log.info("site %s: another process leads; standing by (trying every %.0f s)", self.site, RETRY_S)
                    said = True
            except psycopg.Error as exc:
                log.warning("site %s: the leader lock cannot be tried: %s", self.site, str(exc).splitlines()[0])
                await self._drop()
            await asyncio.sleep(RETRY_S)

    async def lost(self) -> str:
        """Returns (why) once the lock's connection fails: this process no longer leads."""
        while True:
            await asyncio.sleep(PING_S)
            assert self._conn is not None
            try:
                await within(self._conn.execute("SELECT 1"), PING_TIMEOUT_S)
            except (psycopg.Error, TimeoutError) as exc:
                await self._drop()
                return f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else 'no answer'}"

    async def _drop(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(Exception):
                await within(self._conn.close(), 2)
            self._conn = None

    async def release(self) -> None:
        """Closing the connection frees the lock."""
        await self._drop()
