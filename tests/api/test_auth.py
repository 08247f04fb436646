"""Accounts, roles and tokens through the API, against SQLite and PostgreSQL: every route of the OpenAPI
document is tried by each role (refused below the role it needs, let through at or above it), without a
token, and by an operator of another site; tokens expire, are refused once their user is disabled, and
refresh; failed logins are rate-limited; passwords are stored as argon2 hashes; the websocket wants a token."""

from __future__ import annotations

import re
import time
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from starlette.websockets import WebSocketDisconnect

from fleet_manager.auth.ratelimit import LoginRateLimiter
from fleet_manager.auth.tokens import issue
from fleet_manager.settings import Settings
from tests.api.conftest import ADMIN_PASSWORD, JWT_SECRET, USER_PASSWORD, MakeUser, admin_client, bearer, login

API = "/api/v1"
R1_FRAME = {"type": "robot_states", "v": 2, "states": [{"id": "r1"}]}  # what a new stream gets first: every robot
ROLES = ("viewer", "researcher", "operator", "admin")

# What each route needs beyond a token of a user of this site (the viewer's role): every route that changes
# something is named here, with the roles of the auth contract. A new one missing here fails the test below.
NEEDS = {
    ("POST", "/missions"): "operator",
    ("POST", "/missions/{mission_id}/cancel"): "operator",
    ("POST", "/missions/{mission_id}/pause"): "operator",
    ("POST", "/missions/{mission_id}/resume"): "operator",
    ("POST", "/missions/{mission_id}/confirm"): "operator",
    ("POST", "/dispatch/pause"): "operator",
    ("POST", "/dispatch/resume"): "operator",
    ("POST", "/robots/{robot_id}/commands"): "operator",
    ("POST", "/robots/estop-all"): "operator",
    ("POST", "/alerts/{alert_id}/acknowledge"): "operator",
    ("POST", "/sites/{site}/lanes/{lane_id}/{action}"): "operator",
    ("POST", "/schedules"): "operator",
    ("POST", "/schedules/{schedule_id}/disable"): "operator",
    ("POST", "/interventions"): "operator",
    ("POST", "/interventions/{intervention_id}/end"): "operator",
    ("POST", "/incidents"): "operator",
    ("GET", "/missions/{mission_id}/recording"): "researcher",
    ("GET", "/missions/{mission_id}/recording/info"): "researcher",
    ("GET", "/missions/{mission_id}/playback"): "researcher",
    ("POST", "/missions/{mission_id}/replay"): "researcher",
    ("POST", "/pilots"): "researcher",
    ("PATCH", "/pilots/{pilot_id}"): "researcher",
    ("GET", "/users"): "admin",
    ("POST", "/users"): "admin",
    ("POST", "/users/{username}/disable"): "admin",
    ("PATCH", "/users/{username}"): "admin",
    ("GET", "/audit"): "admin",
    ("POST", "/robots"): "admin",
    ("PATCH", "/robots/{robot_id}"): "admin",
    ("DELETE", "/robots/{robot_id}"): "admin",
    ("POST", "/auth/logout"): "viewer",  # any signed-in user, of any site (ANY_SITE)
}
PUBLIC = {("GET", "/health"), ("POST", "/auth/token"), ("POST", "/auth/refresh")}
ANY_SITE = {("GET", "/auth/me"), ("POST", "/auth/logout")}  # a user of any site may ask who it is, and log out
MUTATING = {"POST", "PUT", "PATCH", "DELETE"}


def routes(client: TestClient) -> list[tuple[str, str]]:
    """(method, path under /api/v1) of every operation of the OpenAPI document."""
    paths = client.get(f"{API}/openapi.json").json()["paths"]
    return sorted((method.upper(), path.removeprefix(API)) for path, ops in paths.items() for method in ops
                  if method in ("get", "post", "put", "patch", "delete"))


def call(client: TestClient, method: str, path: str, headers: dict[str, str] | None = None) -> Any:
    """The route with made-up ids (a 404 or 422 after the role check is fine: the request got past it)."""
    url = API + re.sub(r"\{(\w+)\}", lambda m: {"site": "living_lab", "action": "close"}.get(m[1], "999999"), path)
    body = {"json": {}} if method in MUTATING else {}
    return client.request(method, url, headers=headers, **body)


def needed(method: str, path: str) -> str:
    return NEEDS.get((method, path), "viewer")


def test_every_route_that_changes_something_names_its_role(client: TestClient) -> None:
    found = routes(client)
    unnamed = [r for r in found if r[0] in MUTATING and r not in NEEDS and r not in PUBLIC]
    assert not unnamed, f"routes that change something without a role in NEEDS: {unnamed}"
    gone = [r for r in NEEDS if r not in found]
    assert not gone, f"NEEDS names routes the API does not have: {gone}"
    paths = client.get(f"{API}/openapi.json").json()["paths"]
    for method, path in found:  # and the OpenAPI document says which need the bearer token
        assert ("security" in paths[API + path][method.lower()]) is ((method, path) not in PUBLIC), (method, path)


@pytest.mark.parametrize("role", ROLES)
def test_each_role_on_each_route(client: TestClient, make_user: MakeUser, role: str) -> None:
    user = make_user(f"{role}-1", role, ["living_lab"])
    wrong = []
    for method, path in routes(client):
        if (method, path) in PUBLIC:
            continue
        r = call(user, method, path)
        need = needed(method, path)
        if ROLES.index(role) >= ROLES.index(need):
            if r.status_code in (401, 403):
                wrong.append(f"{method} {path}: {role} refused ({r.status_code} {r.text})")
        elif r.status_code != 403 or r.json()["detail"] != (
                f"role {need} needed; user '{role}-1' has role {role}"):
            wrong.append(f"{method} {path}: {role} not refused with 403 naming role {need} ({r.status_code} {r.text})")
    assert not wrong, "\n".join(wrong)


def test_an_operator_of_another_site_is_refused_everywhere_but_auth(client: TestClient,
                                                                    make_user: MakeUser) -> None:
    carl = make_user("carl", "operator", ["city_block"])
    wrong = []
    for method, path in routes(client):
        if (method, path) in PUBLIC:
            continue
        r = call(carl, method, path)
        if (method, path) in ANY_SITE:
            if r.status_code in (401, 403) or r.status_code >= 500:  # logout's made-up body: 422
                wrong.append(f"{method} {path}: {r.status_code} {r.text}")
        elif r.status_code != 403 or r.json()["detail"] != "user 'carl' has no access to site 'living_lab'":
            wrong.append(f"{method} {path}: not refused for the site ({r.status_code} {r.text})")
    assert not wrong, "\n".join(wrong)
    assert carl.get(f"{API}/auth/me").json() == {"username": "carl", "role": "operator", "sites": ["city_block"]}
    both = make_user("dora", "operator", ["city_block", "living_lab"])
    assert both.post(f"{API}/dispatch/pause").status_code == 200


def test_without_a_token_every_route_but_health_and_login_answers_401(client: TestClient) -> None:
    wrong = []
    for method, path in routes(client):
        if (method, path) in PUBLIC:
            continue
        for headers in ({"Authorization": ""}, {"Authorization": "Bearer not-a-token"},
                        {"Authorization": "Basic YWRtaW46YWRtaW4="}):
            r = call(client, method, path, headers)
            if r.status_code != 401 or r.headers.get("www-authenticate") != "Bearer":
                wrong.append(f"{method} {path} with {headers}: {r.status_code} {r.text}")
    assert not wrong, "\n".join(wrong)
    assert client.get(f"{API}/health", headers={"Authorization": ""}).status_code == 200


def test_expired_forged_and_refresh_tokens_are_not_access_tokens(client: TestClient) -> None:
    expired = issue(JWT_SECRET, "admin", "access", 0, 60, now=time.time() - 3600)
    r = client.get(f"{API}/robots", headers=bearer(expired))
    assert (r.status_code, r.json()["detail"]) == (401, "access token expired")
    forged = issue("another-secret-of-at-least-32-characters", "admin", "access", 0, 600)
    r = client.get(f"{API}/robots", headers=bearer(forged))
    assert (r.status_code, r.json()["detail"]) == (401, "invalid access token")
    tokens = login(client, "admin", ADMIN_PASSWORD)
    r = client.get(f"{API}/robots", headers=bearer(tokens["refresh_token"]))
    assert (r.status_code, r.json()["detail"]) == (401, "not an access token")
    r = client.post(f"{API}/auth/refresh", json={"refresh_token": tokens["access_token"]})
    assert (r.status_code, r.json()["detail"]) == (401, "not a refresh token")
    nobody = issue(JWT_SECRET, "nobody", "access", 0, 600)
    r = client.get(f"{API}/robots", headers=bearer(nobody))
    assert (r.status_code, r.json()["detail"]) == (401, "user 'nobody' does not exist")


def test_login_refresh_and_me(client: TestClient, make_user: MakeUser) -> None:
    make_user("rita", "researcher", ["living_lab", "city_block"])
    tokens = login(client, "rita", USER_PASSWORD)
    assert (tokens["token_type"], tokens["expires_in"], tokens["role"], tokens["sites"]) == (
        "bearer", 15 * 60, "researcher", ["living_lab", "city_block"])
    r = client.post(f"{API}/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
    assert r.status_code == 200, r.text
    fresh = r.json()
    assert fresh["access_token"] != tokens["access_token"] and fresh["refresh_token"] != tokens["refresh_token"]
    me = client.get(f"{API}/auth/me", headers=bearer(fresh["access_token"]))
    assert me.json() == {"username": "rita", "role": "researcher", "sites": ["living_lab", "city_block"]}
    for wrong in ({"username": "rita", "password": "not-her-password"}, {"username": "nobody", "password": "x"}):
        r = client.post(f"{API}/auth/token", data=wrong)
        assert (r.status_code, r.json()["detail"]) == (401, "incorrect username or password")
        assert r.headers["www-authenticate"] == "Bearer"
    assert client.post(f"{API}/auth/token", json={"username": "rita", "password": USER_PASSWORD}).status_code == 422


def test_a_disabled_user_is_refused_at_once_and_cannot_refresh(client: TestClient, make_user: MakeUser) -> None:
    olga = make_user("olga", "operator")
    tokens = login(client, "olga", USER_PASSWORD)
    assert olga.post(f"{API}/dispatch/pause").status_code == 200
    assert olga.post(f"{API}/users/olga/disable").status_code == 403  # only admins disable users
    r = client.post(f"{API}/users/olga/disable")
    assert r.status_code == 200 and r.json()["enabled"] is False and r.json()["disabled_at"]
    r = olga.post(f"{API}/dispatch/resume")
    assert (r.status_code, r.json()["detail"]) == (401, "user 'olga' is disabled")
    r = client.post(f"{API}/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
    assert (r.status_code, r.json()["detail"]) == (401, "user 'olga' is disabled")
    r = client.post(f"{API}/auth/token", data={"username": "olga", "password": USER_PASSWORD})
    assert (r.status_code, r.json()["detail"]) == (401, "user 'olga' is disabled")
    assert client.post(f"{API}/users/olga/disable").status_code == 200  # again: a no-op
    assert client.post(f"{API}/users/nobody/disable").status_code == 404
    r = client.post(f"{API}/users/admin/disable")
    assert r.status_code == 409 and "last enabled admin" in r.json()["detail"]
    listed = {u["username"]: u for u in client.get(f"{API}/users").json()}
    assert (listed["olga"]["enabled"], listed["admin"]["enabled"], listed["admin"]["sites"]) == (False, True, ["*"])


def test_users_are_checked_and_passwords_stored_as_argon2_hashes(client: TestClient, make_user: MakeUser) -> None:
    make_user("vera", "viewer")
    make_user("otto", "operator", ["living_lab"])

    def add(**body: Any) -> Any:
        return client.post(f"{API}/users", json={"username": "x1", "password": USER_PASSWORD, "role": "viewer",
                                                 "sites": ["*"], **body})

    for body, field in (({"username": "vera"}, "username"), ({"username": "Bad Name"}, "username"),
                        ({"password": "short"}, "password"), ({"sites": ["atlantis"]}, "sites[0]"),
                        ({"sites": []}, "sites")):
        r = add(**body)
        assert r.status_code in (409, 422) and r.json()["field"] == field, (body, r.text)
    assert add(role="pilot").status_code == 422
    r = add(username="ada", role="admin", sites=["living_lab"])
    assert r.status_code == 201 and r.json()["sites"] == ["*"]  # an admin has every site
    lab = client.app.state.lab  # type: ignore[attr-defined]
    with lab.engine.connect() as conn:
        hashes = dict(conn.execute(text("SELECT username, password_hash FROM users")).all())
    assert set(hashes) == {"admin", "vera", "otto", "ada"}
    assert all(h.startswith("$argon2id$") and USER_PASSWORD not in h for h in hashes.values())
    assert hashes["vera"] != hashes["otto"]  # salted: the same password, two hashes


def test_failed_logins_are_rate_limited_per_user_and_address(client: TestClient, make_user: MakeUser) -> None:
    make_user("rick", "viewer")

    def attempt(password: str) -> Any:
        return client.post(f"{API}/auth/token", data={"username": "rick", "password": password})

    for _ in range(5):
        assert attempt("wrong-password").status_code == 401
    assert attempt(USER_PASSWORD).status_code == 200  # a success forgets the failures
    for _ in range(10):
        assert attempt("wrong-password").status_code == 401
    r = attempt(USER_PASSWORD)  # the right password too, once limited
    assert r.status_code == 429 and "too many failed logins" in r.json()["detail"]
    assert 1 <= int(r.headers["retry-after"]) <= 60
    assert login(client, "admin", ADMIN_PASSWORD)["role"] == "admin"  # another user is not limited


def test_the_limiter_window_slides() -> None:
    now = [0.0]
    limiter = LoginRateLimiter(3, 60.0, clock=lambda: now[0])
    key = ("rick", "10.0.0.1")
    for t in (0.0, 10.0, 20.0):
        now[0] = t
        assert limiter.retry_after(key) is None
        limiter.failed(key)
    now[0] = 30.0
    assert limiter.retry_after(key) == 30  # the failure at 0 s leaves the window at 60 s
    assert limiter.retry_after(("rick", "10.0.0.2")) is None  # another address
    now[0] = 60.0
    assert limiter.retry_after(key) is None
    limiter.failed(key)
    assert limiter.retry_after(key) == 10
    limiter.succeeded(key)
    assert limiter.retry_after(key) is None


def test_the_websocket_wants_a_token_of_a_user_of_this_site(client: TestClient, make_user: MakeUser) -> None:
    make_user("carl", "operator", ["city_block"])
    make_user("vera", "viewer", ["living_lab"])
    lab = client.app.state.lab  # type: ignore[attr-defined]
    client.portal.call(lab.hub.publish_state, "r1", {"id": "r1"})  # type: ignore[union-attr]
    ws = f"{API}/ws/telemetry"
    expired = issue(JWT_SECRET, "vera", "access", 0, 60, now=time.time() - 3600)
    for url, code in ((ws, 4401), (f"{ws}?token=junk", 4401), (f"{ws}?token={expired}", 4401),
                      (f"{ws}?token={login(client, 'carl', USER_PASSWORD)['access_token']}", 4403)):
        with client.websocket_connect(url) as socket, pytest.raises(WebSocketDisconnect) as closed:
            socket.receive_text()
        assert closed.value.code == code, url
    with client.websocket_connect(f"{ws}?token={login(client, 'vera', USER_PASSWORD)['access_token']}") as socket:
        assert socket.receive_json() == R1_FRAME
    # the console's way (issue 19): the token offered as a subprotocol, not in the URL; the server selects
    # labfleet.bearer, never echoes the token
    vera = login(client, "vera", USER_PASSWORD)["access_token"]
    with client.websocket_connect(ws, subprotocols=["labfleet.bearer", vera]) as socket:
        assert socket.accepted_subprotocol == "labfleet.bearer"
        assert socket.receive_json() == R1_FRAME
    for offered, code in ((["labfleet.bearer", "junk"], 4401), (["labfleet.bearer", expired], 4401),
                          (["labfleet.bearer"], 4401)):
        with client.websocket_connect(ws, subprotocols=offered) as socket, pytest.raises(WebSocketDisconnect) as closed:
            socket.receive_text()
        assert closed.value.code == code, offered


def test_a_user_has_at_most_its_limit_of_live_streams(settings: Settings) -> None:
    """Issue 19: LABFLEET_MAX_WEBSOCKETS_PER_USER streams of one user at once; the next is closed (4429) naming
    the limit, another user is not held up, and a stream closed frees its place."""
    settings.max_websockets_per_user = 2
    with admin_client(settings) as client:
        lab = client.app.state.lab  # type: ignore[attr-defined]
        client.portal.call(lab.hub.publish_state, "r1", {"id": "r1"})  # type: ignore[union-attr]
        ws = f"{API}/ws/telemetry"
        token = client.headers["Authorization"].removeprefix("Bearer ")
        with client.websocket_connect(ws, subprotocols=["labfleet.bearer", token]) as one, \
                client.websocket_connect(ws, subprotocols=["labfleet.bearer", token]) as two:
            assert one.receive_json() == two.receive_json() == R1_FRAME
            with client.websocket_connect(ws, subprotocols=["labfleet.bearer", token]) as three, \
                    pytest.raises(WebSocketDisconnect) as closed:
                three.receive_text()
            assert closed.value.code == 4429 and "LABFLEET_MAX_WEBSOCKETS_PER_USER" in closed.value.reason
            r = client.post(f"{API}/users", json={"username": "vera", "password": USER_PASSWORD, "role": "viewer",
                                                  "sites": ["living_lab"]})
            assert r.status_code == 201, r.text
            vera = login(client, "vera", USER_PASSWORD)["access_token"]
            with client.websocket_connect(ws, subprotocols=["labfleet.bearer", vera]) as other:
                assert other.receive_json() == R1_FRAME
        with client.websocket_connect(ws, subprotocols=["labfleet.bearer", token]) as again:  # places freed
            assert again.receive_json() == R1_FRAME


def test_an_open_stream_is_closed_when_its_user_is_disabled(client: TestClient, make_user: MakeUser,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """The token is checked again while the stream is open: a user disabled meanwhile is cut off (4401)."""
    monkeypatch.setattr("fleet_manager.telemetry.endpoints.RECHECK_S", 0.1)
    make_user("vera", "viewer", ["living_lab"])
    lab = client.app.state.lab  # type: ignore[attr-defined]
    client.portal.call(lab.hub.publish_state, "r1", {"id": "r1"})  # type: ignore[union-attr]
    token = login(client, "vera", USER_PASSWORD)["access_token"]
    with client.websocket_connect(f"{API}/ws/telemetry?token={token}") as socket:
        assert socket.receive_json() == R1_FRAME
        assert client.post(f"{API}/users/vera/disable").status_code == 200
        with pytest.raises(WebSocketDisconnect) as closed:
            while True:  # (r1's state may come again, from the tick after its publication)
                socket.receive_text()
    assert closed.value.code == 4401


def test_an_admin_changes_a_users_role_and_sites(client: TestClient, make_user: MakeUser) -> None:
    vera = make_user("vera", "viewer", ["living_lab"])
    mission = {"spec": {"steps": [{"go_to": "pharmacy"}]}}
    assert vera.post(f"{API}/missions", json=mission).status_code == 403
    r = client.patch(f"{API}/users/vera", json={"role": "operator"})
    assert r.status_code == 200 and r.json()["role"] == "operator" and r.json()["sites"] == ["living_lab"], r.text
    assert vera.post(f"{API}/missions", json=mission).status_code == 201  # in force at once, same token
    r = client.patch(f"{API}/users/vera", json={"sites": ["city_block"]})
    assert r.status_code == 200 and r.json()["sites"] == ["city_block"], r.text
    r = vera.get(f"{API}/robots")
    assert r.status_code == 403 and "no access to site 'living_lab'" in r.json()["detail"]
    for body, status, field in (({"sites": ["atlantis"]}, 422, "sites[0]"), ({"role": "pilot"}, 422, None),
                                ({"sites": []}, 422, "sites"), ({"colour": "red"}, 422, None)):
        r = client.patch(f"{API}/users/vera", json=body)
        assert r.status_code == status, (body, r.text)
        if field:
            assert r.json()["field"] == field, r.text
    assert client.patch(f"{API}/users/nobody", json={"role": "viewer"}).status_code == 404
    r = client.patch(f"{API}/users/admin", json={"role": "viewer", "sites": ["*"]})
    assert r.status_code == 409 and "last enabled admin" in r.json()["detail"]


def test_the_product_hashes_with_the_rfc_9106_low_memory_profile() -> None:
    """The tests hash at argon2id's least cost (tests/conftest.py); the product keeps RFC 9106's low-memory profile,
    and a hash made at another cost is replaced at the next login."""
    import importlib

    from argon2 import PasswordHasher

    from fleet_manager.auth import passwords

    product = importlib.reload(passwords)._hasher  # the module as the fleet manager loads it
    assert (product.time_cost, product.memory_cost, product.parallelism) == (3, 65536, 4)
    assert product.type.name == "ID"
    cheap = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1).hash("a password of ten")
    assert product.check_needs_rehash(cheap)
