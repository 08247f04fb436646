"""The app under test for the API suites, once per database (SQLite and PostgreSQL, see tests/conftest.py).
`client` is logged in as the admin; `make_user` adds a user and gives a client logged in as that user."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from fleet_manager.app import create_app
from fleet_manager.settings import Settings

API = "/api/v1"
JWT_SECRET = "test-secret-of-the-api-suites-0123456789"
ADMIN_PASSWORD = "admin-password-for-tests"
USER_PASSWORD = "user-password-for-tests"

MakeUser = Callable[..., TestClient]


def login(client: TestClient, username: str, password: str) -> dict[str, Any]:
    """The token pair of a successful login (the test fails otherwise)."""
    r = client.post(f"{API}/auth/token", data={"username": username, "password": password})
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    # VDA 5050 topics of the test's own (a registration may ask a vehicle for its factsheet), waited for briefly
    return Settings(database_url=database_url, data_dir=tmp_path, ros_enabled=False, environment="test",
                    jwt_secret=JWT_SECRET, admin_password=ADMIN_PASSWORD,
                    vda5050_interface=f"uagv_api{uuid.uuid4().hex[:8]}", vda5050_factsheet_wait_s=0.5)


@contextmanager
def admin_client(settings: Settings) -> Iterator[TestClient]:
    """The app started with `settings` (its lifespan runs), and a client logged in as the admin."""
    with TestClient(create_app(settings)) as c:
        c.headers.update(bearer(login(c, "admin", ADMIN_PASSWORD)["access_token"]))
        yield c


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    with admin_client(settings) as c:
        yield c


def as_user(client: TestClient, token: str) -> TestClient:
    """Another client of the same running app (same event loop), sending `token`."""
    other = TestClient(client.app, headers=bearer(token))
    other.portal = client.portal  # the lab's event loop: the lifespan runs once, in `client`
    return other


@pytest.fixture
def make_user(client: TestClient) -> MakeUser:
    """make_user(name, role, sites=("*",)): the user added by the admin, and a client logged in as it."""

    def make(name: str, role: str, sites: Sequence[str] = ("*",)) -> TestClient:
        r = client.post(f"{API}/users", json={"username": name, "password": USER_PASSWORD, "role": role,
                                              "sites": list(sites)})
        assert r.status_code == 201, r.text
        return as_user(client, login(client, name, USER_PASSWORD)["access_token"])

    return make
