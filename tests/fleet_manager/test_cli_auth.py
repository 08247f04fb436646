"""The CLI's accounts: `labfleet user add|list|disable|enable|password` on a database before any service
runs, `labfleet login` against a served fleet manager (credentials file mode 0600, the token sent by the
other commands, refreshed once on a 401 and the next refresh token stored, LABFLEET_TOKEN first), `labfleet
logout`, and `labfleet up --demo` printing its generated admin password once."""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from fleet_manager.auth.tokens import issue
from fleet_manager.cli.main import app
from fleet_manager.db.engine import make_engine
from fleet_manager.settings import Settings
from tests.api.live_server import serve
from tests.conftest import VENV_BIN
from tests.lab_process import free_port, stop_group

JWT_SECRET = "test-secret-of-the-cli-suite-0123456789"
PASSWORD = "a-password-for-the-cli"


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """A database and a config directory of the test's own; no API URL or token from the caller's shell."""
    values = {"LABFLEET_DATABASE_URL": f"sqlite:///{tmp_path / 'labfleet.db'}",
              "XDG_CONFIG_HOME": str(tmp_path / "config"), "LABFLEET_DATA_DIR": str(tmp_path)}
    for key, value in values.items():
        monkeypatch.setenv(key, value)
    for key in ("LABFLEET_API_URL", "LABFLEET_TOKEN", "LABFLEET_JWT_SECRET", "LABFLEET_ADMIN_PASSWORD",
                "LABFLEET_DEMO"):
        monkeypatch.delenv(key, raising=False)
    return values


def labfleet(*args: str, stdin: str | None = None) -> Any:
    return CliRunner().invoke(app, list(args), input=stdin)


def test_users_are_added_listed_and_disabled_on_the_database(env: dict[str, Any]) -> None:
    r = labfleet("user", "add", "bob", "--role", "operator", "--site", "living_lab", "--password-stdin",
                 stdin=PASSWORD + "\n")
    assert r.exit_code == 0 and "added user bob: operator, sites living_lab" in r.output, r.output
    r = labfleet("user", "add", "ada", "--role", "admin", stdin=f"{PASSWORD}\n{PASSWORD}\n")  # prompted twice
    assert r.exit_code == 0 and "added user ada: admin, sites *" in r.output, r.output
    for args, password, message in (
            (["bob", "--role", "viewer", "--site", "*"], PASSWORD, "user 'bob' already exists"),
            (["carl", "--role", "pilot", "--site", "*"], PASSWORD, "unknown role 'pilot'"),
            (["carl", "--role", "viewer", "--site", "atlantis"], PASSWORD, "unknown site 'atlantis'"),
            (["carl", "--role", "viewer"], PASSWORD, "a viewer needs at least one site"),
            (["Carl!", "--role", "viewer", "--site", "*"], PASSWORD, "username 'Carl!' must be"),
            (["carl", "--role", "viewer", "--site", "*"], "short", "password must have at least 8"),
            (["carl", "--role", "viewer", "--site", "*"], "", "no password on standard input")):
        r = labfleet("user", "add", *args, "--password-stdin", stdin=password + "\n")
        assert r.exit_code != 0 and message in r.output, (args, r.output)
    r = labfleet("user", "list")
    assert r.exit_code == 0, r.output
    rows = {line.split()[0]: line.split()[1:] for line in r.output.splitlines()[1:]}
    assert rows == {"ada": ["admin", "*", "enabled"], "bob": ["operator", "living_lab", "enabled"]}
    r = labfleet("user", "disable", "bob")
    assert r.exit_code == 0 and "disabled user bob" in r.output
    assert labfleet("user", "list").output.splitlines()[2].split()[-1] == "disabled"
    r = labfleet("user", "disable", "nobody")
    assert r.exit_code == 1 and "no user 'nobody'" in r.output
    r = labfleet("user", "enable", "bob")
    assert r.exit_code == 0 and "enabled user bob" in r.output
    assert labfleet("user", "list").output.splitlines()[2].split()[-1] == "enabled"
    engine = make_engine(env["LABFLEET_DATABASE_URL"])
    with engine.connect() as conn:
        before = conn.execute(text("SELECT password_hash, token_version FROM users WHERE username='bob'")).one()
    r = labfleet("user", "password", "bob", "--password-stdin", stdin="short\n")
    assert r.exit_code == 2 and "password must have at least 8" in r.output, r.output
    r = labfleet("user", "password", "bob", "--password-stdin", stdin="another-password-of-bob\n")
    assert r.exit_code == 0 and "password of bob changed" in r.output, r.output
    with engine.connect() as conn:
        after = conn.execute(text("SELECT password_hash, token_version FROM users WHERE username='bob'")).one()
    engine.dispose()
    assert after[0] != before[0] and after[1] == before[1] + 1  # a new hash; the earlier tokens revoked
    r = labfleet("user", "password", "nobody", "--password-stdin", stdin="another-password\n")
    assert r.exit_code == 1 and "no user 'nobody'" in r.output
    assert labfleet("user", "disable", "bob").exit_code == 0
    r = labfleet("user", "disable", "ada")
    assert r.exit_code == 1 and "last enabled admin" in r.output
    engine = make_engine(env["LABFLEET_DATABASE_URL"])
    with engine.connect() as conn:
        hashes = [row[0] for row in conn.execute(text("SELECT password_hash FROM users"))]
    engine.dispose()
    assert len(hashes) == 2 and all(h.startswith("$argon2id$") and PASSWORD not in h for h in hashes)


@pytest.fixture
def served(env: dict[str, Any], tmp_path: Path) -> Iterator[str]:
    """An admin made with the CLI before the service runs, then the service on that database."""
    r = labfleet("user", "add", "ada", "--role", "admin", "--password-stdin", stdin=PASSWORD + "\n")
    assert r.exit_code == 0, r.output
    settings = Settings(database_url=env["LABFLEET_DATABASE_URL"], data_dir=tmp_path, ros_enabled=False,
                        environment="test", jwt_secret=JWT_SECRET)
    with serve(settings) as url:
        yield url


def test_a_database_that_cannot_be_opened_is_named_without_its_password(
        env: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LABFLEET_DATABASE_URL", "postgresql+psycopg://fleet:s3cret-pw@127.0.0.1:1/labfleet")
    r = labfleet("user", "list")
    assert r.exit_code == 1, r.output
    assert "cannot open the database postgresql+psycopg://fleet:***@127.0.0.1:1/labfleet" in r.output, r.output
    assert "s3cret-pw" not in r.output


def test_login_keeps_the_tokens_in_a_private_file_and_the_commands_send_them(served: str, tmp_path: Path,
                                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    spec = tmp_path / "spec.yaml"
    spec.write_text("steps:\n  - go_to: lobby\n")
    r = labfleet("mission", "submit", str(spec), "--api", served)
    assert r.exit_code == 1 and "not authenticated" in r.output and "labfleet login" in r.output, r.output
    r = labfleet("login", "--api", served, "--username", "ada", "--password-stdin", stdin="wrong-password\n")
    assert r.exit_code == 1 and "login refused: incorrect username or password" in r.output, r.output

    r = labfleet("login", "--api", served, "--username", "ada", "--password-stdin", stdin=PASSWORD + "\n")
    assert r.exit_code == 0 and f"logged in to {served} as ada (admin; sites: *)" in r.output, r.output
    path = tmp_path / "config" / "labfleet" / "credentials.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600 and stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    stored = json.loads(path.read_text())
    assert (stored["api"], stored["username"]) == (served, "ada")
    assert httpx.get(f"{served}/api/v1/auth/me", headers={"Authorization": f"Bearer {stored['access_token']}"}
                     ).json()["username"] == "ada"

    r = labfleet("mission", "submit", str(spec))  # no --api: the fleet manager of the login
    assert r.exit_code == 0 and "mission 1: queued" in r.output, r.output

    # an expired access token is refreshed once, and the new pair stored (still private)
    path.write_text(json.dumps({**stored, "access_token": issue(JWT_SECRET, "ada", "access", 0, 60,
                                                                now=time.time() - 3600)}))
    r = labfleet("mission", "status", "1")
    assert r.exit_code == 0 and "mission 1: queued" in r.output, r.output
    refreshed = json.loads(path.read_text())
    assert refreshed["refresh_token"] != stored["refresh_token"]
    assert refreshed["access_token"] != stored["access_token"]
    assert stat.S_IMODE(path.stat().st_mode) == 0o600

    # LABFLEET_TOKEN comes first, and is not refreshed
    monkeypatch.setenv("LABFLEET_TOKEN", "not-a-token")
    r = labfleet("mission", "status", "1")
    assert r.exit_code == 1 and "invalid access token" in r.output, r.output
    monkeypatch.setenv("LABFLEET_TOKEN", refreshed["access_token"])
    assert labfleet("mission", "status", "1").exit_code == 0
    assert json.loads(path.read_text()) == refreshed


def test_refreshes_keep_the_newest_refresh_token_and_logout_ends_the_session(served: str, tmp_path: Path) -> None:
    """A refresh token is used once: each refresh stores the next one, a command that finds the stored pair
    refreshed by another meanwhile takes it (instead of presenting a spent token, which ends the session), and
    `labfleet logout` ends the session on the fleet manager and deletes the stored tokens."""
    from fleet_manager.cli.client import Client

    spec = tmp_path / "spec.yaml"
    spec.write_text("steps:\n  - go_to: lobby\n")
    r = labfleet("login", "--api", served, "--username", "ada", "--password-stdin", stdin=PASSWORD + "\n")
    assert r.exit_code == 0, r.output
    path = tmp_path / "config" / "labfleet" / "credentials.json"
    assert labfleet("mission", "submit", str(spec)).exit_code == 0
    expired = issue(JWT_SECRET, "ada", "access", 0, 60, now=time.time() - 3600)
    tokens = []
    for _ in range(3):  # each command refreshes with the refresh token the one before stored
        path.write_text(json.dumps({**json.loads(path.read_text()), "access_token": expired}))
        r = labfleet("mission", "status", "1")
        assert r.exit_code == 0 and "mission 1: queued" in r.output, r.output
        tokens.append(json.loads(path.read_text())["refresh_token"])
    assert len(set(tokens)) == 3

    path.write_text(json.dumps({**json.loads(path.read_text()), "access_token": expired}))
    first, second = Client(served), Client(served)  # two commands at once: both read the stored login
    second._resolve_token()
    assert first.mission(1)["id"] == 1  # refreshes and stores the next pair
    assert second.mission(1)["id"] == 1  # sent the expired token it loaded before: takes the stored pair
    assert second._token == first._token  # the pair the first stored
    assert labfleet("mission", "status", "1").exit_code == 0  # the session lives on

    stored = json.loads(path.read_text())
    r = labfleet("logout")
    assert r.exit_code == 0 and f"logged out of {served} (ada)" in r.output and "revoked" in r.output, r.output
    assert not path.exists()
    me = httpx.get(f"{served}/api/v1/auth/me", headers={"Authorization": f"Bearer {stored['access_token']}"})
    assert me.status_code == 401 and "access token revoked" in me.json()["detail"], me.text
    again = httpx.post(f"{served}/api/v1/auth/refresh", json={"refresh_token": stored["refresh_token"]})
    assert again.status_code == 401 and "refresh token revoked" in again.json()["detail"], again.text
    r = labfleet("logout")
    assert r.exit_code == 0 and "not logged in" in r.output, r.output

    r = labfleet("login", "--api", served, "--username", "ada", "--password-stdin", stdin=PASSWORD + "\n")
    stored = json.loads(path.read_text())
    ended = httpx.post(f"{served}/api/v1/auth/refresh", json={"refresh_token": stored["refresh_token"]})
    assert ended.status_code == 200  # someone else spent the stored refresh token: the session is revoked at
    path.write_text(json.dumps({**stored, "access_token": expired}))  # the CLI's next refresh
    r = labfleet("logout")
    assert r.exit_code == 0 and "the session had ended already" in r.output and not path.exists(), r.output
    stolen = httpx.get(f"{served}/api/v1/auth/me", headers={"Authorization": f"Bearer {ended.json()['access_token']}"})
    assert stolen.status_code == 401, stolen.text  # the thief's pair is refused too


def test_up_refuses_the_default_secret_outside_demo_mode(env: dict[str, Any]) -> None:
    r = labfleet("up", "--sim", "none")
    assert r.exit_code == 2 and "LABFLEET_JWT_SECRET is the built-in default" in r.output, r.output
    assert "labfleet up --demo" in r.output


def _run_demo(tmp_path: Path, port: int) -> tuple[list[str], subprocess.Popen[str]]:
    """`labfleet up --demo` (no simulator, no ROS) until its console line and the sign-in hint after it; its output
    so far, and the process."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LABFLEET_")}
    env |= {"LABFLEET_DATA_DIR": str(tmp_path), "LABFLEET_ROS_ENABLED": "false", "PYTHONUNBUFFERED": "1",
            "PATH": f"{VENV_BIN}:{env.get('PATH', '')}"}
    process = subprocess.Popen([str(Path(sys.executable).parent / "labfleet"), "up", "--demo", "--sim", "none",
                                "--port", str(port)], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               text=True, start_new_session=True)
    assert process.stdout is not None
    lines: list[str] = []
    for line in process.stdout:
        lines.append(line.rstrip())
        if "sign in as user admin" in line or "stopping" in line:
            return lines, process
    return lines, process


def test_make_demo_writes_a_generated_admin_password_to_a_private_file(tmp_path: Path) -> None:
    """Issue 19, acceptance 3: the output says where the password is (a 0600 file), never the password itself."""
    port = free_port()
    lines, process = _run_demo(tmp_path, port)
    try:
        kept_at = tmp_path / "admin-password"
        shown = [line for line in lines if f"LabFleet demo admin: user admin, its password is in {kept_at}" in line]
        assert len(shown) == 1 and shown[0].startswith("[manager"), "\n".join(lines)
        assert any(str(kept_at) in line for line in lines if "sign in as user admin" in line), "\n".join(lines)
        assert stat.S_IMODE(kept_at.stat().st_mode) == 0o600
        password = kept_at.read_text().strip()
        assert len(password) >= 12 and not [line for line in lines if password in line], "\n".join(lines)
        answer = httpx.post(f"http://127.0.0.1:{port}/api/v1/auth/token",
                            data={"username": "admin", "password": password})
        assert answer.status_code == 200 and answer.json()["role"] == "admin", answer.text
        token = answer.json()["access_token"]
    finally:
        stop_group(process, signal.SIGINT, timeout=30)
    secret = tmp_path / "jwt_secret"
    assert stat.S_IMODE(secret.stat().st_mode) == 0o600
    kept = secret.read_text()

    lines, process = _run_demo(tmp_path, port)  # again: the same secret (tokens still good), no new password
    try:
        assert not [line for line in lines if "LabFleet demo admin" in line or password in line], "\n".join(lines)
        assert kept_at.read_text().strip() == password
        me = httpx.get(f"http://127.0.0.1:{port}/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"})
        assert me.status_code == 200 and me.json()["username"] == "admin"
    finally:
        stop_group(process, signal.SIGINT, timeout=30)
    assert secret.read_text() == kept
