"""Run `labfleet up` as a real child process for integration and browser tests."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import threading
import time
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parent.parent


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


class LabProcess:
    def __init__(self, env: dict[str, str], data_dir: Path, robots: int | None = None,
                 extra: tuple[str, ...] = ()) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = env | {"LABFLEET_DATA_DIR": str(data_dir),
                          "LABFLEET_DATABASE_URL": f"sqlite:///{data_dir / 'lab.db'}"}
        self.domain = env["ROS_DOMAIN_ID"]
        self.lines: list[str] = []
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

    def wait_ready(self, robots: int, timeout: float = 90.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"labfleet up exited with {self.proc.returncode}:\n{self.output()}")
            if any("LabFleet console: " + self.url in line for line in self.lines):
                try:
                    listed = httpx.get(f"{self.url}/api/v1/robots", timeout=2).json()
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
