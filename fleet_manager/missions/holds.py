"""Holds, not failures: a mission whose robot is e-stopped (by an operator or by a button on the robot), has lost its
localisation, was paused itself (from its card, or on the robot) or stands in a lasting protective stop is held —
the mission `paused` with the reason, its waits not counting down — until the cause is gone; then it carries on from
where the robot stood.

- E-stop: the robot's own stop holds it; nothing more is sent to it. The task it carried out ends "estop" in
  every adapter: the mission runner waits for the release and carries out the step again, not counted as an
  attempt (runner.py). Only a release of the e-stop ends the hold: resuming the mission is refused.
- Lost localisation: the robot is also paused (it must not drive on a pose it does not know) and resumed when
  the localisation returns; the runner fails the mission (or it is requeued) when the robot stays without
  localisation for the robot timeout (RobotLost). Resuming the mission is refused.
- A robot paused by someone else than the fleet manager (`Command.PAUSE` from its card, a VDA 5050 vehicle's
  startPause) for ROBOT_PAUSE_HOLD_S: the robot's own pause holds it, nothing is sent; resuming the robot ends the
  hold, and so does resuming the mission (which resumes the robot). The pause of the localisation hold and of an
  operator's mission pause are the fleet manager's own: they hold nothing more. The delay lets a robot's reports
  catch up after the fleet manager resumed it (a report or two still say "paused").
- A protective stop of the robot's safety layer ("protective stop: <what it saw>" among its errors, about a second
  for each stop, core/robots.py): most are short and frequent among people, so only one that lasts
  PROTECTIVE_HOLD_S holds the mission, with what the robot saw; it is over once the robot no longer stands
  (mode WAITING) for PROTECTIVE_GAP_S. The robot drives on by itself: nothing is sent, resuming the mission is
  refused. The drive's obstacle timer (missions/traffic.py DriveWatch: plan again around the obstacle after 15 s,
  fail after 4 plans) and the agent's own blocked timeout go on counting: they are how a robot gets past, or
  gives up on, what stands in its way (every other hold stops the drive's timers: runner.py).
A robot that is offline keeps the hold it had: the robot timeout decides (RobotLost)."""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass

from fleet_manager.core.errors import Conflict, DomainError
from fleet_manager.core.missions import MissionStatus
from fleet_manager.core.robots import PROTECTIVE_STOP, Command, RobotMode
from fleet_manager.db.retry import to_thread_retrying
from fleet_manager.missions.runner import ESTOP_HOLD, LOCALISATION_HOLD, PROTECTIVE_HOLD, ROBOT_PAUSE_HOLD, RunState
from fleet_manager.missions.service import MissionService
from fleet_manager.missions.texts import Said, say
from fleet_manager.robots.service import RobotRegistry

log = logging.getLogger(__name__)

Commander = Callable[[str, Command], Awaitable[None]]  # a robot command that raises DomainError when refused

ROBOT_PAUSE_HOLD_S = 2.0  # s a robot reports "paused" that the fleet manager did not pause: its mission is held
PROTECTIVE_HOLD_S = 3.0  # s a protective stop lasts before its mission is held (the short ones hold nothing)
PROTECTIVE_GAP_S = 1.0  # s the robot no longer stands after a protective stop: the stop is over

_HELD = {
    ESTOP_HOLD: "held_estop", LOCALISATION_HOLD: "held_localisation", ROBOT_PAUSE_HOLD: "held_robot_paused",
    PROTECTIVE_HOLD: "held_protective_stop",
}
_RESUMED = {
    ESTOP_HOLD: "released_estop", LOCALISATION_HOLD: "released_localisation", ROBOT_PAUSE_HOLD: "released_robot_paused",
    PROTECTIVE_HOLD: "released_protective_stop",
}


def hold_reason(cause: str, robot_id: str, timeout_s: float, seen: str = "") -> Said:
    """The reason a held mission shows, in words an operator acts on."""
    if cause == LOCALISATION_HOLD:
        return say(_HELD[cause], robot=robot_id, timeout=timeout_s)
    if cause == PROTECTIVE_HOLD:
        return say(_HELD[cause], robot=robot_id, seconds=PROTECTIVE_HOLD_S, seen=seen or "an obstacle")
    return say(_HELD[cause], robot=robot_id)


def release_reason(cause: str, robot_id: str) -> Said:
    return say(_RESUMED[cause], robot=robot_id)


def check_resume(state: RunState, mission_id: int) -> None:
    """Conflict, with the way out, when resuming a held mission cannot end its hold (only a robot's pause can)."""
    robot = state.robot_id
    if state.held == ESTOP_HOLD:
        raise Conflict(f"mission {mission_id} is held: robot {robot} is e-stopped; release its e-stop and the "
                       f"mission carries on", field="status")
    if state.held == LOCALISATION_HOLD:
        raise Conflict(f"mission {mission_id} is held: robot {robot} has lost its localisation; it carries on by "
                       f"itself when the localisation returns", field="status")
    if state.held == PROTECTIVE_HOLD:
        raise Conflict(f"mission {mission_id} is held: the safety layer of robot {robot} stopped it; it carries on "
                       f"by itself when its way is clear", field="status")


@dataclass
class _Stop:
    """A protective stop under way: since when, when the robot was last seen standing, what its safety layer saw."""

    since: float
    last: float
    seen: str


class Holds:
    def __init__(self, service: MissionService, registry: RobotRegistry, command: Commander,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.service = service
        self.registry = registry
        self.command = command
        self.clock = clock
        self._paused_since: dict[str, float] = {}  # robot id → since when it is paused, not by the fleet manager
        self._stops: dict[str, _Stop] = {}  # robot id → its protective stop under way

    def cause(self, state: RunState) -> str | None:
        """Why the mission must be held now (an e-stop first), None when nothing holds it."""
        robot_id, now = state.robot_id, self.clock()
        mode = self.registry.mode(robot_id)
        paused_for = self._paused_for(state, mode is RobotMode.PAUSED, now)
        stop = self._protective(robot_id, mode, now)
        if mode is RobotMode.ESTOP:
            return ESTOP_HOLD
        if not self.registry.localised(robot_id):
            return LOCALISATION_HOLD
        if paused_for >= ROBOT_PAUSE_HOLD_S:
            return ROBOT_PAUSE_HOLD
        if stop is not None and (state.held == PROTECTIVE_HOLD or now - stop.since >= PROTECTIVE_HOLD_S):
            return PROTECTIVE_HOLD
        return None

    def _paused_for(self, state: RunState, paused: bool, now: float) -> float:
        """Seconds the robot has been paused by someone else than the fleet manager (0 when it is not)."""
        ours = state.held == LOCALISATION_HOLD or (state.paused and state.held is None)  # an operator's mission pause
        if not paused or ours:
            self._paused_since.pop(state.robot_id, None)
            return 0.0
        return now - self._paused_since.setdefault(state.robot_id, now)

    def _protective(self, robot_id: str, mode: RobotMode, now: float) -> _Stop | None:
        """The robot's protective stop under way: from a `protective stop` error on, while the error shows or the
        robot stands (mode WAITING), until it has not stood for PROTECTIVE_GAP_S."""
        errors = self.registry.entry(robot_id).report.errors
        error = next((e for e in errors if e.startswith(PROTECTIVE_STOP)), None)
        stop = self._stops.get(robot_id)
        if error is not None:
            seen = error[len(PROTECTIVE_STOP):].lstrip(":").strip()
            if stop is None:
                stop = self._stops[robot_id] = _Stop(now, now, seen)
            stop.last, stop.seen = now, seen or stop.seen
        elif stop is not None and mode is RobotMode.WAITING:
            stop.last = now
        if stop is not None and now - stop.last > PROTECTIVE_GAP_S:
            del self._stops[robot_id]
            return None
        return stop

    async def watch(self, runs: Iterable[RunState]) -> None:
        """One look at every running mission: hold those whose robot is e-stopped, lost its localisation, was paused
        or stands in a lasting protective stop; release those whose cause is gone."""
        for state in list(runs):
            if not self.registry.online(state.robot_id):
                continue  # silent: it keeps the hold it had, and the robot timeout decides
            cause = self.cause(state)
            if cause == state.held:
                continue
            if state.held is not None:
                await self._release(state, state.held)
            if cause is not None:
                await self._hold(state, cause)

    def lift(self, state: RunState) -> None:
        """An operator resumed the mission held by its robot's pause (and so the robot): the hold ends with it, and
        the robot's reports that still say "paused" a moment do not hold it again."""
        if state.held == ROBOT_PAUSE_HOLD:
            state.held, state.hold_paused = None, False
            self._paused_since.pop(state.robot_id, None)

    async def end(self, state: RunState) -> None:
        """A run that ends while held (failed or requeued after the robot timeout, canceled): a robot paused by
        a localisation hold is resumed, so that the pause does not outlive its mission (a VDA 5050 vehicle keeps
        a startPause across orders) and the robot takes work again. An e-stop stays: only its release ends it; so
        does a robot's own pause."""
        cause, state.held = state.held, None
        state.hold_paused = False
        self._paused_since.pop(state.robot_id, None)
        self._stops.pop(state.robot_id, None)
        if cause == LOCALISATION_HOLD:  # the hold paused the robot: that pause does not outlive the mission
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
        stop = self._stops.get(state.robot_id)
        reason = hold_reason(cause, state.robot_id, self.registry.timeout_s, stop.seen if stop else "")
        mission = await to_thread_retrying(self.service.get, state.mission_id, False)
        if mission.status is MissionStatus.UNDERWAY:
            state.paused = state.hold_paused = True  # waits and confirmations do not count down while held
            with contextlib.suppress(Conflict):
                await to_thread_retrying(self.service.transition, state.mission_id, MissionStatus.PAUSED, reason)

    async def _release(self, state: RunState, cause: str) -> None:
        state.held = None
        log.info("robot %s: the hold of mission %s (%s) ends", state.robot_id, state.mission_id, cause)
        operator_paused = state.paused and not state.hold_paused  # an operator paused it before (or while) held
        if cause == LOCALISATION_HOLD and not operator_paused:  # the hold's own pause of the robot ends with it
            with contextlib.suppress(DomainError):
                await self.command(state.robot_id, Command.RESUME)
        if not state.hold_paused:
            return  # the hold did not pause the mission (it was assigned, or paused by an operator): it stays so
        state.paused = state.hold_paused = False
        with contextlib.suppress(Conflict):
            await to_thread_retrying(self.service.transition, state.mission_id, MissionStatus.UNDERWAY,
                                     release_reason(cause, state.robot_id))
