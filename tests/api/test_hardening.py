"""Hardening (issue 19, items 4 and 5): the security headers of every response (the API, the console, the pilot
report); `python -m fleet_manager` (what `labfleet up` runs) on real sockets closing slow and idle clients and
connections over the per-address limit while /health keeps answering, its log not flooded; its files private; a
user over its limit of requests in progress refused (429) while others are served; /health answering while a
thousand idle connections and 500 websocket clients are open."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import resource
import socket
import stat
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets

from fleet_manager.http_headers import script_hash
from tests.api.test_pilots import API, make_pilot
from tests.lab_process import free_port

REPO = Path(__file__).resolve().parents[2]
FLOOD_FROM = "127.0.0.2"  # the clients that hold connections: another address than the test's own requests
CLOSED_WITHIN_S = 30.0


def _csp(headers: httpx.Headers) -> dict[str, list[str]]:
    policy = headers["content-security-policy"]
    return {d.split()[0]: d.split()[1:] for d in (x.strip() for x in policy.split(";")) if d}


def _assert_security_headers(headers: httpx.Headers) -> dict[str, list[str]]:
    assert headers["x-frame-options"] == "DENY" and headers["x-content-type-options"] == "nosniff"
    assert headers["referrer-policy"] in ("no-referrer", "strict-origin")
    csp = _csp(headers)
    assert "'self'" in csp["script-src"] and not {"'unsafe-inline'", "'unsafe-eval'", "*"} & set(csp["script-src"])
    assert csp["frame-ancestors"] == ["'none'"] and {"'self'", "ws:", "wss:"} <= set(csp["connect-src"])
    return csp


def _executable_scripts(page: str) -> list[str]:
    """The text of every inline script the browser runs (not data blocks: type application/json)."""
    scripts = re.findall(r"<script\b([^>]*)>(.*?)</script>", page, re.S | re.I)
    return [text for attrs, text in scripts
            if "src=" not in attrs and not re.search(r'type="(?!text/javascript|module)', attrs)]


def test_every_response_carries_the_security_headers(client):
    health = client.get(f"{API}/health")
    assert health.status_code == 200
    _assert_security_headers(health.headers)
    refused = client.get(f"{API}/robots", headers={"Authorization": "Bearer nonsense"})
    assert refused.status_code == 401
    _assert_security_headers(refused.headers)

    console = client.get("/")
    assert console.status_code == 200 and 'id="ws-status"' in console.text, console.text[:200]  # the built console
    _assert_security_headers(console.headers)
    assert _executable_scripts(console.text) == []  # its scripts are files: 'self'

    pilot = make_pilot(client)
    report = client.get(f"{API}/pilots/{pilot['id']}/report")
    assert report.status_code == 200 and 'id="chart-site-map"' in report.text
    csp = _assert_security_headers(report.headers)
    scripts = _executable_scripts(report.text)
    assert len(scripts) == 2 and "Plotly.newPlot" in scripts[1]  # plotly.js, then what draws the 4 charts
    assert {script_hash(text) for text in scripts} <= set(csp["script-src"])
    # the console opens the report as a blob: URL, which keeps the console's policy: it names the same scripts
    assert _csp(console.headers)["script-src"] == csp["script-src"]


# -- python -m fleet_manager on real sockets ------------------------------------------------------------------

class Server:
    def __init__(self, url: str, data_dir: Path, log: Path, process: subprocess.Popen[bytes]) -> None:
        self.url, self.data_dir, self.log, self.process = url, data_dir, log, process
        self.port = int(url.rsplit(":", 1)[1])

    def health(self) -> int:
        return httpx.get(f"{self.url}/api/v1/health", timeout=10).status_code

    def output(self) -> str:
        return self.log.read_text(errors="replace")[-4000:]


@contextlib.contextmanager
def fleet_manager(tmp: Path, http: str = "httptools", **settings: str) -> Iterator[Server]:
    """`python -m fleet_manager --http HTTP` on a free port of 127.0.0.1 (no ROS), its output in tmp/server.log."""
    data_dir = tmp / "data"
    env = {k: v for k, v in os.environ.items() if not k.startswith("LABFLEET_")}
    env |= {"LABFLEET_DATA_DIR": str(data_dir), "LABFLEET_DATABASE_URL": f"sqlite:///{data_dir / 'labfleet.db'}",
            "LABFLEET_ROS_ENABLED": "false", "LABFLEET_ENVIRONMENT": "test",
            "LABFLEET_JWT_SECRET": "hardening-test-secret-0123456789abcdef",
            "LABFLEET_VDA5050_INTERFACE": f"uagv_h{uuid.uuid4().hex[:8]}"}
    env |= {f"LABFLEET_{name.upper()}": value for name, value in settings.items()}
    port = free_port()
    log = tmp / "server.log"
    with log.open("wb") as out:
        process = subprocess.Popen([sys.executable, "-m", "fleet_manager", "--port", str(port), "--http", http],
                                   cwd=REPO, env=env,
                                   stdout=out, stderr=subprocess.STDOUT)
    server = Server(f"http://127.0.0.1:{port}", data_dir, log, process)
    try:
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None, server.output()
            assert time.monotonic() < deadline, f"the fleet manager did not start\n{server.output()}"
            with contextlib.suppress(httpx.TransportError):
                if server.health() == 200:
                    break
            time.sleep(0.2)
        yield server
    finally:
        process.terminate()
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _connect(server: Server, source: str = "127.0.0.1") -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind((source, 0))
    sock.connect(("127.0.0.1", server.port))
    return sock


def _closed(sock: socket.socket) -> bool:
    """Whether the server closed `sock` (end of file or reset); waits 0.05 s at most."""
    sock.settimeout(0.05)
    try:
        return sock.recv(4096) == b""  # (a server that answers something is not closing)
    except TimeoutError:
        return False
    except OSError:
        return True


@pytest.fixture(scope="module")
def loose_files(tmp_path_factory) -> Path:
    """A data directory an earlier version left readable to everyone: the directory, its database, a recording."""
    tmp = tmp_path_factory.mktemp("hardening")
    data = tmp / "data"
    (data / "recordings" / "mission-1").mkdir(parents=True)
    (data / "labfleet.db").touch()  # an empty file is an empty SQLite database: migrated at start-up
    (data / "recordings" / "mission-1" / "mission-1_0.mcap").write_bytes(b"\x89MCAP0\r\n")
    for path in (data, data / "recordings", data / "recordings" / "mission-1"):
        path.chmod(0o755)
    for path in (data / "labfleet.db", data / "recordings" / "mission-1" / "mission-1_0.mcap"):
        path.chmod(0o644)
    return tmp


@pytest.fixture(scope="module")
def quick_server(loose_files) -> Iterator[Server]:
    """A request head must be complete within 3 s; 20 connections per address."""
    with fleet_manager(loose_files, header_timeout_s="3", max_connections_per_address="20") as server:
        yield server


def test_a_slow_loris_and_an_idle_connection_are_closed_while_health_answers(quick_server):
    head = b"GET /api/v1/health HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 40
    loris, idle = _connect(quick_server), _connect(quick_server)  # one byte every 2 s / nothing at all
    closed: dict[str, float] = {}
    started = time.monotonic()
    for byte in head:
        with contextlib.suppress(OSError):
            loris.sendall(bytes([byte]))
        for name, sock in (("loris", loris), ("idle", idle)):
            if name not in closed and _closed(sock):
                closed[name] = time.monotonic() - started
        if len(closed) == 2 or time.monotonic() - started > CLOSED_WITHIN_S:
            break
        assert quick_server.health() == 200  # the server answers others meanwhile
        time.sleep(2)
    loris.close()
    idle.close()
    assert set(closed) == {"loris", "idle"}, f"open after {CLOSED_WITHIN_S:g} s: {closed}"
    assert max(closed.values()) <= CLOSED_WITHIN_S, closed
    assert quick_server.health() == 200


def test_repeated_warnings_do_not_flood_the_log(quick_server):
    for _ in range(300):  # each one a warning of uvicorn's: "Invalid HTTP request received."
        with _connect(quick_server) as sock:
            sock.sendall(b"NOT HTTP AT ALL\r\n\r\n")
            sock.settimeout(5)
            with contextlib.suppress(OSError):
                while sock.recv(4096):
                    pass
    assert quick_server.health() == 200
    log = quick_server.log.read_text(errors="replace")
    invalid = [line for line in log.splitlines() if "Invalid HTTP request received" in line]
    assert 1 <= len(invalid) <= 25, f"{len(invalid)} lines:\n{quick_server.output()}"
    assert any("suppressed" in line for line in invalid), invalid[-3:]
    assert quick_server.log.stat().st_size < 1_000_000


def test_files_are_private_after_start_up(quick_server):
    data = quick_server.data_dir
    assert quick_server.health() == 200  # (the database in use: its WAL files exist)
    modes = {path.relative_to(data.parent).as_posix(): stat.S_IMODE(path.stat().st_mode)
             for path in [data, *data.rglob("*")] if not path.is_symlink()}
    assert "data/labfleet.db-wal" in modes, modes
    loose = {name: oct(mode) for name, mode in modes.items() if mode & 0o077}
    assert not loose, loose
    for name, mode in modes.items():
        assert mode == (0o700 if (data.parent / name).is_dir() else 0o600), (name, oct(mode))


# -- one server for many connections and users: the per-address and per-user limits, a crowd ----------------------
ADMIN_PASSWORD = "hardening-admin-password-4f1e"
PER_USER = 2  # LABFLEET_MAX_REQUESTS_PER_USER of `crowded`
IDLE, WEBSOCKETS, STREAMS_PER_VIEWER = 1000, 500, 250  # (two viewers: each login and user costs an argon2 hash)
PER_ADDRESS = 20  # LABFLEET_MAX_CONNECTIONS_PER_ADDRESS of `crowded`: the crowd comes from 50 + 25 loopback addresses
HELD_BODY = 1000  # bytes announced by a held request, of which it sends one until it is released


@pytest.fixture(scope="module")
def crowded(tmp_path_factory) -> Iterator[Server]:
    """A server whose idle connections stay open (request heads may take 120 s), 20 connections per address, 250
    live streams and 2 requests in progress per user; the descriptors for a crowd (this process's soft limit
    raised towards its hard one: the server inherits it)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    need = 4 * (IDLE + WEBSOCKETS)  # (this process holds one end of each connection, the server the other)
    if hard != resource.RLIM_INFINITY and hard < need:
        pytest.skip(f"the crowd needs {need} open files; the hard limit (ulimit -Hn) is {hard}")
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, need) if hard == resource.RLIM_INFINITY
                                                else max(soft, min(need, hard)), hard))
    try:
        with fleet_manager(tmp_path_factory.mktemp("crowded"), header_timeout_s="120",
                           max_connections_per_address=str(PER_ADDRESS), max_requests_per_user=str(PER_USER),
                           max_websockets_per_user=str(STREAMS_PER_VIEWER),
                           admin_password=ADMIN_PASSWORD) as server:
            yield server
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def test_connections_over_the_per_address_limit_are_closed_while_health_answers(crowded):
    log_before = crowded.log.stat().st_size
    flood = [_connect(crowded, FLOOD_FROM) for _ in range(300)]
    try:
        deadline = time.monotonic() + CLOSED_WITHIN_S
        open_ = list(flood)
        while len(open_) > PER_ADDRESS and time.monotonic() < deadline:
            open_ = [sock for sock in open_ if not _closed(sock)]
        assert len(open_) == PER_ADDRESS, f"{len(open_)} of 300 idle connections still open"
        assert crowded.health() == 200  # from another address
        with _connect(crowded, FLOOD_FROM) as another:  # one more from the flooding address: closed at once
            deadline = time.monotonic() + CLOSED_WITHIN_S
            while not _closed(another):
                assert time.monotonic() < deadline, "a connection over the limit stayed open"
    finally:
        for sock in flood:
            sock.close()
    deadline = time.monotonic() + CLOSED_WITHIN_S  # the 20 closed: that address is served again
    while True:
        with _connect(crowded, FLOOD_FROM) as sock:
            sock.sendall(b"GET /api/v1/health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            sock.settimeout(10)
            if sock.recv(4096).startswith(b"HTTP/1.1 200"):
                break
        assert time.monotonic() < deadline, "the address is not served again after its connections closed"
        time.sleep(0.2)
    assert crowded.log.stat().st_size - log_before < 1_000_000


def _login(server: Server, username: str, password: str) -> dict[str, str]:
    answer = httpx.post(f"{server.url}{API}/auth/token", data={"username": username, "password": password},
                        timeout=10)
    assert answer.status_code == 200, answer.text
    return {"Authorization": f"Bearer {answer.json()['access_token']}"}


def _viewer(server: Server, admin: dict[str, str], name: str) -> dict[str, str]:
    password = f"{name}-password-0"
    made = httpx.post(f"{server.url}{API}/users", headers=admin, timeout=10,
                      json={"username": name, "password": password, "role": "viewer", "sites": ["*"]})
    assert made.status_code == 201, made.text
    return _login(server, name, password)


def _held_request(server: Server, headers: dict[str, str]) -> socket.socket:
    """A POST whose body arrives slowly: its head and one byte of its JSON sent; the endpoint is reading the rest."""
    sock = _connect(server)
    head = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    sock.sendall(f"POST {API}/pilots HTTP/1.1\r\nHost: x\r\n{head}Content-Type: application/json\r\n"
                 f"Content-Length: {HELD_BODY}\r\n\r\n{{".encode())
    return sock


def _release(sock: socket.socket) -> bytes:
    """The rest of a held request's body (an empty JSON object, padded): the first line of its answer."""
    sock.sendall(b" " * (HELD_BODY - 2) + b"}")
    sock.settimeout(10)
    answer = b""
    while b"\r\n" not in answer and (chunk := sock.recv(4096)):
        answer += chunk
    return answer.split(b"\r\n", 1)[0]


def test_a_user_over_the_limit_of_requests_in_progress_is_429_while_others_are_served(crowded):
    admin = _login(crowded, "admin", ADMIN_PASSWORD)
    viewer = _viewer(crowded, admin, "ada")
    held = [_held_request(crowded, admin) for _ in range(PER_USER)]
    try:
        deadline = time.monotonic() + 10  # (until the server has read both heads: at most 3 of the admin's at once)
        while (over := httpx.get(f"{crowded.url}{API}/auth/me", headers=admin, timeout=10)).status_code != 429:
            assert over.status_code == 200, over.text
            assert time.monotonic() < deadline, "a third request of the admin was served while two were in progress"
            time.sleep(0.05)
        problem = over.json()
        assert (problem["code"], problem["status"]) == ("too_many_concurrent_requests", 429), problem
        assert f"{PER_USER} requests in progress" in problem["detail"] and over.headers["retry-after"] == "1"
        assert over.headers["content-type"] == "application/problem+json"
        me = httpx.get(f"{crowded.url}{API}/auth/me", headers=viewer, timeout=10)  # another user: served
        assert me.status_code == 200 and me.json()["username"] == "ada", me.text
        assert httpx.get(f"{crowded.url}{API}/health", timeout=10).status_code == 200  # no token: not counted
        # the held requests were being served all along: each gets the answer to its (empty) pilot
        assert [_release(sock) for sock in held] == [b"HTTP/1.1 422 Unprocessable Entity"] * PER_USER
    finally:
        for sock in held:
            sock.close()
    again = httpx.get(f"{crowded.url}{API}/auth/me", headers=admin, timeout=10)  # their slots are free again
    assert again.status_code == 200, again.text


class Crowd:
    """IDLE TCP connections that send nothing and WEBSOCKETS signed-in telemetry clients, from loopback addresses
    other than the test's own (PER_ADDRESS each: 127.0.0.10-59 and 127.0.1.0-24), held by an event loop in a
    thread of their own; each client's frames counted."""

    def __init__(self, server: Server, tokens: list[str]) -> None:
        self.server, self.tokens = server, tokens
        self.frames = [0] * WEBSOCKETS
        self.ended: list[str] = []  # the websockets that stopped, and why
        self.idle: list[asyncio.StreamReader] = []
        self.error: BaseException | None = None
        self._ready = threading.Event()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_until_complete, args=(self._run(),), name="crowd")

    def __enter__(self) -> Crowd:
        self._thread.start()
        ready = self._ready.wait(60)
        if not ready or self.error is not None:
            self.__exit__()
            raise AssertionError(f"the crowd did not connect: {self.error!r}" if ready else "the crowd did not "
                                 "connect in 60 s")
        return self

    def __exit__(self, *_: object) -> None:
        self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(30)
        assert not self._thread.is_alive(), "the crowd did not stop"
        self._loop.close()

    def idle_closed(self) -> int:
        return sum(reader.at_eof() for reader in self.idle)

    async def _run(self) -> None:
        self._stop = asyncio.Event()
        writers: list[asyncio.StreamWriter] = []
        sockets: list[Any] = []
        readers: list[asyncio.Task[None]] = []
        try:
            for i in range(IDLE):
                reader, writer = await asyncio.open_connection(
                    "127.0.0.1", self.server.port, local_addr=(f"127.0.0.{10 + i // PER_ADDRESS}", 0))
                self.idle.append(reader)
                writers.append(writer)
            url = f"ws://127.0.0.1:{self.server.port}{API}/ws/telemetry"
            opened = await asyncio.gather(*(websockets.connect(
                url, local_addr=(f"127.0.1.{i // PER_ADDRESS}", 0), open_timeout=30, compression=None,
                subprotocols=["labfleet.bearer", self.tokens[i // STREAMS_PER_VIEWER]])
                for i in range(WEBSOCKETS)), return_exceptions=True)
            sockets = [ws for ws in opened if not isinstance(ws, BaseException)]
            failed = [ws for ws in opened if isinstance(ws, BaseException)]
            if failed:
                raise failed[0]
            readers = [asyncio.create_task(self._read(i, ws)) for i, ws in enumerate(sockets)]
        except Exception as exc:  # (__enter__ reports it)
            self.error = exc
        self._ready.set()
        if self.error is None:
            await self._stop.wait()
        for task in readers:
            task.cancel()
        await asyncio.gather(*(ws.close() for ws in sockets), return_exceptions=True)
        for writer in writers:
            writer.close()

    async def _read(self, i: int, ws: Any) -> None:
        try:
            async for _ in ws:
                self.frames[i] += 1
            self.ended.append(f"{i}: closed {ws.close_code} {ws.close_reason}")
        except websockets.ConnectionClosed as closed:
            self.ended.append(f"{i}: {closed!r}")


def test_health_answers_while_a_thousand_idle_connections_and_500_websockets_are_open(crowded):
    """Issue 19, acceptance 4 (the behaviour; bench/hardening.py measures the latency): every /health probe is
    answered 200, every idle connection and websocket stays open and every websocket goes on receiving, the log
    grows by less than 1 MB."""
    admin = _login(crowded, "admin", ADMIN_PASSWORD)
    tokens = [_viewer(crowded, admin, f"watcher{i}")["Authorization"].removeprefix("Bearer ")
              for i in range(WEBSOCKETS // STREAMS_PER_VIEWER)]
    places = [p["name"] for p in httpx.get(f"{crowded.url}{API}/sites/living_lab/map", headers=admin,
                                           timeout=10).json()["places"]]
    log_before = crowded.log.stat().st_size
    with Crowd(crowded, tokens) as crowd:
        deadline = time.monotonic() + 10  # (each stream is counted once its token is checked, after the handshake)
        while (streams := httpx.get(f"{crowded.url}{API}/health", timeout=10).json()["websocket_clients"]) \
                < WEBSOCKETS:
            assert time.monotonic() < deadline, f"{streams} of {WEBSOCKETS} websocket clients streaming"
            time.sleep(0.2)
        start = list(crowd.frames)
        answers, events = [], 0
        for probe in range(40):
            answers.append(httpx.get(f"{crowded.url}{API}/health", timeout=10).status_code)
            if probe % 10 == 0:  # a mission submitted and canceled: two events every websocket client is sent
                mission = httpx.post(f"{crowded.url}{API}/missions", headers=admin, timeout=10,
                                     json={"spec": {"steps": [{"go_to": places[1]}]}})
                assert mission.status_code == 201, mission.text
                canceled = httpx.post(f"{crowded.url}{API}/missions/{mission.json()['id']}/cancel", headers=admin,
                                      timeout=10)
                assert canceled.status_code == 200, canceled.text
                events += 2
            time.sleep(0.05)
        deadline = time.monotonic() + 10  # (the last events on their way)
        while (behind := sum(now - then < events for now, then in zip(crowd.frames, start, strict=True))) > 0:
            assert time.monotonic() < deadline, f"{behind} websocket clients did not receive every event"
            time.sleep(0.2)
        assert answers == [200] * 40, answers
        assert crowd.ended == [], crowd.ended[:5]
        assert crowd.idle_closed() == 0
    assert crowded.log.stat().st_size - log_before < 1_000_000
