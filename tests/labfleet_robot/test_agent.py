"""RobotAgent: tasks (route + timed actions), operator commands and modes, stepped with explicit time."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from labfleet_robot.agent import (
    Action,
    Command,
    CommandResult,
    Mode,
    Outcome,
    RobotAgent,
    Task,
    TaskResult,
    Waypoint,
)
from labfleet_robot.controller import Limits, wrap

DT = 0.05
LIMITS = Limits(max_speed=1.0, max_accel=0.6, max_yaw_rate=1.5, max_yaw_accel=3.0, radius=0.3)


class Rig:
    """An agent driving a unicycle integrated at 20 Hz, with its own clock."""

    def __init__(self, actions=None, seed: int = 0, prime: bool = True) -> None:
        self.agent = RobotAgent(LIMITS, actions or {}, seed=seed)
        self.t = 0.0
        self.pose = (0.0, 0.0, 0.0)
        self.v = self.w = 0.0
        self.results: list[tuple[float, TaskResult]] = []
        if prime:  # one control step: the agent learns where the robot is
            self.agent.step(self.t, self.pose)

    def tick(self) -> tuple[float, float]:
        self.v, self.w = self.agent.step(self.t, self.pose)
        self.results += [(self.t, r) for r in self.agent.take_results()]
        x, y, yaw = self.pose
        mid = yaw + self.w * DT / 2
        self.pose = (x + self.v * math.cos(mid) * DT, y + self.v * math.sin(mid) * DT, wrap(yaw + self.w * DT))
        self.t = round(self.t + DT, 9)
        return self.v, self.w

    def run(self, seconds: float, until=None) -> None:
        end = self.t + seconds
        while self.t < end - 1e-9:
            self.tick()
            if until is not None and until():
                return
        if until is not None:
            raise AssertionError(f"condition not met within {seconds} s (mode {self.agent.mode.name})")

    def done(self) -> bool:
        return bool(self.results)


def task(task_id="t1", route=((2.0, 0.0),), actions=(), released=0, yaw=None) -> Task:
    points = tuple(Waypoint(f"w{i}", x, y, yaw if i == len(route) - 1 else None) for i, (x, y) in enumerate(route))
    return Task(task_id, points, tuple(actions), released)


def test_route_then_actions_succeeds_after_the_action_durations():
    rig = Rig({"load": (2.0, 1.0)})
    rig.agent.start_task(task(route=((2.0, 0.0), (2.0, 1.5)), actions=(Action("load"), Action("wave", 1.5))),
                         rig.t)
    assert rig.agent.mode is Mode.MOVING
    rig.run(30, until=lambda: rig.agent.mode is Mode.ACTING)
    arrived = rig.t
    assert math.dist(rig.pose[:2], (2.0, 1.5)) < 0.1
    assert rig.agent.feedback().state == "acting:load"
    rig.run(10, until=rig.done)
    t_done, result = rig.results[0]
    assert result.outcome is Outcome.SUCCEEDED and result.task_id == "t1" and result.reason == ""
    assert 2.0 + 1.5 <= t_done - arrived + DT <= 2.0 + 1.5 + 2 * DT  # both durations, back to back
    assert math.dist((result.x, result.y), (2.0, 1.5)) < 0.1
    assert result.distance_m == pytest.approx(3.5, abs=0.15)
    assert rig.agent.mode is Mode.IDLE and rig.agent.active is None
    assert rig.agent.step(rig.t, rig.pose) == (0.0, 0.0)


def test_pause_stops_the_robot_and_resume_goes_on():
    rig = Rig()
    rig.agent.start_task(task(route=((6.0, 0.0),)), rig.t)
    rig.run(3.0)
    assert rig.v > 0.5
    assert rig.agent.command(Command.PAUSE, rig.t) == (CommandResult.OK, "paused")
    assert rig.agent.mode is Mode.PAUSED
    vs = []
    for _ in range(round(2.5 / DT)):
        vs.append(rig.tick()[0])
    assert all(b <= a for a, b in itertools.pairwise(vs))  # braking, never speeding up
    assert vs[-1] == 0.0
    x_paused = rig.pose[0]
    rig.run(3.0)
    assert rig.pose[0] == x_paused and not rig.results  # stays put, task still running
    assert rig.agent.feedback().state == "paused"
    assert rig.agent.command(Command.PAUSE, rig.t)[0] is CommandResult.OK  # already paused
    assert rig.agent.command(Command.RESUME, rig.t) == (CommandResult.OK, "resumed")
    assert rig.agent.mode is Mode.MOVING
    rig.run(20, until=rig.done)
    assert rig.results[0][1].outcome is Outcome.SUCCEEDED and abs(rig.pose[0] - 6.0) < 0.1
    assert rig.agent.command(Command.RESUME, rig.t)[0] is CommandResult.REJECTED  # not paused


def test_pause_during_an_action_extends_it():
    rig = Rig({"load": (2.0, 1.0)})
    rig.agent.start_task(task(route=(), actions=(Action("load"),)), rig.t)
    assert rig.agent.mode is Mode.ACTING
    rig.run(1.0)
    assert rig.agent.command(Command.PAUSE, rig.t)[0] is CommandResult.OK
    rig.run(3.0)
    assert not rig.results
    assert rig.agent.command(Command.RESUME, rig.t)[0] is CommandResult.OK
    assert rig.agent.mode is Mode.ACTING
    rig.run(5.0, until=rig.done)
    t_done, result = rig.results[0]
    assert result.outcome is Outcome.SUCCEEDED
    assert 2.0 + 3.0 - 1e-6 <= t_done <= 2.0 + 3.0 + 2 * DT


def test_estop_fails_the_task_and_release_clears_it():
    rig = Rig()
    rig.agent.start_task(task(route=((6.0, 0.0),)), rig.t)
    rig.run(3.0)
    assert rig.v > 0.5
    assert rig.agent.command(Command.ESTOP, rig.t)[0] is CommandResult.OK
    assert rig.agent.mode is Mode.ESTOP
    assert [(r.outcome, r.reason) for r in rig.agent.take_results()] == [(Outcome.FAILED, "estop")]
    assert rig.tick() == (0.0, 0.0)  # at once, not braking
    assert rig.agent.command(Command.PAUSE, rig.t)[0] is CommandResult.REJECTED  # no task to pause
    assert rig.agent.command(Command.RESUME, rig.t)[0] is CommandResult.REJECTED
    assert rig.agent.command(Command.ESTOP, rig.t)[0] is CommandResult.OK  # e-stop again is fine
    assert rig.agent.mode is Mode.ESTOP
    rig.run(1.0)
    assert rig.v == 0.0
    assert rig.agent.command(Command.RELEASE, rig.t)[0] is CommandResult.OK
    assert rig.agent.mode is Mode.IDLE
    assert rig.agent.command(Command.RELEASE, rig.t) == (CommandResult.REJECTED, "not e-stopped")
    # after the release the robot takes tasks again
    rig.agent.start_task(task("t2", route=((rig.pose[0] + 1.0, 0.0),)), rig.t)
    rig.run(10, until=rig.done)
    assert rig.results[-1][1].task_id == "t2" and rig.results[-1][1].outcome is Outcome.SUCCEEDED


def test_a_task_started_while_estopped_does_not_drive():
    rig = Rig()
    rig.agent.command(Command.ESTOP, rig.t)
    rig.agent.start_task(task(route=((3.0, 0.0),)), rig.t)
    rig.run(2.0)
    assert rig.agent.mode is Mode.ESTOP
    assert rig.pose[0] == 0.0


def test_a_task_started_before_the_first_step_starts_from_the_robot():
    rig = Rig(prime=False)
    rig.pose = (20.0, 5.0, 0.0)
    with pytest.raises(ValueError, match="pose is not known"):
        rig.agent.start_task(task(route=((22.0, 5.0),)), rig.t)
    rig.agent.start_task(task(route=((22.0, 5.0),)), rig.t, pose=rig.pose)
    assert rig.agent.follower.points[0] == (20.0, 5.0)
    rig.run(20, until=rig.done)
    result = rig.results[0][1]
    assert result.outcome is Outcome.SUCCEEDED
    assert result.distance_m == pytest.approx(2.0, abs=0.1)


def test_unknown_and_dock_commands():
    agent = RobotAgent(LIMITS)
    assert agent.command(42, 0.0)[0] is CommandResult.UNKNOWN_COMMAND
    result, message = agent.command(Command.DOCK, 0.0)
    assert result is CommandResult.REJECTED and message
    assert agent.mode is Mode.IDLE


def test_a_failing_action_fails_the_task():
    rig = Rig({"handover": (1.0, 0.0)})
    rig.agent.start_task(task(route=((1.0, 0.0),), actions=(Action("handover"), Action("wave", 1.0))), rig.t)
    rig.run(20, until=rig.done)
    result = rig.results[0][1]
    assert (result.outcome, result.reason) == (Outcome.FAILED, "action handover failed")
    assert rig.agent.mode is Mode.IDLE


def test_an_unknown_action_without_duration_fails_clearly():
    rig = Rig({"load": (1.0, 1.0)})
    rig.agent.start_task(task(route=((1.0, 0.0),), actions=(Action("load"), Action("dance"))), rig.t)
    rig.run(20, until=rig.done)
    t_done, result = rig.results[0]
    assert result.outcome is Outcome.FAILED
    assert "dance" in result.reason and "unknown action" in result.reason and "duration" in result.reason
    assert t_done >= 1.0  # the known action before it ran its time


def _outcomes(seed: int) -> list[Outcome]:
    agent = RobotAgent(LIMITS, {"flip": (0.1, 0.5)}, seed=seed)
    t, out = 0.0, []
    for i in range(50):
        agent.start_task(Task(f"t{i}", (), (Action("flip"),)), t, (0.0, 0.0, 0.0))
        while agent.active is not None:
            agent.step(t, (0.0, 0.0, 0.0))
            t += DT
        out += [r.outcome for r in agent.take_results()]
    return out


def test_seeded_success_draws_are_reproducible():
    a, b, c = _outcomes(7), _outcomes(7), _outcomes(8)
    assert len(a) == 50 and a == b
    assert a != c
    assert 10 < a.count(Outcome.SUCCEEDED) < 40 and set(a) == {Outcome.SUCCEEDED, Outcome.FAILED}


def test_a_new_task_preempts_the_running_one():
    rig = Rig()
    rig.agent.start_task(task("old", route=((5.0, 0.0),)), rig.t)
    rig.run(2.0)
    rig.agent.start_task(task("new", route=((rig.pose[0], 2.0),)), rig.t)
    old = rig.agent.take_results()
    assert [(r.task_id, r.outcome) for r in old] == [("old", Outcome.CANCELED)]
    assert "preempted" in old[0].reason
    assert rig.agent.active.task.task_id == "new" and rig.agent.mode is Mode.MOVING
    rig.run(20, until=rig.done)
    assert [(r.task_id, r.outcome) for _, r in rig.results] == [("new", Outcome.SUCCEEDED)]


def test_cancel_ends_canceled_and_stops_at_once():
    rig = Rig()
    rig.agent.start_task(task(route=((6.0, 0.0),)), rig.t)
    rig.run(3.0)
    assert rig.v > 0.5
    rig.agent.cancel_task()
    assert [(r.outcome, r.reason) for r in rig.agent.take_results()] == [(Outcome.CANCELED, "canceled")]
    assert rig.tick() == (0.0, 0.0)
    assert rig.agent.mode is Mode.IDLE and rig.agent.feedback() is None


def test_feedback_progress_goes_from_0_to_1():
    rig = Rig()
    rig.agent.start_task(task(route=((3.0, 0.0), (3.0, 3.0))), rig.t)
    progress = [rig.agent.feedback().progress]
    indices = []
    while not rig.results and rig.t < 40:
        rig.tick()
        fb = rig.agent.feedback()
        if fb is not None:
            progress.append(fb.progress)
            indices.append(fb.waypoint_index)
    assert rig.results and rig.results[0][1].outcome is Outcome.SUCCEEDED
    assert progress[0] == pytest.approx(0.0, abs=1e-6)
    assert progress[-1] == pytest.approx(1.0, abs=0.03)
    assert all(b >= a - 1e-6 for a, b in itertools.pairwise(progress))
    assert indices[0] == 0 and indices[-1] == 1


def test_an_obstacle_that_never_clears_fails_the_task_after_the_blocked_timeout():
    agent = RobotAgent(LIMITS, {}, blocked_timeout_s=10.0)
    agent.start_task(task(route=((5.0, 0.0),)), 0.0, (0.0, 0.0, 0.0))
    angles = np.linspace(-math.pi, math.pi, 180, endpoint=False)
    ranges = np.where(np.abs(angles) < 0.3, 0.5, np.inf)  # a wall 0.5 m ahead, for ever
    t, results = 0.0, []
    while not results and t < 30.0:
        v, _ = agent.step(t, (0.0, 0.0, 0.0), ranges, angles)
        assert v == 0.0 or t < 1.0
        results = agent.take_results()
        t = round(t + DT, 9)
    assert results and results[0].outcome is Outcome.FAILED
    assert results[0].reason == "blocked by an obstacle for 10 s"
    assert 10.0 <= t <= 10.5
    assert agent.mode is Mode.IDLE


# -- localisation (the node's map pose from TF is missing or stale) ----------------------------------------
def test_without_localisation_the_agent_holds_the_robot_and_carries_on_when_it_returns():
    rig = Rig()
    rig.agent.start_task(task(route=((6.0, 0.0),)), rig.t)
    rig.run(3.0)
    assert rig.v > 0.5
    last_good = rig.pose
    vs = []
    for _ in range(round(4.0 / DT)):  # the node passes the last good pose while localisation is lost
        v, _ = rig.agent.step(rig.t, last_good, localised=False)
        vs.append(v)
        rig.t = round(rig.t + DT, 9)
    assert all(b <= a for a, b in itertools.pairwise(vs)) and vs[-1] == 0.0  # braking, not an emergency stop
    assert vs[round(0.5 / DT)] > 0.1
    assert not rig.agent.take_results() and rig.agent.active is not None  # neither failed nor advanced
    fb = rig.agent.feedback()
    assert fb is not None and fb.state == "localisation_lost" and fb.progress < 0.6
    assert rig.agent.command(Command.PAUSE, rig.t)[0] is CommandResult.OK  # commands still work
    assert rig.agent.feedback().state == "paused"
    assert rig.agent.command(Command.RESUME, rig.t)[0] is CommandResult.OK
    rig.run(20, until=rig.done)  # localised again: it goes on by itself
    result = rig.results[0][1]
    assert result.outcome is Outcome.SUCCEEDED and abs(rig.pose[0] - 6.0) < 0.1


def test_time_without_localisation_counts_neither_toward_the_blocked_timeout_nor_an_action():
    agent = RobotAgent(LIMITS, {"load": (2.0, 1.0)}, blocked_timeout_s=10.0)
    agent.start_task(task(route=((5.0, 0.0),), actions=(Action("load"),)), 0.0, (0.0, 0.0, 0.0))
    angles = np.linspace(-math.pi, math.pi, 180, endpoint=False)
    wall = np.where(np.abs(angles) < 0.3, 0.5, np.inf)
    t = 0.0
    for seconds, localised in ((6.0, True), (20.0, False), (3.0, True)):  # blocked 9 s in all, lost 20 s
        for _ in range(round(seconds / DT)):
            agent.step(t, (0.0, 0.0, 0.0), wall, angles, localised=localised)
            t = round(t + DT, 9)
    assert not agent.take_results() and agent.active is not None
    for _ in range(round(2.0 / DT)):
        agent.step(t, (0.0, 0.0, 0.0), wall, angles)
        t = round(t + DT, 9)
    assert [r.reason for r in agent.take_results()] == ["blocked by an obstacle for 10 s"]
    # an action's clock stands still too
    agent.start_task(Task("act", (), (Action("load"),)), t, (0.0, 0.0, 0.0))
    start = t
    for localised in [True] * 20 + [False] * 100 + [True] * 200:
        agent.step(t, (0.0, 0.0, 0.0), localised=localised)
        t = round(t + DT, 9)
        if agent.active is None:
            break
    assert agent.take_results()[0].outcome is Outcome.SUCCEEDED
    assert t - start == pytest.approx(2.0 + 5.0, abs=2 * DT)
