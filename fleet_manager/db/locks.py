"""Transactions that must not interleave with another writer's (issue 19): check-then-write rules such as "the last
enabled admin stays" and "a refresh token is used once".

On PostgreSQL a transaction locks what its rule reads (`SELECT ... FOR UPDATE`, or an UPDATE whose WHERE holds the
condition): a second transaction waits for those rows and then sees them as the first left them. SQLite has no row
locks and ignores FOR UPDATE; there `begin_write` takes the database's write lock before anything is read
(`BEGIN IMMEDIATE`), waiting up to the engine's busy timeout, so the transaction's reads stay true until it ends."""

from __future__ import annotations

from sqlalchemy import Connection


def begin_write(conn: Connection) -> None:
    """Start `conn`'s transaction as the database's one writer (SQLite: BEGIN IMMEDIATE; PostgreSQL: nothing, the
    caller locks its rows). Call it before the transaction's first statement."""
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql("BEGIN IMMEDIATE")
