"""Recording every mission run, in the running lab.

When a mission goes underway a MissionRecorder starts for it (metadata: recording_metadata); it is
fed the states of the mission's robot (`on_states`, called by Lab.on_states: one queue put per
batch), its driver topics (RobotTaps: odom, cmd_vel, battery_state, scans at scan_max_hz) and the
mission's events, which the service reads from the telemetry hub like a websocket client (the
mission's earlier status events, from the database, open the recording), and the operator's commands to
its robot (`record_command`, called by Lab.command) as command_event frames the replay injects. When
the mission ends (or goes back to the queue) the recorder is closed off the event loop, the side-car
notes the file and its figures, and the retention limits are applied.

Restart: a mission still underway when the fleet manager starts gets a new recording segment
(`mission-<id>.<n>`, metadata "segment" n and "resumed"); the previous segment was finished by its
writer process when its parent died. A requeued mission, once underway again, also starts a new
segment. The download merges a mission's segments into one file.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import json
import logging
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fleet_manager.core.errors import NotFound
from fleet_manager.core.missions import MissionStatus
from fleet_manager.core.robots import RobotReport
from fleet_manager.missions.service import MissionService
from fleet_manager.recording.metadata import recording_metadata
from fleet_manager.recording.store import RecordingStore
from fleet_manager.recording.writer import MissionRecorder, RecorderOptions
from fleet_manager.replay.initial_state import command_event
from fleet_manager.robots.service import RobotRegistry
from fleet_manager.settings import Settings
from fleet_manager.telemetry.hub import Client, TelemetryHub

if TYPE_CHECKING:  # rclpy: only the running lab has it loaded
    from fleet_manager.recording.taps import RobotTaps

log = logging.getLogger(__name__)

POLL_S = 0.1
MAX_PENDING_MISSIONS = 1000  # missions with commands waiting for their recording to open
MAX_PENDING_COMMANDS = 100  # commands kept per such mission
_TERMINAL = {str(s) for s in MissionStatus if s.terminal}
_ENDS = _TERMINAL | {str(MissionStatus.QUEUED)}  # requeued: segment ends


@dataclass
class Active:
    mission_id: int
    segment: int
    robots: frozenset[str]
    recorder: MissionRecorder
    started: float = field(default_factory=time.monotonic)


class RecordingService:
    def __init__(self, settings: Settings, hub: TelemetryHub, missions: MissionService, registry: RobotRegistry,
                 taps: RobotTaps | None, clock: Callable[[], float | None],
                 options: RecorderOptions | None = None) -> None:
        self.settings = settings
        self.store = RecordingStore(settings.recordings_dir or settings.data_dir / "recordings")
        self.options = options or RecorderOptions(scan_max_hz=settings.recording_scan_hz)
        self._hub = hub
        self._missions = missions
        self._registry = registry
        self._taps = taps
        self._clock = clock
        self._active: dict[int, Active] = {}
        self.looked_up = asyncio.Event()
        self._beginning: dict[int, asyncio.Future[Active | None]] = {}  # recordings being begun
        # commands to a mission's robot sent before its recording opened (it opens once the mission's underway
        # frame is handled): written into it when it opens, at the times they were sent
        self._pending: dict[int, list[tuple[int, str]]] = {}
        self._feeds: tuple[tuple[frozenset[str], MissionRecorder], ...] = ()  # what on_states feeds
        self._client: Client | None = None
        self._task: asyncio.Task[None] | None = None
        self._closing: set[asyncio.Task[None]] = set()
        # the recordings' blocking work (closing a recorder waits seconds for its writer process) runs on threads
        # of its own: on asyncio's shared pool, a few missions ending together held every thread, and the API's
        # database reads (GET /missions) waited behind them for seconds
        self._pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="recording")

    async def _blocking(self, fn: Callable[..., Any], /, *args: Any) -> Any:
        """`fn(*args)` on the recordings' own threads."""
        call = partial(contextvars.copy_context().run, fn, *args)
        return await asyncio.get_running_loop().run_in_executor(self._pool, call)

    # -- lifecycle --------------------------------------------------------------------------------
    async def start(self) -> None:
        self._pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="recording")  # anew after a stop
        try:
            await self._blocking(self.store.recover)
        except OSError as exc:
            log.error("cannot read the recordings in %s: %s", self.store.directory, exc)
        await self._blocking(self._prune, [])
        self._client = self._hub.connect(states=False)  # the mission events only
        self.looked_up = asyncio.Event()  # set once the missions already underway at start-up are recorded
        self._task = asyncio.create_task(self._run(), name="recordings")

    async def stop(self) -> None:
        """Close every recording (a mission still underway gets a new segment at the next start)."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._client is not None:
            self._hub.disconnect(self._client)
            await self._drain(self._client)  # e.g. the mission that ended just now
        for mission_id in list(self._active):
            self._end(mission_id, "the fleet manager stopped")
        if self._closing:
            await asyncio.gather(*self._closing, return_exceptions=True)
        self._pool.shutdown(wait=False)

    @property
    def recording(self) -> dict[int, Active]:
        return dict(self._active)

    # -- reading ----------------------------------------------------------------------------------
    def file_for(self, mission_id: int) -> tuple[Path, bool]:
        """The mission's MCAP file (path, is_temporary: delete it once sent). NotFound, Conflict: why not."""
        self._missions.get(mission_id, with_events=False)  # NotFound for an unknown mission
        return self.store.file_for(mission_id)

    def info(self, mission_id: int) -> dict[str, Any]:
        self._missions.get(mission_id, with_events=False)
        data = self.store.load(mission_id)
        if data is None:
            raise NotFound(f"mission {mission_id} has no recording: it never went underway while recording was on")
        return data

    # -- the hot path -----------------------------------------------------------------------------
    def on_states(self, batch: list[RobotReport]) -> None:
        """On the event loop, with every state batch: one queue put per recording that wants some of them."""
        if not self._feeds:
            return
        t_ns = self._now_ns()
        for robots, recorder in self._feeds:
            picked = [r for r in batch if r.id in robots]
            if picked:
                recorder.record_states(t_ns, picked)

    def _now_ns(self) -> int:
        """Now on the lab's clock: the fleet manager's (sim time when simulated); before its first /clock
        (discovery under load can take seconds), the newest stamp its robots reported, on the same clock;
        wall time without either."""
        now = self._clock()
        if now:
            return round(now * 1e9)
        newest = max((self._registry.entry(rid).report.stamp for rid in self._registry.ids()), default=0.0)
        return round(newest * 1e9) if newest > 0 else time.time_ns()

    # -- operator commands ------------------------------------------------------------------------
    def recordings_of(self, robot_id: str) -> tuple[Active, ...]:
        """The recordings the robot is in now (take them when a command is sent: an e-stop may end the
        mission, and so its recording, before the robot's answer is back)."""
        return tuple(a for a in self._active.values() if robot_id in a.robots)

    def record_command(self, into: tuple[Active, ...], robot_id: str, command: str, result: str, *,
                       sim_time: float | None = None, message: str = "", reason: str = "",
                       mission_id: int | None = None) -> list[int]:
        """On the event loop: an operator's command to a robot (Lab.command), written as a command_event frame
        (replay/initial_state.py) into the recordings `into` (recordings_of when it was sent) at `sim_time`
        (default now), with the robot's answer; the re-simulation injects it then if the robot took it.
        `mission_id`: the mission the robot carried out when it was sent; if its recording had not opened yet,
        the frame goes into it when it opens. Returns the missions whose recordings got it (a recording already
        closed cannot)."""
        t_ns = round(sim_time * 1e9) if sim_time else self._now_ns()
        recorded = []

        def frame(mission: int) -> str:
            return json.dumps(command_event(robot_id, command, t_ns / 1e9, mission, result=result, message=message,
                                            reason=reason), separators=(",", ":"))

        for active in into:
            if active.recorder.record_event(t_ns, frame(active.mission_id)):
                recorded.append(active.mission_id)
        if mission_id is not None and all(a.mission_id != mission_id for a in into):
            opened = self._active.get(mission_id)
            if opened is not None:  # it opened while the robot answered
                if opened.recorder.record_event(t_ns, frame(mission_id)):
                    recorded.append(mission_id)
            elif len(self._pending) < MAX_PENDING_MISSIONS or mission_id in self._pending:
                pending = self._pending.setdefault(mission_id, [])
                if len(pending) < MAX_PENDING_COMMANDS:
                    pending.append((t_ns, frame(mission_id)))
        return recorded

    # -- mission events ---------------------------------------------------------------------------
    async def _run(self) -> None:
        try:
            underway = await self._blocking(self._missions.search, ("underway", "paused"), None, 10_000)
            for mission in underway:  # in flight when the previous fleet manager stopped: a new segment
                await self._begin(mission.model_dump(mode="json"), resumed=True)
        except Exception:
            log.exception("could not start recording the missions already underway")
        self.looked_up.set()
        client = self._client
        assert client is not None
        while True:
            await asyncio.sleep(POLL_S)
            client.wake.clear()
            await self._drain(client)

    async def _drain(self, client: Client) -> None:
        while client.events:
            text = client.events.popleft()
            try:
                await self.on_event(text)
            except Exception:
                log.exception("recording: could not handle event %.200s", text)

    async def on_event(self, text: str) -> None:
        frame = json.loads(text)
        mission_id = frame.get("mission_id")
        if not isinstance(mission_id, int):
            return
        active = self._active.get(mission_id)
        status = frame.get("status") if frame.get("type") == "mission_event" else None
        if active is None and status == MissionStatus.UNDERWAY and isinstance(frame.get("mission"), dict):
            active = await self._begin(frame["mission"], resumed=False)
        if active is None:
            if status in _TERMINAL:
                self._pending.pop(mission_id, None)  # it ended before its recording opened: nothing to add to
            return
        active.recorder.record_event(self._event_ns(frame), text)
        if status in _ENDS:
            self._end(mission_id, str(status))

    def _event_ns(self, frame: Mapping[str, Any]) -> int:
        sim = frame.get("sim_time")
        if isinstance(sim, int | float) and sim > 0:
            return round(sim * 1e9)
        return self._now_ns()

    # -- segments ---------------------------------------------------------------------------------
    async def _begin(self, mission: dict[str, Any], *, resumed: bool) -> Active | None:
        """The mission's recording, begun once: at start-up a mission can go underway while the missions already
        underway are looked up, and both would begin a segment (two recordings of one run)."""
        mission_id = int(mission["id"])
        if mission_id in self._active:
            return self._active[mission_id]
        if mission_id in self._beginning:
            return await asyncio.shield(self._beginning[mission_id])
        beginning = self._beginning[mission_id] = asyncio.get_running_loop().create_future()
        active: Active | None = None
        try:
            active = await self._open(mission, resumed=resumed)
            return active
        finally:  # (an error in _open reaches its own caller; whoever else waited finds no recording)
            self._beginning.pop(mission_id, None)
            beginning.set_result(active)

    async def _open(self, mission: dict[str, Any], *, resumed: bool) -> Active | None:
        mission_id = int(mission["id"])
        robot_id = mission.get("robot_id")
        robots = frozenset([robot_id] if robot_id else [])
        reports = [self._registry.entry(rid).report for rid in self._registry.ids()]
        s = self.settings
        dispatch = {"charge_threshold_pct": s.charge_threshold_pct, "battery_reserve_pct": s.battery_reserve_pct,
                    "auto_charge": float(s.auto_charge), "offline_requeue": float(s.offline_policy == "requeue"),
                    "robot_timeout_s": s.robot_timeout_s, "dispatch_period_s": s.dispatch_period_s}
        recorder_info = {"scan_max_hz": self.options.scan_max_hz, "scan_every": self.options.scan_every,
                         "robot_topics": ["odom", "cmd_vel", "battery_state", "scan"],
                         "events": "/mission/events (the websocket's mission frames, JSON)"}
        try:
            segment, folder = await self._blocking(self.store.begin, mission_id, str(mission.get("status")))
        except OSError as exc:
            log.error("cannot record mission %d: %s", mission_id, exc)
            return None
        others = await self._blocking(self._in_flight)
        meta = recording_metadata(mission, reports, segment=segment, seed=s.seed, use_sim_time=s.use_sim_time,
                                  wall_start=datetime.now(UTC), settings=dispatch, recorder=recorder_info,
                                  others=others, now_s=self._now_ns() / 1e9)
        if resumed and segment == 0:
            meta["resumed"] = "true"
        history = [] if resumed else await self._blocking(self._history, mission_id)
        try:
            recorder = await self._blocking(partial(MissionRecorder, folder, meta, self.options,
                                                       loop=asyncio.get_running_loop()))
        except (OSError, ValueError) as exc:
            log.error("cannot record mission %d: %s", mission_id, exc)
            await self._blocking(self.store.abandon, mission_id, segment, str(exc))
            return None
        for t_ns, text in [*history, *self._pending.pop(mission_id, [])]:
            recorder.record_event(t_ns, text)
        active = self.track(Active(mission_id, segment, robots, recorder))
        if self._taps is not None:
            for rid in robots:
                try:
                    await self._taps.attach(rid, recorder)
                except Exception:
                    log.exception("recording mission %d: cannot subscribe to %s's driver topics", mission_id, rid)
        log.info("recording mission %d (segment %d, robots %s) in %s", mission_id, segment, sorted(robots), folder)
        return active

    def _in_flight(self) -> list[dict[str, Any]]:
        """The missions carried out right now (the recorded one among them), as JSON."""
        running = self._missions.search(("assigned", "underway", "paused"), None, 10_000)
        return [m.model_dump(mode="json") for m in running]

    def _history(self, mission_id: int) -> list[tuple[int, str]]:
        """The mission's status events before it went underway (submitted, assigned), as event frames. One
        stored without a sim time (submitted before the fleet manager's first /clock) is logged at its wall
        time only if that is not later than the next event (or now): on the sim clock it is logged with the
        next event, not after the whole mission."""
        mission = self._missions.get(mission_id)
        events = []
        for event in mission.events or []:
            if event.kind == "status" and event.status == MissionStatus.UNDERWAY:
                break
            events.append(event)
        out: list[tuple[int, str]] = []
        later = self._now_ns()
        for event in reversed(events):
            frame = {"type": "mission_event" if event.kind == "status" else f"mission_{event.kind}",
                     "mission_id": mission_id, "status": event.status, "step_index": event.step_index,
                     "message": event.message, "time": event.time.isoformat(), "sim_time": event.sim_time,
                     "from_history": True}
            own = round(event.sim_time * 1e9) if event.sim_time else round(event.time.timestamp() * 1e9)
            t_ns = min(own, later)
            out.append((t_ns, json.dumps(frame, separators=(",", ":"))))
            later = t_ns
        return out[::-1]

    def track(self, active: Active) -> Active:
        """Feed an open recorder the states of its robots (also for lock-step runs and bench/recording.py)."""
        self._active[active.mission_id] = active
        self._refeed()
        return active

    def _refeed(self) -> None:
        self._feeds = tuple((a.robots, a.recorder) for a in self._active.values() if a.robots)

    def _end(self, mission_id: int, status: str) -> None:
        """Stop feeding the mission's recorder now; close it in the background."""
        active = self._active.pop(mission_id)
        self._refeed()
        task = asyncio.create_task(self._close(active, status), name=f"close-recording-{mission_id}")
        self._closing.add(task)
        task.add_done_callback(self._closing.discard)

    async def _close(self, active: Active, status: str) -> None:
        if self._taps is not None:
            for rid in active.robots:
                with contextlib.suppress(Exception):  # the bridge may be stopping
                    await self._taps.detach(rid, active.recorder)
        stats = await self._blocking(active.recorder.close)
        await self._blocking(self.store.finish, active.mission_id, active.segment, stats, status)
        log.info("recorded mission %d (segment %d): %d bytes, %s%s", active.mission_id, active.segment,
                 stats.bytes, stats.messages, f"; error: {stats.error}" if stats.error else "")
        await self._blocking(self._prune, [a.recorder.path for a in self._active.values()])

    def _prune(self, keep: list[Path]) -> None:
        """Apply the retention limits; `keep`: the recordings being written (taken on the event loop)."""
        s = self.settings
        max_bytes = s.recording_max_bytes or None
        max_age = s.recording_max_age_days * 86_400.0 or None
        try:
            self.store.prune(max_bytes, max_age, keep=keep)
        except OSError as exc:
            log.error("recording retention failed: %s", exc)
