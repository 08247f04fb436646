"""Alerts as the API and the websocket show them."""

from __future__ import annotations

from pydantic import BaseModel, Field

from fleet_manager.alerts.rules import AlertKind, banner
from fleet_manager.db.tables import Alert
from fleet_manager.pilots.schemas import Severity, UtcDatetime


class AlertPublic(BaseModel):
    id: int
    site: str
    key: str = Field(description="what it stands for: one open alert per key (e.g. estop:amr_01)")
    kind: AlertKind
    severity: Severity
    banner: bool = Field(description="shown in the console's banner (SEV0, SEV1 and e-stops)")
    robot_id: str | None
    mission_id: int | None
    incident_id: str | None
    message: str
    raised_at: UtcDatetime
    cleared_at: UtcDatetime | None = Field(description="when its cause ended (an event is cleared when raised)")
    acknowledged_at: UtcDatetime | None
    acknowledged_by: str | None
    active: bool = Field(description="its cause still holds")

    @classmethod
    def of(cls, row: Alert) -> AlertPublic:
        data = row.model_dump()
        data["banner"] = banner(row.kind, row.severity)
        data["active"] = row.cleared_at is None
        return cls.model_validate(data)
