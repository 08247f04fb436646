"""Engine creation and schema migration (Alembic, run at start-up)."""

from __future__ import annotations

import json
import threading
import weakref
from pathlib import Path
from typing import Any

import orjson
from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, event
from sqlmodel import create_engine

from fleet_manager.db.sqlite_writer import writer_connection

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
_SITE_OF: weakref.WeakKeyDictionary[Engine, str] = weakref.WeakKeyDictionary()
_WRITE_LOCKS: dict[str, threading.Lock] = {}  # one per SQLite database file in this process (sqlite_writer.py)
_WRITE_LOCKS_GUARD = threading.Lock()


def bind_site(engine: Engine, site: str) -> None:
    """From now on every ORM statement on `engine` sees only the records of `site` (db/scope.py)."""
    import fleet_manager.db.scope  # noqa: F401  (registers the criteria)

    _SITE_OF[engine] = site


def site_of(engine: Engine) -> str | None:
    """The site `engine` is bound to, None when it sees every site (tools, migrations)."""
    return _SITE_OF.get(engine)


def sqlite_path(url: str) -> Path | None:
    """The database file of a SQLite URL; None for a server's URL or an in-memory database."""
    if not url.startswith("sqlite:///"):
        return None
    path = url.removeprefix("sqlite:///").split("?", 1)[0]
    return Path(path) if path and path != ":memory:" else None


def json_loads(text: str | bytes) -> Any:
    """A JSON column's value: orjson's parser (several times faster than the standard library's, which every
    list of missions spends much of its time in), and the standard library's for what orjson refuses and it
    takes (NaN, Infinity, integers over 64 bits), so that every value stored so far reads back as before."""
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return json.loads(text)


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        path = sqlite_path(url)
        connect_args: dict[str, Any] = {"check_same_thread": False, "timeout": 30}
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            with _WRITE_LOCKS_GUARD:
                lock = _WRITE_LOCKS.setdefault(str(path.resolve()), threading.Lock())
            connect_args["factory"] = writer_connection(lock)  # writers queue in the process, not in SQLite's sleeps
        engine = create_engine(url, connect_args=connect_args, json_deserializer=json_loads)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record):  # type: ignore[no-untyped-def]
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.close()

        return engine
    # a server out of reach fails a request in seconds (the API answers 503) instead of hanging it
    return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=10, pool_timeout=10,
                         connect_args={"connect_timeout": 5}, json_deserializer=json_loads)


def alembic_config(engine: Engine) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["engine"] = engine
    return cfg


def upgrade(engine: Engine) -> None:
    """Bring the database schema to the newest migration."""
    command.upgrade(alembic_config(engine), "head")
