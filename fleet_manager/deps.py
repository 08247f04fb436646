"""FastAPI dependencies as named types."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request, WebSocket
from sqlmodel import Session

from fleet_manager.lab import Lab


def lab_of(connection: Request | WebSocket) -> Lab:
    lab: Lab = connection.app.state.lab
    return lab


# The dependencies are coroutines: FastAPI runs a plain function dependency in the thread pool, a round trip
# through a worker thread per request for an attribute lookup.
async def get_lab(request: Request) -> Lab:
    return lab_of(request)


async def get_lab_ws(websocket: WebSocket) -> Lab:
    return lab_of(websocket)


LabDep = Annotated[Lab, Depends(get_lab)]
LabWsDep = Annotated[Lab, Depends(get_lab_ws)]


def get_session(lab: LabDep) -> Iterator[Session]:
    """A database session for one request (use it from a sync endpoint: it runs in the thread pool)."""
    with Session(lab.engine, expire_on_commit=False) as session:
        yield session


SessionDep = Annotated[Session, Depends(get_session)]
