from __future__ import annotations

import asyncio
import contextlib

from fastapi import APIRouter, WebSocket, WebSocketDisconnect

from fleet_manager.auth.deps import VIEWER, websocket_principal
from fleet_manager.deps import LabDep, LabWsDep
from fleet_manager.telemetry.schemas import TelemetryStats

router = APIRouter(tags=["telemetry"])


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

    reader = asyncio.create_task(drain_incoming())
    sender = asyncio.create_task(client.pump(websocket.send_text))  # a slow reader holds up only itself
    try:
        await asyncio.wait({sender, reader}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        lab.hub.disconnect(client)
        for task in (sender, reader):
            task.cancel()
        for task in (sender, reader):  # the send that ended the connection raised: nothing to report
            with contextlib.suppress(asyncio.CancelledError, WebSocketDisconnect, RuntimeError, OSError):
                await task
