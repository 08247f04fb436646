from __future__ import annotations

import asyncio
import contextlib

from fastapi import APIRouter, WebSocket, WebSocketDisconnect

from fleet_manager.deps import LabWsDep

router = APIRouter(tags=["telemetry"])


@router.websocket("/ws/telemetry")
async def telemetry(websocket: WebSocket, lab: LabWsDep) -> None:
    await websocket.accept()
    client = lab.hub.connect()

    async def drain_incoming() -> None:  # notices the close; clients send nothing we need
        with contextlib.suppress(WebSocketDisconnect):
            while True:
                await websocket.receive_text()

    reader = asyncio.create_task(drain_incoming())
    try:
        while not reader.done():
            waiter = asyncio.create_task(client.wake.wait())
            await asyncio.wait({waiter, reader}, return_when=asyncio.FIRST_COMPLETED)
            waiter.cancel()
            for frame in client.take():
                await websocket.send_text(frame)
    except (WebSocketDisconnect, RuntimeError):
        pass
    finally:
        lab.hub.disconnect(client)
        reader.cancel()
