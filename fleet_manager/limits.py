"""Size limits on what clients send: HTTP request bodies (declared or streamed) and websocket messages.

A pure ASGI middleware. A body whose Content-Length is over the limit is answered 413 before it is read; a
body without one (chunked) is counted while the endpoint reads it, and reading stops with 413 at the limit. A
websocket message over its limit closes the connection with 1009 (message too big)."""

from __future__ import annotations

from fastapi import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from fleet_manager.problems import PROBLEM_JSON, problem_bytes

WS_MESSAGE_TOO_BIG = 1009


def too_large(limit: int) -> str:
    return f"request body over {limit} bytes"


class RequestLimits:
    def __init__(self, app: ASGIApp, max_body_bytes: int, max_ws_message_bytes: int) -> None:
        self.app = app
        self.max_body = max_body_bytes
        self.max_ws_message = max_ws_message_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            await self._http(scope, receive, send)
        elif scope["type"] == "websocket":
            await self._websocket(scope, receive, send)
        else:
            await self.app(scope, receive, send)

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        length = dict(scope["headers"]).get(b"content-length")
        if length is not None and not length.isdigit():
            await _json(send, 400, f"Content-Length {length[:40].decode('latin-1')!r} is not a number")
            return
        if length is not None and int(length) > self.max_body:
            await _json(send, 413, too_large(self.max_body))
            return
        received = 0

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_body:
                    raise HTTPException(413, too_large(self.max_body))  # the endpoint's handlers answer it
            return message

        await self.app(scope, counted, send)

    async def _websocket(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def bounded() -> Message:
            message = await receive()
            if message["type"] == "websocket.receive":
                size = len(message.get("bytes") or b"") + len((message.get("text") or "").encode())
                if size > self.max_ws_message:
                    await send({"type": "websocket.close", "code": WS_MESSAGE_TOO_BIG,
                                "reason": f"message of {size} bytes over {self.max_ws_message}"})
                    return {"type": "websocket.disconnect", "code": WS_MESSAGE_TOO_BIG}
            return message

        await self.app(scope, bounded, send)


async def _json(send: Send, status: int, detail: str) -> None:
    body = problem_bytes(status, detail)
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", PROBLEM_JSON.encode()), (b"content-length", str(len(body)).encode()),
                            (b"connection", b"close")]})
    await send({"type": "http.response.body", "body": body})
