"""Writes sent to a replica go to the leader over NATS request/reply and come back with its answer.

On a replica, `ForwardToLeader` (a pure ASGI middleware) sends every request that needs the leader (any method
but GET, HEAD and OPTIONS outside /auth/, and the few reads of what only the leader holds in memory: LEADER_READS)
to `<prefix>.<site>.api` and answers with the leader's status, headers and body. On the leader, `LeaderApi` takes
those requests (a queue group: one leader answers) and runs each against its own ASGI app, with the client's
address, so that the leader's own checks, audit entry and answer are exactly those of a request made to it.

With no leader (no responder on the subject) a forwarded request is answered 503 `leader_unavailable` with
Retry-After; a leader that does not answer within LABFLEET_FORWARD_TIMEOUT_S: 504 `leader_timeout` (the write may
or may not have been carried out: read it back before sending it again).

A message is a JSON head (one line) and the raw body after it."""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Callable
from typing import Any

import orjson
from nats.aio.client import Client as Nats
from nats.aio.msg import Msg
from nats.errors import NoRespondersError
from nats.errors import TimeoutError as NatsTimeout
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from fleet_manager.problems import PROBLEM_JSON, problem_bytes

log = logging.getLogger(__name__)

LOCAL_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
LOCAL_WRITES = ("/api/v1/auth/",)  # log in, refresh, log out: the database alone, served by any replica
# reads of what only the leader holds in memory (traffic, the dispatcher, adapters, recordings being written)
LEADER_READS = re.compile(r"^/api/v1/(dispatch|sites/[^/]+/(traffic|map)|robots/[^/]+/vda5050"
                          r"|missions/[0-9]+/recording(/info)?)/?$")
FORWARDED = "labfleet.forwarded"  # the scope key of a request a replica forwarded
RETRY_AFTER_S = 2  # a standby takes the lock within about a second of the leader's death


def needs_leader(method: str, path: str) -> bool:
    if method in LOCAL_METHODS:
        return bool(LEADER_READS.match(path))
    return path.startswith("/api/") and not path.startswith(LOCAL_WRITES)


def pack(head: dict[str, Any], body: bytes) -> bytes:
    return orjson.dumps(head) + b"\n" + body


def unpack(data: bytes) -> tuple[dict[str, Any], bytes]:
    head, _, body = data.partition(b"\n")
    return orjson.loads(head), body


class ForwardToLeader:
    """Installed in every process; forwards only while `forwarder()` gives a connection (a replica, a standby)."""

    def __init__(self, app: ASGIApp, forwarder: Callable[[], tuple[Nats, str, float] | None],
                 max_body_bytes: int) -> None:
        self.app = app
        self.forwarder = forwarder  # (NATS connection, the api subject, timeout s), or None: serve here
        self.max_body = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        # (a request the leader runs for a replica is never sent on again, even by a leader stepping down)
        target = self.forwarder() if scope["type"] == "http" and not scope.get(FORWARDED) else None
        if target is None or not needs_leader(scope["method"], scope["path"]):
            await self.app(scope, receive, send)
            return
        nc, subject, timeout = target
        body = b""
        more = True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            body += message.get("body", b"")
            more = message.get("more_body", False)
            if len(body) > self.max_body:  # (the leader would refuse it: said here, without sending it)
                await _answer(send, 413, [], problem_bytes(413, f"the request body is over {self.max_body} bytes",
                                                           "too_large"))
                return
        client = scope.get("client") or ("", 0)
        head = {"method": scope["method"], "path": scope["path"], "query": scope.get("query_string", b"").decode(),
                "headers": [[k.decode("latin-1"), v.decode("latin-1")] for k, v in scope.get("headers", [])],
                "client": [client[0], client[1]], "scheme": scope.get("scheme", "http")}
        try:
            reply = await nc.request(subject, pack(head, body), timeout=timeout)
        except NoRespondersError:
            await _answer(send, 503, [(b"retry-after", str(RETRY_AFTER_S).encode())],
                          problem_bytes(503, "no site leader is running now (a standby takes over within seconds): "
                                        "reads still work; send the change again shortly", "leader_unavailable"))
            return
        except NatsTimeout:
            await _answer(send, 504, [], problem_bytes(
                504, f"the site leader did not answer within {timeout:g} s: read the record back before sending "
                     "the change again", "leader_timeout"))
            return
        answer, data = unpack(reply.data)
        headers = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in answer["headers"]]
        await send({"type": "http.response.start", "status": answer["status"], "headers": headers})
        await send({"type": "http.response.body", "body": data})


async def _answer(send: Send, status: int, headers: list[tuple[bytes, bytes]], body: bytes) -> None:
    headers = [(b"content-type", PROBLEM_JSON.encode()), (b"content-length", str(len(body)).encode()), *headers]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class LeaderApi:
    """On the leader: the requests replicas forward, each run against this process's app (one task each)."""

    def __init__(self, nc: Nats, subject: str, app: ASGIApp, server: tuple[str, int] | None = None) -> None:
        self._nc, self._subject, self._app = nc, subject, app
        self._server = server
        self._sub: Any = None
        self._running: set[asyncio.Task[None]] = set()
        self.served = 0

    async def start(self) -> None:
        self._sub = await self._nc.subscribe(self._subject, queue="leader", cb=self._on_request)

    async def _on_request(self, msg: Msg) -> None:
        task = asyncio.create_task(self._serve(msg))  # (callbacks of one subscription run one at a time)
        self._running.add(task)
        task.add_done_callback(self._running.discard)

    async def _serve(self, msg: Msg) -> None:
        try:
            head, body = unpack(msg.data)
            status, headers, data = await self.run(head, body)
        except Exception:
            log.exception("a forwarded request failed on the leader")
            status, headers = 500, [["content-type", PROBLEM_JSON]]
            data = problem_bytes(500, "the leader could not run the forwarded request", "internal_error")
        self.served += 1
        await msg.respond(pack({"status": status, "headers": headers}, data))

    async def run(self, head: dict[str, Any], body: bytes) -> tuple[int, list[list[str]], bytes]:
        """One request through the whole app (its middleware included): status, headers, body."""
        scope: Scope = {
            "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": head["method"],
            "scheme": head.get("scheme", "http"), "path": head["path"], "raw_path": head["path"].encode(),
            "query_string": head["query"].encode(), "root_path": "",
            "headers": [(k.encode("latin-1"), v.encode("latin-1")) for k, v in head["headers"]],
            "client": tuple(head["client"]), "server": self._server, FORWARDED: True,
        }
        sent = False

        async def receive() -> Message:
            nonlocal sent
            if sent:
                await asyncio.Event().wait()  # (no disconnect: the replica waits for the answer)
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}

        status, headers, chunks = 500, [], []

        async def send(message: Message) -> None:
            nonlocal status, headers
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = [[k.decode("latin-1"), v.decode("latin-1")] for k, v in message.get("headers", [])]
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))

        await self._app(scope, receive, send)
        return status, headers, b"".join(chunks)

    async def stop(self) -> None:
        if self._sub is not None:
            await self._sub.unsubscribe()
            self._sub = None
        for task in list(self._running):
            await asyncio.wait([task], timeout=5)
