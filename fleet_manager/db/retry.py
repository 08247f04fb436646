"""Database work the fleet manager does on its own (mission events, status changes, the pilot watch's
records), tried again while the database cannot be reached, so that an outage delays a record instead
of losing it.

Only errors that mean "the database is out of reach" are retried: a lost or refused connection, a server
shutting down, a pool with no connection to give. A bad statement or a broken constraint is raised at once.
The engine's `pool_pre_ping` replaces connections that died meanwhile, so a retry gets a fresh one.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import threading
import time
from collections.abc import Callable
from typing import ParamSpec, TypeVar

from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

log = logging.getLogger(__name__)

P = ParamSpec("P")
T = TypeVar("T")

RETRY_FOR_S = 300.0  # a write is given up (raised) when the database stays out of reach this long
FIRST_DELAY_S = 0.2
MAX_DELAY_S = 2.0
# SQLSTATE classes of a server that cannot take work now: connection exception, insufficient resources,
# operator intervention (shutdown, starting up), transaction rollback (serialization failure, deadlock)
_TRANSIENT_SQLSTATES = ("08", "53", "57P", "40")


def unreachable(exc: BaseException) -> bool:
    """True when `exc` says the database could not be reached or could not take the work just now."""
    if isinstance(exc, PoolTimeout):
        return True
    if not isinstance(exc, DBAPIError):
        return False
    if exc.connection_invalidated:
        return True
    if not isinstance(exc, OperationalError | InterfaceError):
        return False
    orig = exc.orig
    if isinstance(orig, sqlite3.OperationalError):  # "no such table" is a bug; a locked file is not
        return "locked" in str(orig) or "busy" in str(orig)
    state = getattr(orig, "sqlstate", None)
    if state:
        return str(state).startswith(_TRANSIENT_SQLSTATES)
    return True  # a client-side failure with no answer from the server: the connection failed


def _delays(retry_for_s: float) -> tuple[float, float]:
    return time.monotonic() + retry_for_s, FIRST_DELAY_S


async def to_thread_retrying(fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    """`await asyncio.to_thread(fn, ...)`, tried again with backoff while the database is out of reach.

    For work nobody waits on (a request should rather answer 503 at once). Cancelling stops the retries."""
    deadline, delay = _delays(RETRY_FOR_S)
    failures = 0
    while True:
        try:
            result = await asyncio.to_thread(fn, *args, **kwargs)
        except Exception as exc:
            if not unreachable(exc) or time.monotonic() + delay > deadline:
                raise
            failures += 1
            if failures == 1:
                log.warning("database out of reach (%s): %s retried until it is back",
                            type(exc).__name__, getattr(fn, "__qualname__", fn))
            await asyncio.sleep(delay)
            delay = min(delay * 2, MAX_DELAY_S)
            continue
        if failures:
            log.info("database back: %s stored after %d attempts", getattr(fn, "__qualname__", fn), failures + 1)
        return result


def call_retrying(fn: Callable[[], T], stop: threading.Event | None = None, retry_for_s: float = RETRY_FOR_S,
                  what: str = "a write") -> T:
    """`fn()` on this (worker) thread, tried again with backoff while the database is out of reach;
    raises the last error once `stop` is set or after `retry_for_s`. `what` names it in the log."""
    deadline, delay = _delays(retry_for_s)
    failures = 0
    while True:
        try:
            result = fn()
        except Exception as exc:
            if not unreachable(exc) or time.monotonic() + delay > deadline or (stop is not None and stop.is_set()):
                raise
            failures += 1
            if failures == 1:
                log.warning("database out of reach (%s): %s retried until it is back", type(exc).__name__, what)
            if stop is not None:
                stop.wait(delay)
            else:
                time.sleep(delay)
            delay = min(delay * 2, MAX_DELAY_S)
            continue
        if failures:
            log.info("database back: %s stored after %d attempts", what, failures + 1)
        return result
