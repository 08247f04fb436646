"""A task on a Nav2 robot (adapters/nav2_job.py) against a scripted Nav2: goals hold only released poses, a longer
release preempts, pause cancels and resume sends again, an abort fails the step with Nav2's code, docking at
the end of a dock route. No rclpy: the Nav2 calls are faked at the edge."""

from __future__ import annotations

import asyncio
import math
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

import pytest
from action_msgs.msg import GoalStatus
from labfleet_sim.fleet_config import Pose, RobotConfig, RobotModel
from nav2_msgs.action import DockRobot, NavigateThroughPoses

from fleet_manager.adapters import nav2_job
from fleet_manager.adapters.nav2_job import Job
from fleet_manager.core.robots import RobotMode, TaskAction, TaskFeedback, TaskOutcome, TaskRequest, Waypoint
from fleet_manager.robots.roster import Registration

MODEL = RobotModel(name="tb4", kind="delivery", radius=0.2, mass_kg=30, max_speed=0.5, max_accel=0.5,
                   max_yaw_rate=1.0, max_yaw_accel=2.0, battery_capacity_wh=50, idle_power_w=5, drive_power_w=20,
                   actions={"load": {"duration_s": 0.2}})
ROBOT = Registration(RobotConfig(id="tb4_1", model=MODEL, spawn=Pose(x=0, y=0), robot_api="nav2"), "lab", "tb4")
ROUTE = tuple(Waypoint(f"p{i}", float(i), 0.0, None, 0.4 if i == 3 else 0.0) for i in range(6))


@dataclass
class Sent:
    kind: str
    goal: Any
    on_feedback: Any
    result: asyncio.Future[Any]
    handle: Any
    canceled: bool = False


@dataclass
class FakeNav2:
    """Accepts every goal; the test ends them. A new navigation goal aborts the running one, as Nav2 does."""

    frame: str = "map"
    robot_id: str = "tb4_1"
    docking: bool = True
    sent: list[Sent] = field(default_factory=list)
    limits: list[float] = field(default_factory=list)
    nav: object = "nav"
    dock: object = "dock"
    undock: object = "undock"

    async def available(self, which: str) -> bool:
        return which == "navigate_through_poses" or self.docking

    async def send(self, client: Any, goal: Any, on_feedback: Any) -> Any:
        running = [s for s in self.sent if s.kind == client and not s.result.done()]
        for old in running:  # Nav2's SimpleActionServer aborts the goal a new one preempts
            old.result.set_result(SimpleNamespace(status=GoalStatus.STATUS_ABORTED,
                                                  result=SimpleNamespace(error_code=0, error_msg="")))
        handle = SimpleNamespace(accepted=True)
        self.sent.append(Sent(client, goal, on_feedback, asyncio.get_running_loop().create_future(), handle))
        return handle

    def result(self, handle: Any) -> asyncio.Future[Any]:
        return next(s.result for s in self.sent if s.handle is handle)

    def cancel(self, handle: Any) -> None:
        s = next(s for s in self.sent if s.handle is handle)
        s.canceled = True
        if not s.result.done():
            s.result.set_result(SimpleNamespace(status=GoalStatus.STATUS_CANCELED, result=None))

    def set_speed_limit(self, limit: float) -> None:
        self.limits.append(limit)

    # -- the test's side --------------------------------------------------------------------------
    def navs(self) -> list[Sent]:
        return [s for s in self.sent if s.kind == "nav"]

    def xs(self, sent: Sent) -> list[float]:
        return [p.pose.position.x for p in sent.goal.poses]

    def succeed(self, sent: Sent, result: Any = None) -> None:
        sent.result.set_result(SimpleNamespace(status=GoalStatus.STATUS_SUCCEEDED, result=result))

    def abort(self, sent: Sent, code: int, msg: str) -> None:
        sent.result.set_result(SimpleNamespace(status=GoalStatus.STATUS_ABORTED,
                                               result=SimpleNamespace(error_code=code, error_msg=msg)))

    def feedback(self, sent: Sent, remaining: int, distance: float = 1.0) -> None:
        fb = NavigateThroughPoses.Feedback()
        fb.number_of_poses_remaining = remaining
        fb.distance_remaining = distance
        sent.on_feedback(fb)


async def settle() -> None:
    for _ in range(20):
        await asyncio.sleep(0)


class Clock:
    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        self.t += 0.05
        return self.t


def make_job(task: TaskRequest, nav: FakeNav2, seen: list[TaskFeedback]) -> Job:
    return Job(task, ROBOT, nav, seen.append, lambda: (1.0, 0.0, 0.0), Clock())  # type: ignore[arg-type]


async def _accepted() -> None:
    pass


def test_goals_hold_only_released_poses_and_a_longer_release_preempts() -> None:
    async def scenario() -> None:
        nav, seen = FakeNav2(), []
        job = make_job(TaskRequest("t1", 1, ROUTE, released=3), nav, seen)
        run = asyncio.create_task(job.run(_accepted))
        await settle()
        (first,) = nav.navs()
        assert nav.xs(first) == [1.0, 2.0]  # waypoint 0 is where it stands; 3.. are not released
        nav.feedback(first, remaining=1)
        await settle()
        assert job.heading == 2 and seen[-1].waypoint_index == 2
        job.release(5)
        await asyncio.sleep(0.3)
        first_, second = nav.navs()
        assert first_ is first and nav.xs(second) == [2.0, 3.0, 4.0]  # from where it heads, up to the release
        nav.succeed(second)
        await asyncio.sleep(0.3)
        assert job.mode is RobotMode.WAITING and job.state == "waiting_release" and len(nav.navs()) == 2
        job.release(0)  # all of it
        await asyncio.sleep(0.3)
        third = nav.navs()[-1]
        assert nav.xs(third) == [5.0]
        nav.succeed(third)
        result = await asyncio.wait_for(run, 2)
        assert result.outcome is TaskOutcome.SUCCEEDED and result.final_pose == (1.0, 0.0, 0.0)
        assert 0.4 in nav.limits  # waypoint 3's cap went out as Nav2's speed limit
        for sent in nav.navs():  # never a pose past the release in force when it was sent
            assert max(nav.xs(sent)) <= 5.0

    asyncio.run(scenario())


def test_pause_cancels_and_resume_sends_again_from_where_it_heads() -> None:
    async def scenario() -> None:
        nav, seen = FakeNav2(), []
        job = make_job(TaskRequest("t2", 1, ROUTE), nav, seen)
        run = asyncio.create_task(job.run(_accepted))
        await settle()
        first = nav.navs()[0]
        nav.feedback(first, remaining=3)  # passed p1 and p2
        await job.pause()
        await asyncio.sleep(0.3)
        assert first.canceled and job.mode is RobotMode.PAUSED and len(nav.navs()) == 1
        job.resume()
        await asyncio.sleep(0.3)
        again = nav.navs()[-1]
        assert nav.xs(again) == [3.0, 4.0, 5.0]
        nav.succeed(again)
        assert (await asyncio.wait_for(run, 2)).outcome is TaskOutcome.SUCCEEDED

    asyncio.run(scenario())


def test_an_abort_nav2_chose_fails_with_its_code_and_an_estop_fails_the_task() -> None:
    async def scenario() -> None:
        nav, seen = FakeNav2(), []
        job = make_job(TaskRequest("t3", 1, ROUTE), nav, seen)
        run = asyncio.create_task(job.run(_accepted))
        await settle()
        nav.abort(nav.navs()[0], 105, "Failed to make progress")
        result = await asyncio.wait_for(run, 2)
        assert result.outcome is TaskOutcome.FAILED
        assert result.reason == ("Nav2 aborted the navigation (error 105 FAILED_TO_MAKE_PROGRESS: Failed to make "
                                 "progress)")

        job = make_job(TaskRequest("t4", 1, ROUTE), nav, seen)
        run = asyncio.create_task(job.run(_accepted))
        await settle()
        await job.stop("estop")
        result = await asyncio.wait_for(run, 2)
        assert (result.outcome, result.reason) == (TaskOutcome.FAILED, "estop") and nav.navs()[-1].canceled

    asyncio.run(scenario())


def test_a_dock_route_navigates_to_the_last_place_before_the_charger_then_docks() -> None:
    async def scenario() -> None:
        route = (*ROUTE[:3], Waypoint("charger_1", 2.0, 2.5, math.pi / 2, 0.0))
        nav, seen = FakeNav2(), []
        job = make_job(TaskRequest("t5", 1, route, actions=(TaskAction("load"),), dock="charger_1"), nav, seen)
        run = asyncio.create_task(job.run(_accepted))
        await settle()
        (drive,) = nav.navs()
        assert nav.xs(drive) == [1.0, 2.0]  # not onto the charger: docking does that
        nav.succeed(drive)
        await asyncio.sleep(0.3)
        dock = nav.sent[-1]
        assert dock.kind == "dock" and isinstance(dock.goal, DockRobot.Goal) and not dock.goal.use_dock_id
        assert (dock.goal.dock_pose.pose.position.x, dock.goal.dock_pose.pose.position.y) == (2.0, 2.5)
        nav.succeed(dock, SimpleNamespace(success=True, error_code=0, error_msg=""))
        result = await asyncio.wait_for(run, 3)
        assert result.outcome is TaskOutcome.SUCCEEDED and job.docked
        assert any(fb.state == "acting:load" for fb in seen)

        nav.docking = False  # a robot without docking servers drives onto the charger
        job = make_job(TaskRequest("t6", 1, route, dock="charger_1"), nav, seen)
        run = asyncio.create_task(job.run(_accepted))
        await settle()
        assert nav.xs(nav.navs()[-1]) == [1.0, 2.0, 2.0]
        nav.succeed(nav.navs()[-1])
        assert (await asyncio.wait_for(run, 2)).outcome is TaskOutcome.SUCCEEDED

    asyncio.run(scenario())


def test_a_rejected_goal_is_sent_again_and_fails_the_task_only_when_nav2_goes_on_rejecting(monkeypatch: Any) -> None:
    """Nav2 rejects goals while it cannot place the robot, which the fleet manager may not know yet (each hears
    the robot's TF on its own): the goal goes again each tick; a release that grows while the goal before runs
    keeps that goal; only rejections for REJECTED_FOR_S fail the task, with a reason that says so."""
    monkeypatch.setattr(nav2_job, "REJECTED_FOR_S", 0.6)

    async def scenario() -> None:
        nav, seen = RejectingNav2(rejections=3), []
        job = make_job(TaskRequest("t7", 1, ROUTE, released=3), nav, seen)
        run = asyncio.create_task(job.run(_accepted))
        await asyncio.sleep(1.0)  # three rejections a tick apart, then accepted
        assert nav.rejected == 3 and job.state == "driving"
        (first,) = nav.navs()
        assert nav.xs(first) == [1.0, 2.0] and any(fb.state == "goal_rejected" for fb in seen)
        nav.rejections = 2  # a longer release is rejected: the running goal carries on meanwhile
        job.release(5)
        await asyncio.sleep(0.1)
        assert not first.result.done() and job.state == "driving"
        await asyncio.sleep(0.7)
        second = nav.navs()[-1]
        assert first.result.done() and nav.xs(second) == [1.0, 2.0, 3.0, 4.0]
        nav.succeed(second)
        await asyncio.sleep(0.3)
        nav.rejections = 1000  # Nav2 never accepts again
        job.release(0)
        result = await asyncio.wait_for(run, 3)
        assert (result.outcome, result.reason) == (
            TaskOutcome.FAILED, "Nav2 rejected the navigation goal for 0.6 s (is the robot localised?)")

    asyncio.run(scenario())


@dataclass
class RejectingNav2(FakeNav2):
    """Rejects the next `rejections` navigation goals, then accepts as FakeNav2 does."""

    rejections: int = 0
    rejected: int = 0

    async def send(self, client: Any, goal: Any, on_feedback: Any) -> Any:
        if client == "nav" and self.rejections > 0:
            self.rejections -= 1
            self.rejected += 1
            return SimpleNamespace(accepted=False)
        return await super().send(client, goal, on_feedback)


def test_a_job_cancelled_as_it_is_woken_ends() -> None:
    """The mission runner cancels a job's task (the mission canceled, the lab stopping): it must end, and cancel its
    goal, even when a wake-up (feedback, a release) comes in the same loop turn."""
    async def scenario() -> None:
        nav, seen = FakeNav2(), []
        job = make_job(TaskRequest("t8", 1, ROUTE), nav, seen)
        run = asyncio.create_task(job.run(_accepted))
        await settle()
        job.resume()  # (not paused: it only sets the wake-up event)
        run.cancel()
        with pytest.raises(asyncio.CancelledError):
            await asyncio.wait_for(run, 2)
        assert nav.navs()[0].canceled

    asyncio.run(scenario())
