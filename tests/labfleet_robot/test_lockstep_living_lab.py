"""The agent in lock-step with the pure simulator in the real living-lab site."""

from __future__ import annotations

import itertools
import math
from pathlib import Path

from labfleet_robot.agent import Mode, Outcome, RobotAgent, Task, TaskResult, Waypoint
from labfleet_sim.fleet_config import load_fleet
from labfleet_sim.physics import Contact, Simulator
from labfleet_sim.world import load_world

from bench import lockstep
from fleet_manager.core.navgraph import NavGraph, load_navgraph

SITE = Path(__file__).resolve().parents[2] / "sim_worlds" / "living_lab"
CONTROL_DT = 0.05


def make_sim() -> tuple[Simulator, NavGraph]:
    sim = Simulator(load_world(SITE / "world.sdf"), load_fleet(SITE / "fleet.yaml"), dt=0.02)
    return sim, load_navgraph(SITE / "navgraph.yaml")


def make_agent(sim: Simulator, robot_id: str) -> RobotAgent:
    # blocked for ever here: the tests watch a robot wait behind an obstacle for longer than the agent's
    # default blocked timeout (tests/labfleet_robot/test_agent.py covers that timeout)
    return lockstep.make_agent(load_fleet(SITE / "fleet.yaml"), robot_id, blocked_timeout_s=600.0)


def route_task(graph: NavGraph, task_id: str, start: str, goal: str) -> Task:
    path = graph.shortest_path(start, goal)
    waypoints = []
    for a, b in itertools.pairwise(path):
        place = graph.place(b)
        limit = graph.lane_between(a, b).speed_limit or 0.0
        waypoints.append(Waypoint(b, place.x, place.y, place.yaw if b == goal else None, limit))
    return Task(task_id, tuple(waypoints))


class LockStep:
    def __init__(self, sim: Simulator, agent: RobotAgent, robot_id: str) -> None:
        self.sim, self.agent, self.rid = sim, agent, robot_id
        self.contacts: list[Contact] = []
        self.results: list[TaskResult] = []
        self.next_control = sim.time
        self.modes: list[tuple[float, Mode, float]] = []  # (time, mode, commanded v)

    def prime(self) -> None:
        """One step before the first task: the agent learns its pose only in step() (see
        test_agent.py::test_a_task_started_before_the_first_step_starts_from_the_robot)."""
        self.agent.step(self.sim.time, self.pose())

    def pose(self) -> tuple[float, float, float]:
        body = self.sim.bodies[self.rid]
        return body.x, body.y, body.yaw

    def run(self, seconds: float, until=None) -> bool:
        end = self.sim.time + seconds
        while self.sim.time < end:
            if self.sim.time >= self.next_control - 1e-9:
                v, w = self.agent.step(self.sim.time, self.pose(), self.sim.scan(self.rid),
                                       self.sim.scan_angles(self.rid))
                self.sim.set_command(self.rid, v, w)
                self.results += self.agent.take_results()
                self.modes.append((self.sim.time, self.agent.mode, v))
                self.next_control += CONTROL_DT
                if until is not None and until():
                    return True
            self.contacts += self.sim.step()
        return False


def test_delivery_1_drives_to_pharmacy_then_ward_bed_2():
    sim, graph = make_sim()
    rig = LockStep(sim, make_agent(sim, "delivery_1"), "delivery_1")
    rig.prime()
    start, _ = graph.nearest_place(*rig.pose()[:2])
    assert start.name == "charger_1"
    for task_id, a, b in (("to_pharmacy", "charger_1", "pharmacy"), ("to_bed", "pharmacy", "ward_bed_2")):
        rig.agent.start_task(route_task(graph, task_id, a, b), sim.time)
        t0 = sim.time
        assert rig.run(240, until=lambda: bool(rig.results)), f"{task_id} did not finish (mode {rig.agent.mode})"
        result = rig.results.pop()
        goal = graph.place(b)
        x, y, yaw = rig.pose()
        assert result.task_id == task_id and result.outcome is Outcome.SUCCEEDED, result
        assert math.hypot(x - goal.x, y - goal.y) < 0.1
        assert abs(math.atan2(math.sin(yaw - goal.yaw), math.cos(yaw - goal.yaw))) < 0.1
        path = graph.shortest_path(a, b)
        length = graph.path_length(path)
        assert length * 0.98 < result.distance_m < length * 1.15
        assert sim.time - t0 > length / 1.0  # no faster than max_speed
    assert rig.contacts == []
    assert sim.bodies["delivery_1"].distance_m > 30


def park_delivery_2_and_drive() -> LockStep:
    sim, graph = make_sim()
    sim.set_pose("delivery_2", 22.0, 9.5, math.pi)  # on corridor_5, between c_warehouse and c_ward
    rig = LockStep(sim, make_agent(sim, "delivery_1"), "delivery_1")
    rig.prime()
    rig.agent.start_task(route_task(graph, "to_pharmacy", "charger_1", "pharmacy"), sim.time)
    rig.run(90)
    return rig


def test_a_robot_parked_in_the_corridor_stops_delivery_1_without_contact():
    rig = park_delivery_2_and_drive()
    sim = rig.sim
    x, y, _ = rig.pose()
    other = sim.bodies["delivery_2"]
    assert rig.contacts == [] and rig.results == []  # still trying, no collision
    assert 22.0 < x < 25.1 and abs(y - 9.5) < 0.3  # it got into the corridor and stopped short of delivery_2
    assert math.hypot(x - other.x, y - other.y) > 0.6
    assert abs(sim.bodies["delivery_1"].v) < 0.02
    # it has stood still for the last 20 s
    late = [(t, m, v) for t, m, v in rig.modes if t > sim.time - 20]
    assert all(abs(v) < 0.05 for _, _, v in late)


def test_delivery_1_blocked_in_the_corridor_reports_waiting():
    rig = park_delivery_2_and_drive()
    assert abs(rig.sim.bodies["delivery_1"].v) < 0.02
    assert rig.agent.mode is Mode.WAITING, rig.agent.feedback()
