"""Live telemetry as the clients see it: robots publishing RobotState at 10 Hz over real ROS into a running fleet
manager, websocket clients in processes of their own (none shares the server's).

Per fleet size, two measurements in the same run, on the ROS domain of `ROS_DOMAIN_ID`:
- the baseline: a plain rclpy subscriber in a process of its own, on the same publisher, message, rate and QoS —
  the best any client could do;
- the clients: `--clients` websocket clients spread over `--client-procs` processes, each signed in as a viewer.
For each: states received per client per second, the slowest robot's rate at the slowest client (Hz), the
fraction of the published states delivered, and each state's age on arrival (now minus the wall time the
publisher stamped it with; p50, p99, max). The ratio is the clients' p99 age against the baseline's.

    .venv/bin/python bench/telemetry.py [--robots 100 500] [--clients 20] [--client-procs 4] [--seconds 10]
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing as mp
import os
import secrets
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from manager import login, serve_fleet_manager
from ros_load import publish_states, watch_states

WARMUP_S = 4.0
RATE_HZ = 10.0
ADMIN_PASSWORD = secrets.token_urlsafe(12)  # the manager's admin (created at its start), for this run only
VIEWER_PASSWORD = secrets.token_urlsafe(12)


def ws_clients(url: str, token: str, clients: int, warmup: float, seconds: float, out: Any) -> None:
    """`clients` websocket clients in this process; per client: (states per robot, ages on arrival, frames)."""
    import orjson  # parses as fast as a browser's JSON.parse: the clients measure the server, not Python's json
    import websockets

    async def one(t_start: float, t_end: float) -> tuple[dict[str, int], np.ndarray, int]:
        counts: dict[str, int] = {}
        ages: list[float] = []
        frames = 0
        async with websockets.connect(url, subprotocols=["labfleet.bearer", token],  # type: ignore[list-item]
                                      max_size=2**24) as ws:
            while time.monotonic() < t_end:
                try:
                    text = await asyncio.wait_for(ws.recv(), timeout=0.5)
                except TimeoutError:
                    continue
                if time.monotonic() < t_start:
                    continue
                now = time.time()
                frame = orjson.loads(text)
                if frame.get("type") != "robot_states":
                    continue
                frames += 1
                for state in frame["states"]:
                    if state.get("wall_time"):
                        ages.append(now - state["wall_time"])
                        counts[state["id"]] = counts.get(state["id"], 0) + 1
        return counts, np.array(ages), frames

    async def main() -> None:
        t_start = time.monotonic() + warmup
        results = await asyncio.gather(*(one(t_start, t_start + seconds) for _ in range(clients)))
        out.put(("ws", results))

    asyncio.run(main())


def sign_in(url: str) -> str:
    """A viewer's access token (the admin creates the viewer): what a control-room screen holds."""
    headers = {"Authorization": f"Bearer {login(url, 'admin', ADMIN_PASSWORD)}"}
    made = httpx.post(f"{url}/api/v1/users", headers=headers, timeout=10,
                      json={"username": "wall", "password": VIEWER_PASSWORD, "role": "viewer",
                            "sites": ["living_lab"]})
    if made.status_code not in (201, 409):
        raise SystemExit(f"creating the viewer: {made.status_code} {made.text}")
    return login(url, "wall", VIEWER_PASSWORD)


def summary(counts: list[dict[str, int]], ages: np.ndarray, robots: int, seconds: float) -> dict[str, float]:
    """Per client: states/s and the slowest robot's Hz (a robot never received counts as 0 Hz)."""
    per_client = [sum(c.values()) / seconds for c in counts]
    slowest = min((min(c.values()) if len(c) == robots else 0) for c in counts) / seconds
    p50, p99, top = (np.percentile(ages, [50, 99, 100]) * 1000) if len(ages) else (float("nan"),) * 3
    return {"per_client": min(per_client), "slowest_hz": slowest, "delivered": min(per_client) / (robots * RATE_HZ),
            "p50": p50, "p99": p99, "max": top}


def run(robots: int, args: argparse.Namespace, domain: int, url: str, token: str) -> tuple[dict, dict]:
    ctx = mp.get_context("spawn")
    q: Any = ctx.Queue()
    total = WARMUP_S + args.seconds + 1.0

    sub = ctx.Process(target=watch_states, args=(domain, WARMUP_S, args.seconds, q))
    pub = ctx.Process(target=publish_states, args=(domain, robots, RATE_HZ, total, q, args.spread))
    sub.start()
    pub.start()
    got = {}
    for _ in range(2):
        item = q.get(timeout=total + 60)
        got[item[0]] = item[1:]
    sub.join()
    pub.join()
    raw_counts, raw_ages, raw_seconds = got["raw"]
    raw = summary([raw_counts], raw_ages, robots, raw_seconds)

    per_proc = [args.clients // args.client_procs + (i < args.clients % args.client_procs)
                for i in range(args.client_procs)]
    procs = [ctx.Process(target=ws_clients, args=(f"{url.replace('http', 'ws', 1)}/api/v1/ws/telemetry", token, n,
                                                  WARMUP_S, args.seconds, q)) for n in per_proc if n]
    pub = ctx.Process(target=publish_states, args=(domain, robots, RATE_HZ, total, q, args.spread))
    for p in procs:
        p.start()
    pub.start()
    results: list[tuple[dict[str, int], np.ndarray, int]] = []
    for _ in range(len(procs) + 1):
        item = q.get(timeout=total + 120)
        if item[0] == "ws":
            results.extend(item[1])
    for p in [*procs, pub]:
        p.join()
    ws = summary([c for c, _, _ in results], np.concatenate([a for _, a, _ in results]), robots, args.seconds)
    ws["frames"] = min(f for _, _, f in results) / args.seconds
    return raw, ws


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--robots", type=int, nargs="+", default=[100, 500])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--client-procs", type=int, default=4)
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--burst", dest="spread", action="store_false",
                        help="every robot publishes at the same instant (default: spread across each period)")
    args = parser.parse_args()
    domain = int(os.environ.get("ROS_DOMAIN_ID", "0"))
    print(f"ROS domain {domain}; {args.clients} websocket clients in {args.client_procs} processes; "
          f"{RATE_HZ:g} Hz per robot, {'spread across each period' if args.spread else 'all at once'}; "
          f"{args.seconds:g} s measured after {WARMUP_S:g} s", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp)
        env = dict(os.environ, ROS_DOMAIN_ID=str(domain), ROS_AUTOMATIC_DISCOVERY_RANGE="LOCALHOST",
                   LABFLEET_DATA_DIR=str(data), LABFLEET_DATABASE_URL=f"sqlite:///{data / 'bench.db'}",
                   LABFLEET_ROBOT_TIMEOUT_S="30", LABFLEET_JWT_SECRET=secrets.token_urlsafe(32),
                   LABFLEET_ADMIN_PASSWORD=ADMIN_PASSWORD, LABFLEET_RECORDING_ENABLED="false")
        with serve_fleet_manager(args.port, env, data / "manager.log", ("--log-level", "warning")) as (url, _):
            token = sign_in(url)
            print(f"{'robots':>6} {'who':>9} {'states/s':>9} {'slowest':>8} {'delivered':>9} {'frames/s':>8} "
                  f"{'age p50':>8} {'p99':>7} {'max':>7} {'p99 ratio':>9}")
            for n in args.robots:
                print(f"{n} robots ...", file=sys.stderr, flush=True)
                raw, ws = run(n, args, domain, url, token)
                for who, r in (("rclpy", raw), ("websocket", ws)):
                    ratio = f"{ws['p99'] / raw['p99']:9.2f}" if who == "websocket" else f"{'1.00':>9}"
                    frames = f"{r['frames']:8.1f}" if "frames" in r else f"{'-':>8}"
                    print(f"{n:>6} {who:>9} {r['per_client']:9.0f} {r['slowest_hz']:7.1f}Hz {r['delivered']:9.2f} "
                          f"{frames} {r['p50']:6.1f}ms {r['p99']:5.1f}ms {r['max']:5.0f}ms {ratio}", flush=True)


if __name__ == "__main__":
    main()
