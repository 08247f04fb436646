"""The last enabled admin stays (fleet_manager/auth/accounts.py), also when two admins are demoted or disabled at the
same moment: the admins are counted under a lock (PostgreSQL: their rows FOR UPDATE; SQLite: BEGIN IMMEDIATE), so the
second change waits for the first and then sees one admin left. Checked many times with two threads, on SQLite and
PostgreSQL; without the lock both changes pass now and then and no admin is left."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator

import pytest
from sqlalchemy import Engine

from fleet_manager.auth import accounts
from fleet_manager.core.errors import Conflict
from fleet_manager.db.engine import make_engine, upgrade

PASSWORD = "a-password-for-the-admins"
ROUNDS = 40

Change = Callable[[Engine, str], object]


def demote(engine: Engine, username: str) -> object:
    return accounts.update_user(engine, username, "viewer", ["*"])


def disable(engine: Engine, username: str) -> object:
    return accounts.disable_user(engine, username)


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url)
    upgrade(engine)
    for name in ("ada", "bob"):
        accounts.add_user(engine, name, PASSWORD, "admin", [])
    accounts.add_user(engine, "vera", PASSWORD, "viewer", ["*"])  # never an admin: it must not count
    try:
        yield engine
    finally:
        engine.dispose()


def both_admins_again(engine: Engine) -> None:
    for name in ("ada", "bob"):
        accounts.enable_user(engine, name)
        accounts.update_user(engine, name, "admin", [])


def at_once(engine: Engine, first: tuple[Change, str], second: tuple[Change, str]) -> list[object]:
    """Both changes started together on two threads: what each returned or raised."""
    start = threading.Barrier(2)
    results: list[object] = [None, None]

    def run(i: int, change: Change, username: str) -> None:
        start.wait()
        try:
            results[i] = change(engine, username)
        except Exception as exc:  # the test looks at what was raised
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i, change, name)) for i, (change, name) in
               enumerate((first, second))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results


@pytest.mark.parametrize(("first", "second"), [(demote, demote), (demote, disable), (disable, disable)],
                         ids=["demote-demote", "demote-disable", "disable-disable"])
def test_two_admins_changed_at_once_leave_one_admin(engine: Engine, first: Change, second: Change) -> None:
    for round_ in range(ROUNDS):
        both_admins_again(engine)
        results = at_once(engine, (first, "ada"), (second, "bob"))
        admins = [a.username for a in accounts.list_users(engine) if a.role == "admin" and a.enabled]
        refused = [r for r in results if isinstance(r, Conflict)]
        unexpected = [r for r in results if isinstance(r, BaseException) and not isinstance(r, Conflict)]
        assert not unexpected, f"round {round_}: {unexpected!r}"
        assert len(admins) == 1, f"round {round_}: enabled admins left {admins}, results {results!r}"
        assert len(refused) == 1 and "is the last enabled admin" in str(refused[0]), f"round {round_}: {results!r}"


def test_the_last_admin_is_refused_and_others_pass(engine: Engine) -> None:
    demote(engine, "ada")
    for change in (demote, disable):
        with pytest.raises(Conflict, match="'bob' is the last enabled admin"):
            change(engine, "bob")
    assert disable(engine, "vera") is not None  # not an admin: no count stands in its way
    assert demote(engine, "ada") is not None  # no longer an admin: demoting again changes nothing
