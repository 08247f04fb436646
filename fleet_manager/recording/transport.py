"""How batches of recorded items reach the sink: a child process over a pipe, or the shipper thread itself."""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import pickle
import struct
import subprocess
import sys
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from fleet_manager.recording.sink import McapSink

Batch = tuple[list[tuple[Any, ...]], ...]
FRAME = struct.Struct("<I")  # length prefix of a pickled frame on the writer process's stdin
_PACKAGE_ROOT = Path(__file__).resolve().parents[2]
PIPE_BYTES = 1 << 20


def pack_frame(obj: Any) -> bytes:
    data = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
    return FRAME.pack(len(data)) + data


def write_frame(out: IO[bytes], obj: Any) -> None:
    out.write(pack_frame(obj))
    out.flush()


def read_frame(inp: IO[bytes]) -> Any:
    """The next pickled frame from our parent; None at end of input (closed, or the parent is gone)."""
    head = inp.read(FRAME.size)
    if len(head) < FRAME.size:
        return None
    (size,) = FRAME.unpack(head)
    data = inp.read(size)
    if len(data) < size:
        return None
    return pickle.loads(data)  # trusted: frames come from the process that started us


class Transport(Protocol):
    def send(self, batch: Batch) -> None:
        """Called from the shipper thread only; raises OSError when the writer is gone."""

    def close(self, timeout_s: float) -> dict[str, Any]:
        """Finish the recording; the sink's figures (McapSink.close), with "error" on failure."""


class ThreadTransport:
    """Writes from the shipper thread; the sink (and rosbags' typestore) is built there, not in the caller."""

    def __init__(self, config: dict[str, Any]) -> None:
        self._config = config
        self._sink: McapSink | None = None
        self._error: str | None = None

    def _open(self) -> McapSink:
        if self._sink is None:
            from fleet_manager.recording.sink import McapSink

            c = self._config
            self._sink = McapSink(Path(c["bag_dir"]), c["metadata"], compression=c["compression"],
                                  chunk_size=c["chunk_size"])
        return self._sink

    def send(self, batch: Batch) -> None:
        try:
            self._open().write(*batch)
        except OSError as exc:
            self._error = str(exc)
            raise

    def close(self, timeout_s: float) -> dict[str, Any]:
        try:
            return self._open().close(self._error)
        except OSError as exc:
            return {"error": f"finishing the recording failed: {exc}"}


class ProcessTransport:
    def __init__(self, config: dict[str, Any]) -> None:
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (str(_PACKAGE_ROOT), env.get("PYTHONPATH")) if p)
        self._proc = subprocess.Popen([sys.executable, "-m", "fleet_manager.recording.sink"], env=env,
                                      stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        assert self._proc.stdin is not None
        # a big pipe: the shipper blocks (and takes the GIL back from the event loop) once per PIPE_BYTES written
        # while the writer lags, not once per 64 KiB
        with contextlib.suppress(OSError, AttributeError):  # capped by /proc/sys/fs/pipe-max-size; Linux only
            fcntl.fcntl(self._proc.stdin.fileno(), fcntl.F_SETPIPE_SZ, PIPE_BYTES)
        if config.get("nice"):  # from its first instruction (its imports take a while); no preexec_fn: threads
            with contextlib.suppress(OSError):
                niceness = min(19, os.getpriority(os.PRIO_PROCESS, 0) + config["nice"])
                os.setpriority(os.PRIO_PROCESS, self._proc.pid, niceness)
        write_frame(self._proc.stdin, config)

    @property
    def pid(self) -> int:
        return self._proc.pid

    def send(self, batch: Batch) -> None:
        assert self._proc.stdin is not None
        write_frame(self._proc.stdin, batch)  # blocks while the pipe is full: in the shipper thread

    @property
    def fd(self) -> int:
        """The pipe to the writer, for the recorder's non-blocking writes from the event loop."""
        assert self._proc.stdin is not None
        return self._proc.stdin.fileno()

    def write_all(self, data: bytes | memoryview) -> None:
        """Blocking (the pipe is back in blocking mode): the rest of a frame the event loop had begun."""
        view = memoryview(data)
        while view:
            view = view[os.write(self.fd, view):]

    def close(self, timeout_s: float) -> dict[str, Any]:
        try:
            out, _ = self._proc.communicate(timeout=timeout_s)  # closes its stdin: the end of the recording
        except subprocess.TimeoutExpired:
            self._proc.terminate()  # SIGTERM: the writer stops reading and still finishes the file
            try:
                out, _ = self._proc.communicate(timeout=10)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.communicate()
                out = b""
            return {**self._figures(out), "error": f"the writer process did not finish within {timeout_s} s"}
        return self._figures(out)

    def _figures(self, out: bytes) -> dict[str, Any]:
        try:
            return dict(json.loads(out))
        except ValueError:
            return {"error": f"the writer process exited with code {self._proc.returncode} and no figures"}
