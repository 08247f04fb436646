"""Load (issue 8): 100 simulated robots publishing RobotState at 10 Hz, 20 websocket clients and 50
concurrent API clients against a fleet manager on 127.0.0.1, for a bounded time.

Everything is real: the fleet manager is `python -m fleet_manager` (as `labfleet up` starts it) on a copy of
the living lab whose fleet.yaml lists the simulated robots; the robots are an rclpy publisher in a child
process (bench/ros_load.py) on the real topic, /fleet/robot_states, on a ROS domain of its own (190-199,
discovery on localhost); the clients log in as admin and send its token. Each API client loops over the
request mix of an operator console: robots, one robot, missions, one mission, dispatch, traffic, health,
submit a mission, cancel it, report an incident. Dispatch is paused, so submitted missions stay queued
(there is no simulator to drive them).

The baseline is measured first, in the same run: the same request mix from 1 API client, with no telemetry
(the robots announced once, then silent; no websocket client). Then the load: every request's latency,
each telemetry frame's latency (the robot's wall_time stamp when it published the state to its receipt by
a websocket client), and errors: any answer but 2xx, any failed connection, any websocket closed early,
any robot shown offline while it publishes, any state the fleet manager did not take in. Prints p50/p99
of each, load/baseline ratios, and exits non-zero on any error.

    .venv/bin/python bench/load.py [--seconds 60] [--baseline-seconds 15] [--robots 100] [--rate 10]
                                   [--ws-clients 20] [--api-clients 50] [--database sqlite|postgres]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing as mp
import os
import secrets
import shutil
import sys
import tempfile
import time
import uuid
from collections import Counter, defaultdict, deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
from manager import serve_fleet_manager
from ros_load import publish_states

REPO = Path(__file__).resolve().parent.parent
SITE = "living_lab"
API = "/api/v1"
WARMUP_S = 8.0  # the publisher's start and discovery (3-5 s on localhost), robots online, clients connecting
WS_PROCESSES = 2  # the websocket clients, split over this many processes (2 cores: the server needs one)
PG_ADMIN_URL = os.environ.get("LABFLEET_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")
ADMIN_PASSWORD = secrets.token_urlsafe(12)  # the manager's admin (created at its start), for this run only
MIX = ("robots", "robot", "missions", "submit", "mission", "dispatch", "robots", "robot", "traffic", "cancel",
       "health", "incident")


# -- the fleet manager ---------------------------------------------------------------------------------
def make_site(root: Path, robots: int) -> Path:
    """A sites folder holding a copy of the living lab whose fleet is `robots` delivery robots, named as
    ros_load.publish_states names them."""
    site = root / "sites" / SITE
    shutil.copytree(REPO / "sim_worlds" / SITE, site)
    fleet = yaml.safe_load((site / "fleet.yaml").read_text())
    fleet["robots"] = [{"id": f"bench_{i:04d}", "model": "deliverybot", "battery": 80,
                        "spawn": {"x": float(i % 30), "y": float(i // 30), "yaw": 0.0}} for i in range(robots)]
    (site / "fleet.yaml").write_text(yaml.safe_dump(fleet, sort_keys=False))
    return site.parent


@contextmanager
def postgres_database() -> Iterator[str]:
    """A fresh PostgreSQL database for the run, dropped afterwards."""
    import psycopg

    name = f"labfleet_load_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=5) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"postgresql+psycopg://{PG_ADMIN_URL.split('://', 1)[1].rsplit('/', 1)[0]}/{name}"
    finally:
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def fleet_manager(port: int, domain: int, tmp: Path, robots: int, database_url: str,
                  token_minutes: float) -> Iterator[tuple[str, int]]:
    """`python -m fleet_manager` on `port`, its log in tmp/fleet_manager.log; its URL and pid."""
    env = dict(os.environ, ROS_DOMAIN_ID=str(domain), ROS_AUTOMATIC_DISCOVERY_RANGE="LOCALHOST",
               LABFLEET_SITES_DIR=str(make_site(tmp, robots)), LABFLEET_SITE=SITE, LABFLEET_DATA_DIR=str(tmp),
               LABFLEET_DATABASE_URL=database_url, LABFLEET_JWT_SECRET=secrets.token_urlsafe(32),
               LABFLEET_ADMIN_PASSWORD=ADMIN_PASSWORD, LABFLEET_ACCESS_TOKEN_MINUTES=str(token_minutes))
    with serve_fleet_manager(port, env, tmp / "fleet_manager.log", ("--log-level", "warning")) as (url, proc):
        yield url, proc.pid


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system, every thread) a process has used so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def logged_errors(log: Path) -> list[str]:
    """What the fleet manager logged at ERROR or above (an exception's traceback follows its line)."""
    return [line for line in log.read_text(errors="replace").splitlines()
            if line.startswith(("ERROR", "CRITICAL"))]


# -- API clients ---------------------------------------------------------------------------------------
@dataclass
class Requests:
    latency: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: Counter[str] = field(default_factory=Counter)
    offline: int = 0  # GET /robots answers showing a publishing robot offline

    def all(self) -> np.ndarray:
        return np.concatenate([np.array(v) for v in self.latency.values()]) if self.latency else np.array([])


@dataclass
class Context:
    robots: list[str]
    place: str
    check_online: bool


def request_for(kind: str, ctx: Context, own: deque[int], i: int) -> tuple[str, str, Any] | None:
    robot = ctx.robots[i % len(ctx.robots)]
    if kind == "robots":
        return "GET", "/robots", None
    if kind == "robot":
        return "GET", f"/robots/{robot}", None
    if kind == "missions":
        return "GET", "/missions?limit=50", None
    if kind == "mission":
        return ("GET", f"/missions/{own[-1]}", None) if own else None
    if kind == "submit":
        return "POST", "/missions", {"template": "delivery", "params": {"destination": ctx.place}}
    if kind == "cancel":
        return ("POST", f"/missions/{own.popleft()}/cancel", None) if own else None
    if kind == "dispatch":
        return "GET", "/dispatch", None
    if kind == "traffic":
        return "GET", f"/sites/{SITE}/traffic", None
    if kind == "health":
        return "GET", "/health", None
    if kind == "incident":
        return "POST", "/incidents", {"severity": "SEV3", "kind": "near_miss", "robot_id": robot,
                                      "place": {"x": 1.0, "y": 2.0}, "description": "load bench"}
    raise ValueError(kind)


async def api_client(http: httpx.AsyncClient, n: int, ctx: Context, until: float, out: Requests) -> None:
    own: deque[int] = deque()  # missions this client submitted and has not canceled yet
    i = n
    while time.monotonic() < until:
        kind = MIX[i % len(MIX)]
        i += 1
        request = request_for(kind, ctx, own, i)
        if request is None:
            continue
        method, path, body = request
        label = f"{method} {path.split('?')[0]}" if kind not in ("robot", "mission", "cancel") else kind
        t0 = time.perf_counter()
        try:
            r = await http.request(method, API + path, json=body)
        except httpx.HTTPError as exc:
            out.errors[f"{label}: {type(exc).__name__}"] += 1
            continue
        dt = time.perf_counter() - t0
        if not 200 <= r.status_code < 300:
            out.errors[f"{label}: {r.status_code} {r.text[:120]}"] += 1
            continue
        out.latency[kind].append(dt)
        if kind == "submit":
            own.append(r.json()["id"])
        elif kind == "robots" and ctx.check_online:
            out.offline += any(robot["mode"] == "offline" for robot in r.json())


async def run_clients(url: str, token: str, clients: int, ctx: Context, start: float, seconds: float) -> Requests:
    out = Requests()
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=url, headers={"Authorization": f"Bearer {token}"}, limits=limits,
                                 timeout=30) as http:
        await asyncio.sleep(max(0.0, start - time.time()))
        until = time.monotonic() + seconds
        await asyncio.gather(*(api_client(http, n, ctx, until, out) for n in range(clients)))
    return out


# -- websocket clients (child processes) ------------------------------------------------------------------
def ws_clients(url: str, clients: int, start: float, seconds: float, out: Any) -> None:
    import websockets

    frames = [0]
    latency: list[float] = []
    errors: Counter[str] = Counter()

    async def one() -> None:
        end = start + seconds
        try:
            async with websockets.connect(url, max_size=2**24) as ws:
                while (now := time.time()) < end:
                    try:
                        text = await asyncio.wait_for(ws.recv(), timeout=min(1.0, end - now))
                    except TimeoutError:
                        continue
                    received = time.time()
                    if received < start:
                        continue
                    frame = json.loads(text)
                    if frame.get("type") == "robot_states":
                        for state in frame["states"]:
                            if state.get("wall_time"):
                                frames[0] += 1
                                latency.append(received - state["wall_time"])
        except (OSError, websockets.exceptions.WebSocketException) as exc:
            errors[f"websocket: {type(exc).__name__} {exc}"[:160]] += 1

    async def main() -> None:
        await asyncio.gather(*(one() for _ in range(clients)))

    asyncio.run(main())
    out.put(("ws", frames[0], np.array(latency), errors))


# -- the run -----------------------------------------------------------------------------------------------
def login(url: str) -> str:
    answer = httpx.post(f"{url}{API}/auth/token", data={"username": "admin", "password": ADMIN_PASSWORD},
                        timeout=10)
    if answer.status_code != 200:
        raise SystemExit(f"login as admin: {answer.status_code} {answer.text}")
    return str(answer.json()["access_token"])


def received(url: str, token: str) -> int:
    health = httpx.get(f"{url}{API}/health", headers={"Authorization": f"Bearer {token}"}, timeout=10)
    return int(health.json()["ros_messages_received"])


def wait_for_robots(url: str, token: str, robots: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        known = httpx.get(f"{url}{API}/robots", headers={"Authorization": f"Bearer {token}"}, timeout=10).json()
        if len(known) >= robots:
            return
        time.sleep(0.5)
    raise SystemExit(f"the fleet manager knows {len(known)} of {robots} robots after {timeout:.0f} s")


def percentiles(values: np.ndarray) -> tuple[float, float]:
    if not len(values):
        return float("nan"), float("nan")
    p50, p99 = np.percentile(values, [50, 99]) * 1000
    return float(p50), float(p99)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=60.0, help="the load phase, measured after a warm-up")
    parser.add_argument("--baseline-seconds", type=float, default=15.0)
    parser.add_argument("--robots", type=int, default=100)
    parser.add_argument("--rate", type=float, default=10.0, help="states per robot per second")
    parser.add_argument("--ws-clients", type=int, default=20)
    parser.add_argument("--api-clients", type=int, default=50)
    parser.add_argument("--database", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--port", type=int, default=8790)
    args = parser.parse_args()
    domain = 190 + os.getpid() % 10
    token_minutes = 15 + (args.seconds + args.baseline_seconds) / 60
    errors: Counter[str] = Counter()
    cpu: dict[str, float] = {}  # the fleet manager's CPU, in cores, per phase
    ctx = mp.get_context("spawn")
    q: Any = ctx.Queue()
    with tempfile.TemporaryDirectory(prefix="labfleet-load-") as tmp_name:
        tmp = Path(tmp_name)
        with (postgres_database() if args.database == "postgres" else _sqlite(tmp)) as database_url, \
                fleet_manager(args.port, domain, tmp, args.robots, database_url, token_minutes) as (url, pid):
            token = login(url)
            headers = {"Authorization": f"Bearer {token}"}
            httpx.post(f"{url}{API}/dispatch/pause", headers=headers, timeout=10).raise_for_status()
            site_map = httpx.get(f"{url}{API}/sites/{SITE}/map", headers=headers, timeout=10).json()
            place = next(p["name"] for p in site_map["places"] if p.get("kind") != "charger" and
                         not p["name"].startswith("c_"))
            robots = [f"bench_{i:04d}" for i in range(args.robots)]
            print(f"LabFleet load: {args.robots} robots x {args.rate:g} Hz, {args.ws_clients} websocket clients, "
                  f"{args.api_clients} API clients, {args.seconds:g} s; baseline: 1 API client, no telemetry, "
                  f"{args.baseline_seconds:g} s; {args.database}, ROS_DOMAIN_ID={domain}; host: {os.cpu_count()} "
                  f"CPUs, load average {os.getloadavg()[0]:.1f} at the start", flush=True)

            # the robots announce themselves for a few seconds, then fall silent: GET /robots lists them in
            # the baseline too (offline)
            announce = ctx.Process(target=publish_states, args=(domain, args.robots, args.rate, 5.0, q))
            announce.start()
            wait_for_robots(url, token, args.robots)
            q.get(timeout=60)
            announce.join()
            cpu0 = cpu_seconds(pid)
            baseline = asyncio.run(run_clients(url, token, 1, Context(robots, place, False), time.time(),
                                               args.baseline_seconds))
            cpu["baseline"] = (cpu_seconds(pid) - cpu0) / args.baseline_seconds

            start = time.time() + WARMUP_S
            publisher = ctx.Process(target=publish_states,
                                    args=(domain, args.robots, args.rate, WARMUP_S + args.seconds + 1.0, q))
            ws_url = f"ws{url.removeprefix('http')}{API}/ws/telemetry?token={token}"
            shares = [args.ws_clients // WS_PROCESSES + (i < args.ws_clients % WS_PROCESSES)
                      for i in range(WS_PROCESSES)]
            watchers = [ctx.Process(target=ws_clients, args=(ws_url, n, start, args.seconds, q))
                        for n in shares if n]
            for proc in (publisher, *watchers):
                proc.start()
            time.sleep(max(0.0, start - time.time()))
            before, t0, cpu0 = received(url, token), time.monotonic(), cpu_seconds(pid)
            load = asyncio.run(run_clients(url, token, args.api_clients, Context(robots, place, True), start,
                                           args.seconds))
            cpu["load"] = (cpu_seconds(pid) - cpu0) / (time.monotonic() - t0)
            ingested = (received(url, token) - before) / (time.monotonic() - t0)
            results = [q.get(timeout=args.seconds + 120) for _ in range(1 + len(watchers))]
            for proc in (publisher, *watchers):
                proc.join(timeout=30)
        for line in logged_errors(tmp / "fleet_manager.log"):
            errors[f"fleet manager log: {line[:150]}"] += 1

    published = next(r for r in results if r[0] == "published")
    ws = [r for r in results if r[0] == "ws"]
    frames = sum(r[1] for r in ws)
    telemetry = np.concatenate([r[2] for r in ws]) if ws else np.array([])
    for r in ws:
        errors.update(r[3])
    errors.update({f"baseline {k}": v for k, v in baseline.errors.items()})
    errors.update(load.errors)
    if load.offline:
        errors[f"GET /robots showed a publishing robot offline ({load.offline} answers)"] += load.offline
    offered = args.robots * args.rate
    if ingested < 0.95 * offered:
        errors[f"the fleet manager took in {ingested:.0f} states/s of the {offered:.0f}/s published"] += 1
    if ws and frames == 0:
        errors["no telemetry frame reached a websocket client"] += 1
    report(args, baseline, load, published, ingested, frames, telemetry, cpu, errors)
    if errors:
        raise SystemExit(1)


@contextmanager
def _sqlite(tmp: Path) -> Iterator[str]:
    yield f"sqlite:///{tmp / 'load.db'}"


def report(args: argparse.Namespace, baseline: Requests, load: Requests, published: tuple[Any, ...],
           ingested: float, frames: int, telemetry: np.ndarray, cpu: dict[str, float],
           errors: Counter[str]) -> None:
    b50, b99 = percentiles(baseline.all())
    l50, l99 = percentiles(load.all())
    print(f"\n{'requests':<24} {'count':>7} {'req/s':>7} {'p50 ms':>8} {'p99 ms':>8}")
    print(f"{'baseline (1 client)':<24} {len(baseline.all()):>7} {len(baseline.all()) / args.baseline_seconds:>7.1f} "
          f"{b50:>8.1f} {b99:>8.1f}")
    print(f"{f'load ({args.api_clients} clients)':<24} {len(load.all()):>7} {len(load.all()) / args.seconds:>7.1f} "
          f"{l50:>8.1f} {l99:>8.1f}")
    print(f"{'load / baseline':<24} {'':>7} {'':>7} {l50 / b50:>7.2f}x {l99 / b99:>7.2f}x")
    print(f"\n{'per request (ms)':<24} {'base p50':>8} {'base p99':>8} {'load p50':>8} {'load p99':>8} "
          f"{'p50 x':>6} {'p99 x':>6}")
    for kind in dict.fromkeys(MIX):
        bp50, bp99 = percentiles(np.array(baseline.latency.get(kind, [])))
        lp50, lp99 = percentiles(np.array(load.latency.get(kind, [])))
        name = {"robot": "GET /robots/{id}", "mission": "GET /missions/{id}", "cancel": "POST .../cancel",
                "submit": "POST /missions", "incident": "POST /incidents", "robots": "GET /robots",
                "missions": "GET /missions", "dispatch": "GET /dispatch", "traffic": "GET .../traffic",
                "health": "GET /health"}[kind]
        print(f"{name:<24} {bp50:>8.1f} {bp99:>8.1f} {lp50:>8.1f} {lp99:>8.1f} {lp50 / bp50:>6.2f} "
              f"{lp99 / bp99:>6.2f}")
    t50, t99 = percentiles(telemetry)
    sent, sent_s = published[1], published[2]
    print(f"\ntelemetry: published {sent / sent_s:.0f} states/s, the fleet manager took in {ingested:.0f}/s; "
          f"websocket frames {frames / args.seconds:.0f}/s ({frames / args.seconds / max(args.ws_clients, 1):.0f} "
          f"per client); latency publish -> websocket p50 {t50:.1f} ms, p99 {t99:.1f} ms")
    print(f"fleet manager CPU: {cpu['baseline']:.2f} cores in the baseline, {cpu['load']:.2f} under load "
          f"(the host has {os.cpu_count()}, shared with the robots' publisher and the clients)")
    total = sum(errors.values())
    print(f"\nerrors: {total}" + "".join(f"\n  {n:>6}  {what}" for what, n in errors.most_common()))


if __name__ == "__main__":
    main()
