"""Telemetry throughput with mission recording off and on, measured in the same run.

The path is the fleet manager's own: `Lab.on_states` (the real method, on a stand-in lab holding a real
RobotRegistry and TelemetryHub with websocket clients whose queues are drained every round, as their
websocket tasks do), run on an asyncio loop, fed batches of every robot's RobotReport as fast as it
takes them. With recording on, every state also goes to `MissionRecorder.record_state`, the call the
mission runner will make. Modes run interleaved, `--repeats` times each; medians are printed:

  off      no recorder
  process  MissionRecorder default: the writer is a child process (target: ratio >= 0.9)
  thread   RecorderOptions(in_process=True): the writer is a thread of this process, for comparison

Columns: states/s and its ratio to "off" (wall clock); the fleet manager process's CPU per state and
its ratio to "off" (cpu ratio: what the wall-clock ratio becomes when the writer process has a core of
its own; on a 2-core machine that other work keeps busy, the writer's CPU comes out of the same cores
and the wall-clock ratio falls by about its share); the writer process's CPU per state; how many
states reached the file (must be 100%); the recorder's peak queue; how long close() took (the writer's
backlog at the end of the window).

    .venv/bin/python bench/recording.py [--robots 500] [--seconds 3] [--clients 10] [--repeats 3]
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
from fleet_manager.robots.service import RobotRegistry
from fleet_manager.telemetry.hub import TelemetryHub

MODES = ("off", "process", "thread")


def stand_in_lab(loop: asyncio.AbstractEventLoop, clients: int) -> tuple[Any, list[Any]]:
    hub = TelemetryHub(loop)
    conns = [hub.connect() for _ in range(clients)]
    lab = types.SimpleNamespace(registry=RobotRegistry(30.0), _offline=set(), hub=hub,
                                dispatcher=types.SimpleNamespace(wake=lambda: None),
                                _save_robots_logged=lambda: None)
    return lab, conns


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
    if mode != "off":
        rec = MissionRecorder(folder / f"{mode}_{time.monotonic_ns()}", {"mission_id": "bench"},
                              RecorderOptions(in_process=(mode == "thread")))
    pushed, t_ns = 0, 0
    if rec is not None:
        await asyncio.sleep(1.0)  # the writer process has imported what it needs
    child0 = child_cpu(rec)
    cpu0 = time.process_time()
    start = time.perf_counter()
    end = start + seconds
    while time.perf_counter() < end:
        t_ns += 100_000_000  # 10 Hz of sim time per round
        Lab.on_states(lab, batch)
        if rec is not None:
            for report in batch:
                rec.record_state(t_ns, report)
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
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--clients", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    results: dict[str, list[dict[str, float]]] = {m: [] for m in MODES}
    with tempfile.TemporaryDirectory() as tmp:
        for _ in range(args.repeats):
            for mode in MODES:
                results[mode].append(asyncio.run(window(mode, args.robots, args.seconds, args.clients, Path(tmp))))
    off = statistics.median(r["rate"] for r in results["off"])
    print(f"{args.robots} robots, {args.clients} websocket clients, {args.repeats} x {args.seconds:g} s per mode")
    cpu_off = statistics.median(r["cpu_us"] for r in results["off"])
    print(f"{'mode':>8} {'states/s':>9} {'ratio':>6} {'cpu µs/state':>12} {'cpu ratio':>9} {'writer µs':>9} "
          f"{'written':>8} {'peak queue':>10} {'close s':>8}")
    for mode in MODES:
        rate = statistics.median(r["rate"] for r in results[mode])
        written = sum(r["written"] for r in results[mode]) / sum(r["pushed"] for r in results[mode])
        peak = max(r["peak"] for r in results[mode])
        close_s = max(r["close_s"] for r in results[mode])
        cpu_us = statistics.median(r["cpu_us"] for r in results[mode])
        child_us = statistics.median(r["child_us"] for r in results[mode])
        print(f"{mode:>8} {rate:>9.0f} {rate / off:>6.2f} {cpu_us:>12.1f} {cpu_off / cpu_us:>9.2f} {child_us:>9.1f} "
              f"{written:>8.0%} {peak:>10.0f} {close_s:>8.2f}", flush=True)


if __name__ == "__main__":
    main()
