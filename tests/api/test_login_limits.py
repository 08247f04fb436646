"""Logins an attacker can neither reset nor turn against a user (issue 19, acceptance 2), on SQLite and PostgreSQL:
without a trusted proxy X-Forwarded-For is ignored (it neither resets the limit nor becomes the audited address);
with one, its header is the client; 100 wrong guesses from one address do not keep the user out from another;
many usernames from one address and a spread-out attack on one username are limited too, while the user still
gets in from an address they used before. The limiter's parts: fleet_manager/auth/ratelimit.py."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from fleet_manager.app import create_app
from fleet_manager.auth.ratelimit import ADDRESS_FACTOR, USER_FACTOR, LoginGuard
from fleet_manager.settings import Settings
from tests.api.conftest import ADMIN_PASSWORD, API, USER_PASSWORD, bearer, login

PROXY = "10.9.9.9"


def token(client: TestClient, username: str, password: str, forwarded: str | None = None) -> int:
    headers = {"X-Forwarded-For": forwarded} if forwarded else {}
    r = client.post(f"{API}/auth/token", data={"username": username, "password": password}, headers=headers)
    return r.status_code


def add_user(client: TestClient, name: str) -> None:
    r = client.post(f"{API}/users", json={"username": name, "password": USER_PASSWORD, "role": "viewer",
                                          "sites": ["*"]})
    assert r.status_code == 201, r.text


def audited_clients(client: TestClient, username: str) -> set[str | None]:
    client.app.state.lab.audit.flush(5.0)  # type: ignore[attr-defined]
    entries = client.get(f"{API}/audit", params={"username": username, "limit": 500}).json()
    return {e["client"] for e in entries if e["path"].endswith("/auth/token")}


@pytest.fixture
def proxied(settings: Settings) -> Iterator[TestClient]:
    """The app behind a trusted proxy at PROXY (the test client connects from it), logged in as the admin."""
    behind = settings.model_copy(update={"trusted_proxies": f"{PROXY}/32", "login_attempts_per_minute": 3})
    with TestClient(create_app(behind), client=(PROXY, 40000)) as c:
        c.headers.update(bearer(login(c, "admin", ADMIN_PASSWORD)["access_token"]))
        yield c


def test_without_a_trusted_proxy_the_forwarded_header_changes_nothing(client: TestClient) -> None:
    add_user(client, "rita")
    codes = [token(client, "rita", "wrong-password", forwarded=f"203.0.113.{i}") for i in range(15)]
    assert codes[:10] == [401] * 10 and codes[10:] == [429] * 5  # a new header per guess resets nothing
    assert token(client, "rita", USER_PASSWORD, forwarded="198.51.100.7") == 429
    assert audited_clients(client, "rita") == {"testclient"}  # the socket's address, never the forged one


def test_behind_a_trusted_proxy_its_header_is_the_client(proxied: TestClient) -> None:
    add_user(proxied, "rita")
    for _ in range(3):
        assert token(proxied, "rita", "wrong-password", forwarded="203.0.113.5") == 401
    assert token(proxied, "rita", USER_PASSWORD, forwarded="203.0.113.5") == 429  # that address is limited
    assert token(proxied, "rita", USER_PASSWORD, forwarded="198.51.100.7") == 200  # the user's own is not
    assert audited_clients(proxied, "rita") == {"203.0.113.5", "198.51.100.7"}


def test_an_attackers_hundred_guesses_do_not_keep_the_user_out(proxied: TestClient) -> None:
    add_user(proxied, "rita")
    codes = [token(proxied, "rita", f"guess-{i}", forwarded="203.0.113.66") for i in range(100)]
    assert codes.count(401) == 3 and codes.count(429) == 97
    assert token(proxied, "rita", USER_PASSWORD, forwarded="198.51.100.7") == 200  # never seen before, still in


def test_many_usernames_from_one_address_are_limited(proxied: TestClient) -> None:
    limit = 3 * ADDRESS_FACTOR
    codes = [token(proxied, f"user{i}", "wrong-password", forwarded="203.0.113.77") for i in range(limit + 2)]
    assert codes[:limit] == [401] * limit and codes[limit:] == [429, 429]
    assert token(proxied, "admin", ADMIN_PASSWORD, forwarded="198.51.100.1") == 200


def test_a_spread_out_attack_on_one_user_leaves_the_addresses_they_used() -> None:
    now = [0.0]
    guard = LoginGuard(3, clock=lambda: now[0])
    guard.succeeded("rita", "198.51.100.7")  # rita's own address, seen before
    for i in range(3 * USER_FACTOR):  # one guess each from many addresses: no pair or address limit reached
        assert guard.retry_after("rita", f"203.0.113.{i}") is None
        guard.failed("rita", f"203.0.113.{i}")
        now[0] += 1.0
    assert guard.retry_after("rita", "192.0.2.1") is not None  # a new address: back off
    assert guard.retry_after("rita", "198.51.100.7") is None  # rita's own: a correct password still passes
    assert guard.retry_after("sam", "192.0.2.1") is None  # other users are not touched
    now[0] += 900.0
    assert guard.retry_after("rita", "192.0.2.1") is None  # the window passes


def test_a_bad_trusted_proxy_is_refused_naming_it() -> None:
    with pytest.raises(ValueError, match=r"'proxy\.example' is not an address or a CIDR network"):
        Settings(trusted_proxies="10.0.0.0/8, proxy.example")
