"""Hardening (issue 19, items 4 and 5): the security headers of every response (the API, the console, the pilot
report); `python -m fleet_manager` (what `labfleet up` runs) on real sockets closing slow and idle clients and
connections over the per-address limit while /health keeps answering, its log not flooded; its files private."""

from __future__ import annotations

import contextlib
import os
import re
import socket
import stat
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

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
def fleet_manager(tmp: Path, **settings: str) -> Iterator[Server]:
    """`python -m fleet_manager` on a free port of 127.0.0.1 (no ROS), its output in tmp/server.log."""
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
        process = subprocess.Popen([sys.executable, "-m", "fleet_manager", "--port", str(port)], cwd=REPO, env=env,
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


def test_connections_over_the_per_address_limit_are_closed_while_health_answers(tmp_path):
    with fleet_manager(tmp_path, header_timeout_s="120", max_connections_per_address="20") as server:
        flood = [_connect(server, FLOOD_FROM) for _ in range(300)]
        try:
            deadline = time.monotonic() + CLOSED_WITHIN_S
            open_ = list(flood)
            while len(open_) > 20 and time.monotonic() < deadline:
                open_ = [sock for sock in open_ if not _closed(sock)]
            assert len(open_) == 20, f"{len(open_)} of 300 idle connections still open"
            assert server.health() == 200  # from another address
            with _connect(server, FLOOD_FROM) as another:  # one more from the flooding address: closed at once
                deadline = time.monotonic() + CLOSED_WITHIN_S
                while not _closed(another):
                    assert time.monotonic() < deadline, "a connection over the limit stayed open"
        finally:
            for sock in flood:
                sock.close()
        deadline = time.monotonic() + CLOSED_WITHIN_S  # the 20 closed: that address is served again
        while True:
            with _connect(server, FLOOD_FROM) as sock:
                sock.sendall(b"GET /api/v1/health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                sock.settimeout(10)
                if sock.recv(4096).startswith(b"HTTP/1.1 200"):
                    break
            assert time.monotonic() < deadline, "the address is not served again after its connections closed"
            time.sleep(0.2)
        assert server.log.stat().st_size < 1_000_000
