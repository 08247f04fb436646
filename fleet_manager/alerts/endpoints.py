"""Alerts (issue 18): the open ones (or all) of the lab's site, newest first, and their acknowledgement. Every
acknowledgement is in the audit log (a mutating request); changes also go out on the websocket as `alert`
frames."""

from __future__ import annotations

import asyncio
from typing import Annotated

from fastapi import APIRouter, Path, Query

from fleet_manager.alerts.schemas import AlertPublic
from fleet_manager.auth.deps import OperatorUser
from fleet_manager.deps import LabDep
from fleet_manager.exception_handlers import error_response

router = APIRouter(prefix="/alerts", tags=["alerts"])
AlertId = Annotated[int, Path(ge=1, le=2**31 - 1)]


@router.get("", response_model=list[AlertPublic])
async def list_alerts(
    lab: LabDep,
    state: Annotated[str, Query(pattern="^(open|all)$",
                                description="open: not yet acknowledged, or still holding; all: every one")] = "open",
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[AlertPublic]:
    return await asyncio.to_thread(lab.alerts.search, state == "open", limit)


@router.post("/{alert_id}/acknowledge", response_model=AlertPublic,
             responses={404: error_response("no such alert at this site")})
async def acknowledge_alert(alert_id: AlertId, lab: LabDep, user: OperatorUser) -> AlertPublic:
    """The operator has seen it: acknowledged by them, now (once: a second acknowledgement changes nothing)."""
    return await asyncio.to_thread(lab.alerts.acknowledge, alert_id, user.username)
