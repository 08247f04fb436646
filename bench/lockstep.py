"""A whole site in lock-step, without ROS: the built-in simulator's physics, one robot agent per robot,
and the fleet manager's traffic layer (planning in time, step-wise release, giving way, rerouting), all
stepped by one clock, as fast as the machine allows. Used by bench/traffic.py and a traffic test.

Each robot carries out material-transport jobs (drive to a pickup, hitch, drive to a station, unhitch)
as the mission runner does: a drive is planned by TrafficManager.plan, released by DriveWatch each
fleet-manager cycle, replanned after a yield or a closed lane, and given up after ROUTE_WAIT_S.
Robot-robot contacts come from the simulator. Jobs are handed out by the caller (`job_source`).
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from labfleet_robot.agent import Action, Outcome, RobotAgent, Task, TaskResult
from labfleet_robot.agent import Waypoint as AgentWaypoint
from labfleet_robot.controller import Limits
from labfleet_sim.fleet_config import FleetConfig, load_fleet
from labfleet_sim.physics import Contact, Simulator
from labfleet_sim.world import World, load_world

from fleet_manager.core.navgraph import NavGraph, load_navgraph
from fleet_manager.missions.traffic import (
    REROUTE,
    ROUTE_WAIT_S,
    YIELD,
    DriveWatch,
    NoRoute,
    Route,
    TrafficManager,
    nearest_free,
    released_count,
)

SIM_DT = 0.05  # s: physics step (the ROS simulator runs 50 Hz; 20 Hz keeps 2 h of 20 robots affordable)
SCAN_EVERY = 2  # physics steps per lidar scan (10 Hz, as the ROS simulator publishes)
FM_EVERY = 4  # physics steps per fleet-manager cycle (0.2 s, as the mission runner polls)
PLAN_RETRY_S = 1.0


@dataclass
class Job:
    """One mission: a list of steps, ("go_to", place) or ("action", name)."""

    id: int
    robot: str
    steps: list[tuple[str, str]]
    created: float
    start_place: str
    index: int = 0
    status: str = "underway"  # underway | completed | failed
    reason: str = ""
    finished: float | None = None

    def targets(self) -> set[str]:
        return {arg for kind, arg in self.steps[self.index:] if kind == "go_to"}


@dataclass
class Driver:
    """The fleet manager's view of one robot: its job, the step under way, the drive it watches."""

    robot: str
    agent: RobotAgent
    job: Job | None = None
    phase: str = "idle"  # idle | plan | drive | act
    task_id: str = ""
    watch: DriveWatch | None = None
    route: Route | None = None
    heading: int = 0
    waiting_since: float | None = None
    retry_at: float = 0.0
    yields: int = 0
    sends: int = 0
    state: str = ""  # the agent's, from its feedback
    aside: str | None = None  # a spot it was asked to step aside to while it waits for a route
    scan: tuple[object, object] | None = None  # the last lidar scan (ranges, angles), as a ROS agent keeps it


@dataclass
class RunStats:
    contacts: list[Contact] = field(default_factory=list)
    plan_seconds: list[float] = field(default_factory=list)  # wall time of each plan with robots moving
    yields: int = 0
    reroutes: int = 0
    asides: int = 0


def load_site(site: Path) -> tuple[World, FleetConfig, NavGraph]:
    return load_world(site / "world.sdf"), load_fleet(site / "fleet.yaml"), load_navgraph(site / "navgraph.yaml")


def make_agent(fleet: FleetConfig, robot_id: str, seed: int = 0, blocked_timeout_s: float = 60.0) -> RobotAgent:
    """The robot's agent with the limits and actions of its model in fleet.yaml."""
    model = fleet.robot(robot_id).model
    limits = Limits(max_speed=model.max_speed, max_accel=model.max_accel, max_yaw_rate=model.max_yaw_rate,
                    max_yaw_accel=model.max_yaw_accel, radius=model.radius)
    return RobotAgent(limits, {n: (a.duration_s, a.success_rate) for n, a in model.actions.items()}, seed=seed,
                      blocked_timeout_s=blocked_timeout_s)


class LockstepSite:
    """Simulator + agents + traffic manager for one site, stepped together."""

    def __init__(self, world: World, fleet: FleetConfig, graph: NavGraph, *, seed: int = 0,
                 robots: list[str] | None = None) -> None:
        ids = robots or [r.id for r in fleet.robots]
        fleet = fleet.model_copy(update={"robots": [r for r in fleet.robots if r.id in ids]})
        chargers = [(p.x, p.y) for p in graph.places.values() if p.kind == "charger"]
        self.fleet, self.graph = fleet, graph
        self.sim = Simulator(world, fleet, dt=SIM_DT, seed=seed, chargers=chargers)
        self.traffic = TrafficManager(graph)
        self.traffic.locate = lambda robot: self.pose(robot)[:2]
        self.drivers = {rid: Driver(rid, make_agent(fleet, rid, seed + k)) for k, rid in enumerate(ids)}
        self.stats = RunStats()
        self.steps = 0
        self.on_job_end: Callable[[Driver, Job], None] | None = None
        for rid, driver in self.drivers.items():
            x, y, yaw = self.pose(rid)
            driver.agent.step(0.0, (x, y, yaw))
            self.traffic.park(rid, x, y, 0.0)
            model = fleet.robot(rid).model
            self.traffic.mover(rid, model.radius, model.max_speed)

    @property
    def now(self) -> float:
        return self.sim.time

    def pose(self, robot: str) -> tuple[float, float, float]:
        body = self.sim.bodies[robot]
        return body.x, body.y, body.yaw

    # -- jobs -----------------------------------------------------------------------------------
    def assign(self, job: Job) -> None:
        driver = self.drivers[job.robot]
        assert driver.job is None, f"{job.robot} already has job {driver.job}"
        driver.job, driver.yields = job, 0
        self._begin_step(driver)

    def _begin_step(self, driver: Driver) -> None:
        job = driver.job
        assert job is not None
        if job.index >= len(job.steps):
            self._end_job(driver, "completed", "")
            return
        kind, arg = job.steps[job.index]
        driver.waiting_since = None
        driver.aside = None
        if kind == "go_to":
            driver.phase, driver.retry_at = "plan", self.now
            self._try_plan(driver)
        else:
            driver.phase = "act"
            driver.task_id = self._task_id(driver)
            driver.agent.start_task(Task(driver.task_id, (), (Action(arg),)), self.now)

    def _end_job(self, driver: Driver, status: str, reason: str) -> None:
        job = driver.job
        assert job is not None
        job.status, job.reason, job.finished = status, reason, self.now
        driver.job, driver.phase, driver.watch, driver.route = None, "idle", None, None
        if self.on_job_end is not None:
            self.on_job_end(driver, job)

    def _task_id(self, driver: Driver) -> str:
        driver.sends += 1
        job = driver.job
        return f"{job.id if job else 0}.{job.index if job else 0}.{driver.sends}"

    # -- drives ---------------------------------------------------------------------------------
    def _try_plan(self, driver: Driver) -> None:
        job = driver.job
        assert job is not None
        goal = driver.aside or job.steps[job.index][1]
        x, y, _ = self.pose(driver.robot)
        mover = self.traffic.movers[driver.robot]
        t0 = time.perf_counter()
        try:
            route = self.traffic.plan(mover, x, y, goal, self.now)
        except NoRoute as exc:
            self.stats.plan_seconds.append(time.perf_counter() - t0)
            if driver.aside is not None:  # no way to the spot either: it waits where it is
                driver.aside = None
                driver.retry_at = self.now + PLAN_RETRY_S
                return
            driver.waiting_since = self.now if driver.waiting_since is None else driver.waiting_since
            self._make_way(driver.robot, x, y, goal)
            if self.now - driver.waiting_since >= ROUTE_WAIT_S:
                self._end_job(driver, "failed", f"{exc} for {ROUTE_WAIT_S:g} s")
            else:
                driver.retry_at = self.now + PLAN_RETRY_S
            return
        self.stats.plan_seconds.append(time.perf_counter() - t0)
        waypoints = tuple(AgentWaypoint(w.name, w.x, w.y, w.yaw, w.max_speed) for w in route.waypoints)
        driver.task_id = self._task_id(driver)
        driver.route, driver.heading, driver.phase = route, 0, "drive"
        driver.watch = DriveWatch.start(driver.robot, route, len(waypoints), self.now, driver.yields)
        driver.agent.start_task(Task(driver.task_id, waypoints, released=released_count(route, len(waypoints))),
                                self.now)

    def _make_way(self, robot: str, x: float, y: float, goal: str) -> None:
        """As the dispatcher does: idle robots and robots waiting for a route that stand on this one's way
        step aside to the nearest free parking spot or charger."""
        others, path = self.traffic.parked_on_the_way(robot, x, y, goal)
        for other in others:
            driver = self.drivers[other]
            if driver.aside is not None or driver.phase not in ("plan", "idle"):
                continue
            ox, oy, _ = self.pose(other)
            spot = nearest_free(self.graph, self.traffic, ox, oy, ("parking", "charger"), avoid=set(path))
            if spot is None:
                continue
            self.stats.asides += 1
            if driver.phase == "idle":  # no mission: it simply drives there
                self.assign(Job(0, other, [("go_to", spot)], self.now, self.graph.nearest_place(ox, oy)[0].name))
            else:
                driver.aside, driver.retry_at = spot, self.now

    def _stop_drive(self, driver: Driver, reason: str) -> None:
        driver.agent.cancel_task(reason)
        driver.agent.take_results()
        x, y, _ = self.pose(driver.robot)
        self.traffic.finish(driver.robot, x, y, self.now, moving_on=reason in (REROUTE, YIELD))
        driver.watch = driver.route = None
        if reason in (REROUTE, YIELD):
            if reason == YIELD:
                driver.yields += 1
                self.stats.yields += 1
            else:
                self.stats.reroutes += 1
            driver.phase = "plan"
            self._try_plan(driver)
        else:
            self._end_job(driver, "failed", reason)

    def _on_result(self, driver: Driver, result: TaskResult) -> None:
        if result.task_id != driver.task_id or driver.job is None:
            return
        if driver.phase == "drive":
            self.traffic.finish(driver.robot, result.x, result.y, self.now)
            driver.watch = driver.route = None
        if driver.aside is not None:  # stepped aside (or failed to): on with the step it waits for
            driver.aside, driver.phase, driver.retry_at = None, "plan", self.now + PLAN_RETRY_S
            return
        if result.outcome is Outcome.SUCCEEDED:
            driver.job.index += 1
            self._begin_step(driver)
        else:
            self._end_job(driver, "failed", result.reason or str(result.outcome))

    def _fleet_cycle(self) -> None:
        for driver in self.drivers.values():
            if driver.phase == "plan" and self.now >= driver.retry_at:
                self._try_plan(driver)
            elif driver.phase == "drive" and driver.watch is not None:
                verdict, value = driver.watch.tick(self.traffic, driver.heading, self.now, driver.state)
                if verdict == "release":
                    driver.agent.release(driver.task_id, int(value))
                elif verdict == "stop":
                    self._stop_drive(driver, str(value))

    # -- stepping -------------------------------------------------------------------------------
    def step(self) -> None:
        now = self.now
        scan = self.steps % SCAN_EVERY == 0
        for rid, driver in self.drivers.items():
            agent = driver.agent
            if driver.phase != "drive":
                driver.scan = None
            elif scan or driver.scan is None:
                driver.scan = (self.sim.scan(rid), self.sim.scan_angles(rid))
            if driver.scan is not None:
                v, w = agent.step(now, self.pose(rid), *driver.scan)  # type: ignore[arg-type]
            else:
                v, w = agent.step(now, self.pose(rid))
            self.sim.set_command(rid, v, w)
            feedback = agent.feedback()
            if feedback is not None and driver.phase == "drive":
                driver.heading = max(driver.heading, feedback.waypoint_index)
                driver.state = feedback.state
            for result in agent.take_results():
                self._on_result(driver, result)
        self.stats.contacts += self.sim.step()
        self.steps += 1
        if self.steps % FM_EVERY == 0:
            self._fleet_cycle()

    def run_until(self, end: float, before_step: Callable[[], None] | None = None,
                  until: Callable[[], bool] | None = None) -> bool:
        while self.now < end:
            if before_step is not None:
                before_step()
            self.step()
            if until is not None and until():
                return True
        return False


def free_flow_seconds(world: World, fleet: FleetConfig, graph: NavGraph, robot: str,
                      legs: list[tuple[str, str]], cache: dict[tuple[str, str], float]) -> float:
    """Drive time of each leg by `robot` alone on the site (no other robot, same planner, agent and
    physics); cached per leg. Returns the sum over the legs."""
    total = 0.0
    for start, goal in legs:
        if (start, goal) not in cache:
            site = LockstepSite(world, fleet, graph, robots=[robot])
            place = graph.place(start)
            site.sim.set_pose(robot, place.x, place.y, place.yaw if place.yaw is not None else 0.0)
            driver = site.drivers[robot]
            driver.agent.step(0.0, site.pose(robot))
            site.traffic.finish(robot, place.x, place.y, 0.0)
            site.assign(Job(0, robot, [("go_to", goal)], 0.0, start))
            done = site.run_until(900.0, until=lambda d=driver: d.job is None)  # type: ignore[misc]
            cache[(start, goal)] = site.now if done else math.inf
        total += cache[(start, goal)]
    return total


def random_periods(rng: random.Random, horizon: float, mean_gap: float, length: tuple[float, float]
                   ) -> list[tuple[float, float]]:
    """Random (start, end) periods over [0, horizon): exponential gaps, uniform lengths."""
    out, t = [], rng.expovariate(1.0 / mean_gap)
    while t < horizon:
        span = rng.uniform(*length)
        out.append((t, t + span))
        t += span + rng.expovariate(1.0 / mean_gap)
    return out
