"""Alerts as the API and the websocket show them."""

from __future__ import annotations

from pydantic import BaseModel, Field

from fleet_manager.alerts.rules import AlertKind, banner, text_of
from fleet_manager.db.tables import Alert
from fleet_manager.pilots.schemas import Severity, UtcDatetime


class AlertText(BaseModel):
    """The message as a catalogue entry, for a client to say in its language."""

    key: str = Field(description="its message key in the console's catalogues: alerts.text.<id>")
    params: dict[str, str] = Field(description="the values of its {placeholders} (robot, mission, battery...); "
                                               "reason, prompt and description are the server's English text")


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
    message: str = Field(description="what happened, in English")
    text: AlertText | None = Field(default=None, description="the message as a catalogue key and its parameters "
                                                             "(null: the message is the only text)")
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
        found = text_of(row.kind, row.message)
        data["text"] = {"key": f"alerts.text.{found[0]}", "params": found[1]} if found else None
        return cls.model_validate(data)
