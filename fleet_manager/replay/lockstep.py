"""A whole site in lock-step, without ROS: the built-in simulator's physics, one robot agent per robot,
and the fleet manager's traffic layer (planning in time, step-wise release, giving way, rerouting), all
stepped by one clock, as fast as the machine allows (DESIGN.md, "Time and speed": the very classes the
ROS nodes wrap). Used by re-simulation (resim.py), bench/traffic.py, bench/replay.py and traffic tests.

Each robot carries out jobs step by step as the mission runner does: a drive (go_to, dock, cover) is
planned by TrafficManager.plan, released by DriveWatch each fleet-manager cycle, replanned after a yield
or a closed lane, and given up after ROUTE_WAIT_S; an action is a task of the agent; a wait (and a
confirmation, given as the delay after which it came) lets sim time pass, not counting time paused. A
failed step is tried again `retries` times; a step an e-stop stopped is held and carried out again once the
e-stop is released, not counted (as missions/holds.py holds it). Robot-robot contacts come from the simulator.
Jobs are handed out by the caller; operator commands (pause, resume, e-stop, release) go through `command`.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from labfleet_robot.agent import Action, Command, CommandResult, Outcome, RobotAgent, Task, TaskResult
from labfleet_robot.agent import Waypoint as AgentWaypoint
from labfleet_robot.controller import Limits
from labfleet_sim.fleet_config import FleetConfig, load_fleet
from labfleet_sim.people import PeopleSpec
from labfleet_sim.physics import Contact, Simulator
from labfleet_sim.social import Walkways
from labfleet_sim.world import World, load_world

from fleet_manager.core.coverage import SWEEP_SPEED, CoverageZone, sweep_legs
from fleet_manager.core.navgraph import NavGraph, load_navgraph
from fleet_manager.core.robots import TASK_ESTOPPED
from fleet_manager.missions.aside import aside_spot
from fleet_manager.missions.drive_watch import DriveWatch, released_count
from fleet_manager.missions.traffic import (
    REROUTE,
    ROUTE_WAIT_S,
    YIELD,
    NoRoute,
    Route,
    TrafficManager,
)

SIM_DT = 0.05  # s: physics step (the ROS simulator runs 50 Hz; 20 Hz keeps 2 h of 20 robots affordable)
SCAN_EVERY = 2  # physics steps per lidar scan (10 Hz, as the ROS simulator publishes)
FM_EVERY = 4  # physics steps per fleet-manager cycle (0.2 s, as the mission runner polls)
PLAN_RETRY_S = 1.0
HOLD_EPS_S = 1e-6  # a hold ends at the step its end time falls on, whatever the float rounding of sim time
DRIVES = frozenset({"go_to", "dock", "cover"})
HOLDS = frozenset({"wait", "confirm"})
STEP_KINDS = DRIVES | HOLDS | {"action"}


@dataclass
class Job:
    """One mission: a list of steps (kind, argument): ("go_to" | "dock", place), ("cover", zone),
    ("action", name), ("wait", seconds) or ("confirm", seconds until it is confirmed; inf: never).
    `options` holds per-step extras by index: retries, timeout (confirm), spacing (cover)."""

    id: int
    robot: str
    steps: list[tuple[str, Any]]
    created: float
    start_place: str
    options: dict[int, dict[str, Any]] = field(default_factory=dict)
    index: int = 0
    attempt: int = 1
    status: str = "underway"  # underway | completed | failed
    reason: str = ""
    started: float | None = None
    finished: float | None = None
    move_aside: bool = False  # sent to make way for another robot (not a mission of the KPIs)

    def targets(self) -> set[str]:
        return {str(arg) for kind, arg in self.steps[self.index:] if kind in ("go_to", "dock")}


@dataclass
class Driver:
    """The fleet manager's view of one robot: its job, the step under way, the drive it watches."""

    robot: str
    agent: RobotAgent
    job: Job | None = None
    phase: str = "idle"  # idle | plan | drive | act | hold | paused (before a step, the mission paused) | estop
    #                      (its step stopped by an e-stop: carried out again on release, not counted as an attempt)
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
    paused: bool = False  # the mission is paused: no new step begins, waits do not count down
    estopped: bool = False  # the robot is e-stopped: the mission is held as the dispatcher holds it (holds.py)
    hold_until: float = 0.0  # sim time a wait or confirm step ends (pushed back while paused)
    hold_fails: str = ""  # the reason the hold fails with when it runs out ("" : it succeeds)


@dataclass
class RunStats:
    contacts: list[Contact] = field(default_factory=list)
    plan_seconds: list[float] = field(default_factory=list)  # wall time of each plan with robots moving
    yields: int = 0
    reroutes: int = 0
    asides: int = 0


StepListener = Callable[[Driver, Job, int, str, str], None]  # (driver, job, step index, status, message)


def load_site(site: Path) -> tuple[World, FleetConfig, NavGraph]:
    return load_world(site / "world.sdf"), load_fleet(site / "fleet.yaml"), load_navgraph(site / "navgraph.yaml")


def make_agent(fleet: FleetConfig, robot_id: str, seed: int = 0, blocked_timeout_s: float = 60.0) -> RobotAgent:
    """The robot's agent with the limits and actions of its model in fleet.yaml."""
    model = fleet.robot(robot_id).model
    limits = Limits(max_speed=model.max_speed, max_accel=model.max_accel, max_yaw_rate=model.max_yaw_rate,
                    max_yaw_accel=model.max_yaw_accel, radius=model.radius)
    return RobotAgent(limits, {n: (a.duration_s, a.success_rate) for n, a in model.actions.items()}, seed=seed,
                      blocked_timeout_s=blocked_timeout_s, safety=model.safety_params())


Sweep = Callable[[str, CoverageZone, "float | None"], list[AgentWaypoint]]  # (robot, zone, spacing) -> waypoints


def sweep_waypoints(zone: CoverageZone, graph: NavGraph, radius: float, spacing: float | None,
                    pace: float = SWEEP_SPEED,
                    limit_on_segment: Callable[[float, float, float, float], float | None] | None = None
                    ) -> list[AgentWaypoint]:
    """A back-and-forth sweep inside the zone's polygon, then back to its entry place, at `pace` kept under
    each leg's limit (MissionRunner.sweep does the same for the live lab)."""
    entry = graph.place(zone.entry)
    legs = sweep_legs(zone, (entry.x, entry.y, entry.yaw), radius, spacing, pace, limit_on_segment)
    return [AgentWaypoint(*leg) for leg in legs]


class LockstepSite:
    """Simulator + agents + traffic manager for one site, stepped together from `start_time` (sim seconds).

    Robots start where `fleet` spawns them, with its battery levels; agent k (in fleet order) is seeded
    `seed + k`, as `labfleet up` seeds the agents of the live lab. `traffic_options` go to TrafficManager
    (zones, speed caps: as the dispatcher builds it); `sweep` plans a cover step's sweep (default: at the
    cleaning pace, no zone limits); `people` (with the `walkways` crowds walk) makes pedestrians react
    (labfleet_sim.social; by default the world's actors walk their scripts).
    """

    def __init__(self, world: World, fleet: FleetConfig, graph: NavGraph, *, seed: int = 0,
                 robots: list[str] | None = None, start_time: float = 0.0,
                 zones: Mapping[str, CoverageZone] | None = None, traffic_options: Mapping[str, Any] | None = None,
                 sweep: Sweep | None = None, people: PeopleSpec | None = None,
                 walkways: Walkways | None = None) -> None:
        ids = robots or [r.id for r in fleet.robots]
        fleet = fleet.model_copy(update={"robots": [r for r in fleet.robots if r.id in ids]})
        chargers = [(p.x, p.y) for p in graph.places.values() if p.kind == "charger"]
        self.fleet, self.graph, self.zones = fleet, graph, dict(zones or {})
        self.sim = Simulator(world, fleet, dt=SIM_DT, seed=seed, chargers=chargers, people=people, walkways=walkways)
        self.sim.time = start_time
        self.traffic = TrafficManager(graph, **dict(traffic_options or {}))
        self.sweep: Sweep = sweep or (lambda robot, zone, spacing: sweep_waypoints(
            zone, graph, self.fleet.robot(robot).model.radius, spacing))
        self.traffic.locate = lambda robot: self.pose(robot)[:2]
        self.drivers = {rid: Driver(rid, make_agent(fleet, rid, seed + k)) for k, rid in enumerate(ids)}
        self.stats = RunStats()
        self.steps = 0
        self._scan_angles: dict[str, object] = {}
        self.on_job_end: Callable[[Driver, Job], None] | None = None
        self.on_step: StepListener | None = None
        for rid, driver in self.drivers.items():
            x, y, yaw = self.pose(rid)
            driver.agent.step(start_time, (x, y, yaw))
            self.traffic.park(rid, x, y, start_time)
            model = fleet.robot(rid).model
            self.traffic.mover(rid, model.radius, model.max_speed, model.safety_params())

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
        unknown = sorted({kind for kind, _ in job.steps} - STEP_KINDS)
        if unknown:
            raise ValueError(f"job {job.id}: unknown step kind(s) {unknown} (lock-step runs {sorted(STEP_KINDS)})")
        driver.job, driver.yields = job, 0
        job.started = self.now if job.started is None else job.started
        self._begin_step(driver)

    def command(self, robot: str, command: Command) -> tuple[CommandResult, str]:
        """An operator command as the dispatcher sends it: pause/resume also hold the mission's steps."""
        driver = self.drivers[robot]
        result, message = driver.agent.command(int(command), self.now)
        if result is not CommandResult.OK:  # refused (the dispatcher's Conflict): the mission goes on as it was
            return result, message
        if command is Command.PAUSE and driver.job is not None:
            driver.paused = True
        elif command is Command.RESUME and driver.paused:
            driver.paused = False
            if driver.phase == "paused":
                self._begin_step(driver)
        elif command is Command.ESTOP:
            driver.estopped = True
        elif command is Command.RELEASE:
            driver.estopped = False
            if driver.phase == "estop" and driver.job is not None:
                self._begin_step(driver)
        return result, message

    def _emit(self, driver: Driver, status: str, message: str = "") -> None:
        job = driver.job
        if job is not None and self.on_step is not None:
            self.on_step(driver, job, job.index, status, message)

    def _begin_step(self, driver: Driver) -> None:
        job = driver.job
        assert job is not None
        if job.index >= len(job.steps):
            self._end_job(driver, "completed", "")
            return
        if driver.paused:
            driver.phase = "paused"
            return
        kind, arg = job.steps[job.index]
        driver.waiting_since = None
        driver.aside = None
        self._emit(driver, "active", f"attempt {job.attempt}" if job.attempt > 1 else "")
        if kind == "confirm":
            self._emit(driver, "awaiting_confirmation")
        if kind in DRIVES:
            driver.phase, driver.retry_at = "plan", self.now
            self._try_plan(driver)
        elif kind in HOLDS:
            timeout = job.options.get(job.index, {}).get("timeout")
            seconds = float(arg)
            driver.phase, driver.hold_until, driver.hold_fails = "hold", self.now + seconds, ""
            if timeout is not None and seconds > float(timeout):
                driver.hold_until = self.now + float(timeout)
                driver.hold_fails = f"not confirmed within {float(timeout):g} s"
            elif math.isinf(seconds):
                driver.hold_fails = "never confirmed"
        else:
            driver.phase = "act"
            driver.task_id = self._task_id(driver)
            driver.agent.start_task(Task(driver.task_id, (), (Action(str(arg)),)), self.now)

    def _step_over(self, driver: Driver, ok: bool, reason: str = "") -> None:
        """The step under way ended: on to the next, try it again (retries), or fail the job."""
        job = driver.job
        assert job is not None
        if ok:
            self._emit(driver, "done")
            job.index, job.attempt = job.index + 1, 1
            self._begin_step(driver)
            return
        retries = int(job.options.get(job.index, {}).get("retries", 0))
        if job.attempt <= retries:
            self._emit(driver, "retrying", reason)
            job.attempt += 1
            self._begin_step(driver)
            return
        self._emit(driver, "failed", reason)
        self._end_job(driver, "failed", reason)

    def _end_job(self, driver: Driver, status: str, reason: str) -> None:
        job = driver.job
        assert job is not None
        job.status, job.reason, job.finished = status, reason, self.now
        driver.job, driver.phase, driver.watch, driver.route = None, "idle", None, None
        driver.paused = False  # (an e-stop stays: only its release ends it)
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
        kind, arg = job.steps[job.index]
        zone = self.zones.get(str(arg)) if kind == "cover" and driver.aside is None else None
        if kind == "cover" and driver.aside is None and zone is None:
            self._step_over(driver, False, f"unknown cleaning zone {arg!r}")
            return
        goal = driver.aside or (zone.entry if zone is not None else str(arg))
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
                driver.phase = "idle"
                self._step_over(driver, False, f"{exc} for {ROUTE_WAIT_S:g} s")
            else:
                driver.retry_at = self.now + PLAN_RETRY_S
            return
        self.stats.plan_seconds.append(time.perf_counter() - t0)
        waypoints = [AgentWaypoint(w.name, w.x, w.y, w.yaw, w.max_speed, w.caution, w.junction)
                     for w in route.waypoints]
        if zone is not None:
            waypoints += self.sweep(driver.robot, zone, job.options.get(job.index, {}).get("spacing"))
        driver.task_id = self._task_id(driver)
        driver.route, driver.heading, driver.phase = route, 0, "drive"
        driver.watch = DriveWatch.start(driver.robot, route, len(waypoints), self.now, driver.yields)
        driver.agent.start_task(Task(driver.task_id, tuple(waypoints),
                                     released=released_count(route, len(waypoints))), self.now)

    def _make_way(self, robot: str, x: float, y: float, goal: str) -> None:
        """As the dispatcher does: idle robots and robots waiting for a route that stand on this one's way
        step aside to a free parking spot (a charger when none is left) they can reach, the one on the way to their
        own next goal (aside.py)."""
        others, path = self.traffic.parked_on_the_way(robot, x, y, goal)
        for other in others:
            driver = self.drivers[other]
            if driver.aside is not None or driver.phase not in ("plan", "idle"):
                continue
            ox, oy, _ = self.pose(other)
            spot = aside_spot(self.graph, self.traffic, ox, oy, self._goal(driver), avoid=set(path))
            if spot is None:
                continue
            self.stats.asides += 1
            if driver.phase == "idle":  # no mission: it simply drives there (a move-aside, not counted as a mission)
                self.assign(Job(0, other, [("go_to", spot)], self.now, self.graph.nearest_place(ox, oy)[0].name,
                                move_aside=True))
            else:
                driver.aside, driver.retry_at = spot, self.now

    def _goal(self, driver: Driver) -> str | None:
        """The place the robot's step under way drives to (a cover step: its zone's entry), None without one."""
        job = driver.job
        if job is None or job.index >= len(job.steps) or job.steps[job.index][0] not in DRIVES:
            return None
        kind, arg = job.steps[job.index]
        zone = self.zones.get(str(arg)) if kind == "cover" else None
        return zone.entry if zone is not None else str(arg)

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
            driver.phase = "idle"
            self._step_over(driver, False, reason)

    def _on_result(self, driver: Driver, result: TaskResult) -> None:
        if result.task_id != driver.task_id or driver.job is None:
            return
        if driver.phase == "drive":
            self.traffic.finish(driver.robot, result.x, result.y, self.now)
            driver.watch = driver.route = None
        if driver.aside is not None:  # stepped aside (or failed to): on with the step it waits for
            driver.aside, driver.phase, driver.retry_at = None, "plan", self.now + PLAN_RETRY_S
            return
        if result.outcome is not Outcome.SUCCEEDED and result.reason.startswith(TASK_ESTOPPED):
            driver.phase = "estop"  # held until the release (command): the step again, the same attempt
            self._emit(driver, "held", "stopped by an e-stop: carried out again once it is released")
            return
        driver.phase = "idle"
        self._step_over(driver, result.outcome is Outcome.SUCCEEDED, result.reason or str(result.outcome))

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
    def _angles(self, robot: str) -> object:
        """The robot's lidar ray angles (fixed per model: computed once)."""
        angles = self._scan_angles.get(robot)
        if angles is None:
            angles = self._scan_angles[robot] = self.sim.scan_angles(robot)
        return angles

    def step(self) -> None:
        now = self.now
        scan = self.steps % SCAN_EVERY == 0
        # the driving robots' lidars cast together (nothing moves until the physics step)
        ranges = self.sim.scans([rid for rid, d in self.drivers.items() if d.phase == "drive"]) if scan else {}
        for rid, driver in self.drivers.items():
            agent = driver.agent
            if driver.phase != "drive":
                driver.scan = None
            elif scan or driver.scan is None:
                found = ranges.get(rid)  # (a robot that set off earlier in this loop was not cast with the others)
                driver.scan = (self.sim.scan(rid) if found is None else found, self._angles(rid))
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
            if driver.phase == "hold":
                if driver.paused or driver.estopped:
                    driver.hold_until += self.sim.dt
                elif now >= driver.hold_until - HOLD_EPS_S:
                    driver.phase = "idle"
                    self._step_over(driver, not driver.hold_fails, driver.hold_fails)
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
