"""A VDA 5050 vehicle's factsheet fills what its registration leaves out of the model (issue 15).

`POST /robots` with `adapter: vda5050` may leave out the model's name, kind, radius, max_speed, max_accel and
max_decel: the fleet manager takes them from the vehicle's factsheet (typeSpecification.seriesName and
agvClass; physicalParameters: half the diagonal of width and length, speedMax, accelerationMax, decelerationMax).
A vehicle that is online has its factsheet retained on the broker, or sends it on a factsheetRequest; the
registration waits for it (LABFLEET_VDA5050_FACTSHEET_WAIT_S, default 10 s) when a required field is missing,
and is refused (422, naming the field, nothing stored) when none came. Fields the entry gives always win."""

from __future__ import annotations

import math
import re
from typing import Any, Protocol

from labfleet_sim.fleet_config import Vda5050Identity
from pydantic import ValidationError

from fleet_manager.core.errors import InvalidInput
from fleet_manager.robots.schemas import RobotCreate, RobotModelDraft, RobotModelIn
from vda5050.factsheet import Factsheet

DEFAULT_MANUFACTURER = str(Vda5050Identity.model_fields["manufacturer"].default)


class FactsheetSource(Protocol):
    interface: str

    async def factsheet_of(self, manufacturer: str, serial: str, wait_s: float) -> Factsheet | None: ...


def from_factsheet(sheet: Factsheet) -> dict[str, Any]:
    """The model fields a factsheet gives."""
    spec, body = sheet.type_specification, sheet.physical_parameters
    return {"name": re.sub(r"[^A-Za-z0-9_.-]", "_", spec.series_name)[:64] or None,
            "kind": str(spec.agv_class).lower(),
            "radius": round(math.hypot(body.width, body.length) / 2, 3),
            "max_speed": body.speed_max, "max_accel": body.acceleration_max, "max_decel": body.deceleration_max}


def fill(model: RobotModelDraft, sheet: Factsheet | None) -> RobotModelIn:
    """The complete model: what the entry gives, the rest from the factsheet (if any) or the defaults. A value
    that is out of range, given or from the factsheet, is a 422 naming the field."""
    given = {k for k in model.model_fields_set if getattr(model, k) is not None}
    taken = {k: v for k, v in from_factsheet(sheet).items() if k not in given and v is not None} if sheet else {}
    left = [f for f in model.left_out() if f not in taken]
    if left:
        raise InvalidInput(f"model.{left[0]} is required ({', '.join(f'model.{f}' for f in left)} not given"
                           + (", nor in the vehicle's factsheet)" if sheet else ")"), field=f"model.{left[0]}")
    try:
        return RobotModelIn.model_validate({**model.model_dump(exclude_none=True), **taken})
    except ValidationError as exc:
        error = exc.errors()[0]
        name = ".".join(str(p) for p in error["loc"])
        origin = " (from the vehicle's factsheet)" if name in taken else ""
        raise InvalidInput(f"model.{name}{origin}: {error['msg']}", field=f"model.{name}") from exc


async def with_factsheet(body: RobotCreate, source: FactsheetSource | None, wait_s: float) -> RobotModelIn:
    """The registration's model complete: for a vda5050 robot, what it leaves out from the vehicle's factsheet
    (waited for only when a required field is missing)."""
    if body.adapter != "vda5050":
        return fill(body.model, None)
    manufacturer = body.connection.manufacturer or DEFAULT_MANUFACTURER
    serial = body.connection.serial_number or body.id
    left = body.model.left_out()
    if source is None:
        if left:
            raise InvalidInput(f"model.{left[0]} is required: the VDA 5050 adapter is off "
                               "(LABFLEET_VDA5050_ENABLED), so no factsheet can fill it", field=f"model.{left[0]}")
        return fill(body.model, None)
    sheet = await source.factsheet_of(manufacturer, serial, wait_s if left else 0.0)
    if sheet is None and left:
        raise InvalidInput(f"model.{left[0]} is required: not given, and vehicle {manufacturer}/{serial} sent no "
                           f"factsheet within {wait_s:g} s on interface {source.interface!r} (is it "
                           f"online? else give model {', '.join(left)})", field=f"model.{left[0]}")
    return fill(body.model, sheet)
