"""The console's playback of a recorded mission: one thin route."""

from __future__ import annotations

import asyncio
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request, Response

from fleet_manager.auth.deps import RESEARCHER
from fleet_manager.core.errors import NotFound
from fleet_manager.deps import LabDep
from fleet_manager.exception_handlers import error_response
from fleet_manager.recording.playback import PlaybackCache, PlaybackPublic, load_playback

router = APIRouter(prefix="/missions", tags=["missions"])
MissionId = Annotated[int, Path(ge=1, le=2**31 - 1)]


def get_playback_cache(request: Request) -> PlaybackCache:
    """One cache per app (made on first use, so every create_app() starts empty)."""
    cache: PlaybackCache | None = getattr(request.app.state, "playback_cache", None)
    if cache is None:
        cache = request.app.state.playback_cache = PlaybackCache()
    return cache


PlaybackCacheDep = Annotated[PlaybackCache, Depends(get_playback_cache)]


@router.get("/{mission_id}/playback", dependencies=[RESEARCHER], response_class=Response, responses={
    200: {"model": PlaybackPublic, "description": "per robot its poses (at most 10 a second), the mission's events"},
    404: error_response("unknown mission, or no recording (never underway, recording off, deleted by retention)"),
    409: error_response("the mission is still being recorded"),
    422: error_response("the recording cannot be read")})
async def mission_playback(mission_id: MissionId, lab: LabDep, cache: PlaybackCacheDep) -> Response:
    """A recorded mission for playback on the map: each robot's trajectory [t, x, y, yaw, speed, mode], the
    mission's events [t, text, kind] and its metadata, times in seconds on the recording's clock."""
    if lab.recordings is None:
        raise NotFound("recording is off in this fleet manager (LABFLEET_RECORDING_ENABLED)", field="mission_id")
    body = await asyncio.to_thread(load_playback, lab.recordings, cache, mission_id)
    return Response(body, media_type="application/json")
