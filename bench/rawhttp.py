"""A lean HTTP/1.1 client for load generators: keep-alive connections on asyncio streams, one request at a time on
each, a new connection when none is idle (up to a limit; beyond it a request waits for the first free one).

Why not httpx: at 100 requests/s from one process, httpx's connection pool added its own delay. In one run of
bench/load.py, GET /health sent through httpx had a p99 of 128 ms while a plain socket asking the same server at
the same moment saw 12 ms: the benchmark was measuring its client. This one does the least a client must (write
the request, read the head, read Content-Length bytes or the chunks), so the latency it reports is the server's.
An idle connection is dropped after `keepalive_s` (shorter than the server's keep-alive, 5 s in uvicorn), as any
client must, or it would reuse one the server is closing at that moment.
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass
from typing import Any


class HttpError(Exception):
    """The connection failed or closed before a whole answer came."""


@dataclass
class Answer:
    status_code: int
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def text(self) -> str:
        return self.body.decode(errors="replace")


class RawClient:
    def __init__(self, host: str, port: int, headers: dict[str, str], local_address: str | None = None,
                 max_connections: int = 150, timeout: float = 10.0, keepalive_s: float = 3.0) -> None:
        self.host, self.port, self.local_address, self.timeout = host, port, local_address, timeout
        self.keepalive_s = keepalive_s
        self._head = "".join(f"{k}: {v}\r\n" for k, v in {"Host": f"{host}:{port}", **headers}.items())
        self._idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter, float]] = []  # with when it went idle
        self._slots = asyncio.Semaphore(max_connections)

    async def request(self, method: str, path: str, json_body: Any = None) -> Answer:
        body = b"" if json_body is None else json.dumps(json_body).encode()
        head = f"{method} {path} HTTP/1.1\r\n{self._head}Content-Length: {len(body)}\r\n"
        if json_body is not None:
            head += "Content-Type: application/json\r\n"
        message = (head + "\r\n").encode() + body
        async with self._slots:
            conn = None
            while self._idle and conn is None:
                reader, writer, since = self._idle.pop()
                if reader.at_eof() or time.monotonic() - since > self.keepalive_s:
                    writer.close()
                else:
                    conn = (reader, writer)
            if conn is None:
                conn = await self._connect()
            try:
                answer, keep = await asyncio.wait_for(self._exchange(conn, message), self.timeout)
            except (OSError, asyncio.IncompleteReadError, ValueError, TimeoutError) as exc:
                conn[1].close()
                raise HttpError(f"{type(exc).__name__}: {exc}") from exc
            if keep:
                self._idle.append((*conn, time.monotonic()))
            else:
                conn[1].close()
            return answer

    async def _connect(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        try:
            local = (self.local_address, 0) if self.local_address else None
            return await asyncio.wait_for(asyncio.open_connection(self.host, self.port, local_addr=local),
                                          self.timeout)
        except (OSError, TimeoutError) as exc:
            raise HttpError(f"connect: {type(exc).__name__}: {exc}") from exc

    @staticmethod
    async def _exchange(conn: tuple[asyncio.StreamReader, asyncio.StreamWriter],
                        message: bytes) -> tuple[Answer, bool]:
        reader, writer = conn
        writer.write(message)
        await writer.drain()
        head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
        status = int(head[0].split(" ", 2)[1])
        fields = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in head[1:] if line)}
        if fields.get("transfer-encoding", "").lower() == "chunked":
            body = bytearray()
            while size := int((await reader.readuntil(b"\r\n")).split(b";")[0], 16):
                body += await reader.readexactly(size + 2)
                del body[-2:]
            await reader.readuntil(b"\r\n")
        else:
            body = bytearray(await reader.readexactly(int(fields.get("content-length", "0"))))
        return Answer(status, bytes(body)), fields.get("connection", "").lower() != "close"

    async def aclose(self) -> None:
        for _, writer, _ in self._idle:
            writer.close()
        self._idle.clear()
