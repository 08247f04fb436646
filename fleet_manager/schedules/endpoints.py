from __future__ import annotations

import asyncio
from typing import Annotated

from fastapi import APIRouter, Path

from fleet_manager.auth.deps import OPERATOR
from fleet_manager.deps import LabDep
from fleet_manager.schedules.service import ScheduleCreate, SchedulePublic

router = APIRouter(prefix="/schedules", tags=["schedules"])
ScheduleId = Annotated[int, Path(ge=1, le=2**31 - 1)]  # the schedule table's integer key


@router.post("", dependencies=[OPERATOR], status_code=201, response_model=SchedulePublic)
async def create_schedule(body: ScheduleCreate, lab: LabDep) -> SchedulePublic:
    """A recurring mission, e.g. a security patrol every 30 minutes between 09:00 and 18:00."""
    schedule = await asyncio.to_thread(lab.schedules.create, body)
    lab.dispatcher.wake()
    return schedule


@router.get("", response_model=list[SchedulePublic])
async def list_schedules(lab: LabDep) -> list[SchedulePublic]:
    return await asyncio.to_thread(lab.schedules.all)


@router.post("/{schedule_id}/disable", dependencies=[OPERATOR], response_model=SchedulePublic)
async def disable_schedule(schedule_id: ScheduleId, lab: LabDep) -> SchedulePublic:
    return await asyncio.to_thread(lab.schedules.disable, schedule_id)
