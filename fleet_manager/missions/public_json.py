"""Missions as the API answers them, straight from their columns (issue 16).

GET /missions answered MissionPublic models built from ORM objects, which FastAPI then validated and serialised
again: a list of fifty missions spent most of its time there. Here a mission is a dict in MissionPublic's field
order holding the values its validation gives (datetimes already as its serializer writes them), so that
model_json.response writes the bytes FastAPI wrote for the validated model
(tests/fleet_manager/test_mission_public_json.py). A row holding what validation would change or refuse (whole
numbers in a pose, an unknown status...) goes through MissionPublic's validation as before: the same bytes, the
same error."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from fleet_manager.core.missions import MissionStatus, Priority
from fleet_manager.db.tables import Mission
from fleet_manager.missions.schemas import EventPublic, MissionPublic, as_utc
from fleet_manager.missions.texts import coded, reason

_STATUSES = frozenset(str(s) for s in MissionStatus)
_PRIORITIES = frozenset(str(p) for p in Priority)
_FLOATS = ("distance_m", "energy_wh", "sim_started_at", "sim_ended_at", "duration_s")
_TIMES = ("not_before", "created_at", "assigned_at", "started_at", "ended_at")
# every field of MissionPublic, in its order, at its default (None for those the columns or `mission` fill)
_BLANK: dict[str, Any] = {name: None if field.is_required() else field.default
                          for name, field in MissionPublic.model_fields.items()}
COLUMNS = tuple(c.name for c in Mission.__table__.columns if c.name in _BLANK)  # type: ignore[attr-defined]
EVENT_COLUMNS = tuple(EventPublic.model_fields)  # the mission_event table's columns of the same names


def as_float(value: Any) -> float | None:
    """A figure put in a float field without validation (model_copy) as the field's serializer writes it."""
    return None if value is None else float(value)


def _as_is(m: dict[str, Any]) -> bool:
    """Whether MissionPublic's validation keeps the mission's values as they are (but for its enums' type)."""
    if (m["status"] not in _STATUSES or m["priority"] not in _PRIORITIES or type(m["id"]) is not int
            or type(m["move_aside"]) is not bool or type(m["params"]) is not dict
            or type(m["created_at"]) is not datetime or type(m["steps"]) is not list
            or (m["status_params"] is not None and type(m["status_params"]) is not dict)):
        return False
    for step in m["steps"]:
        if type(step) is not dict:
            return False
    for key in ("capabilities", "route"):
        names = m[key]
        if type(names) is not list:
            return False
        for name in names:
            if type(name) is not str:
                return False
    for key in _FLOATS:
        if m[key] is not None and type(m[key]) is not float:
            return False
    for key in _TIMES:
        if m[key] is not None and type(m[key]) is not datetime:
            return False
    pose = m["final_pose"]
    if pose is not None:
        if type(pose) is not dict:
            return False
        for value in pose.values():
            if type(value) is not float:
                return False
    return True


def _event_as_is(e: dict[str, Any]) -> bool:
    """Whether EventPublic's validation keeps the event's values as they are."""
    return (type(e["time"]) is datetime and (e["sim_time"] is None or type(e["sim_time"]) is float)
            and (e["params"] is None or type(e["params"]) is dict)
            and (e["step_index"] is None or type(e["step_index"]) is int))


def mission(row: Sequence[Any], events: Sequence[Sequence[Any]] | None = None) -> dict[str, Any]:
    """The mission of `row` (the mission table's COLUMNS, in that order) with `events` (each the mission_event
    table's EVENT_COLUMNS), as MissionPublic.of gives it, before what MissionService._public and estimate add."""
    m = _BLANK.copy()
    m.update(zip(COLUMNS, row, strict=True))  # (the keys keep MissionPublic's order)
    if m["sim_started_at"] is not None and m["sim_ended_at"] is not None:
        m["duration_s"] = m["sim_ended_at"] - m["sim_started_at"]
    elif m["started_at"] is not None and m["ended_at"] is not None:
        m["duration_s"] = (as_utc(m["ended_at"]) - as_utc(m["started_at"])).total_seconds()
    if m["failure_reason"]:  # stored as plain English: recognised by its wording (texts.reason)
        _, m["failure_code"], m["failure_params"] = coded(reason(m["failure_reason"]))
    found = None if events is None else [dict(zip(EVENT_COLUMNS, e, strict=True)) for e in events]
    if not (_as_is(m) and all(_event_as_is(e) for e in found or ())):
        m["events"] = found
        return MissionPublic.model_validate(m).model_dump()
    for key in _TIMES:
        if m[key] is not None:
            m[key] = as_utc(m[key]).isoformat()
    if found is not None:
        for e in found:
            e["time"] = as_utc(e["time"]).isoformat()
        m["events"] = found
    return m
