"""Telemetry throughput: RobotState from 100 and 500 simulated robots at 10 Hz into a running fleet
manager with 10 websocket clients.

Prints, per fleet size: websocket frames/s delivered (all clients), publish→websocket latency p50/p99,
the bridge's ingest rate, and its ratio to raw rclpy pub/sub between two processes measured in the
same run (same message, rate and QoS).

    .venv/bin/python bench/telemetry.py [--robots 100 500] [--seconds 10] [--clients 10]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing as mp
import os
import secrets
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from ros_load import count_states, publish_states

REPO = Path(__file__).resolve().parent.parent
WARMUP_S = 4.0
ADMIN_PASSWORD = secrets.token_urlsafe(12)  # the manager's admin (created at its start), for this run only


def ws_clients(url: str, clients: int, warmup: float, seconds: float, out: Any) -> None:
    import websockets

    async def one(stats: dict[str, Any], t_start: float, t_end: float) -> None:
        async with websockets.connect(url, max_size=2**24) as ws:
            while time.monotonic() < t_end:
                try:
                    text = await asyncio.wait_for(ws.recv(), timeout=0.5)
                except TimeoutError:
                    continue
                now_wall, now = time.time(), time.monotonic()
                if now < t_start:
                    continue
                frame = json.loads(text)
                if frame.get("type") == "robot_state" and frame.get("wall_time"):
                    stats["frames"] += 1
                    stats["latency"].append(now_wall - frame["wall_time"])

    async def main() -> None:
        t_start = time.monotonic() + warmup
        t_end = t_start + seconds
        stats: list[dict[str, Any]] = [{"frames": 0, "latency": []} for _ in range(clients)]
        await asyncio.gather(*(one(s, t_start, t_end) for s in stats))
        lat = np.concatenate([np.array(s["latency"]) for s in stats]) if stats else np.array([])
        out.put(("ws", sum(s["frames"] for s in stats) / seconds, lat))

    asyncio.run(main())


def start_manager(port: int, domain: int, data: Path) -> subprocess.Popen[bytes]:
    env = dict(os.environ, ROS_DOMAIN_ID=str(domain), ROS_AUTOMATIC_DISCOVERY_RANGE="LOCALHOST",
               LABFLEET_DATA_DIR=str(data), LABFLEET_DATABASE_URL=f"sqlite:///{data / 'bench.db'}",
               LABFLEET_ROBOT_TIMEOUT_S="30", LABFLEET_JWT_SECRET=secrets.token_urlsafe(32),
               LABFLEET_ADMIN_PASSWORD=ADMIN_PASSWORD)
    proc = subprocess.Popen([sys.executable, "-m", "fleet_manager", "--port", str(port), "--log-level", "warning"],
                            env=env, cwd=REPO)
    for _ in range(150):
        try:
            if httpx.get(f"http://127.0.0.1:{port}/api/v1/health", timeout=1).status_code == 200:
                return proc
        except httpx.TransportError:
            time.sleep(0.2)
    proc.kill()
    raise SystemExit("the fleet manager did not start")


def access_token(port: int) -> str:
    """A fresh access token of the manager's admin (POST /auth/token): the websocket clients need one."""
    answer = httpx.post(f"http://127.0.0.1:{port}/api/v1/auth/token", timeout=10,
                        data={"username": "admin", "password": ADMIN_PASSWORD})
    if answer.status_code != 200:
        raise SystemExit(f"login as admin: {answer.status_code} {answer.text}")
    return str(answer.json()["access_token"])


def received(port: int) -> int:
    return int(httpx.get(f"http://127.0.0.1:{port}/api/v1/health", timeout=5).json()["ros_messages_received"])


def run(robots: int, seconds: float, clients: int, port: int, domain: int, raw_domain: int) -> dict[str, Any]:
    ctx = mp.get_context("spawn")
    q: Any = ctx.Queue()
    total = WARMUP_S + seconds + 1.0
    out: dict[str, Any] = {}

    sub = ctx.Process(target=count_states, args=(raw_domain, WARMUP_S, seconds, q))
    pub = ctx.Process(target=publish_states, args=(raw_domain, robots, 10.0, total, q))
    sub.start()
    pub.start()
    for _ in range(2):
        item = q.get(timeout=total + 60)
        out[item[0]] = item[1:]
    sub.join()
    pub.join()

    url = f"ws://127.0.0.1:{port}/api/v1/ws/telemetry?token={access_token(port)}"
    ws = ctx.Process(target=ws_clients, args=(url, clients, WARMUP_S, seconds, q))
    pub = ctx.Process(target=publish_states, args=(domain, robots, 10.0, total, q))
    ws.start()
    pub.start()
    time.sleep(WARMUP_S)
    before, t0 = received(port), time.monotonic()
    time.sleep(seconds)
    out["ingest"] = (received(port) - before) / (time.monotonic() - t0)
    for _ in range(2):
        item = q.get(timeout=total + 60)
        out[item[0]] = item[1:]
    ws.join()
    pub.join()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--robots", type=int, nargs="+", default=[100, 500])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--clients", type=int, default=10)
    parser.add_argument("--port", type=int, default=8765)
    args = parser.parse_args()
    domain, raw_domain = 90 + os.getpid() % 5, 95 + os.getpid() % 5
    with tempfile.TemporaryDirectory() as tmp:
        manager = start_manager(args.port, domain, Path(tmp))
        try:
            print(f"{'robots':>6} {'offered/s':>10} {'raw rclpy/s':>12} {'bridge/s':>9} {'ratio':>6} "
                  f"{'ws frames/s':>12} {'per client':>10} {'p50 ms':>7} {'p99 ms':>7}")
            for n in args.robots:
                r = run(n, args.seconds, args.clients, args.port, domain, raw_domain)
                raw = r["raw"][0]
                ingest = r["ingest"]
                ws_rate, lat = r["ws"][0], r["ws"][1]
                p50, p99 = (np.percentile(lat, [50, 99]) * 1000) if len(lat) else (float("nan"),) * 2
                print(f"{n:>6} {n * 10:>10} {raw:>12.0f} {ingest:>9.0f} {ingest / raw:>6.2f} {ws_rate:>12.0f} "
                      f"{ws_rate / args.clients:>10.0f} {p50:>7.1f} {p99:>7.1f}", flush=True)
        finally:
            manager.terminate()
            manager.wait(timeout=20)


if __name__ == "__main__":
    main()
