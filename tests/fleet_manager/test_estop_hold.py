"""Holds, not failures (issue 18, item 1): an e-stop ends the robot's task "estop" in every adapter; the mission
runner holds the mission (paused, with the reason) until the e-stop is released, then carries the step out again
from where the robot stands, not counted as an attempt. The real MissionService on SQLite, the real holds watch;
the robot is a stand-in that answers tasks. No ROS."""

from __future__ import annotations

import asyncio
import dataclasses
from pathlib import Path

import pytest
from sqlmodel import Session

from fleet_manager.core.errors import Conflict, Unavailable
from fleet_manager.core.missions import MissionStatus
from fleet_manager.core.robots import Command, RobotMode, RobotReport, TaskOutcome, TaskRequest, TaskResult
from fleet_manager.core.templates import TemplateLibrary
from fleet_manager.db.engine import make_engine, upgrade
from fleet_manager.db.tables import Mission, utcnow
from fleet_manager.missions.holds import Holds
from fleet_manager.missions.runner import MissionRunner, RobotLost, RunState, StepFailed
from fleet_manager.missions.service import MissionService
from fleet_manager.robots.service import RobotRegistry
from fleet_manager.sites.service import Site

REPO = Path(__file__).resolve().parents[2]
CITY = REPO / "sim_worlds" / "city_block"
IDLE = RobotReport("courier_1", "delivery", "sidewalkbot", RobotMode.IDLE, 0.0, 0.0, 0.0, 0.0, 0.0, 90.0, False,
                   "", 0.0, (), 0.0, 0.0)


class Robot:
    """Answers each task with the next outcome; an "estop" outcome also puts the robot in ESTOP mode."""

    def __init__(self, registry: RobotRegistry, outcomes: list[tuple[TaskOutcome, str]]) -> None:
        self.registry, self.outcomes = registry, outcomes
        self.tasks: list[TaskRequest] = []
        registry.update(IDLE)

    def set_mode(self, mode: RobotMode) -> None:
        self.registry.update(dataclasses.replace(IDLE, mode=mode))

    async def execute(self, _robot_id, task, accepted, _feedback) -> TaskResult:
        self.tasks.append(task)
        await accepted()
        await asyncio.sleep(0.05)
        outcome, reason = self.outcomes.pop(0)
        if reason == "estop":
            self.set_mode(RobotMode.ESTOP)
        return TaskResult(outcome, reason)

    def now(self) -> float:
        return 0.0


@pytest.fixture
def missions(tmp_path: Path):
    engine = make_engine(f"sqlite:///{tmp_path / 'estop.db'}")
    upgrade(engine)
    site = Site.load(CITY)
    hub = type("Hub", (), {"publish_event": lambda self, frame: None})()
    yield MissionService(engine, site, TemplateLibrary.load(REPO / "missions"), hub)  # type: ignore[arg-type]
    engine.dispose()


def add_mission(missions: MissionService, retries: int) -> None:
    with Session(missions.engine) as session:
        session.add(Mission(id=5, site="city_block", status="underway", robot_id="courier_1", created_at=utcnow(),
                            steps=[{"index": 0, "kind": "action", "action": "load", "retries": retries,
                                    "status": "pending"}]))
        session.commit()


async def run_with_release(missions: MissionService, outcomes: list[tuple[TaskOutcome, str]],
                           release_after_s: float = 1.0) -> tuple[Robot, RunState, list[str], Exception | None]:
    """Run the mission with the holds watch every 0.1 s; release the e-stop after `release_after_s`; returns the
    robot, the run state, the mission statuses seen by the watch's ticks, and what the run raised."""
    registry = RobotRegistry(5.0)
    robot = Robot(registry, outcomes)
    sent: list[Command] = []

    async def command(_rid: str, what: Command) -> None:
        sent.append(what)

    holds = Holds(missions, registry, command)

    async def started(_mission_id: int) -> None:
        return None

    runner = MissionRunner(missions, registry, robot, started, None, None)  # type: ignore[arg-type]
    state = RunState(5, "courier_1")
    statuses: list[str] = []
    run = asyncio.create_task(runner.run(state))
    waited = 0.0
    while not run.done():
        await holds.watch([state])
        statuses.append(str(missions.get(5, False).status))
        await asyncio.sleep(0.1)
        waited += 0.1
        if robot.registry.mode("courier_1") is RobotMode.ESTOP and waited >= release_after_s:
            robot.set_mode(RobotMode.IDLE)
    assert sent == []  # an e-stop hold sends the robot nothing
    return robot, state, statuses, run.exception()


def test_an_estopped_step_is_held_and_carried_out_again_after_the_release(missions):
    add_mission(missions, retries=0)
    robot, state, statuses, error = asyncio.run(
        run_with_release(missions, [(TaskOutcome.FAILED, "estop"), (TaskOutcome.SUCCEEDED, "")]))
    assert error is None
    mission = missions.get(5)
    assert len(robot.tasks) == 2 and mission.steps[0]["status"] == "done" and mission.steps[0]["attempt"] == 1
    assert "paused" in statuses and statuses[-1] == "underway"
    texts = [e.message for e in mission.events]
    assert any("held: robot courier_1 is e-stopped" in t for t in texts), texts
    assert any("the e-stop of robot courier_1 was released" in t for t in texts), texts
    assert not any("retrying" in t or "failed" in t or "attempt" in t for t in texts), texts
    assert state.held is None and not state.paused and not state.stopped


def test_an_estop_is_not_counted_as_an_attempt(missions):
    add_mission(missions, retries=1)
    outcomes = [(TaskOutcome.FAILED, "gripper jammed"), (TaskOutcome.FAILED, "estop"),
                (TaskOutcome.FAILED, "gripper jammed")]
    robot, _state, _statuses, error = asyncio.run(run_with_release(missions, outcomes, release_after_s=0.3))
    assert isinstance(error, StepFailed) and error.reason == "gripper jammed"
    assert len(robot.tasks) == 3  # two real attempts, and the one the e-stop stopped
    texts = [e.message for e in missions.get(5).events]
    assert sum("attempt 2 of 2" in t for t in texts) == 1, texts  # not "attempt 3"


def test_resuming_a_mission_held_by_an_estop_is_refused_with_the_way_out():
    from fleet_manager.missions.dispatcher import Dispatcher  # a dispatcher with only what resume() reads

    dispatcher = Dispatcher.__new__(Dispatcher)
    state = RunState(5, "courier_1", held="estop", paused=True)
    dispatcher._runs = {5: state}
    dispatcher.service = type("S", (), {"get": lambda self, *_: type("M", (), {
        "status": MissionStatus.PAUSED, "robot_id": "courier_1"})()})()
    with pytest.raises(Conflict, match="courier_1 is e-stopped; release its e-stop"):
        asyncio.run(dispatcher.resume(5))


class Unreachable(Robot):
    """Refuses the first `refusals` tasks as out of reach (a VDA 5050 vehicle whose broker is down), then answers."""

    def __init__(self, registry: RobotRegistry, outcomes: list[tuple[TaskOutcome, str]], refusals: int) -> None:
        super().__init__(registry, outcomes)
        self.refusals = refusals

    async def execute(self, robot_id, task, accepted, feedback) -> TaskResult:
        self.registry.update(IDLE)  # it keeps reporting (through another way than the broken link)
        if self.refusals > 0:
            self.refusals -= 1
            raise Unavailable("the MQTT broker 127.0.0.1:1 of the VDA 5050 vehicles is out of reach")
        return await super().execute(robot_id, task, accepted, feedback)


async def run_unreachable(missions: MissionService, refusals: int, timeout_s: float) -> tuple[Robot, Exception | None]:
    registry = RobotRegistry(timeout_s)
    robot = Unreachable(registry, [(TaskOutcome.SUCCEEDED, "")], refusals)

    async def started(_mission_id: int) -> None:
        return None

    runner = MissionRunner(missions, registry, robot, started, None, None)  # type: ignore[arg-type]
    run = asyncio.create_task(runner.run(RunState(5, "courier_1")))
    await asyncio.wait({run}, timeout=60)
    return robot, run.exception()


def test_a_robot_out_of_reach_is_tried_again_not_failed(missions, monkeypatch):
    """Issue 15 (a broker outage, seen in CI): the step is tried again while the robot's link is down, not
    counted as an attempt, and carried out once the robot is reachable."""
    monkeypatch.setattr("fleet_manager.missions.runner.UNREACHABLE_RETRY_S", 0.1)
    add_mission(missions, retries=0)
    robot, error = asyncio.run(run_unreachable(missions, refusals=3, timeout_s=30.0))
    assert error is None, error
    mission = missions.get(5)
    assert len(robot.tasks) == 1 and mission.steps[0]["status"] == "done" and mission.steps[0]["attempt"] == 1
    texts = [e.message for e in mission.events]
    assert sum("is out of reach; tried again until the robot is back" in t for t in texts) == 1, texts


def test_a_robot_out_of_reach_for_the_robot_timeout_is_lost(missions, monkeypatch):
    """...and one that stays out of reach past the robot timeout is lost (the offline policy requeues or fails the
    mission), with the reason."""
    monkeypatch.setattr("fleet_manager.missions.runner.UNREACHABLE_RETRY_S", 0.1)
    add_mission(missions, retries=3)
    robot, error = asyncio.run(run_unreachable(missions, refusals=10_000, timeout_s=0.5))
    assert isinstance(error, RobotLost) and "out of reach for 0.5 s" in error.message, error
    assert robot.tasks == []
