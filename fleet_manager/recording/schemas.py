"""Recording schemas at the HTTP boundary."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field


class SegmentPublic(BaseModel):
    segment: int = Field(description="0 from when the mission went underway; 1, 2, ... after a restart or requeue")
    status: str = Field(description="recording | finished | failed | unfinished | pruned")
    started_at: str
    ended_at: str | None = None
    bytes: int | None = None
    messages: dict[str, int] = Field(default_factory=dict, description="messages written, per topic")
    dropped: dict[str, int] = Field(default_factory=dict)
    error: str | None = None


class RecordingPublic(BaseModel):
    mission_id: int
    download: str = Field(description="GET this path for the MCAP file (ROS 2 profile)")
    segments: list[SegmentPublic]

    @classmethod
    def of(cls, data: dict[str, Any], download: str) -> RecordingPublic:
        return cls.model_validate({**data, "download": download})
