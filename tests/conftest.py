"""Shared fixtures: databases (SQLite and the PostgreSQL server on 127.0.0.1:5432) and ROS isolation."""

from __future__ import annotations

import itertools
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
VENV_BIN = REPO / ".venv" / "bin"
PG_ADMIN_URL = os.environ.get("LABFLEET_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")

# Every ROS test gets a domain of its own: 1..101 minus a band kept for `make demo` (20-29).
_domains = itertools.cycle([d for d in range(30, 102)])
for _ in range(os.getpid() % 72):
    next(_domains)


def next_domain_id() -> int:
    return next(_domains)


@pytest.fixture
def ros_env() -> dict[str, str]:
    """Environment for a child process that speaks ROS on loopback, on a domain of its own."""
    env = dict(os.environ)
    env["ROS_DOMAIN_ID"] = str(next_domain_id())
    env["ROS_AUTOMATIC_DISCOVERY_RANGE"] = "LOCALHOST"
    env["PYTHONUNBUFFERED"] = "1"
    env["PATH"] = f"{VENV_BIN}:{env.get('PATH', '')}"
    return env


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A fresh PostgreSQL database, dropped afterwards."""
    psycopg = pytest.importorskip("psycopg")
    name = f"labfleet_test_{uuid.uuid4().hex[:12]}"
    try:
        admin = psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as exc:
        pytest.fail(f"PostgreSQL at {PG_ADMIN_URL} is required for this test: {exc}")
    with admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    base = PG_ADMIN_URL.rsplit("/", 1)[0]
    try:
        yield f"postgresql+psycopg://{base.split('://', 1)[1]}/{name}"
    finally:
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'labfleet.db'}"
    url: str = request.getfixturevalue("postgres_url")
    return url


@pytest.fixture(scope="module")  # one lab per test module, stopped after it (no idle lab in later tests)
def running_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    """A simulated living lab (`labfleet up`) shared by the tests of a module, stopped after them."""
    from tests.lab_process import LabProcess

    env = dict(os.environ)
    env["ROS_DOMAIN_ID"] = str(next_domain_id())
    env["ROS_AUTOMATIC_DISCOVERY_RANGE"] = "LOCALHOST"
    env["PATH"] = f"{VENV_BIN}:{env.get('PATH', '')}"
    lab = LabProcess(env, tmp_path_factory.mktemp("lab"), extra=("--speed", "2"))  # sim at 2x: a shorter suite
    try:
        lab.wait_ready(robots=6)
        yield lab
    finally:
        lab.stop()
