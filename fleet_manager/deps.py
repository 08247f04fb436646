"""FastAPI dependencies as named types."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request, WebSocket
from sqlmodel import Session

from fleet_manager.lab import Lab


def get_lab(request: Request) -> Lab:
    lab: Lab = request.app.state.lab
    return lab


def get_lab_ws(websocket: WebSocket) -> Lab:
    lab: Lab = websocket.app.state.lab
    return lab


LabDep = Annotated[Lab, Depends(get_lab)]
LabWsDep = Annotated[Lab, Depends(get_lab_ws)]


def get_session(lab: LabDep) -> Iterator[Session]:
    """A database session for one request (use it from a sync endpoint: it runs in the thread pool)."""
    with Session(lab.engine, expire_on_commit=False) as session:
        yield session


SessionDep = Annotated[Session, Depends(get_session)]
