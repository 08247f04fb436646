"""Holds (missions/holds.py). Lost localisation: the held mission's robot is paused and resumed when it is
localised again; a run that ends while held resumes its robot, so that the hold's pause never outlives the
mission (a robot left paused took no work again: its missions stayed queued for ever). E-stop: the mission is
held with the reason and nothing is sent to the robot; only the release ends the hold, and a run that ends
while e-stopped leaves the e-stop on. A silent robot keeps its hold. A robot paused by someone else than the fleet
manager holds its mission until it is resumed; a protective stop holds it only once it has lasted PROTECTIVE_HOLD_S.
"""

from __future__ import annotations

import asyncio
import dataclasses
from pathlib import Path
from types import SimpleNamespace

import pytest
from sqlmodel import Session

from fleet_manager.core.errors import Conflict
from fleet_manager.core.missions import MissionStatus
from fleet_manager.core.robots import Command, RobotMode, RobotReport
from fleet_manager.core.templates import TemplateLibrary
from fleet_manager.db.engine import make_engine, upgrade
from fleet_manager.db.tables import Mission, utcnow
from fleet_manager.missions.holds import Holds, check_resume
from fleet_manager.missions.runner import LOCALISATION_HOLD, PROTECTIVE_HOLD, ROBOT_PAUSE_HOLD, RunState
from fleet_manager.missions.service import MissionService
from fleet_manager.missions.texts import say
from fleet_manager.robots.service import RobotRegistry
from fleet_manager.sites.service import Site


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
        self.messages.append(str(message))


def holds(localised: dict[str, bool], modes: dict[str, RobotMode] | None = None,
          ) -> tuple[Holds, FakeService, list[tuple[str, Command]]]:
    sent: list[tuple[str, Command]] = []
    modes = modes if modes is not None else {}

    async def command(robot_id: str, command: Command) -> None:
        sent.append((robot_id, command))

    service = FakeService()
    registry = SimpleNamespace(localised=lambda rid: localised[rid], timeout_s=30.0,
                               mode=lambda rid: modes.get(rid, RobotMode.MOVING),
                               online=lambda rid: modes.get(rid) is not RobotMode.OFFLINE,
                               entry=lambda rid: SimpleNamespace(report=SimpleNamespace(errors=())))
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



@pytest.mark.parametrize("cause", [RobotMode.ESTOP, "localisation"])
def test_an_operators_pause_outlasts_a_hold(cause) -> None:
    """A mission an operator paused stays paused, its robot too, when an e-stop or a lost localisation comes and
    goes meanwhile: only the operator's resume carries it on (the hold did not pause it, so its end does not undo
    a pause)."""
    modes: dict[str, RobotMode] = {}
    localised = {"amr_05": True}
    watch, service, sent = holds(localised, modes)
    state = RunState(7, "amr_05", paused=True)  # dispatcher.pause: the robot paused, the mission too
    service.status = MissionStatus.PAUSED
    if cause == "localisation":
        localised["amr_05"] = False
    else:
        modes["amr_05"] = cause
    asyncio.run(watch.watch([state]))
    assert state.held is not None and not state.hold_paused
    localised["amr_05"], modes["amr_05"] = True, RobotMode.PAUSED  # the cause is gone; the robot stays paused
    asyncio.run(watch.watch([state]))
    assert state.held is None and state.paused and service.status is MissionStatus.PAUSED
    assert service.transitions == [] and Command.RESUME not in [c for _, c in sent]

# -- a robot's own pause and its protective stops: the real registry and mission service, a fake clock -----------
REPO = Path(__file__).resolve().parents[2]
IDLE = RobotReport("courier_1", "delivery", "sidewalkbot", RobotMode.MOVING, 0.0, 0.0, 0.0, 0.0, 0.0, 90.0, False,
                   "", 0.0, (), 0.0, 0.0)
SEEN = "stop (approach): moving object at 1.3 m/s 0.20 m away"


@pytest.fixture
def missions(tmp_path: Path):
    engine = make_engine(f"sqlite:///{tmp_path / 'holds.db'}")
    upgrade(engine)
    hub = SimpleNamespace(publish_event=lambda frame: None)
    service = MissionService(engine, Site.load(REPO / "sim_worlds" / "city_block"),
                             TemplateLibrary.load(REPO / "missions"), hub)  # type: ignore[arg-type]
    with Session(engine) as session:
        session.add(Mission(id=5, site="city_block", status="underway", robot_id="courier_1", created_at=utcnow(),
                            steps=[{"index": 0, "kind": "go_to", "target": "a", "status": "active"}]))
        session.commit()
    yield service
    engine.dispose()


class Lab:
    """The robot's reports into the real registry, on a clock the test moves; the holds watched every 0.5 s."""

    def __init__(self, missions: MissionService) -> None:
        self.now = 0.0
        self.registry = RobotRegistry(5.0, clock=lambda: self.now)
        self.sent: list[Command] = []

        async def command(_rid: str, what: Command) -> None:
            self.sent.append(what)

        self.holds = Holds(missions, self.registry, command, clock=lambda: self.now)
        self.state = RunState(5, "courier_1")
        self.missions = missions

    def run(self, seconds: float, mode: RobotMode = RobotMode.MOVING, errors: tuple[str, ...] = ()) -> list[str]:
        """The robot reports `mode` and `errors` for `seconds`; the mission's statuses seen at each look."""
        seen = []
        for _ in range(round(seconds / 0.5)):
            self.now += 0.5
            self.registry.update(dataclasses.replace(IDLE, mode=mode, errors=errors))
            asyncio.run(self.holds.watch([self.state]))
            seen.append(str(self.missions.get(5, False).status))
        return seen

    def events(self) -> list[tuple[str | None, str]]:
        return [(e.code, e.message) for e in self.missions.get(5).events or []]


def test_a_robot_paused_from_its_card_holds_its_mission_until_it_is_resumed(missions) -> None:
    lab = Lab(missions)
    assert lab.run(1.0, RobotMode.PAUSED) == ["underway", "underway"]  # a report or two: not yet
    assert lab.run(1.5, RobotMode.PAUSED)[-1] == "paused"
    assert lab.state.held == ROBOT_PAUSE_HOLD and lab.state.paused
    assert lab.run(1.0) == ["underway", "underway"]
    assert lab.state.held is None and not lab.state.paused
    assert lab.events() == [
        ("held_robot_paused", "held: robot courier_1 was paused (from its card or on the robot); the mission carries "
                              "on when the robot is resumed"),
        ("released_robot_paused", "resumed: robot courier_1 was resumed")]
    assert lab.sent == []  # its own pause: the hold sends nothing


def test_the_pauses_of_the_fleet_manager_are_not_a_robot_pause(missions) -> None:
    lab = Lab(missions)
    lab.run(0.5, RobotMode.MOVING, ("localisation lost",))  # lost: held, the robot paused by the hold
    assert lab.state.held == LOCALISATION_HOLD and lab.sent == [Command.PAUSE]
    lab.run(5.0, RobotMode.PAUSED, ("localisation lost",))
    lab.run(1.5, RobotMode.PAUSED)  # localised again: resumed; its reports still say paused a moment
    assert lab.sent == [Command.PAUSE, Command.RESUME]
    assert lab.run(2.0) == ["underway"] * 4 and lab.state.held is None
    lab.state.paused = True  # an operator pauses the mission (dispatcher.pause): the robot pauses with it
    missions.transition(5, MissionStatus.PAUSED, "paused by operator")
    lab.run(10.0, RobotMode.PAUSED)
    assert lab.state.held is None
    assert [code for code, _ in lab.events()] == ["held_localisation", "released_localisation", None]


def test_short_protective_stops_hold_nothing(missions) -> None:
    lab = Lab(missions)
    for _ in range(5):  # a person crosses: a second's stop, then on its way
        lab.run(1.0, RobotMode.WAITING, (f"protective stop: {SEEN}",))
        lab.run(2.0, RobotMode.MOVING)
    assert lab.state.held is None and lab.events() == []


def test_a_lasting_protective_stop_holds_the_mission_with_what_the_robot_saw(missions) -> None:
    lab = Lab(missions)
    lab.run(1.0, RobotMode.WAITING, (f"protective stop: {SEEN}",))  # the error shows a second, the robot stands on
    assert lab.run(2.0, RobotMode.WAITING) == ["underway"] * 4
    assert lab.run(0.5, RobotMode.WAITING) == ["paused"]  # 3 s after the stop was first seen
    assert lab.state.held == PROTECTIVE_HOLD and lab.state.paused
    lab.run(10.0, RobotMode.WAITING)
    with pytest.raises(Conflict, match="safety layer of robot courier_1 stopped it"):
        check_resume(lab.state, 5)
    assert lab.run(1.5) == ["paused", "paused", "underway"]  # on its way again (after PROTECTIVE_GAP_S)
    assert lab.events() == [
        ("held_protective_stop", f"held: the safety layer of robot courier_1 has stopped it for more than 3 s (it saw: "
                                 f"{SEEN}); the mission carries on when its way is clear"),
        ("released_protective_stop", "resumed: the way of robot courier_1 is clear again")]
    event = missions.get(5).events[0]  # type: ignore[index]
    assert event.params == {"robot": "courier_1", "seconds": 3, "seen": SEEN}
    assert lab.sent == []


def test_resuming_a_mission_held_by_its_robots_pause_ends_the_hold(missions) -> None:
    lab = Lab(missions)
    lab.run(3.0, RobotMode.PAUSED)
    assert lab.state.held == ROBOT_PAUSE_HOLD
    check_resume(lab.state, 5)  # allowed: the dispatcher resumes the robot, then lifts the hold
    lab.holds.lift(lab.state)
    lab.state.paused = False
    missions.transition(5, MissionStatus.UNDERWAY, "resumed by operator")
    assert lab.run(1.5, RobotMode.PAUSED) == ["underway"] * 3  # its reports catch up: not held again
    assert lab.run(0.5) == ["underway"] and lab.state.held is None


def test_the_mission_carries_the_code_of_its_status_and_failure_reasons(missions) -> None:
    """The queue, the detail and the robot card translate why a mission is held or failed (issue 18): the
    mission carries the code and params of its status reason, and of a failure reason known by its wording."""
    lab = Lab(missions)
    lab.run(2.5, RobotMode.PAUSED)
    held = missions.get(5, False)
    assert (held.status_code, held.status_params) == ("held_robot_paused", {"robot": "courier_1"})
    assert held.status_reason == str(say("held_robot_paused", robot="courier_1"))
    missions.update_step(5, 0, "retrying", say("attempt", attempt=2, attempts=2))
    step = missions.get(5, False).steps[0]
    assert (step["message"], step["message_code"], step["message_params"]) == (
        "attempt 2 of 2", "attempt", {"attempt": 2, "attempts": 2})
    missions.transition(5, MissionStatus.FAILED, "gripper jammed", failure_reason="blocked by an obstacle for 60 s")
    failed = missions.get(5, False)
    assert (failed.status_reason, failed.status_code, failed.status_params) == ("gripper jammed", None, None)
    assert (failed.failure_code, failed.failure_params) == ("reason_blocked", {"seconds": 60})
