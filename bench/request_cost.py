"""CPU per API request, load-independent (issue 16): bench/load.py's operator-console mix driven into the ASGI app
in-process (no HTTP client or server in between, the lab's lifespan running, SQLite, no ROS), one request at a
time, and the process's CPU time (time.process_time: every thread, the thread pool and the audit writer included)
divided by the requests answered. A machine-speed baseline is measured in the same run: a bare FastAPI app
answering a small pydantic model, driven the same way; the figure to compare across runs is the ratio.

The robots (`--robots`, as bench/load.py names them) report once, straight into the lab (`Lab.on_states`), so
GET /robots lists them; dispatch is paused, so submitted missions stay queued, as in bench/load.py. The garbage
collector freezes the start-up objects as in the service (fleet_manager/gc_policy.py).

    .venv/bin/python bench/request_cost.py [--requests 3000] [--robots 100] [--by-kind] [--profile out.prof]
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import logging
import pstats
import secrets
import sys
import tempfile
import threading
import time
from collections import deque
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import orjson
from fastapi import FastAPI
from pydantic import BaseModel

sys.path.insert(0, str(Path(__file__).resolve().parent))
from load import API, MIX, SITE, Context, make_site, request_for

from fleet_manager import gc_policy
from fleet_manager.app import create_app
from fleet_manager.core.robots import RobotMode, RobotReport
from fleet_manager.settings import Settings

Send = Callable[[int], Awaitable[None]]
ANSWER_S = 30.0  # a request not answered in this time stops the run, naming it


class Profiles:
    """cProfile in every thread (the thread pools' too, where the database work runs), merged at the end."""

    def __init__(self) -> None:
        self.main = cProfile.Profile()
        self.threads: list[cProfile.Profile] = []
        threading.setprofile(self._start)  # each new thread: its own profiler from its first call

    def _start(self, *_: object) -> None:
        profile = cProfile.Profile()
        self.threads.append(profile)
        profile.enable()

    def dump(self, path: str) -> None:
        threading.setprofile(None)  # type: ignore[arg-type]
        stats = pstats.Stats(self.main)
        for profile in self.threads:
            stats.add(profile)
        stats.dump_stats(path)


async def idle_cpu(seconds: float = 3.0) -> float:
    """CPU seconds per second the process spends with no request (the lab's own periodic work)."""
    cpu, wall = time.process_time(), time.monotonic()
    await asyncio.sleep(seconds)
    return (time.process_time() - cpu) / (time.monotonic() - wall)


async def cpu_per_request(send: Send, count: int, profile: cProfile.Profile | None = None,
                          idle: float = 0.0) -> float:
    """CPU seconds per request of `count` requests sent one at a time by `send(i)`, less `idle` CPU seconds per
    second (what the process spends without requests)."""
    await send(-1)  # (warm)
    if profile is not None:
        profile.enable()
    cpu, wall = time.process_time(), time.monotonic()
    for i in range(count):
        await send(i)
    used = time.process_time() - cpu - idle * (time.monotonic() - wall)
    if profile is not None:
        profile.disable()
    return used / count


class Client:
    """Requests straight into an ASGI app (no HTTP client in between: its cost is not the server's)."""

    def __init__(self, app: Any, prefix: str = "") -> None:
        self.app = app
        self.prefix = prefix
        self.headers: list[tuple[bytes, bytes]] = [(b"host", b"bench")]

    async def request(self, method: str, path: str, json: Any = None, form: dict[str, str] | None = None,
                      ) -> tuple[int, bytes]:
        body = b""
        headers = list(self.headers)
        if json is not None:
            body = orjson.dumps(json)
            headers.append((b"content-type", b"application/json"))
        elif form is not None:
            body = urlencode(form).encode()
            headers.append((b"content-type", b"application/x-www-form-urlencoded"))
        if body:
            headers.append((b"content-length", str(len(body)).encode()))
        path, _, query = (self.prefix + path).partition("?")
        scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method,
                 "scheme": "http", "path": path, "raw_path": path.encode(), "query_string": query.encode(),
                 "root_path": "", "headers": headers, "client": ("127.0.0.1", 40000), "server": ("bench", 80)}
        sent = False
        status = 0
        answer = bytearray()

        async def receive() -> dict[str, Any]:
            nonlocal sent
            if sent:
                await asyncio.Event().wait()  # (the app listening for a disconnect: none comes)
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}

        async def send(message: dict[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            elif message["type"] == "http.response.body":
                answer.extend(message.get("body", b""))

        await self.app(scope, receive, send)
        return status, bytes(answer)

    async def ok(self, method: str, path: str, json: Any = None, form: dict[str, str] | None = None) -> Any:
        try:
            async with asyncio.timeout(ANSWER_S):
                status, answer = await self.request(method, path, json, form)
        except TimeoutError:
            raise SystemExit(f"{method} {path}: no answer in {ANSWER_S:g} s") from None
        if not 200 <= status < 300:
            raise SystemExit(f"{method} {path}: {status} {answer[:200]!r}")
        return orjson.loads(answer) if answer else None


class Small(BaseModel):
    status: str
    robots: int
    site: str


async def baseline(count: int) -> float:
    """A bare FastAPI app's answer of a small model, driven the same way: the machine's speed."""
    app = FastAPI()

    @app.get("/health", response_model=Small)
    async def small() -> Small:
        return Small(status="ok", robots=100, site=SITE)

    client = Client(app)

    async def send(_: int) -> None:
        await client.ok("GET", "/health")

    return await cpu_per_request(send, count)


def reports(robots: int) -> list[RobotReport]:
    now = time.time()
    return [RobotReport(f"bench_{i:04d}", "delivery", "deliverybot", RobotMode.IDLE, float(i % 30), float(i // 30),
                        0.0, 0.0, 0.0, 80.0, False, "", 0.0, (), now, now) for i in range(robots)]


async def measure(args: argparse.Namespace, tmp: Path) -> None:
    password = secrets.token_urlsafe(12)
    settings = Settings(database_url=f"sqlite:///{tmp / 'cost.db'}", data_dir=tmp, ros_enabled=False,
                        environment="test", jwt_secret=secrets.token_urlsafe(32), admin_password=password,
                        sites_dir=make_site(tmp, args.robots), site=SITE,
                        robot_timeout_s=3600.0)  # (the robots report once: online throughout, as when they stream)
    profiles = Profiles() if args.profile else None  # (before the lab starts its threads)
    gc_policy.install()  # the start-up objects frozen once the lab runs, as `python -m fleet_manager` does
    app = create_app(settings)
    base = await baseline(args.requests)
    async with app.router.lifespan_context(app):
        http = Client(app, API)
        app.state.lab.on_states(reports(args.robots))
        token = (await http.ok("POST", "/auth/token", form={"username": "admin", "password": password}))
        http.headers.append((b"authorization", f"Bearer {token['access_token']}".encode()))
        await http.ok("POST", "/dispatch/pause")
        places = (await http.ok("GET", f"/sites/{SITE}/map"))["places"]
        place = next(p["name"] for p in places if p.get("kind") != "charger" and not p["name"].startswith("c_"))
        ctx = Context([f"bench_{i:04d}" for i in range(args.robots)], place)
        own: deque[int] = deque()

        def sender(kinds: tuple[str, ...]) -> Send:
            async def send(i: int) -> None:
                kind = kinds[i % len(kinds)]
                method, path, body = request_for(kind, ctx, own, i) or ("GET", "/health", None)
                answer = await http.ok(method, path, body)
                if kind == "submit":
                    own.append(answer["id"])
            return send

        for _ in range(3):  # missions to list and to look at
            await sender(("submit",))(0)
        idle = await idle_cpu()
        mix = await cpu_per_request(sender(tuple(args.only) if args.only else MIX), args.requests,
                                    profiles.main if profiles else None, idle)
        if profiles is not None:
            profiles.dump(args.profile)
        print(f"LabFleet request cost: {args.requests} requests of bench/load.py's mix, one at a time, in-process "
              f"(SQLite, {args.robots} robots)")
        print(f"  baseline (bare FastAPI, small model): {base * 1e3:.3f} ms CPU/request; the lab without requests: "
              f"{idle:.3f} CPU s/s (taken off the figures below)")
        print(f"  mix: {mix * 1e3:.3f} ms CPU/request = {mix / base:.1f} x baseline "
              f"(one process: at most {1 / mix:.0f} requests/s)")
        if args.by_kind:
            for kinds in dict.fromkeys(("submit", "cancel") if k in ("submit", "cancel") else (k,) for k in MIX):
                cost = await cpu_per_request(sender(kinds), max(100, args.requests // 10), idle=idle)
                print(f"    {'+'.join(kinds):<16} {cost * 1e3:7.3f} ms = {cost / base:5.1f} x baseline")
        audit = app.state.lab.audit
        if audit is not None and not audit.flush(10):
            raise SystemExit("the audit writer did not store every entry")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--robots", type=int, default=100)
    parser.add_argument("--by-kind", action="store_true", help="also the cost of each kind of request alone")
    parser.add_argument("--only", nargs="+", choices=sorted(set(MIX)), help="these kinds instead of the mix")
    parser.add_argument("--profile", metavar="FILE",
                        help="cProfile the mix into FILE (pstats; every thread, from the start)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)  # (robots that reported once go offline: warnings)
    with tempfile.TemporaryDirectory(prefix="labfleet-cost-") as tmp:
        asyncio.run(measure(args, Path(tmp)))


if __name__ == "__main__":
    main()
