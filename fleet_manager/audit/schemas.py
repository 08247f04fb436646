"""The audit log at the HTTP boundary: read-only (there is no create, update or delete schema)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, PlainSerializer

from fleet_manager.audit.entries import Outcome


def as_utc(value: datetime) -> datetime:
    """SQLite hands back naive datetimes; everything stored is UTC. A naive filter bound is read as UTC."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


UtcDatetime = Annotated[datetime, PlainSerializer(lambda v: as_utc(v).isoformat(), return_type=str, when_used="json")]


class AuditPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    at: UtcDatetime
    username: str | None  # None: anonymous; "system": the fleet manager itself
    role: str | None
    client: str | None
    method: str
    path: str
    action: str
    target: str
    status_code: int | None
    outcome: Outcome
    detail: str
