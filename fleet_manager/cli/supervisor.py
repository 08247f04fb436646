"""A small process supervisor: children in their own process groups, output prefixed, deaths reported,
everything stopped on Ctrl-C (SIGTERM first, SIGKILL after a grace period).

A child that dies is restarted (`restart`, up to MAX_RESTARTS times), or reported and left dead; only a
`critical` one makes `poll` answer it, so that the caller stops the rest."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import IO, TextIO

GRACE_S = 5.0
MAX_RESTARTS = 5


@dataclass
class Child:
    name: str
    argv: list[str]
    critical: bool
    process: subprocess.Popen[bytes]
    env: dict[str, str] = field(default_factory=dict, repr=False)
    restart: bool = False  # started again when it dies (up to MAX_RESTARTS times)
    restarts: int = 0
    on_death: str = ""  # what its death means, said with the report
    reported: bool = False
    ready_line: str = ""  # a line of its output that says it serves (`ready` once seen, since its last start)
    ready: bool = False
    pump: threading.Thread | None = field(default=None, repr=False)


class Supervisor:
    def __init__(self, out: TextIO = sys.stdout) -> None:
        self.children: list[Child] = []
        self._out = out
        self._lock = threading.Lock()
        width = 12
        self._width = width

    def say(self, text: str) -> None:
        self._line("labfleet", text)

    def _line(self, name: str, text: str) -> None:
        with self._lock:
            self._out.write(f"[{name:<{self._width}}] {text}\n")
            self._out.flush()

    def start(self, name: str, argv: Sequence[str], env: dict[str, str], *, critical: bool = False,
              restart: bool = False, on_death: str = "", ready_line: str = "") -> Child:
        child = Child(name, list(argv), critical, self._spawn(name, argv, env), dict(env), restart,
                      on_death=on_death, ready_line=ready_line)
        self._pump_output(child)
        self.children.append(child)
        return child

    def _spawn(self, name: str, argv: Sequence[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            list(argv), env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            start_new_session=True,
        )

    def _pump_output(self, child: Child) -> None:
        assert child.process.stdout is not None
        child.ready = False
        child.pump = threading.Thread(target=self._pump, args=(child, child.process.stdout), daemon=True)
        child.pump.start()

    def _pump(self, child: Child, stream: IO[bytes]) -> None:
        for raw in iter(stream.readline, b""):
            line = raw.decode(errors="replace").rstrip()
            if child.ready_line and child.ready_line in line:
                child.ready = True
            self._line(child.name, line)

    def poll(self) -> Child | None:
        """Report children that died since the last poll; returns a dead critical child, if any."""
        dead_critical = None
        for child in self.children:
            code = child.process.poll()
            if code is not None and not child.reported:
                if child.restart and child.restarts < MAX_RESTARTS:
                    child.restarts += 1
                    self.say(f"{child.name} exited with code {code}: restarting it "
                             f"({child.restarts} of {MAX_RESTARTS})")
                    _signal_group(child.process, signal.SIGKILL)  # whatever it left in its group
                    child.process = self._spawn(child.name, child.argv, child.env)
                    self._pump_output(child)
                    continue
                child.reported = True
                self.say(f"{child.name} exited with code {code}" + (" (critical)" if child.critical else "")
                         + (f": {child.on_death}" if child.on_death else ""))
                if child.critical:
                    dead_critical = child
        return dead_critical

    def stop(self) -> None:
        self.poll()  # report what died on its own before the shutdown
        alive = [c for c in self.children if c.process.poll() is None]
        for child in alive:
            child.reported = True  # stopped by us: not a death to report
        for child in alive:
            _signal_group(child.process, signal.SIGTERM)
        deadline = time.monotonic() + GRACE_S
        for child in alive:
            try:
                child.process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                self.say(f"{child.name} did not stop in {GRACE_S:g} s: killing it")
        for child in self.children:
            _signal_group(child.process, signal.SIGKILL)  # leftovers in each group, if any
            child.process.wait()
            if child.pump is not None:
                child.pump.join(timeout=1)


def _signal_group(process: subprocess.Popen[bytes], sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, sig)
