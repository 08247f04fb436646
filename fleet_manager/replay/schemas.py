"""Replay schemas at the HTTP boundary (Create / Public)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer

from fleet_manager.boundary import Count, Number
from fleet_manager.missions.schemas import as_utc
from fleet_manager.replay.tables import Replay

UtcDatetime = Annotated[datetime, PlainSerializer(lambda v: as_utc(v).isoformat(), return_type=str, when_used="json")]
OverrideValue = Annotated[str, Field(max_length=200)] | Count | Number  # never a bool


class ReplayCreate(BaseModel):
    """What-if overrides, e.g. {"max_speed": 0.5, "world": "living_lab", "allocation": "auto"} (resim.py)."""

    model_config = ConfigDict(extra="forbid")
    overrides: dict[Annotated[str, Field(min_length=1, max_length=100)], OverrideValue] = Field(
        default_factory=dict, max_length=50)


class ReplayPublic(BaseModel):
    id: int
    mission_id: int
    status: str  # queued | running | done | error
    position: int | None = None  # queued: its place in the site's queue (1 starts next)
    requested_by: str | None = None
    overrides: dict[str, Any]
    seed: int | None
    created_at: UtcDatetime
    finished_at: UtcDatetime | None
    sim_s: float | None
    wall_s: float | None
    speedup: float | None  # sim seconds per wall second
    error: str | None
    result: dict[str, Any] | None  # the re-simulated run: missions, step events, trajectories (1 Hz) and the
    # SHA-256 of each whole trajectory (runs.py Run.summary)
    comparison: dict[str, Any] | None  # against the recorded run (compare.py)

    @classmethod
    def of(cls, row: Replay, position: int | None = None) -> ReplayPublic:
        assert row.id is not None
        speedup = row.sim_s / row.wall_s if row.sim_s is not None and row.wall_s else None
        return cls(id=row.id, mission_id=row.mission_id, status=row.status, position=position,
                   requested_by=row.requested_by, overrides=dict(row.overrides),
                   seed=row.seed, created_at=row.created_at, finished_at=row.finished_at, sim_s=row.sim_s,
                   wall_s=row.wall_s, speedup=round(speedup, 2) if speedup is not None else None, error=row.error,
                   result=row.result, comparison=row.comparison)
