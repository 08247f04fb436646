"""Telemetry throughput with mission recording off and on, measured in the same run.

The path is the fleet manager's own: `Lab.on_states` (the real method, on a stand-in lab holding a real
RobotRegistry and TelemetryHub with websocket clients whose queues are drained every round, as their
websocket tasks do), run on an asyncio loop, fed batches of every robot's RobotReport as fast as it
takes them. With recording on, the stand-in lab holds a real RecordingService recording a mission of all
the robots: Lab.on_states hands it each batch, it puts the batch's states into the MissionRecorder in one
queue put (`record_states`), exactly as in the running lab; the service's hub client (how it reads
mission events) is there too, drained like the others. Modes run interleaved, `--repeats` times each;
medians are printed:

  off      no recording
  process  as in the running lab: the writer is a child process at nice 19, fed from the event loop
           (MissionRecorder(..., loop=...)): every flush period the loop pickles what is queued and writes
           what the pipe takes without blocking (target: ratio >= 0.9)
  shipper  the same writer process fed by a shipper thread (MissionRecorder without a loop), for comparison
  thread   RecorderOptions(in_process=True): the writer is a thread of this process, for comparison

Columns: states/s (median); ratio: the median over repeats of each window's rate against the "off" window
run next to it (and the range of those ratios), wall clock; the fleet manager process's CPU per state and
its ratio to "off" (cpu ratio: what the wall-clock ratio becomes when the writer process has a core of
its own); the writer process's CPU per state; how many states reached the file (must be 100%); the
recorder's peak queue; how long close() took (the writer's backlog at the end of the window: the
niced writer may lag while every core is busy, and catches up; no state is dropped).

    .venv/bin/python bench/recording.py [--robots 500] [--seconds 2] [--clients 10] [--repeats 5]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
import types
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from fleet_manager.core.robots import RobotMode, RobotReport
from fleet_manager.lab import Lab
from fleet_manager.recording import MissionRecorder, RecorderOptions
from fleet_manager.recording.service import Active, RecordingService
from fleet_manager.robots.service import RobotRegistry
from fleet_manager.settings import Settings
from fleet_manager.telemetry.hub import TelemetryHub

MODES = ("off", "process", "shipper", "thread")


def stand_in_lab(loop: asyncio.AbstractEventLoop, clients: int) -> tuple[Any, list[Any]]:
    hub = TelemetryHub(loop)
    conns = [hub.connect() for _ in range(clients)]
    lab = types.SimpleNamespace(registry=RobotRegistry(30.0), _offline=set(), hub=hub,
                                dispatcher=types.SimpleNamespace(wake=lambda: None),
                                _save_robots_logged=lambda: None, recordings=None)
    return lab, conns


def start_recording(lab: Any, conns: list[Any], robots: list[str], rec: MissionRecorder, folder: Path,
                    sim: list[float]) -> None:
    """The lab's RecordingService (taps off: no ROS here) recording one mission of every robot."""
    settings = Settings(data_dir=folder, ros_enabled=False, environment="test")
    service = RecordingService(settings, lab.hub, None, lab.registry, None,  # type: ignore[arg-type]
                               lambda: sim[0])
    service.track(Active(1, 0, frozenset(robots), rec))
    conns.append(lab.hub.connect(states=False))  # the service's tap on mission events
    lab.recordings = service


def reports(robots: int) -> list[RobotReport]:
    return [RobotReport(f"bench_{i:04d}", "delivery", "deliverybot", RobotMode.MOVING, float(i % 30), float(i // 30),
                        0.3, 0.5, 0.1, 80.0, False, "task-1", 0.25, (), 12.5, time.time()) for i in range(robots)]


def child_cpu(rec: MissionRecorder | None) -> float:
    """CPU seconds the writer process has used so far (Linux /proc), 0 without one."""
    pid = rec.writer_pid if rec is not None else None
    if pid is None:
        return 0.0
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def window(mode: str, robots: int, seconds: float, clients: int, folder: Path) -> dict[str, float]:
    loop = asyncio.get_running_loop()
    lab, conns = stand_in_lab(loop, clients)
    batch = reports(robots)
    Lab.on_states(lab, batch)  # robots known: the timed rounds take the steady path
    rec = None
    sim = [12.5]
    if mode != "off":
        rec = MissionRecorder(folder / f"{mode}_{time.monotonic_ns()}", {"mission_id": "bench"},
                              RecorderOptions(in_process=(mode == "thread")), loop=loop if mode == "process" else None)
        start_recording(lab, conns, [r.id for r in batch], rec, folder, sim)
    pushed = 0
    if rec is not None:
        await asyncio.sleep(1.0)  # the writer process has imported what it needs
    child0 = child_cpu(rec)
    cpu0 = time.process_time()
    start = time.perf_counter()
    end = start + seconds
    while time.perf_counter() < end:
        sim[0] += 0.1  # 10 Hz of sim time per round
        Lab.on_states(lab, batch)  # with recording on: lab.recordings.on_states(batch)
        lab.hub.tick()  # the states out to the clients, as the hub's ticker does
        for conn in conns:  # what each websocket task does when woken
            conn.take()
        pushed += len(batch)
        await asyncio.sleep(0)
    rate = pushed / (time.perf_counter() - start)
    cpu = time.process_time() - cpu0
    out = {"rate": rate, "written": float(pushed), "peak": 0.0, "close_s": 0.0,
           "cpu_us": cpu / pushed * 1e6, "child_us": (child_cpu(rec) - child0) / pushed * 1e6}
    if rec is not None:
        t0 = time.perf_counter()
        stats = await asyncio.to_thread(rec.close)
        out.update(written=float(stats.messages.get("/fleet/robot_states", 0)), peak=float(stats.peak_queue),
                   close_s=time.perf_counter() - t0)
        if stats.error:
            raise SystemExit(f"{mode}: {stats.error}")
    out["pushed"] = float(pushed)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--robots", type=int, default=500)
    parser.add_argument("--seconds", type=float, default=2.0)
    parser.add_argument("--clients", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    results: dict[str, list[dict[str, float]]] = {m: [] for m in MODES}
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(args.repeats):
            for mode in MODES if i % 2 == 0 else MODES[::-1]:  # alternate the order: no mode always goes first
                results[mode].append(asyncio.run(window(mode, args.robots, args.seconds, args.clients, Path(tmp))))
    print(f"{args.robots} robots, {args.clients} websocket clients, {args.repeats} x {args.seconds:g} s per mode, "
          f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    cpu_off = statistics.median(r["cpu_us"] for r in results["off"])
    print(f"{'mode':>8} {'states/s':>9} {'ratio':>6} {'(range)':>11} {'cpu µs/state':>12} {'cpu ratio':>9} "
          f"{'writer µs':>9} {'written':>8} {'peak queue':>10} {'close s':>8}")
    for mode in MODES:
        rate = statistics.median(r["rate"] for r in results[mode])
        # each repeat's rate against the "off" window next to it, so a change in the machine's load between
        # repeats cancels out; the median of those ratios
        ratios = [r["rate"] / o["rate"] for r, o in zip(results[mode], results["off"], strict=True)]
        ratio = statistics.median(ratios)
        spread = f"{min(ratios):.2f}-{max(ratios):.2f}"
        written = sum(r["written"] for r in results[mode]) / sum(r["pushed"] for r in results[mode])
        peak = max(r["peak"] for r in results[mode])
        close_s = max(r["close_s"] for r in results[mode])
        cpu_us = statistics.median(r["cpu_us"] for r in results[mode])
        child_us = statistics.median(r["child_us"] for r in results[mode])
        print(f"{mode:>8} {rate:>9.0f} {ratio:>6.2f} {spread:>11} {cpu_us:>12.1f} {cpu_off / cpu_us:>9.2f} "
              f"{child_us:>9.1f} {written:>8.0%} {peak:>10.0f} {close_s:>8.2f}", flush=True)


if __name__ == "__main__":
    main()
