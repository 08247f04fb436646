"""The replay table: one re-simulation of a recorded mission, linked to it (registered on SQLModel.metadata
alongside db/tables.py; migration 0005 creates it). Rows never leave the process: schemas.py converts them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, DateTime
from sqlmodel import Field, SQLModel

from fleet_manager.db import tables as _registered  # noqa: F401  (the mission table this one refers to)


def _ts(nullable: bool) -> Any:
    return Field(sa_column=Column(DateTime(timezone=True), nullable=nullable))


class Replay(SQLModel, table=True):
    __tablename__ = "replay"

    id: int | None = Field(default=None, primary_key=True)
    mission_id: int = Field(foreign_key="mission.id", index=True)  # the original mission
    status: str = Field(index=True)  # queued | running | done | error
    requested_by: str | None = None  # the user (replay/queue.py limits each user's waiting replays)
    overrides: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    recording: str  # the recording replayed (bag folder)
    seed: int | None = None
    created_at: datetime = _ts(nullable=False)
    finished_at: datetime | None = _ts(nullable=True)
    sim_s: float | None = None  # sim seconds re-simulated
    wall_s: float | None = None  # wall seconds it took
    error: str | None = None
    result: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))  # the run's summary
    comparison: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
