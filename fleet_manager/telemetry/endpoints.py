from __future__ import annotations

import asyncio
import contextlib

from fastapi import APIRouter, WebSocket, WebSocketDisconnect

from fleet_manager.auth.deps import VIEWER, WebsocketRefused, websocket_check, websocket_principal
from fleet_manager.deps import LabDep, LabWsDep
from fleet_manager.telemetry.schemas import TelemetryStats

router = APIRouter(tags=["telemetry"])
RECHECK_S = 5.0  # an open stream's token is checked again this often (expiry, user disabled, role changed)


@router.get("/telemetry/stats", response_model=TelemetryStats, dependencies=[VIEWER])
async def telemetry_stats(lab: LabDep) -> TelemetryStats:
    """Each websocket client's backlog: a client that stops reading holds one state per robot and at most
    `event_queue` events (older ones dropped), never more."""
    return TelemetryStats.model_validate(lab.hub.stats())


@router.websocket("/ws/telemetry")
async def telemetry(websocket: WebSocket, lab: LabWsDep, token: str | None = None) -> None:
    """`?token=<access token>` of a user of this site; else closed with 4401 (no usable token) or 4403."""
    await websocket.accept()
    if await websocket_principal(websocket, lab, token) is None:
        return
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

    reader = asyncio.create_task(drain_incoming())
    sender = asyncio.create_task(client.pump(websocket.send_text))  # a slow reader holds up only itself
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
