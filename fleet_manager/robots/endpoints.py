from __future__ import annotations

from fastapi import APIRouter

from fleet_manager.auth.deps import OPERATOR
from fleet_manager.deps import LabDep
from fleet_manager.robots.schemas import CommandIn, CommandOut, RobotPublic

router = APIRouter(prefix="/robots", tags=["robots"])


@router.get("", response_model=list[RobotPublic])
async def list_robots(lab: LabDep) -> list[dict[str, object]]:
    return lab.registry.views()


@router.get("/{robot_id}", response_model=RobotPublic)
async def get_robot(robot_id: str, lab: LabDep) -> dict[str, object]:
    return lab.registry.view(robot_id)


@router.post("/{robot_id}/commands", dependencies=[OPERATOR], response_model=CommandOut)
async def command_robot(robot_id: str, body: CommandIn, lab: LabDep) -> CommandOut:
    result, message = await lab.command(robot_id, body.command, body.reason)
    return CommandOut(robot_id=robot_id, command=body.command, result=result, message=message)
