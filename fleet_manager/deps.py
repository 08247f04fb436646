"""FastAPI dependencies as named types."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request, WebSocket

from fleet_manager.lab import Lab


def get_lab(request: Request) -> Lab:
    lab: Lab = request.app.state.lab
    return lab


def get_lab_ws(websocket: WebSocket) -> Lab:
    lab: Lab = websocket.app.state.lab
    return lab


LabDep = Annotated[Lab, Depends(get_lab)]
LabWsDep = Annotated[Lab, Depends(get_lab_ws)]
