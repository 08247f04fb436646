"""Run `labfleet up` as a real child process for integration and browser tests, signed in as its admin.

`http.get(url, ...)` (and post, patch, put, delete) are httpx's functions with the token of the lab whose base URL
the address starts with: integration tests call a lab's API as `http.get(f"{lab.url}/api/v1/robots")`.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import socket
import subprocess
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import httpx

REPO = Path(__file__).resolve().parent.parent
# the lab's signing secret and its admin's password (created at start-up, the users table being empty)
JWT_SECRET = "labfleet-integration-test-secret-3f9c2a7d"
ADMIN_PASSWORD = "integration-admin-7c41e0"
_labs: dict[str, LabProcess] = {}  # base URL (scheme://host:port) -> the lab, for `http`


def telemetry_frames(text: str) -> list[dict[str, Any]]:
    """A telemetry frame as the tests read them: a robot_states frame as one robot_state frame per robot."""
    frame = json.loads(text)
    if frame.get("type") == "robot_states":
        return [{"type": "robot_state", **state} for state in frame["states"]]
    return [frame]


class LabHttp:
    """httpx's request functions with the bearer token of the lab whose base URL the address starts with; on a
    401 (the access token expired in a long test) the lab logs in again and the request is sent once more."""

    def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        lab = next((lab for base, lab in _labs.items() if url == base or url.startswith(base + "/")), None)
        if lab is None:
            raise ValueError(f"{url} is not the address of a lab this test started ({', '.join(_labs) or 'none'})")
        extra = kwargs.pop("headers", None) or {}
        if lab.token is None:
            lab.login()
        answer = httpx.request(method, url, headers={**lab.headers, **extra}, **kwargs)
        if answer.status_code == 401 and "authorization" not in {k.lower() for k in extra}:
            lab.login()
            answer = httpx.request(method, url, headers={**lab.headers, **extra}, **kwargs)
        return answer

    def get(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("GET", url, **kwargs)

    def post(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("POST", url, **kwargs)

    def patch(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("PATCH", url, **kwargs)

    def put(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("PUT", url, **kwargs)

    def delete(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("DELETE", url, **kwargs)


http = LabHttp()


TERMINAL = {"completed", "failed", "canceled"}


def run_deliveries(api: str, deliveries: tuple[tuple[str, str], ...] | list[tuple[str, str]], timeout: float,
                   hand_over: str = "unload", poll_s: float = 2.0) -> list[dict[str, Any]]:
    """Submit a delivery (go to the pickup, load, go to the dropoff, `hand_over`) for each (pickup, dropoff) on the
    lab's API at `api` (.../api/v1) and follow them until all have ended or `timeout` seconds have passed: the
    missions as last seen, in order."""
    ids = []
    for pickup, dropoff in deliveries:
        spec = {"steps": [{"go_to": pickup}, {"action": "load"}, {"go_to": dropoff}, {"action": hand_over}]}
        r = http.post(f"{api}/missions", json={"spec": spec}, timeout=10)
        assert r.status_code == 201, r.text
        ids.append(r.json()["id"])
    deadline, missions = time.monotonic() + timeout, []
    while time.monotonic() < deadline:
        missions = [http.get(f"{api}/missions/{i}", timeout=10).json() for i in ids]
        if all(m["status"] in TERMINAL for m in missions):
            break
        time.sleep(poll_s)
    return missions


_JWT = re.compile(r"eyJ[\w-]{8,}\.[\w-]{8,}\.[\w-]{8,}")
_TOKEN_PARAM = re.compile(r"(?i)token=(?!<redacted>)[^&\s\"']")


def login(url: str, username: str, password: str) -> dict[str, Any]:
    """POST /api/v1/auth/token (the OAuth2 password form) on the service at `url`: the token answer."""
    answer = httpx.post(f"{url}/api/v1/auth/token", data={"username": username, "password": password}, timeout=10)
    if answer.status_code != 200:
        raise AssertionError(f"login as {username} at {url}: {answer.status_code} {answer.text}")
    tokens: dict[str, Any] = answer.json()
    return tokens


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def processes_with_env(key: str, value: str) -> list[int]:
    """PIDs of live processes whose environment holds key=value (our ROS domain marks the lab's)."""
    needle = f"{key}={value}".encode()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            if needle in (entry / "environ").read_bytes().split(b"\0"):
                stat = (entry / "stat").read_text()
                if ") Z" not in stat:
                    found.append(int(entry.name))
        except OSError:
            continue
    return found


def child_pid(domain: str, marker: bytes, *arguments: bytes) -> int:
    """The lab's process (marked by its ROS domain) with an argument ending with `marker` and each of
    `arguments` as an argument of its own; AssertionError when there is none."""
    for pid in processes_with_env("ROS_DOMAIN_ID", domain):
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if any(part.endswith(marker) for part in cmdline) and all(a in cmdline for a in arguments):
            return pid
    raise AssertionError(f"no process of the lab runs {b' '.join((marker, *arguments)).decode()}")


def stop_group(proc: subprocess.Popen[Any], sig: int = signal.SIGTERM, timeout: float = 10.0) -> None:
    """Stop a child started in a process group of its own: `sig` to the group, SIGKILL after `timeout` s."""
    os.killpg(proc.pid, sig)
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


class LabProcess:
    def __init__(self, env: dict[str, str], data_dir: Path, robots: int | None = None,
                 extra: tuple[str, ...] = (), database_url: str | None = None) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {"LABFLEET_JWT_SECRET": JWT_SECRET, "LABFLEET_ADMIN_PASSWORD": ADMIN_PASSWORD,
                    # VDA 5050 topics of its own unless the test names them (it clears what it left retained)
                    "LABFLEET_VDA5050_INTERFACE": f"uagv_lab{uuid.uuid4().hex[:8]}"} | env | {
            "LABFLEET_DATA_DIR": str(data_dir),
            "LABFLEET_DATABASE_URL": database_url or f"sqlite:///{data_dir / 'lab.db'}"}
        self.domain = env["ROS_DOMAIN_ID"]
        self.lines: list[str] = []
        self.token: str | None = None
        self.refresh_token: str | None = None
        self.headers: dict[str, str] = {}
        _labs[self.url] = self
        argv = [str(REPO / ".venv/bin/labfleet"), "up", "--port", str(self.port)]
        if robots:
            argv += ["--robots", str(robots)]
        argv += list(extra)
        self.proc = subprocess.Popen(argv, env=self.env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                     cwd=REPO, start_new_session=True)
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for raw in iter(self.proc.stdout.readline, b""):
            self.lines.append(raw.decode(errors="replace").rstrip())

    def output(self) -> str:
        return "\n".join(self.lines[-80:])

    def credentials_in_output(self, passwords: tuple[str, ...] = ()) -> list[str]:
        """The lines of the lab's output (every process it supervises) and of every log file under its data
        directory that show a credential: a JWT, the value of a `token=` parameter that is not redacted, the admin's
        password or one of `passwords`."""
        secrets = (self.env["LABFLEET_ADMIN_PASSWORD"], *passwords)
        lines = list(self.lines)
        for log in Path(self.env["LABFLEET_DATA_DIR"]).rglob("*.log"):
            lines += log.read_text(encoding="utf-8", errors="replace").splitlines()
        return [line for line in lines
                if _JWT.search(line) or _TOKEN_PARAM.search(line) or any(s in line for s in secrets)]

    def login(self, username: str = "admin", password: str | None = None) -> dict[str, Any]:
        """Logs in (as the lab's admin unless told otherwise); the admin's tokens are kept in `token`,
        `refresh_token` and `headers`. Returns the token answer."""
        tokens = login(self.url, username, password if password is not None else self.env["LABFLEET_ADMIN_PASSWORD"])
        if username == "admin":
            self.token, self.refresh_token = tokens["access_token"], tokens["refresh_token"]
            self.headers = {"Authorization": f"Bearer {self.token}"}
        return tokens

    def client(self, timeout: float = 10.0) -> httpx.Client:
        """An httpx client on the lab's API (base URL .../api/v1) with a fresh admin token."""
        self.login()
        return httpx.Client(base_url=f"{self.url}/api/v1", headers=self.headers, timeout=timeout)

    def ws_url(self, path: str = "/api/v1/ws/telemetry") -> str:
        """The websocket address of `path` with a fresh admin token (a websocket has no header to carry it)."""
        self.login()
        return f"ws://127.0.0.1:{self.port}{path}?token={self.token}"

    def wait_ready(self, robots: int, timeout: float = 90.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"labfleet up exited with {self.proc.returncode}:\n{self.output()}")
            if any("LabFleet console: " + self.url in line for line in self.lines):
                try:
                    if self.token is None:
                        self.login()
                    listed = httpx.get(f"{self.url}/api/v1/robots", headers=self.headers, timeout=2).json()
                except httpx.TransportError:
                    listed = []
                if len([r for r in listed if r["mode"] in ("idle", "charging")]) >= robots:
                    return
            time.sleep(0.5)
        raise AssertionError(f"the lab was not ready with {robots} idle robots in {timeout} s:\n{self.output()}")

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=40)  # the supervisor gives each child 5 s; a loaded machine is slow
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        # whatever is left of this lab (marked by its ROS domain) is killed, so a failed test leaks nothing
        leftovers = processes_with_env("ROS_DOMAIN_ID", self.domain)
        for pid in leftovers:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        self.leftovers = leftovers
        return self.proc.returncode
