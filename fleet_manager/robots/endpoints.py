from __future__ import annotations

import asyncio
from typing import Annotated

from fastapi import APIRouter, Path, Query, Response

from fleet_manager import model_json
from fleet_manager.auth.deps import ADMIN, OPERATOR
from fleet_manager.core.errors import NotFound
from fleet_manager.core.robots import Command
from fleet_manager.deps import LabDep
from fleet_manager.exception_handlers import error_response
from fleet_manager.robots.factsheet_fill import with_factsheet
from fleet_manager.robots.schemas import (
    CommandIn,
    CommandOut,
    FleetStopIn,
    RegistrationPublic,
    RobotCreate,
    RobotPublic,
    RobotUpdate,
    Vda5050Public,
)

router = APIRouter(prefix="/robots", tags=["robots"])
registry_router = APIRouter(prefix="/robot-registry", tags=["robots"])
RobotId = Annotated[str, Path(min_length=1, max_length=64)]


@router.get("", response_model=list[RobotPublic])
async def list_robots(lab: LabDep) -> Response:
    """Every registered robot (those that never reported are offline, without a pose) and every robot that
    announces itself without being registered (`registration: unregistered`, never dispatched)."""
    return model_json.response(lab.registry.publics())


@router.get("/{robot_id}", response_model=RobotPublic)
async def get_robot(robot_id: RobotId, lab: LabDep) -> Response:
    return model_json.response(lab.registry.public(robot_id))


@router.post("/{robot_id}/commands", dependencies=[OPERATOR], response_model=CommandOut)
async def command_robot(robot_id: RobotId, body: CommandIn, lab: LabDep) -> CommandOut:
    result, message = await lab.command(robot_id, body.command, body.reason)
    return CommandOut(robot_id=robot_id, command=body.command, result=result, message=message)


@router.post("/estop-all", dependencies=[OPERATOR], response_model=list[CommandOut])
async def estop_fleet(lab: LabDep, body: FleetStopIn | None = None) -> list[CommandOut]:
    """E-stop every robot that reports (a fleet-wide stop), all at once; each robot's answer, each command in the
    audit log and the pilot records as a single e-stop is. Their missions are held until each is released."""
    reason = (body or FleetStopIn()).reason or "fleet-wide stop"
    robots = [rid for rid in lab.registry.ids() if lab.registry.online(rid)]
    answers = await asyncio.gather(*(lab.command(rid, Command.ESTOP, reason) for rid in robots))
    return [CommandOut(robot_id=rid, command=Command.ESTOP, result=result, message=message)
            for rid, (result, message) in zip(robots, answers, strict=True)]


@router.post("", dependencies=[ADMIN], status_code=201, response_model=RegistrationPublic, responses={
    422: error_response("a field is wrong: unknown adapter, a duplicate or retired id, a footprint or speed that "
                        "is not positive, a map transform that is not finite, an unknown place, a model field left "
                        "out that no VDA 5050 factsheet filled; nothing is stored")})
async def register_robot(body: RobotCreate, lab: LabDep) -> RegistrationPublic:
    """Register a robot at this site while the lab runs: it is dispatched as soon as it reports. A vda5050
    robot's factsheet fills what its model leaves out (waited for, LABFLEET_VDA5050_FACTSHEET_WAIT_S, when a
    required field is missing)."""
    source = lab.robots.adapters.get("vda5050")
    model = await with_factsheet(body, source, lab.settings.vda5050_factsheet_wait_s)  # type: ignore[arg-type]
    return await asyncio.to_thread(lab.roster.create, body, model)


@router.patch("/{robot_id}", dependencies=[ADMIN], response_model=RegistrationPublic)
async def edit_robot(robot_id: RobotId, body: RobotUpdate, lab: LabDep) -> RegistrationPublic:
    """Change a registered robot (fields left out stay); in force at once."""
    return await asyncio.to_thread(lab.roster.update, robot_id, body)


@router.delete("/{robot_id}", dependencies=[ADMIN], response_model=RegistrationPublic)
async def retire_robot(robot_id: RobotId, lab: LabDep) -> RegistrationPublic:
    """Retire a robot: never dispatched again; its missions, incidents and recordings stay. Idempotent."""
    return await asyncio.to_thread(lab.roster.retire, robot_id)


@router.get("/{robot_id}/vda5050", response_model=Vda5050Public)
async def get_vda5050(robot_id: RobotId, lab: LabDep) -> Vda5050Public:
    """A VDA 5050 vehicle's factsheet (type, physical parameters, protocol limits, actions) and what it last said
    (connection, order, errors, action states); 404 for a robot of another adapter."""
    adapter = lab.robots.adapters.get("vda5050")
    status = adapter.vda_status(robot_id) if adapter is not None else None  # type: ignore[attr-defined]
    if status is None:
        raise NotFound(f"robot {robot_id!r} is not a registered VDA 5050 vehicle", field="robot_id")
    return Vda5050Public(factsheet=adapter.factsheet(robot_id), status=status)  # type: ignore[union-attr]


@router.get("/{robot_id}/registration", response_model=RegistrationPublic)
async def get_registration(robot_id: RobotId, lab: LabDep) -> RegistrationPublic:
    return await asyncio.to_thread(lab.roster.row, robot_id)


@registry_router.get("", response_model=list[RegistrationPublic])
async def list_registrations(lab: LabDep, include_retired: Annotated[bool, Query()] = False,
                             ) -> list[RegistrationPublic]:
    """The robots registered at this site, with their adapter, connection, model, map transform, home and
    charger (`include_retired=true`: retired ones too)."""
    return await asyncio.to_thread(lab.roster.rows, include_retired)
