"""Scale (issue 16): the same open-loop API load against a site leader, its standby and 1, 2 and 4 replicas behind
one port (as `labfleet up --replicas N` runs them: `python -m fleet_manager --reuse-port`, PostgreSQL, NATS),
while simulated robots stream; throughput and p99 per replica count; then the failover time.

For each count: a fresh PostgreSQL database; the first leader candidate (it migrates and creates the admin), then
the standby and the replicas, each waited for until it serves; robots publishing RobotState at 10 Hz
(bench/ros_load.py, `ROS_DOMAIN_ID`) for the whole step; requests from bench/load.py's open-loop generators (its
mix: reads, mission submits and cancels, incidents; writes and leader-only reads are forwarded to the leader over
NATS) at each rate of `--rates`, latency from each request's scheduled time. Dispatch is paused (no simulator).

Failover (with the last count): the leader is SIGKILLed; the time until a write through the port is answered 2xx
again (a standby took the lock and started the leader's parts), and the writes refused meanwhile (503).
It exits 1 when any request failed.

    .venv/bin/python bench/scale.py [--replicas 1 2 4] [--rates 100 200] [--seconds 15] [--robots 50]
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import secrets
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager, suppress
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from load import ADMIN_PASSWORD, SITE, Context, make_site, percentiles, postgres_database, step
from manager import login
from ros_load import publish_states

from fleet_manager.cluster.election import holder_pid, libpq_url

REPO = Path(__file__).resolve().parent.parent
API = "/api/v1"
SERVING = b"Application startup complete"
START_TIMEOUT_S = 90.0


class Cluster:
    """A leader candidate, a standby and N replicas on one port, each `python -m fleet_manager --reuse-port`."""

    def __init__(self, port: int, env: dict[str, str], logs: Path) -> None:
        self.port, self.env, self.logs = port, env, logs
        self.url = f"http://127.0.0.1:{port}"
        self.procs: dict[str, subprocess.Popen[bytes]] = {}

    def start(self, name: str, role: str) -> None:
        log = self.logs / f"{name}.log"
        with log.open("wb") as out:
            self.procs[name] = subprocess.Popen(
                [sys.executable, "-m", "fleet_manager", "--port", str(self.port), "--reuse-port"],
                env=self.env | {"LABFLEET_ROLE": role}, cwd=REPO, stdout=out, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + START_TIMEOUT_S
        while SERVING not in log.read_bytes():
            if self.procs[name].poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"{name} did not start:\n{log.read_text(errors='replace')[-3000:]}")
            time.sleep(0.2)

    def stop(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.terminate()
        for proc in self.procs.values():
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def leader_pid(database_url: str) -> int:
    """The process holding the site's leader lock."""
    pid = holder_pid(libpq_url(database_url), SITE)
    if pid is None:
        raise SystemExit("no process holds the leader lock")
    return pid


@contextmanager
def cluster(replicas: int, port: int, domain: int, tmp: Path, robots: int, database_url: str,
            prefix: str) -> Iterator[Cluster]:
    env = dict(os.environ, ROS_DOMAIN_ID=str(domain), ROS_AUTOMATIC_DISCOVERY_RANGE="LOCALHOST",
               LABFLEET_SITES_DIR=str(make_site(tmp, robots)), LABFLEET_SITE=SITE, LABFLEET_DATA_DIR=str(tmp),
               LABFLEET_DATABASE_URL=database_url, LABFLEET_JWT_SECRET=secrets.token_urlsafe(32),
               LABFLEET_ADMIN_PASSWORD=ADMIN_PASSWORD, LABFLEET_ACCESS_TOKEN_MINUTES="60",
               LABFLEET_NATS_PREFIX=prefix, LABFLEET_VDA5050_ENABLED="false",
               LABFLEET_MAX_REQUESTS_PER_USER="1000")  # its clients share one admin token (see load.py)
    c = Cluster(port, env, tmp)
    try:
        c.start("leader-1", "leader")
        c.start("leader-2", "leader")
        for i in range(1, replicas + 1):
            c.start(f"replica-{i}", "replica")
        yield c
    finally:
        c.stop()


def failover(c: Cluster, token: str, database_url: str) -> tuple[float, int]:
    """SIGKILL the leader; seconds until a write is answered 2xx again, and the writes refused meanwhile."""
    headers = {"Authorization": f"Bearer {token}"}
    os.kill(leader_pid(database_url), signal.SIGKILL)
    killed, refused = time.monotonic(), 0
    while time.monotonic() - killed < 60:
        with suppress(httpx.HTTPError):
            answer = httpx.post(f"{c.url}{API}/dispatch/pause", headers=headers, timeout=5)
            if answer.is_success:
                return time.monotonic() - killed, refused
            refused += 1
        time.sleep(0.05)
    raise SystemExit("no leader 60 s after the kill")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--replicas", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--rates", type=float, nargs="+", default=[100, 200], help="requests/s, one step each")
    parser.add_argument("--seconds", type=float, default=15.0, help="each step")
    parser.add_argument("--robots", type=int, default=50)
    parser.add_argument("--generators", type=int, default=2)
    parser.add_argument("--port", type=int, default=8791)
    args = parser.parse_args()
    domain = int(os.environ.get("ROS_DOMAIN_ID", "0"))
    ctx_mp = mp.get_context("spawn")
    q: Any = ctx_mp.Queue()
    rows: list[tuple[int, float, float, float, float, int]] = []
    took = refused = float("nan")
    print(f"LabFleet scale: a leader, a standby and {', '.join(map(str, args.replicas))} replicas on one port; "
          f"{args.robots} robots x 10 Hz; requests at {', '.join(f'{r:g}' for r in args.rates)}/s, open loop, "
          f"{args.seconds:g} s each, from {args.generators} processes; PostgreSQL, NATS; ROS_DOMAIN_ID={domain}; "
          f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}", flush=True)
    for n in args.replicas:
        with ExitStack() as stack:
            tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="labfleet-scale-")))
            database_url = stack.enter_context(postgres_database())
            c = stack.enter_context(cluster(n, args.port, domain, tmp, args.robots, database_url,
                                            f"labfleet_scale_{uuid.uuid4().hex[:8]}"))
            token = login(c.url, "admin", ADMIN_PASSWORD)
            httpx.post(f"{c.url}{API}/dispatch/pause", headers={"Authorization": f"Bearer {token}"},
                       timeout=10).raise_for_status()
            streaming = 4.0 + len(args.rates) * (args.seconds + 6.0)
            publisher = ctx_mp.Process(target=publish_states, args=(domain, args.robots, 10.0, streaming, q, True))
            publisher.start()
            time.sleep(4.0)  # discovery, robots online
            ctx = Context([f"bench_{i:04d}" for i in range(args.robots)], "pharmacy")
            for rate in args.rates:
                print(f"  {n} replicas, {rate:g} requests/s ...", file=sys.stderr, flush=True)
                values, _, errs = step(ctx_mp, c.url, token, ctx, rate, args.seconds, args.generators)
                rows.append((n, rate, len(values) / args.seconds, *percentiles(values), sum(errs.values())))
                for what, count in errs.most_common(3):
                    print(f"    {count} x {what}", file=sys.stderr, flush=True)
            q.get(timeout=streaming + 60)
            publisher.join(timeout=30)
            if n == args.replicas[-1]:
                took, refused = failover(c, token, database_url)
    print(f"\n{'replicas':>8} {'offered/s':>9} {'answered/s':>10} {'p50 ms':>8} {'p99 ms':>8} {'errors':>6}")
    for n, rate, answered, p50, p99, errors in rows:
        print(f"{n:>8} {rate:>9g} {answered:>10.1f} {p50:>8.1f} {p99:>8.1f} {errors:>6}")
    print(f"\nfailover ({args.replicas[-1]} replicas): the leader SIGKILLed, writes answered again {took:.2f} s "
          f"later ({refused:.0f} refused with 503 meanwhile)")
    failed = sum(row[-1] for row in rows)
    if failed:  # (an error is a finding, not noise: 0e9b52e had every replica answer GET /robots/{id} 404)
        raise SystemExit(f"{failed} requests failed (the most frequent printed above each step)")


if __name__ == "__main__":
    main()
