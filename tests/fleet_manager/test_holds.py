"""Holds (missions/holds.py). Lost localisation: the held mission's robot is paused and resumed when it is
localised again; a run that ends while held resumes its robot, so that the hold's pause never outlives the
mission (a robot left paused took no work again: its missions stayed queued for ever). E-stop: the mission is
held with the reason and nothing is sent to the robot; only the release ends the hold, and a run that ends
while e-stopped leaves the e-stop on. A silent robot keeps its hold."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

from fleet_manager.core.errors import Conflict
from fleet_manager.core.missions import MissionStatus
from fleet_manager.core.robots import Command, RobotMode
from fleet_manager.missions.holds import Holds
from fleet_manager.missions.runner import RunState


class FakeService:
    def __init__(self) -> None:
        self.status = MissionStatus.UNDERWAY
        self.transitions: list[MissionStatus] = []
        self.messages: list[str] = []

    def get(self, _mission_id: int, _with_events: bool = True) -> SimpleNamespace:
        return SimpleNamespace(status=self.status)

    def transition(self, _mission_id: int, status: MissionStatus, message: str) -> None:
        if self.status.terminal:
            raise Conflict("already final")
        self.status = status
        self.transitions.append(status)
        self.messages.append(message)


def holds(localised: dict[str, bool], modes: dict[str, RobotMode] | None = None,
          ) -> tuple[Holds, FakeService, list[tuple[str, Command]]]:
    sent: list[tuple[str, Command]] = []
    modes = modes if modes is not None else {}

    async def command(robot_id: str, command: Command) -> None:
        sent.append((robot_id, command))

    service = FakeService()
    registry = SimpleNamespace(localised=lambda rid: localised[rid], timeout_s=30.0,
                               mode=lambda rid: modes.get(rid, RobotMode.MOVING),
                               online=lambda rid: modes.get(rid) is not RobotMode.OFFLINE)
    return Holds(service, registry, command), service, sent  # type: ignore[arg-type]


def test_a_held_mission_resumes_when_the_robot_is_localised_again() -> None:
    localised = {"amr_05": False}
    watch, service, sent = holds(localised)
    state = RunState(7, "amr_05")
    asyncio.run(watch.watch([state]))
    assert state.held and state.paused and service.status is MissionStatus.PAUSED
    localised["amr_05"] = True
    asyncio.run(watch.watch([state]))
    assert not state.held and not state.paused and service.status is MissionStatus.UNDERWAY
    assert sent == [("amr_05", Command.PAUSE), ("amr_05", Command.RESUME)]


def test_a_run_ending_while_held_resumes_its_robot() -> None:
    watch, service, sent = holds({"amr_05": False})
    state = RunState(7, "amr_05")
    asyncio.run(watch.watch([state]))
    service.status = MissionStatus.FAILED  # the robot timeout ran out: the mission failed (or was requeued)
    asyncio.run(watch.end(state))
    assert sent == [("amr_05", Command.PAUSE), ("amr_05", Command.RESUME)]
    assert not state.held and not state.paused


def test_a_run_ending_unheld_sends_nothing() -> None:
    watch, _service, sent = holds({"amr_05": True})
    state = RunState(7, "amr_05", paused=True)  # paused by an operator: not the hold's to undo
    asyncio.run(watch.watch([state]))
    asyncio.run(watch.end(state))
    assert sent == []


def test_an_estop_holds_the_mission_until_it_is_released() -> None:
    modes = {"amr_05": RobotMode.ESTOP}
    watch, service, sent = holds({"amr_05": True}, modes)
    state = RunState(7, "amr_05")
    asyncio.run(watch.watch([state]))
    assert state.held == "estop" and state.paused and service.status is MissionStatus.PAUSED
    assert service.messages == ["held: robot amr_05 is e-stopped; the mission carries on when its e-stop is released"]
    modes["amr_05"] = RobotMode.OFFLINE  # silent meanwhile: it keeps its hold
    asyncio.run(watch.watch([state]))
    assert state.held == "estop" and service.status is MissionStatus.PAUSED
    modes["amr_05"] = RobotMode.IDLE  # released
    asyncio.run(watch.watch([state]))
    assert state.held is None and not state.paused and service.status is MissionStatus.UNDERWAY
    assert service.messages[-1] == "resumed: the e-stop of robot amr_05 was released"
    assert sent == []  # the robot's own stop holds it: no pause, no resume


def test_a_run_ending_while_estopped_leaves_the_estop_on() -> None:
    watch, service, sent = holds({"amr_05": False}, {"amr_05": RobotMode.ESTOP})  # the e-stop comes first
    state = RunState(7, "amr_05")
    asyncio.run(watch.watch([state]))
    assert state.held == "estop"
    service.status = MissionStatus.CANCELED
    asyncio.run(watch.end(state))
    assert sent == [] and state.held is None
