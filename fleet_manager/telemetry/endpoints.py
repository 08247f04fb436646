from __future__ import annotations

import asyncio
import contextlib

from fastapi import APIRouter, WebSocket, WebSocketDisconnect

from fleet_manager.auth.deps import VIEWER, WebsocketRefused, websocket_check, websocket_principal
from fleet_manager.deps import LabDep, LabWsDep
from fleet_manager.lab import Lab
from fleet_manager.telemetry.hub import stream
from fleet_manager.telemetry.schemas import TelemetryStats

router = APIRouter(tags=["telemetry"])
RECHECK_S = 5.0  # an open stream's token is checked again this often (expiry, user disabled, role changed)


@router.get("/telemetry/stats", response_model=TelemetryStats, dependencies=[VIEWER])
async def telemetry_stats(lab: LabDep) -> TelemetryStats:
    """Each websocket client's backlog: a client that stops reading holds one state per robot and at most
    `event_queue` events (older ones dropped), never more."""
    return TelemetryStats.model_validate(lab.hub.stats())


BEARER_PROTOCOL = "labfleet.bearer"  # offered with the token as a second subprotocol: no token in the URL (or logs)


def offered_token(websocket: WebSocket) -> str | None:
    """The token a client offers as `Sec-WebSocket-Protocol: labfleet.bearer, <access token>`, if it does."""
    offered = [p.strip() for p in websocket.scope.get("subprotocols", [])]
    if BEARER_PROTOCOL not in offered:
        return None
    return next((p for p in offered if p != BEARER_PROTOCOL), None)


@router.websocket("/ws/telemetry")
async def telemetry(websocket: WebSocket, lab: LabWsDep, token: str | None = None) -> None:
    """The access token of a user of this site, offered as the subprotocols `labfleet.bearer, <token>` (the
    console's way: it stays out of URLs and logs) or as `?token=`; else closed with 4401 (no usable token) or
    4403."""
    offered = offered_token(websocket)
    await websocket.accept(subprotocol=BEARER_PROTOCOL if offered else None)
    token = offered or token
    principal = await websocket_principal(websocket, lab, token)
    if principal is None:
        return
    streams = lab.streams
    limit = lab.settings.max_websockets_per_user
    if streams[principal.username] >= limit:  # (each stream costs the fan-out; one user cannot take them all)
        await websocket.close(code=4429, reason=f"{limit} live streams of user {principal.username} are open "
                                                f"(LABFLEET_MAX_WEBSOCKETS_PER_USER)")
        return
    streams[principal.username] += 1
    try:
        await _stream(websocket, lab, token)
    finally:
        streams[principal.username] -= 1


async def _stream(websocket: WebSocket, lab: Lab, token: str | None) -> None:
    peer = f"{websocket.client.host}:{websocket.client.port}" if websocket.client else ""
    client = lab.hub.connect(peer)

    async def drain_incoming() -> None:  # notices the close; clients send nothing we need (text or bytes)
        while (await websocket.receive())["type"] != "websocket.disconnect":
            pass

    async def recheck() -> None:  # closed with 4401 once the token expires: the console refreshes and reconnects
        try:
            while True:
                await asyncio.sleep(RECHECK_S)  # checked when it connected
                await websocket_check(lab, token)
        except WebsocketRefused as refused:
            await websocket.close(code=refused.code, reason=refused.reason)

    async def close(code: int, reason: str) -> None:
        await websocket.close(code=code, reason=reason)

    reader = asyncio.create_task(drain_incoming())
    sender = asyncio.create_task(stream(client, websocket.send_text, close))  # a slow reader: only itself
    guard = asyncio.create_task(recheck())
    try:
        await asyncio.wait({sender, reader, guard}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        lab.hub.disconnect(client)
        for task in (sender, reader, guard):
            task.cancel()
        for task in (sender, reader, guard):  # the send that ended the connection raised: nothing to report
            with contextlib.suppress(asyncio.CancelledError, WebSocketDisconnect, RuntimeError, OSError):
                await task
