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

# Every ROS test gets a domain of its own: 30..101 (20-29 are kept for `make demo`; scripts/test.sh gives each of
# its two pytest runs a band of these in LABFLEET_TEST_DOMAINS). Under pytest-xdist
# each worker takes a band of its own, so that two workers never share a domain; a run without xdist
# starts at an offset drawn from its pid, so that two runs side by side rarely meet.
def _domain_band() -> list[int]:
    low, _, high = os.environ.get("LABFLEET_TEST_DOMAINS", "30-101").partition("-")  # scripts/test.sh's bands
    ids = list(range(int(low), int(high) + 1))
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


@pytest.fixture(autouse=True)
def _quick_password_hashes(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """argon2id at its least cost in the tests' own processes: at the product's (RFC 9106 low-memory: 64 MiB, 3
    passes, 4 lanes) each user added and each login costs 0.14 s of an idle core, and the suite makes hundreds.
    tests/api/test_auth.py checks the product's parameters; the labs (processes of their own) keep them."""
    from argon2 import PasswordHasher

    from fleet_manager.auth import passwords

    monkeypatch.setattr(passwords, "_hasher", PasswordHasher(time_cost=1, memory_cost=8, parallelism=1))
    passwords._dummy_hash.cache_clear()
    yield
    passwords._dummy_hash.cache_clear()


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


# The longest modules run first, so that under pytest-xdist they overlap instead of one of them running alone at
# the end: the labs (tests/lab_scheduling.py runs them on two workers), then the longest of the rest (on a
# loaded host, by wall time). scripts/test.sh passes --no-loadscope-reorder (else xdist puts the modules with the
# most tests first, and these one-test modules last).
LONGEST_FIRST = ("tests/integration/test_lab.py", "tests/integration/test_up.py",
                 "tests/integration/test_nav2_lab.py", "tests/integration/test_vda5050_lab.py",
                 "tests/integration/test_soak.py", "tests/integration/test_city_pilot.py",
                 "tests/browser/test_console.py", "tests/integration/test_faults.py",
                 "tests/integration/test_single_lane_swap.py", "tests/browser/", "tests/integration/test_clinic_lab.py",
                 "tests/integration/test_imported_site_lab.py", "tests/integration/test_failover.py",
                 "tests/traffic/test_lockstep_pharmacy_wing.py",
                 "tests/api/test_api.py", "tests/api/test_schemathesis.py", "tests/gazebo/test_sdf.py",
                 "tests/api/test_auth.py", "tests/labfleet_robot/test_city_contacts.py", "tests/api/")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    def rank(item: pytest.Item) -> int:
        return next((i for i, prefix in enumerate(LONGEST_FIRST) if item.nodeid.startswith(prefix)),
                    len(LONGEST_FIRST))

    items.sort(key=rank)


@pytest.hookimpl(tryfirst=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: object) -> object | None:
    """`make test` (scripts/test.sh sets LABFLEET_LAB_WORKERS): the labs on that many workers, the rest on all
    (tests/lab_scheduling.py)."""
    lab_workers = os.environ.get("LABFLEET_LAB_WORKERS")
    if not lab_workers or config.getvalue("dist") != "loadfile":
        return None
    from tests.lab_scheduling import LabScheduling

    return LabScheduling(config, log, int(lab_workers))


_TIMELINE = os.environ.get("LABFLEET_TEST_TIMELINE")  # a file: each test's worker, start and end (wall clock)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> Iterator[None]:
    """With LABFLEET_TEST_TIMELINE set, one line per test (set-up and tear-down included) is appended to that file:
    `<worker> <start> <end> <nodeid>`, to see which modules overlap in a run of `make test` and what ends it."""
    import time

    start = time.time()
    yield
    if _TIMELINE:
        line = f"{os.environ.get('PYTEST_XDIST_WORKER', 'main')} {start:.1f} {time.time():.1f} {item.nodeid}\n"
        with open(_TIMELINE, "a", encoding="utf-8") as f:  # one short append per line: workers do not interleave
            f.write(line)
