from __future__ import annotations

import asyncio
from typing import Annotated

from fastapi import APIRouter, Path, Query, Response
from fastapi.responses import FileResponse
from starlette.background import BackgroundTask

from fleet_manager import model_json
from fleet_manager.auth.deps import OPERATOR, RESEARCHER
from fleet_manager.core.errors import NotFound
from fleet_manager.core.missions import MissionStatus
from fleet_manager.deps import LabDep
from fleet_manager.exception_handlers import error_response
from fleet_manager.lab import Lab
from fleet_manager.missions.schemas import ConfirmIn, DispatchState, MissionCreate, MissionPublic
from fleet_manager.missions.service import Where
from fleet_manager.recording.schemas import RecordingPublic

router = APIRouter(prefix="/missions", tags=["missions"])
MissionId = Annotated[int, Path(ge=1, le=2**31 - 1)]  # the mission table's integer key


def _where(lab: Lab) -> Where:
    """Where a robot stands, as it last reported (None: it never did): for the running missions' ETA."""
    def at(robot_id: str) -> tuple[float, float] | None:
        try:
            report = lab.registry.entry(robot_id).report
        except NotFound:
            return None
        return report.x, report.y
    return at


@router.post("", dependencies=[OPERATOR], status_code=201, response_model=MissionPublic)
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
    offset: Annotated[int, Query(ge=0, le=10**9)] = 0,
) -> Response:
    statuses = [str(s) for s in status or []]
    found = await asyncio.to_thread(lab.missions.publics, statuses, robot_id, limit, offset, _where(lab))
    return model_json.response(found)


@router.get("/{mission_id}", response_model=MissionPublic)
async def get_mission(mission_id: MissionId, lab: LabDep) -> Response:
    return model_json.response(await asyncio.to_thread(lab.missions.public, mission_id, _where(lab)))


_NO_RECORDINGS = "recording is off in this fleet manager (LABFLEET_RECORDING_ENABLED)"


@router.get("/{mission_id}/recording", dependencies=[RESEARCHER], response_class=FileResponse, responses={
    200: {"content": {"application/octet-stream": {}},
          "description": "the mission's recording: one MCAP file (ROS 2 profile; opens in Foxglove)"},
    404: error_response("unknown mission, or no recording (never underway, recording off, deleted by retention)"),
    409: error_response("the mission is still being recorded")})
async def download_recording(mission_id: MissionId, lab: LabDep) -> FileResponse:
    if lab.recordings is None:
        raise NotFound(_NO_RECORDINGS)
    path, temporary = await asyncio.to_thread(lab.recordings.file_for, mission_id)
    return FileResponse(path, media_type="application/octet-stream", filename=f"mission-{mission_id}.mcap",
                        background=BackgroundTask(path.unlink, missing_ok=True) if temporary else None)


@router.get("/{mission_id}/recording/info", dependencies=[RESEARCHER], response_model=RecordingPublic)
async def recording_info(mission_id: MissionId, lab: LabDep) -> RecordingPublic:
    """The recording's segments, their status and figures (written messages per topic, bytes, drops)."""
    if lab.recordings is None:
        raise NotFound(_NO_RECORDINGS)
    data = await asyncio.to_thread(lab.recordings.info, mission_id)
    return RecordingPublic.of(data, f"/api/v1/missions/{mission_id}/recording")


@router.post("/{mission_id}/cancel", dependencies=[OPERATOR], response_model=MissionPublic)
async def cancel_mission(mission_id: MissionId, lab: LabDep) -> Response:
    return model_json.response(await lab.dispatcher.cancel(mission_id))


@router.post("/{mission_id}/pause", dependencies=[OPERATOR],
             response_model=MissionPublic, responses={409: error_response("not underway")})
async def pause_mission(mission_id: MissionId, lab: LabDep) -> MissionPublic:
    """Hold the robot where it is; the mission's clock stops for waits and confirmations."""
    return await lab.dispatcher.pause(mission_id)


@router.post("/{mission_id}/resume", dependencies=[OPERATOR],
             response_model=MissionPublic, responses={409: error_response("not paused")})
async def resume_mission(mission_id: MissionId, lab: LabDep) -> MissionPublic:
    return await lab.dispatcher.resume(mission_id)


@router.post("/{mission_id}/confirm", dependencies=[OPERATOR], response_model=MissionPublic,
             responses={409: error_response("no step is waiting for confirmation")})
async def confirm_step(mission_id: MissionId, lab: LabDep, body: ConfirmIn | None = None) -> MissionPublic:
    """The operator or the recipient confirms the mission's `confirm` step that is waiting."""
    body = body or ConfirmIn()
    return await lab.dispatcher.confirm(mission_id, body.step_index, body.by)


dispatch_router = APIRouter(prefix="/dispatch", tags=["missions"])


@dispatch_router.get("", response_model=DispatchState)
async def dispatch_state(lab: LabDep) -> DispatchState:
    return DispatchState(paused=lab.dispatcher.paused)


@dispatch_router.post("/pause", dependencies=[OPERATOR], response_model=DispatchState)
async def pause_dispatch(lab: LabDep) -> DispatchState:
    """Stop assigning queued missions (missions in flight go on)."""
    lab.dispatcher.paused = True
    return DispatchState(paused=True)


@dispatch_router.post("/resume", dependencies=[OPERATOR], response_model=DispatchState)
async def resume_dispatch(lab: LabDep) -> DispatchState:
    lab.dispatcher.paused = False
    lab.dispatcher.wake()
    return DispatchState(paused=False)
