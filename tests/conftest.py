"""Shared fixtures: databases (SQLite and the PostgreSQL server on 127.0.0.1:5432) and ROS isolation."""

from __future__ import annotations

import contextlib
import itertools
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
VENV_BIN = REPO / ".venv" / "bin"
PG_ADMIN_URL = os.environ.get("LABFLEET_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")

# Every ROS test gets a domain of its own: 30..101 (20-29 are kept for `make demo`). Under pytest-xdist
# each worker takes a band of its own, so that two workers never share a domain; a run without xdist
# starts at an offset drawn from its pid, so that two runs side by side rarely meet.
def _domain_band() -> list[int]:
    ids = list(range(30, 102))
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    count = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1") or 1)
    if worker.startswith("gw") and count > 1:
        index = int(worker[2:])
        size = len(ids) // count
        return ids[index * size:(index + 1) * size]
    offset = os.getpid() % len(ids)
    return ids[offset:] + ids[:offset]


_domains = itertools.cycle(_domain_band())


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


@contextlib.contextmanager
def fresh_postgres() -> Iterator[str]:
    """A new PostgreSQL database on the test server, dropped afterwards: its name."""
    import psycopg

    name = f"labfleet_test_{uuid.uuid4().hex[:12]}"
    try:
        admin = psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as exc:
        pytest.fail(f"PostgreSQL at {PG_ADMIN_URL} is required for this test: {exc}")
    with admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield name
    finally:
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A fresh PostgreSQL database, dropped afterwards."""
    base = PG_ADMIN_URL.rsplit("/", 1)[0]
    with fresh_postgres() as name:
        yield f"postgresql+psycopg://{base.split('://', 1)[1]}/{name}"


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


# The longest modules run first, so that under pytest-xdist (`make test` runs two workers, one module per
# worker at a time) they overlap instead of one of them running alone at the end. scripts/test.sh passes
# --no-loadscope-reorder (else xdist puts the modules with the most tests first, and these one-test
# modules last); each worker starts with two modules, in turn: the soak and the shared lab on one, the
# city pilot and test_up on the other.
LONGEST_FIRST = ("tests/integration/test_soak.py", "tests/integration/test_city_pilot.py",
                 "tests/integration/test_vda5050_lab.py", "tests/integration/test_nav2_lab.py",
                 "tests/integration/test_lab.py", "tests/integration/test_up.py",
                 "tests/integration/test_faults.py", "tests/integration/test_single_lane_swap.py", "tests/browser/")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    def rank(item: pytest.Item) -> int:
        return next((i for i, prefix in enumerate(LONGEST_FIRST) if item.nodeid.startswith(prefix)),
                    len(LONGEST_FIRST))

    items.sort(key=rank)
