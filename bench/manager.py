"""`python -m fleet_manager` as the benchmarks run it: started with an environment of their own, waited for until
/health answers, stopped (terminated, then killed) when they are done; and a user's token from it."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parent.parent


@contextmanager
def serve_fleet_manager(port: int, env: Mapping[str, str], log: Path,
                        args: Sequence[str] = ()) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """The fleet manager on 127.0.0.1:`port`, its output in `log`: its URL and process, once /health answers
    (SystemExit with the log's end if it exits or does not answer within 60 s)."""
    with log.open("wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "fleet_manager", "--port", str(port), *args], env=dict(env),
                                cwd=REPO, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            with suppress(httpx.TransportError):
                if httpx.get(f"{url}/api/v1/health", timeout=1).status_code == 200:
                    break
            if proc.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"the fleet manager did not start:\n{log.read_text()[-3000:]}")
            time.sleep(0.2)
        yield url, proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()


def login(url: str, username: str, password: str) -> str:
    """An access token of `username` (POST /auth/token); SystemExit naming the user if the server refuses."""
    answer = httpx.post(f"{url}/api/v1/auth/token", data={"username": username, "password": password}, timeout=10)
    if answer.status_code != 200:
        raise SystemExit(f"login as {username}: {answer.status_code} {answer.text}")
    return str(answer.json()["access_token"])
