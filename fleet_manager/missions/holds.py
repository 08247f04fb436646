"""Holds, not failures: a mission whose robot is e-stopped (by an operator or by a button on the robot) or has
lost its localisation is held — the mission `paused` with the reason, its waits not counting down — until the
cause is gone; then it carries on from where the robot stood.

- E-stop: the robot's own stop holds it; nothing more is sent to it. The task it carried out ends "estop" in
  every adapter: the mission runner waits for the release and carries out the step again, not counted as an
  attempt (runner.py). Only a release of the e-stop ends the hold: resuming the mission is refused.
- Lost localisation: the robot is also paused (it must not drive on a pose it does not know) and resumed when
  the localisation returns; the runner fails the mission (or it is requeued) when the robot stays without
  localisation for the robot timeout (RobotLost).
A robot that is offline keeps the hold it had: the robot timeout decides (RobotLost)."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Awaitable, Callable, Iterable

from fleet_manager.core.errors import Conflict, DomainError
from fleet_manager.core.missions import MissionStatus
from fleet_manager.core.robots import Command, RobotMode
from fleet_manager.db.retry import to_thread_retrying
from fleet_manager.missions.runner import ESTOP_HOLD, LOCALISATION_HOLD, RunState
from fleet_manager.missions.service import MissionService
from fleet_manager.robots.service import RobotRegistry

log = logging.getLogger(__name__)

Commander = Callable[[str, Command], Awaitable[None]]  # a robot command that raises DomainError when refused


def hold_reason(cause: str, robot_id: str, timeout_s: float) -> str:
    """The reason a held mission shows, in words an operator acts on."""
    if cause == ESTOP_HOLD:
        return f"held: robot {robot_id} is e-stopped; the mission carries on when its e-stop is released"
    return (f"held: robot {robot_id} lost its localisation (no map pose for 2 s); it carries on when the "
            f"localisation returns, or fails after {timeout_s:g} s")


def release_reason(cause: str, robot_id: str) -> str:
    if cause == ESTOP_HOLD:
        return f"resumed: the e-stop of robot {robot_id} was released"
    return f"resumed: robot {robot_id} is localised again"


class Holds:
    def __init__(self, service: MissionService, registry: RobotRegistry, command: Commander) -> None:
        self.service = service
        self.registry = registry
        self.command = command

    def cause(self, robot_id: str) -> str | None:
        """Why the robot's mission must be held now (an e-stop first), None when nothing holds it."""
        if self.registry.mode(robot_id) is RobotMode.ESTOP:
            return ESTOP_HOLD
        if not self.registry.localised(robot_id):
            return LOCALISATION_HOLD
        return None

    async def watch(self, runs: Iterable[RunState]) -> None:
        """One look at every running mission: hold those whose robot is e-stopped or lost its localisation,
        release those whose cause is gone."""
        for state in list(runs):
            if not self.registry.online(state.robot_id):
                continue  # silent: it keeps the hold it had, and the robot timeout decides
            cause = self.cause(state.robot_id)
            if cause == state.held:
                continue
            if state.held is not None:
                await self._release(state, state.held)
            if cause is not None:
                await self._hold(state, cause)

    async def end(self, state: RunState) -> None:
        """A run that ends while held (failed or requeued after the robot timeout, canceled): a robot paused by
        a localisation hold is resumed, so that the pause does not outlive its mission (a VDA 5050 vehicle keeps
        a startPause across orders) and the robot takes work again. An e-stop stays: only its release ends it."""
        cause, state.held = state.held, None
        if cause == LOCALISATION_HOLD and state.paused:
            state.paused = False
            log.info("mission %s ended while held: robot %s resumed", state.mission_id, state.robot_id)
            with contextlib.suppress(DomainError):
                await self.command(state.robot_id, Command.RESUME)

    async def _hold(self, state: RunState, cause: str) -> None:
        state.held = cause
        log.warning("robot %s: mission %s held (%s)", state.robot_id, state.mission_id, cause)
        if cause == LOCALISATION_HOLD:
            with contextlib.suppress(DomainError):
                await self.command(state.robot_id, Command.PAUSE)
        mission = await to_thread_retrying(self.service.get, state.mission_id, False)
        if mission.status is MissionStatus.UNDERWAY:
            state.paused = True  # waits and confirmations do not count down while held
            with contextlib.suppress(Conflict):
                await to_thread_retrying(self.service.transition, state.mission_id, MissionStatus.PAUSED,
                                         hold_reason(cause, state.robot_id, self.registry.timeout_s))

    async def _release(self, state: RunState, cause: str) -> None:
        state.held = None
        log.info("robot %s: the hold of mission %s (%s) ends", state.robot_id, state.mission_id, cause)
        if not state.paused:
            return  # it was not underway when held (assigned, or paused by an operator): nothing to undo
        if cause == LOCALISATION_HOLD:
            with contextlib.suppress(DomainError):
                await self.command(state.robot_id, Command.RESUME)
        state.paused = False
        with contextlib.suppress(Conflict):
            await to_thread_retrying(self.service.transition, state.mission_id, MissionStatus.UNDERWAY,
                                     release_reason(cause, state.robot_id))
