"""Holds, not failures: a robot that loses its localisation mid-mission is held — the robot paused, the mission
`paused` with the reason — until it is localised again; the mission runner fails the mission (or it is requeued)
when the robot stays without localisation for the robot timeout (RobotLost)."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Awaitable, Callable, Iterable

from fleet_manager.core.errors import Conflict, DomainError
from fleet_manager.core.missions import MissionStatus
from fleet_manager.core.robots import Command
from fleet_manager.db.retry import to_thread_retrying
from fleet_manager.missions.runner import RunState
from fleet_manager.missions.service import MissionService
from fleet_manager.robots.service import RobotRegistry

log = logging.getLogger(__name__)

Commander = Callable[[str, Command], Awaitable[None]]  # a robot command that raises DomainError when refused


class LocalisationHolds:
    def __init__(self, service: MissionService, registry: RobotRegistry, command: Commander) -> None:
        self.service = service
        self.registry = registry
        self.command = command

    async def watch(self, runs: Iterable[RunState]) -> None:
        """One look at every running mission: hold those whose robot lost its localisation, release the others."""
        for state in list(runs):
            lost = not self.registry.localised(state.robot_id)
            if lost and not state.held:
                state.held = True
                await self._hold(state)
            elif not lost and state.held:
                state.held = False
                await self._release(state)

    async def end(self, state: RunState) -> None:
        """A run that ends while held (failed or requeued after the robot timeout, canceled): the robot is
        resumed, so that the pause of the hold does not outlive its mission (a VDA 5050 vehicle keeps a
        startPause across orders) and the robot takes work again."""
        if not state.held:
            return
        state.held = False
        if state.paused:
            state.paused = False
            log.info("mission %s ended while held: robot %s resumed", state.mission_id, state.robot_id)
            with contextlib.suppress(DomainError):
                await self.command(state.robot_id, Command.RESUME)

    async def _hold(self, state: RunState) -> None:
        log.warning("robot %s lost its localisation: mission %s held", state.robot_id, state.mission_id)
        with contextlib.suppress(DomainError):
            await self.command(state.robot_id, Command.PAUSE)
        mission = await to_thread_retrying(self.service.get, state.mission_id, False)
        if mission.status is MissionStatus.UNDERWAY:
            state.paused = True  # waits and confirmations do not count down while held
            with contextlib.suppress(Conflict):
                await to_thread_retrying(
                    self.service.transition, state.mission_id, MissionStatus.PAUSED,
                    f"held: robot {state.robot_id} lost its localisation (no map pose for 2 s); it carries on when "
                    f"the localisation returns, or fails after {self.registry.timeout_s:g} s")

    async def _release(self, state: RunState) -> None:
        log.info("robot %s is localised again: mission %s carries on", state.robot_id, state.mission_id)
        if not state.paused:
            return  # it was not underway when held (assigned, or paused by an operator): nothing to undo
        with contextlib.suppress(DomainError):
            await self.command(state.robot_id, Command.RESUME)
        state.paused = False
        with contextlib.suppress(Conflict):
            await to_thread_retrying(self.service.transition, state.mission_id, MissionStatus.UNDERWAY,
                                     f"resumed: robot {state.robot_id} is localised again")
