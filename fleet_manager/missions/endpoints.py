from __future__ import annotations

import asyncio
from typing import Annotated

from fastapi import APIRouter, Query

from fleet_manager.core.missions import MissionStatus
from fleet_manager.deps import LabDep
from fleet_manager.missions.schemas import MissionCreate, MissionPublic

router = APIRouter(prefix="/missions", tags=["missions"])


@router.post("", status_code=201, response_model=MissionPublic)
async def submit_mission(body: MissionCreate, lab: LabDep) -> MissionPublic:
    mission = await asyncio.to_thread(lab.missions.submit, body)
    lab.dispatcher.wake()
    return mission


@router.get("", response_model=list[MissionPublic])
async def list_missions(
    lab: LabDep,
    status: Annotated[list[MissionStatus] | None, Query()] = None,
    robot_id: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> list[MissionPublic]:
    statuses = [str(s) for s in status or []]
    return await asyncio.to_thread(lab.missions.search, statuses, robot_id, limit, offset)


@router.get("/{mission_id}", response_model=MissionPublic)
async def get_mission(mission_id: int, lab: LabDep) -> MissionPublic:
    return await asyncio.to_thread(lab.missions.get, mission_id)


@router.post("/{mission_id}/cancel", response_model=MissionPublic)
async def cancel_mission(mission_id: int, lab: LabDep) -> MissionPublic:
    return await lab.dispatcher.cancel(mission_id)
