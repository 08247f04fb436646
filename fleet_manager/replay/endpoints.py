"""Replay routes: thin, each calls one service function."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Path, Query

from fleet_manager.auth.deps import ResearcherUser
from fleet_manager.deps import LabDep, SessionDep
from fleet_manager.exception_handlers import error_response
from fleet_manager.replay import service
from fleet_manager.replay.schemas import ReplayCreate, ReplayPublic

# Sync endpoints: FastAPI runs them in its thread pool (start_replay may wait for the worker process).
router = APIRouter(tags=["replays"])
Id = Annotated[int, Path(ge=1, le=2**31 - 1)]


@router.post("/missions/{mission_id}/replay", status_code=202, response_model=ReplayPublic,
             responses={404: error_response("no such mission, or it has no recording"),
                        409: error_response("too many replays waiting or running for this user or site"),
                        422: error_response("an override is unknown or out of range")})
def replay_mission(mission_id: Id, lab: LabDep, user: ResearcherUser,
                   body: Annotated[ReplayCreate | None, Body()] = None,
                   wait: Annotated[float, Query(ge=0, le=600, description="seconds to wait for the result")] = 0.0,
                   ) -> ReplayPublic:
    """Re-simulate a recorded mission from its recorded initial state, faster than real time, with optional
    what-if overrides; the replay (status running, then done or error) is linked to the mission and holds the
    comparison with the original run. Replays wait their turn (status queued, with their `position`); a user with
    too many waiting, or a site with too many, is refused (409). Poll GET /replays/{id}, or pass `wait`."""
    assert lab.replays is not None  # set at start-up
    return lab.replays.submit(user.username, mission_id, (body or ReplayCreate()).overrides, wait)


@router.get("/replays/{replay_id}", response_model=ReplayPublic)
def get_replay(replay_id: Id, session: SessionDep) -> ReplayPublic:
    """A replay: its status, overrides, the re-simulated run and its comparison with the original."""
    return service.get_replay(session, replay_id)
