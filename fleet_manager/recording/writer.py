"""Recording a mission to MCAP (ROS 2 profile) without ever blocking the caller.

Library choice: rosbags supplies the ROS side (its Jazzy typestore with labfleet_interfaces
registered from our .msg files, CDR serialisation, the concatenated ros2msg definitions, RIHS01 type
hashes and rosbag2's QoS format); the file is written with `mcap`, the reference MCAP writer that
mcap-ros2-support itself wraps. Neither higher-level writer fits alone: rosbags' rosbag2 Writer
cannot add our "labfleet_mission" metadata record (it writes only its own "rosbag2" one), and
mcap_ros2.writer serialises dicts with its own dynamic encoder (~30 µs a RobotState here, slower than
rosbags) and would still need the definition text from somewhere. mcap-ros2-support stays a test
dependency: an independent decoder that checks what we write. The three high-rate messages
(RobotState, Odometry, Twist) are encoded by fastcdr.py, checked against rosbags at start-up.

Hot path: `record_*` builds a plain tuple and appends it to a bounded queue under a lock (~1.5 µs);
nothing else. `record_states` takes a whole batch of robot states (one `Lab.on_states` call) in one
put (~0.3 µs a state), and `record_raw` a driver message's CDR bytes as received (no decoding at all).
A shipper thread takes the whole queue every flush period and hands it to the writer; given the event
loop (`loop=`, as the running lab does), the loop does that itself instead, without ever blocking (see
`_tick`: a thread would take the GIL from the loop each time it wakes).
By default the writer is a child process at the lowest CPU priority (`python -m
fleet_manager.recording.sink`, fed pickled batches over a pipe): writing a message still costs ~10 µs of
Python (mcap's writer about half of it), which in a thread of this process would hold the GIL the event
loop needs for telemetry (bench/recording.py measures both). With `in_process=True` the shipper thread
writes itself (tests, lock-step research runs). A writer process whose parent dies sees the end of its
input and still finishes the file.

When the queue is full the oldest scans are dropped first, then the oldest odom/cmd_vel/battery
items; robot states and mission events are never dropped (the queue overruns its bound for them).
If the writer fails (disk full), later items are counted as lost and the caller never notices
anything but the figures close() returns.
"""
from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import math
import operator
import os
import threading
from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

import numpy as np

from fleet_manager.core.robots import MODE_BY_CODE, RobotMode, RobotReport
from fleet_manager.recording.messages import (
    BATTERY,
    CMD_VEL,
    EVENT,
    ODOM,
    RAW,
    SCAN,
    STATE,
    STATES,
    check_robot_id,
)
from fleet_manager.recording.transport import Batch, ProcessTransport, ThreadTransport, Transport, pack_frame

log = logging.getLogger(__name__)

_MODE_CODES = {mode: code for code, mode in enumerate(MODE_BY_CODE)}
_ERROR_CODE = _MODE_CODES[RobotMode.ERROR]  # OFFLINE is the registry's notion, never a robot's report


@dataclass(frozen=True)
class RecorderOptions:
    scan_max_hz: float = 2.0  # at most one scan per robot per 1/scan_max_hz slot of sim time
    scan_every: int = 4  # keep every k-th ray
    max_queue: int = 50_000  # items waiting for the writer
    flush_period_s: float = 0.25  # the shipper wakes (and takes the GIL from the event loop) this often
    in_process: bool = False  # write from a thread of this process instead of a child process
    compression: Literal["zstd", "lz4", "none"] = "zstd"
    chunk_size: int = 1 << 20
    # The writer process's niceness above ours (19: the lowest priority). It takes the CPU the fleet manager
    # and the lab leave; a writer busy alongside the event loop slows it even from the other core (bench/recording.py:
    # ratio 0.73 at nice 10, 0.92 at nice 19 on a loaded 2-core machine). While every core is busy it lags
    # and catches up later; its backlog waits in our queue (sensor items bounded by max_queue).
    writer_nice: int = 19

    def __post_init__(self) -> None:
        if not self.scan_max_hz > 0:
            raise ValueError(f"scan_max_hz must be > 0, not {self.scan_max_hz}")
        if self.scan_every < 1:
            raise ValueError(f"scan_every must be >= 1, not {self.scan_every}")
        if self.max_queue < 1:
            raise ValueError(f"max_queue must be >= 1, not {self.max_queue}")
        if not self.flush_period_s > 0:
            raise ValueError(f"flush_period_s must be > 0, not {self.flush_period_s}")


@dataclass(frozen=True)
class RecordingStats:
    path: Path  # the bag folder
    mcap_path: Path
    messages: dict[str, int] = field(default_factory=dict)  # written, per topic
    skipped_scans: int = 0  # above scan_max_hz: downsampling, by design
    dropped_scans: int = 0  # queue full
    dropped_sensor: int = 0  # queue full with no scan left to drop: odom, cmd_vel, battery_state
    invalid: int = 0  # items whose values did not fit their message
    lost: int = 0  # accepted, never written: the writer had failed
    late: int = 0  # recorded after close()
    peak_queue: int = 0
    bytes: int = 0
    error: str | None = None

    @property
    def complete(self) -> bool:
        """Every state and event reached the file (scans and sensor items may have been dropped)."""
        return self.error is None and self.lost == 0 and self.invalid == 0


def mission_metadata(*, mission_id: int | str, site: str, robots: Sequence[str], template: str,
                     seed: int | None, sim_start_ns: int | None, wall_start: datetime) -> dict[str, str]:
    """The "labfleet_mission" metadata record (MCAP metadata holds strings only)."""
    return {
        "mission_id": str(mission_id),
        "site": site,
        "robots": ",".join(robots),
        "template": template,
        "seed": "" if seed is None else str(seed),
        "sim_start_ns": "" if sim_start_ns is None else str(sim_start_ns),
        "wall_start": wall_start.isoformat(),
    }


class MissionRecorder:
    def __init__(self, path: Path | str, metadata: Mapping[str, str], options: RecorderOptions | None = None, *,
                 loop: asyncio.AbstractEventLoop | None = None) -> None:
        """With `loop` (and a writer process), batches are shipped from that event loop, not a thread."""
        self.options = options or RecorderOptions()
        for key, value in metadata.items():
            if not isinstance(key, str) or not isinstance(value, str):
                raise TypeError(f"metadata {key!r}: keys and values must be strings (MCAP metadata)")
        self.path = Path(path)
        self.path.mkdir(parents=True)  # FileExistsError: a recording is never overwritten
        self.mcap_path = self.path / f"{self.path.name}_0.mcap"
        self._lock = threading.Lock()
        self._close_lock = threading.Lock()
        self._keep: deque[tuple[Any, ...]] = deque()  # robot states and events: never dropped
        self._sensors: deque[tuple[Any, ...]] = deque()  # odom, cmd_vel, battery_state
        self._scans: deque[tuple[Any, ...]] = deque()
        self._size = 0
        self._capacity = self.options.max_queue
        self._wake_at = max(1, self._capacity // 2)
        self._wake = threading.Event()
        self._closing = False
        self._scan_period_ns = max(1, round(1e9 / self.options.scan_max_hz))
        self._scan_slot: dict[str, int] = {}
        self._robot_ids: set[str] = set()
        self.skipped_scans = self.dropped_scans = self.dropped_sensor = 0
        self._lost = self._late = self._peak = 0
        self._error: str | None = None
        self._stats: RecordingStats | None = None
        config = {"bag_dir": str(self.path), "metadata": dict(metadata), "compression": self.options.compression,
                  "chunk_size": self.options.chunk_size, "nice": self.options.writer_nice}
        try:
            self._transport: Transport = (ThreadTransport(config) if self.options.in_process
                                          else ProcessTransport(config))
        except BaseException:
            for leftover in self.path.iterdir():
                leftover.unlink()
            self.path.rmdir()
            raise
        self._process = self._transport if isinstance(self._transport, ProcessTransport) and loop else None
        self._loop = loop if self._process is not None else None
        self._ship_lock = threading.Lock()  # the loop's tick or close(), never both
        self._pending = memoryview(b"")  # the part of a frame the pipe has not taken yet (loop shipping)
        self._pending_items = 0
        self._shipper: threading.Thread | None = None
        if self._loop is not None and self._process is not None:
            os.set_blocking(self._process.fd, False)
            self._loop.call_soon_threadsafe(self._tick)
        else:
            self._shipper = threading.Thread(target=self._ship, name=f"recorder:{self.path.name}", daemon=True)
            self._shipper.start()

    def __enter__(self) -> MissionRecorder:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def queued(self) -> int:
        """Items waiting for the writer."""
        return self._size

    @property
    def lost(self) -> int:
        """Items accepted but not written because the writer failed."""
        return self._lost

    @property
    def writer_pid(self) -> int | None:
        """The writer process (None when writing in-process)."""
        return getattr(self._transport, "pid", None)

    # -- the hot path: any thread, never blocks ------------------------------------------------------
    def record_state(self, t_ns: int, report: RobotReport) -> None:
        """A RobotState on /fleet/robot_states (its own stamp stays the robot's; t_ns is the log time)."""
        r = report
        self._put_keep((STATE, _time(t_ns), r.id, r.kind, r.model, _MODE_CODES.get(r.mode, _ERROR_CODE), r.x, r.y,
                        r.yaw, r.linear, r.angular, r.battery, r.charging, r.task_id, r.task_progress, r.errors,
                        r.stamp, r.wall_time))

    def record_states(self, t_ns: int, reports: Iterable[RobotReport]) -> None:
        """Robot states (an on_states batch) in one queue put; each is logged at its own stamp, t_ns if it has none."""
        codes = _MODE_CODES
        rows = [(r.id, r.kind, r.model, codes.get(r.mode, _ERROR_CODE), r.x, r.y, r.yaw, r.linear, r.angular,
                 r.battery, r.charging, r.task_id, r.task_progress, r.errors, r.stamp, r.wall_time) for r in reports]
        if rows:
            self._put_keep((STATES, _time(t_ns), rows), len(rows))

    def record_event(self, t_ns: int, event: Mapping[str, Any] | str) -> bool:
        """A mission event, as JSON in a std_msgs/String on /mission/events (a str is taken as JSON already);
        False when the recording is closing and the event comes too late."""
        text = event if isinstance(event, str) else json.dumps(event, separators=(",", ":"), default=str)
        return self._put_keep((EVENT, _time(t_ns), text))

    def record_raw(self, t_ns: int, robot_id: str, kind: int, data: bytes) -> None:
        """A driver message exactly as received (its CDR bytes): kind ODOM, CMD_VEL or BATTERY."""
        if kind not in (ODOM, CMD_VEL, BATTERY):
            raise ValueError(f"record_raw takes odom, cmd_vel or battery_state messages, not kind {kind!r}")
        self._put_sensor((RAW, _time(t_ns), self._robot(robot_id), kind, data))

    def record_odom(self, t_ns: int, robot_id: str, x: float, y: float, yaw: float, linear: float,
                    angular: float) -> None:
        """/<id>/odom: planar pose (map metres, yaw radians) and body velocities (m/s, rad/s)."""
        self._put_sensor((ODOM, _time(t_ns), self._robot(robot_id), float(x), float(y), float(yaw), float(linear),
                          float(angular)))

    def record_cmd_vel(self, t_ns: int, robot_id: str, linear: float, angular: float) -> None:
        self._put_sensor((CMD_VEL, _time(t_ns), self._robot(robot_id), float(linear), float(angular)))

    def record_battery(self, t_ns: int, robot_id: str, percentage: float, charging: bool = False) -> None:
        """/<id>/battery_state; percentage 0..100 as in RobotState (BatteryState holds 0..1)."""
        self._put_sensor((BATTERY, _time(t_ns), self._robot(robot_id), float(percentage), bool(charging)))

    def record_scan(self, t_ns: int, robot_id: str, ranges: Sequence[float] | np.ndarray, *, angle_min: float,
                    angle_increment: float, range_min: float = 0.0, range_max: float = math.inf,
                    scan_time: float = 0.0) -> bool:
        """/<id>/scan, downsampled: False when the scan was skipped (its rate slot is already taken)."""
        t_ns = _time(t_ns)
        robot_id = self._robot(robot_id)
        slot = t_ns // self._scan_period_ns
        if self._scan_slot.get(robot_id) == slot:
            self.skipped_scans += 1
            return False
        self._scan_slot[robot_id] = slot
        every = self.options.scan_every
        kept = np.array(ranges[::every], dtype=np.float32)  # a copy: the caller may reuse its buffer
        self._put_scan((SCAN, t_ns, robot_id, float(angle_min), float(angle_increment) * every, float(range_min),
                        float(range_max), float(scan_time), kept))
        return True

    def _robot(self, robot_id: str) -> str:
        if robot_id not in self._robot_ids:
            check_robot_id(robot_id)
            self._robot_ids.add(robot_id)
        return robot_id

    def _put_keep(self, item: tuple[Any, ...], weight: int = 1) -> bool:
        with self._lock:
            if self._closing:
                self._late += weight
                return False
            excess = self._size + weight - self._capacity
            while excess > 0 and self._drop_oldest(sensors=True):
                excess -= 1
            self._keep.append(item)
            self._size += weight
            wake = self._grew()
        if wake:
            self._wake.set()
        return True

    def _put_sensor(self, item: tuple[Any, ...]) -> None:
        with self._lock:
            if self._closing:
                self._late += 1
                return
            if self._size >= self._capacity and not self._drop_oldest(sensors=True):
                self.dropped_sensor += 1  # the queue holds only states and events: this item goes
                return
            self._sensors.append(item)
            self._size += 1
            wake = self._grew()
        if wake:
            self._wake.set()

    def _put_scan(self, item: tuple[Any, ...]) -> None:
        with self._lock:
            if self._closing:
                self._late += 1
                return
            if self._size >= self._capacity and not self._drop_oldest(sensors=False):
                self.dropped_scans += 1
                return
            self._scans.append(item)
            self._size += 1
            wake = self._grew()
        if wake:
            self._wake.set()

    def _drop_oldest(self, *, sensors: bool) -> bool:
        """Under the lock: make room by dropping the oldest scan, else (if allowed) the oldest sensor item."""
        if self._scans:
            self._scans.popleft()
            self.dropped_scans += 1
        elif sensors and self._sensors:
            self._sensors.popleft()
            self.dropped_sensor += 1
        else:
            return False
        self._size -= 1
        return True

    def _grew(self) -> bool:
        if self._size > self._peak:
            self._peak = self._size
        return self._size >= self._wake_at and not self._wake.is_set()

    # -- the shipper thread ---------------------------------------------------------------------------
    def _take(self) -> tuple[Batch | None, bool]:
        """(everything queued, or None; whether close() was called) under the lock."""
        with self._lock:
            if not self._size:
                return None, self._closing
            batch = (list(self._keep), list(self._sensors), list(self._scans))
            self._keep, self._sensors, self._scans = deque(), deque(), deque()
            self._size = 0
            return batch, self._closing

    def _ship(self) -> None:
        while True:
            self._wake.wait(self.options.flush_period_s)
            self._wake.clear()
            batch, closing = self._take()
            if batch is not None:
                self._deliver(batch)
            if closing:
                return

    # -- shipping from the event loop -------------------------------------------------------------------
    # A shipper thread must take the GIL from the event loop every time it wakes, pickles or returns from a
    # write; on a machine whose cores are all busy each such hand-over waits for the OS to schedule the other
    # thread, which costs the loop far more than the work. So in the running lab the loop ships itself: every
    # flush period it pickles what is queued (~0.3 µs a state) and writes what the pipe takes without blocking.
    def _tick(self) -> None:
        assert self._loop is not None
        if not self._ship_lock.acquire(blocking=False):
            return  # close() is shipping the rest
        try:
            if self._stats is not None or self._closing:
                return  # close() ships the rest; no more ticks
            if not self._pending:
                batch, _ = self._take()
                if batch is not None and self._error is not None:
                    self._lost += _weight(batch)  # the writer is gone: counted, not pickled
                elif batch is not None:
                    self._pending, self._pending_items = memoryview(pack_frame(batch)), _weight(batch)
            if self._pending:
                self._write_pending()
        finally:
            self._ship_lock.release()
        backlog = bool(self._pending)  # the pipe is full: try again soon
        self._loop.call_later(self.options.flush_period_s / (10 if backlog else 1), self._tick)

    def _write_pending(self) -> None:
        assert self._process is not None
        try:
            written = os.write(self._process.fd, self._pending)
        except BlockingIOError:
            return
        except OSError as exc:  # the writer process is gone
            self._fail(exc, self._pending_items)
            self._pending = memoryview(b"")
            return
        self._pending = self._pending[written:]

    def _fail(self, exc: Exception, items: int) -> None:
        if self._error is None:
            self._error = f"writing {self.path} failed: {exc}"
            log.error("%s; recording goes on without writing", self._error)
        self._lost += items

    def _deliver(self, batch: Batch) -> None:
        if self._error is None:
            try:
                self._transport.send(batch)
                return
            except (OSError, ValueError) as exc:  # the writer process is gone, or the disk is full
                self._fail(exc, 0)
        self._lost += _weight(batch)

    # -- closing --------------------------------------------------------------------------------------
    def _ship_rest(self) -> None:
        """close() with loop shipping: the frame the loop had begun, then what is still queued (blocking)."""
        assert self._process is not None
        with contextlib.suppress(OSError):  # the writer is gone: the writes below say so
            os.set_blocking(self._process.fd, True)
        if self._pending and self._error is None:
            try:
                self._process.write_all(self._pending)
            except OSError as exc:
                self._fail(exc, self._pending_items)
        self._pending = memoryview(b"")
        batch, _ = self._take()
        if batch is not None:
            self._deliver(batch)

    def close(self, timeout_s: float = 60.0) -> RecordingStats:
        """Write what is queued, finish the file and metadata.yaml; blocks (call it off the event loop).

        Idempotent: later calls return the same figures.
        """
        with self._close_lock:
            if self._stats is not None:
                return self._stats
            with self._lock:
                self._closing = True
            if self._shipper is not None:
                self._wake.set()
                self._shipper.join()
            else:
                with self._ship_lock:  # a tick in progress ends first; later ones see _closing and stop
                    self._ship_rest()
            result = self._transport.close(timeout_s)
            self._stats = RecordingStats(
                path=self.path, mcap_path=self.mcap_path, messages=dict(result.get("messages", {})),
                skipped_scans=self.skipped_scans, dropped_scans=self.dropped_scans,
                dropped_sensor=self.dropped_sensor, invalid=int(result.get("invalid", 0)), lost=self._lost,
                late=self._late, peak_queue=self._peak, bytes=int(result.get("bytes", 0)),
                error=self._error or result.get("error"))
            if self._stats.error:
                log.error("recording %s closed with an error: %s", self.path, self._stats.error)
            return self._stats


def _weight(batch: Batch) -> int:
    """How many messages a batch holds (a STATES item holds a whole on_states batch)."""
    return sum(len(item[2]) if item[0] == STATES else 1 for part in batch for item in part)


def _time(t_ns: int) -> int:
    t = operator.index(t_ns)  # whole nanoseconds: a float here is a unit mistake
    if not 0 <= t < 1 << 63:
        raise ValueError(f"log time must be >= 0 ns and fit an int64, not {t}")
    return t
