"""Load, open-loop (issues 8 and 16): API requests at fixed arrival rates while 100 simulated robots stream
RobotState at 10 Hz and 20 websocket clients watch, against a fleet manager on 127.0.0.1, each step bounded.

Everything is real: the fleet manager is `python -m fleet_manager` (as `labfleet up` starts it) on a copy of
the living lab whose fleet.yaml lists the simulated robots; the robots are an rclpy publisher in a child process
(bench/ros_load.py) on /fleet/robot_states, on the ROS domain of `ROS_DOMAIN_ID` (discovery on localhost); the
websocket clients and the request generators run in processes of their own (the generators each from a loopback
address of its own). A generator sends each request at its scheduled time whether or not earlier ones were
answered (open loop: a slow server is not offered less), and a request's latency runs from its scheduled time
to its answer, so time spent waiting for a connection counts. The mix is an operator console's: robots, one
robot, missions, one mission, dispatch, traffic, health, submit a mission, cancel it, report an incident.
Dispatch is paused, so submitted missions stay queued (no simulator drives them).

The baseline is measured first, in the same run: the same mix at `--baseline-rate` with no telemetry (the robots
announced once, then silent; no websocket client). Then, with the robots streaming and the websocket clients
connected, one step per rate in `--rates`: requests/s answered, p50/p99 latency, errors (any answer but 2xx, a
failed connection, a timeout). Prints the knee: the first rate whose p99 crosses 100 ms. Errors anywhere (a
websocket closed early, states the fleet manager did not take in, ERROR lines in its log) make it exit 1.

    .venv/bin/python bench/load.py [--rates 50 100 200 400] [--seconds 20] [--robots 100] [--ws-clients 20]
                                   [--generators 2] [--database sqlite|postgres] [--http httptools|h11]
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
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
from manager import login, serve_fleet_manager
from rawhttp import HttpError, RawClient
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
                  token_minutes: float, http: str = "httptools") -> Iterator[tuple[str, int]]:
    """`python -m fleet_manager` on `port`, its log in tmp/fleet_manager.log; its URL and pid."""
    env = dict(os.environ, ROS_DOMAIN_ID=str(domain), ROS_AUTOMATIC_DISCOVERY_RANGE="LOCALHOST",
               LABFLEET_SITES_DIR=str(make_site(tmp, robots)), LABFLEET_SITE=SITE, LABFLEET_DATA_DIR=str(tmp),
               LABFLEET_DATABASE_URL=database_url, LABFLEET_JWT_SECRET=secrets.token_urlsafe(32),
               LABFLEET_ADMIN_PASSWORD=ADMIN_PASSWORD, LABFLEET_ACCESS_TOKEN_MINUTES=str(token_minutes),
               # the 50 API clients stand for 50 people but share one admin token: the per-user limit (32 in
               # progress) would count them as one user and refuse what a stall piles up
               LABFLEET_MAX_REQUESTS_PER_USER="1000")
    with serve_fleet_manager(port, env, tmp / "fleet_manager.log", ("--log-level", "warning", "--http", http)) \
            as (url, proc):
        yield url, proc.pid


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system, every thread) a process has used so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def logged_errors(log: Path) -> list[str]:
    """What the fleet manager logged at ERROR or above (an exception's traceback follows its line)."""
    return [line for line in log.read_text(errors="replace").splitlines()
            if line.startswith(("ERROR", "CRITICAL"))]


# -- API requests (generator processes) ------------------------------------------------------------------
KNEE_MS = 100.0


@dataclass
class Context:
    robots: list[str]
    place: str


def request_for(kind: str, ctx: Context, own: deque[int], i: int) -> tuple[str, str, Any] | None:
    robot = ctx.robots[i % len(ctx.robots)]
    if kind == "robots":
        return "GET", "/robots", None
    if kind == "robot":
        return "GET", f"/robots/{robot}", None
    if kind == "missions":
        return "GET", "/missions?limit=50", None
    if kind == "mission":
        return ("GET", f"/missions/{own[-1]}", None) if own else ("GET", "/health", None)
    if kind == "submit":
        return "POST", "/missions", {"template": "delivery", "params": {"destination": ctx.place}}
    if kind == "cancel":
        return ("POST", f"/missions/{own.popleft()}/cancel", None) if own else ("GET", "/dispatch", None)
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


def generate(url: str, token: str, ctx: Context, rate: float, start: float, seconds: float, phase: int,
             address: str, out: Any) -> None:
    """Requests at `rate` per second from `start` for `seconds`, open loop, from `address`; reports
    ("api", latencies by kind, errors)."""

    async def main() -> tuple[dict[str, list[float]], Counter[str]]:
        latency: dict[str, list[float]] = defaultdict(list)
        errors: Counter[str] = Counter()
        own: deque[int] = deque()  # missions this generator submitted and has not canceled yet
        host, port = url.split("://", 1)[1].rsplit(":", 1)
        http = RawClient(host, int(port), {"Authorization": f"Bearer {token}"}, local_address=address)
        try:

            async def one(i: int, due: float) -> None:
                kind = MIX[i % len(MIX)]
                method, path, body = request_for(kind, ctx, own, i) or ("GET", "/health", None)
                try:
                    r = await http.request(method, API + path, body)
                except HttpError as exc:
                    errors[f"{kind}: {str(exc)[:60]}"] += 1
                    return
                if not 200 <= r.status_code < 300:
                    errors[f"{kind}: {r.status_code} {r.text[:100]}"] += 1
                    return
                latency[kind].append(time.time() - due)
                if kind == "submit":
                    own.append(r.json()["id"])

            tasks = []
            for i in range(int(rate * seconds)):
                due = start + i / rate
                await asyncio.sleep(max(0.0, due - time.time()))
                tasks.append(asyncio.create_task(one(i + phase, due)))
            await asyncio.gather(*tasks)
        finally:
            await http.aclose()
        return latency, errors

    latency, errors = asyncio.run(main())
    out.put(("api", dict(latency), errors))


def step(ctx_mp: Any, url: str, token: str, ctx: Context, rate: float, seconds: float,
         generators: int) -> tuple[np.ndarray, dict[str, list[float]], Counter[str]]:
    """One rate, split over `generators` processes: every latency (s), by kind, and the errors."""
    q = ctx_mp.Queue()  # the generators' own (the publisher and the websocket clients report on the run's)
    start = time.time() + 2.0  # the generators' start-up
    procs = [ctx_mp.Process(target=generate, args=(url, token, ctx, rate / generators, start + g / rate, seconds,
                                                   g * 5, f"127.0.0.{10 + g}", q)) for g in range(generators)]
    for proc in procs:
        proc.start()
    by_kind: dict[str, list[float]] = defaultdict(list)
    errors: Counter[str] = Counter()
    for _ in procs:
        _, latency, errs = q.get(timeout=seconds + 120)
        for kind, values in latency.items():
            by_kind[kind].extend(values)
        errors.update(errs)
    for proc in procs:
        proc.join(timeout=30)
    values = np.concatenate([np.array(v) for v in by_kind.values()]) if by_kind else np.array([])
    return values, by_kind, errors


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
    parser.add_argument("--rates", type=float, nargs="+", default=[50, 100, 200, 300], help="requests/s, one step each")
    parser.add_argument("--target", type=float, default=200.0, help="the rate that must stay under the knee")
    parser.add_argument("--seconds", type=float, default=20.0, help="each step")
    parser.add_argument("--baseline-rate", type=float, default=5.0)
    parser.add_argument("--baseline-seconds", type=float, default=15.0)
    parser.add_argument("--robots", type=int, default=100)
    parser.add_argument("--rate", type=float, default=10.0, help="states per robot per second")
    parser.add_argument("--ws-clients", type=int, default=20)
    parser.add_argument("--generators", type=int, default=2, help="request generator processes")
    parser.add_argument("--database", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--port", type=int, default=8790)
    parser.add_argument("--http", choices=("httptools", "h11"), default="httptools",
                        help="the fleet manager's HTTP parser (python -m fleet_manager --http)")
    args = parser.parse_args()
    domain = int(os.environ.get("ROS_DOMAIN_ID", "0"))
    streaming_s = WARMUP_S + len(args.rates) * (args.seconds + 4.0)
    token_minutes = 15 + (streaming_s + args.baseline_seconds) / 60
    errors: Counter[str] = Counter()
    overload: Counter[str] = Counter()  # of the steps above the target
    ctx_mp = mp.get_context("spawn")
    q: Any = ctx_mp.Queue()
    rows: list[tuple[str, float, int, float, float, Counter[str], float]] = []
    with tempfile.TemporaryDirectory(prefix="labfleet-load-") as tmp_name:
        tmp = Path(tmp_name)
        with (postgres_database() if args.database == "postgres" else _sqlite(tmp)) as database_url, \
                fleet_manager(args.port, domain, tmp, args.robots, database_url, token_minutes,
                              args.http) as (url, pid):
            token = login(url, "admin", ADMIN_PASSWORD)
            headers = {"Authorization": f"Bearer {token}"}
            httpx.post(f"{url}{API}/dispatch/pause", headers=headers, timeout=10).raise_for_status()
            site_map = httpx.get(f"{url}{API}/sites/{SITE}/map", headers=headers, timeout=10).json()
            place = next(p["name"] for p in site_map["places"] if p.get("kind") != "charger" and
                         not p["name"].startswith("c_"))
            ctx = Context([f"bench_{i:04d}" for i in range(args.robots)], place)
            print(f"LabFleet load, open loop: {args.robots} robots x {args.rate:g} Hz, {args.ws_clients} websocket "
                  f"clients; requests at {', '.join(f'{r:g}' for r in args.rates)}/s from {args.generators} "
                  f"processes, {args.seconds:g} s each; baseline {args.baseline_rate:g}/s without telemetry; "
                  f"{args.database}, {args.http}, ROS_DOMAIN_ID={domain}; {os.cpu_count()} CPUs, load average "
                  f"{os.getloadavg()[0]:.1f} at the start", flush=True)

            # the robots announce themselves for a few seconds, then fall silent: GET /robots lists them in
            # the baseline too (offline)
            announce = ctx_mp.Process(target=publish_states, args=(domain, args.robots, args.rate, 5.0, q))
            announce.start()
            wait_for_robots(url, token, args.robots)
            q.get(timeout=60)
            announce.join()
            cpu0 = cpu_seconds(pid)
            values, _, errs = step(ctx_mp, url, token, ctx, args.baseline_rate, args.baseline_seconds, 1)
            rows.append(("baseline", args.baseline_rate, len(values), *percentiles(values), errs,
                         (cpu_seconds(pid) - cpu0) / args.baseline_seconds))

            start = time.time() + WARMUP_S
            publisher = ctx_mp.Process(target=publish_states,
                                       args=(domain, args.robots, args.rate, streaming_s + 1.0, q, True))
            ws_url = f"ws{url.removeprefix('http')}{API}/ws/telemetry?token={token}"
            shares = [args.ws_clients // WS_PROCESSES + (i < args.ws_clients % WS_PROCESSES)
                      for i in range(WS_PROCESSES)]
            watchers = [ctx_mp.Process(target=ws_clients, args=(ws_url, n, start, streaming_s - WARMUP_S, q))
                        for n in shares if n]
            for proc in (publisher, *watchers):
                proc.start()
            time.sleep(max(0.0, start - time.time()))
            before, t0 = received(url, token), time.monotonic()
            for rate in args.rates:
                print(f"  {rate:g} requests/s ...", file=sys.stderr, flush=True)
                cpu0, c0 = cpu_seconds(pid), time.monotonic()
                values, kinds, errs = step(ctx_mp, url, token, ctx, rate, args.seconds, args.generators)
                rows.append(("load", rate, len(values), *percentiles(values), errs,
                             (cpu_seconds(pid) - cpu0) / (time.monotonic() - c0)))
                print("    " + ", ".join(f"{k} {percentiles(np.array(v))[1]:.0f}" for k, v in sorted(kinds.items()))
                      + " (p99 ms by request)", file=sys.stderr, flush=True)
                (overload if rate > args.target else errors).update({f"{rate:g}/s {k}": v for k, v in errs.items()})
            ingested = (received(url, token) - before) / (time.monotonic() - t0)
            results = [q.get(timeout=streaming_s + 120) for _ in range(1 + len(watchers))]
            for proc in (publisher, *watchers):
                proc.join(timeout=30)
        for line in logged_errors(tmp / "fleet_manager.log"):
            (overload if overload else errors)[f"fleet manager log: {line[:150]}"] += 1

    ws = [r for r in results if r[0] == "ws"]
    telemetry = np.concatenate([r[2] for r in ws]) if ws else np.array([])
    for r in ws:
        errors.update(r[3])
    errors.update({f"baseline {k}": v for k, v in rows[0][5].items()})
    offered = args.robots * args.rate
    if ingested < 0.95 * offered:
        errors[f"the fleet manager took in {ingested:.0f} states/s of the {offered:.0f}/s published"] += 1
    if ws and not len(telemetry):
        errors["no robot state reached a websocket client"] += 1
    at_target = [row for row in rows if row[0] == "load" and row[1] == args.target]
    if at_target and at_target[0][4] >= KNEE_MS:
        errors[f"p99 at the target {args.target:g}/s is {at_target[0][4]:.0f} ms (>= {KNEE_MS:g})"] += 1
    report(args, rows, ingested, telemetry, errors, overload)
    if errors:
        raise SystemExit(1)


@contextmanager
def _sqlite(tmp: Path) -> Iterator[str]:
    yield f"sqlite:///{tmp / 'load.db'}"


def report(args: argparse.Namespace, rows: list[tuple[str, float, int, float, float, Counter[str], float]],
           ingested: float, telemetry: np.ndarray, errors: Counter[str], overload: Counter[str]) -> None:
    base_p99 = rows[0][4]
    print(f"\n{'step':<9} {'offered/s':>9} {'answered/s':>10} {'p50 ms':>8} {'p99 ms':>8} {'p99 x base':>10} "
          f"{'errors':>6} {'CPU':>5}")
    knee = None
    for phase, rate, count, p50, p99, errs, cpu in rows:
        seconds = args.baseline_seconds if phase == "baseline" else args.seconds
        print(f"{phase:<9} {rate:>9g} {count / seconds:>10.1f} {p50:>8.1f} {p99:>8.1f} {p99 / base_p99:>10.2f} "
              f"{sum(errs.values()):>6} {cpu:>5.2f}")
        if phase == "load" and knee is None and (p99 > KNEE_MS or errs):
            knee = rate
    print(f"knee: {'none up to ' + format(rows[-1][1], 'g') + '/s' if knee is None else format(knee, 'g') + '/s'}"
          f" (the first rate whose p99 crosses {KNEE_MS:g} ms or that has errors)")
    t50, t99 = percentiles(telemetry)
    print(f"telemetry throughout: the fleet manager took in {ingested:.0f} states/s of "
          f"{args.robots * args.rate:.0f}/s published; age of each state at a websocket client on arrival "
          f"p50 {t50:.1f} ms, p99 {t99:.1f} ms ({len(telemetry)} states)")
    total = sum(errors.values())
    print(f"\nerrors: {total}" + "".join(f"\n  {n:>6}  {what}" for what, n in errors.most_common()))
    if overload:
        print(f"above the target ({args.target:g}/s), not failed on: {sum(overload.values())} errors"
              + "".join(f"\n  {n:>6}  {what}" for what, n in overload.most_common(8)))


if __name__ == "__main__":
    main()
