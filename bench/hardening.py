"""Hostile connections (issue 19, acceptance 4): does the fleet manager keep answering while clients hold
connections open? `python -m fleet_manager` (no ROS, SQLite) on 127.0.0.1; the attackers in processes of their own,
each from loopback addresses of its own (127.0.0.x, as many hosts would):

- idle: connections that never send a byte (reopened as soon as the server closes one, as an attacker would);
- slow loris: connections that send their request head one byte every 5 s;
- websockets: signed-in telemetry clients (viewers, 50 each) that stay connected and read.

GET /health is probed open-loop at a fixed rate (a new connection each time, as a new user's first request) first
with nobody else connected (the baseline, in the same run), then under the attack. Prints the probes' p50/p99 and
errors in both phases and their ratio, how soon the server closed the slow-loris and idle connections, how many
websocket clients stayed connected, and how much the server's log grew. Exits non-zero when a probe failed.

    .venv/bin/python bench/hardening.py [--seconds 40] [--baseline-seconds 15] [--rate 20] [--idle 1000]
                                        [--slowloris 100] [--websockets 500]
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing as mp
import os
import secrets
import socket
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

import httpx
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from manager import login, serve_fleet_manager

API = "/api/v1"
PER_ADDRESS = 200  # the fleet manager's default LABFLEET_MAX_CONNECTIONS_PER_ADDRESS: one source address each
PER_USER = 50  # its default LABFLEET_MAX_WEBSOCKETS_PER_USER: the websocket clients are viewers, this many each
ADMIN_PASSWORD = secrets.token_urlsafe(12)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def fleet_manager(tmp: Path) -> Iterator[tuple[str, Path]]:
    """`python -m fleet_manager` with its defaults but ROS off; its URL and log file."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LABFLEET_")}
    env |= {"LABFLEET_DATA_DIR": str(tmp), "LABFLEET_DATABASE_URL": f"sqlite:///{tmp / 'lab.db'}",
            "LABFLEET_ROS_ENABLED": "false", "LABFLEET_JWT_SECRET": secrets.token_urlsafe(32),
            "LABFLEET_ADMIN_PASSWORD": ADMIN_PASSWORD, "LABFLEET_VDA5050_ENABLED": "false"}
    log = tmp / "fleet_manager.log"
    with serve_fleet_manager(free_port(), env, log) as (url, _proc):
        yield url, log


def sources(first: int, count: int) -> list[str]:
    """Loopback addresses for `count` connections, at most PER_ADDRESS each."""
    return [f"127.0.0.{first + i // PER_ADDRESS}" for i in range(count)]


async def _hold(port: int, source: str, slow: bool, stop_at: float, closed_after: list[float]) -> None:
    """One connection, reopened whenever the server closes it, until `stop_at`; the seconds each lived."""
    while time.monotonic() < stop_at:
        opened = time.monotonic()
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", port, local_addr=(source, 0))
        except OSError:
            await asyncio.sleep(0.5)
            continue
        head, sent = b"GET /api/v1/health HTTP/1.1\r\nHost: x\r\n", 0
        try:
            while time.monotonic() < stop_at:
                if slow and sent < len(head):
                    writer.write(head[sent:sent + 1])
                    sent += 1
                with suppress(TimeoutError):
                    if await asyncio.wait_for(reader.read(1024), 5.0 if slow else stop_at - time.monotonic()) == b"":
                        closed_after.append(time.monotonic() - opened)
                        break
        except (ConnectionError, TimeoutError):
            closed_after.append(time.monotonic() - opened)
        finally:
            writer.close()


async def _websocket(url: str, token: str, source: str, stop_at: float, result: dict[str, int]) -> None:
    import websockets

    try:
        async with websockets.connect(url.replace("http", "ws") + f"{API}/ws/telemetry", local_addr=(source, 0),
                                      subprotocols=["labfleet.bearer", token], open_timeout=30,  # type: ignore[list-item]
                                      max_size=None) as ws:
            result["connected"] += 1
            while time.monotonic() < stop_at:
                with suppress(TimeoutError):
                    await asyncio.wait_for(ws.recv(), max(0.1, stop_at - time.monotonic()))
                    result["frames"] += 1
            result["stayed"] += 1
    except Exception:
        result["failed"] += 1


def attacker(kind: str, url: str, tokens: list[str], addresses: list[str], seconds: float, out: Any) -> None:
    port = int(url.rsplit(":", 1)[1])

    async def run() -> dict[str, Any]:
        stop_at = time.monotonic() + seconds
        closed: list[float] = []
        counts = {"connected": 0, "frames": 0, "stayed": 0, "failed": 0}
        if kind == "websockets":
            await asyncio.gather(*(_websocket(url, tokens[i // PER_USER], a, stop_at, counts)
                                   for i, a in enumerate(addresses)))
        else:
            await asyncio.gather(*(_hold(port, a, kind == "slowloris", stop_at, closed) for a in addresses))
        return {"kind": kind, "closed_after": closed, **counts}

    out.put(asyncio.run(run()))


def viewers(url: str, count: int) -> list[str]:
    """`count` viewers of the site, made by the admin: their access tokens."""
    admin = {"Authorization": f"Bearer {login(url, 'admin', ADMIN_PASSWORD)}"}
    tokens = []
    for i in range(count):
        password = secrets.token_urlsafe(12)
        httpx.post(f"{url}{API}/users", headers=admin, timeout=10, json={
            "username": f"watcher{i}", "password": password, "role": "viewer", "sites": ["*"]}).raise_for_status()
        tokens.append(login(url, f"watcher{i}", password))
    return tokens


def probe(url: str, seconds: float, rate: float) -> tuple[np.ndarray, int]:
    """GET /health open-loop at `rate` per second, a new connection each: latencies (ms) and errors."""
    async def run() -> tuple[list[float], int]:
        latencies: list[float] = []
        errors = 0
        limits = httpx.Limits(max_keepalive_connections=0)
        async with httpx.AsyncClient(timeout=10, limits=limits) as client:
            async def one() -> None:
                nonlocal errors
                start = time.perf_counter()
                try:
                    ok = (await client.get(f"{url}{API}/health")).status_code == 200
                except httpx.HTTPError:
                    ok = False
                latencies.append((time.perf_counter() - start) * 1000) if ok else None
                errors += 0 if ok else 1
            t0, tasks = time.perf_counter(), []
            for i in range(int(seconds * rate)):
                await asyncio.sleep(max(0.0, t0 + i / rate - time.perf_counter()))
                tasks.append(asyncio.create_task(one()))
            await asyncio.gather(*tasks)
        return latencies, errors

    latencies, errors = asyncio.run(run())
    return np.array(latencies), errors


def pct(a: np.ndarray, q: float) -> float:
    return float(np.percentile(a, q)) if len(a) else float("nan")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=40.0)
    parser.add_argument("--baseline-seconds", type=float, default=15.0)
    parser.add_argument("--rate", type=float, default=20.0, help="/health probes per second")
    parser.add_argument("--idle", type=int, default=1000)
    parser.add_argument("--slowloris", type=int, default=100)
    parser.add_argument("--websockets", type=int, default=500)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="labfleet-hardening-") as tmp, fleet_manager(Path(tmp)) as (url, log):
        tokens = viewers(url, -(-args.websockets // PER_USER))
        print(f"baseline: /health at {args.rate:g}/s for {args.baseline_seconds:g} s, nobody else connected",
              flush=True)
        base, base_errors = probe(url, args.baseline_seconds, args.rate)
        log_before = log.stat().st_size
        ctx = mp.get_context("spawn")
        out = ctx.Queue()
        plan = [("idle", sources(10, args.idle)), ("slowloris", sources(30, args.slowloris)),
                ("websockets", sources(40, args.websockets))]
        procs = [ctx.Process(target=attacker, args=(kind, url, tokens, addresses, args.seconds + 10, out))
                 for kind, addresses in plan if addresses]
        for p in procs:
            p.start()
        print(f"attack: {args.idle} idle, {args.slowloris} slow-loris and {args.websockets} websocket connections; "
              f"/health probed for {args.seconds:g} s after 8 s of connecting", flush=True)
        time.sleep(8.0)
        under, under_errors = probe(url, args.seconds, args.rate)
        results = {r["kind"]: r for r in (out.get(timeout=120) for _ in procs)}
        for p in procs:
            p.join(30)
        grown = log.stat().st_size - log_before
    print(f"/health baseline: p50 {pct(base, 50):.1f} ms, p99 {pct(base, 99):.1f} ms, errors {base_errors}")
    print(f"/health attacked: p50 {pct(under, 50):.1f} ms, p99 {pct(under, 99):.1f} ms, errors {under_errors}")
    print(f"p99 ratio attacked/baseline: {pct(under, 99) / pct(base, 99):.2f}")
    for kind in ("idle", "slowloris"):
        if kind in results:
            closed = np.array(results[kind]["closed_after"])
            print(f"{kind}: {len(closed)} closed by the server, after p50 {pct(closed, 50):.1f} s, "
                  f"max {closed.max() if len(closed) else float('nan'):.1f} s")
    if "websockets" in results:
        ws = results["websockets"]
        print(f"websockets: {ws['connected']} connected, {ws['stayed']} stayed to the end, {ws['failed']} failed")
    print(f"server log grew {grown / 1024:.0f} KiB")
    return 1 if base_errors or under_errors else 0


if __name__ == "__main__":
    sys.exit(main())
