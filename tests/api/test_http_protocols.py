"""The request-head deadline (http_guard.py) on both HTTP parsers the fleet manager offers (`--http httptools`, the
default, and `--http h11`), on real sockets: pipelined requests are all answered on one connection, and after the
last response a head that stops half way is closed once its deadline passes."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator

import pytest

from tests.api.test_hardening import CLOSED_WITHIN_S, Server, _closed, _connect, fleet_manager

HEALTH = b"GET /api/v1/health HTTP/1.1\r\nHost: x\r\n\r\n"


@pytest.fixture(scope="module", params=["httptools", "h11"])
def server(request, tmp_path_factory) -> Iterator[Server]:
    """A request head must be complete within 2 s."""
    with fleet_manager(tmp_path_factory.mktemp(request.param), http=request.param, header_timeout_s="2") as server:
        yield server


def _answers(sock, count: int) -> bytes:
    """What the server sent until `count` responses arrived (30 s at most)."""
    sock.settimeout(1.0)
    got = b""
    deadline = time.monotonic() + 30
    while got.count(b"HTTP/1.1 200") < count and time.monotonic() < deadline:
        try:
            chunk = sock.recv(65536)
        except TimeoutError:
            continue
        if not chunk:
            break
        got += chunk
    return got


def test_pipelined_requests_are_answered_then_a_stalled_head_is_closed(server):
    with _connect(server) as sock:
        sock.sendall(HEALTH * 3)  # three requests at once: each answered in turn, none cut by the deadline
        assert _answers(sock, 3).count(b"HTTP/1.1 200") == 3, server.output()
    with _connect(server) as sock:
        sock.sendall(HEALTH)
        assert _answers(sock, 1).count(b"HTTP/1.1 200") == 1
        time.sleep(0.5)  # (the rest of that answer, if any)
        with contextlib.suppress(TimeoutError):
            sock.recv(65536)
        sock.sendall(HEALTH[:20])  # the next head stops half way
        started = time.monotonic()
        while not _closed(sock):
            assert time.monotonic() - started < CLOSED_WITHIN_S, "a stalled head after a response stayed open"
            time.sleep(0.2)
    assert server.health() == 200
