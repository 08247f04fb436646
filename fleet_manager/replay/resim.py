"""Re-simulation: a recorded mission run again in lock-step (simulator physics, robot agents, the fleet
manager's traffic layer; lockstep.py) from the recorded initial state — the site, the robots the lab ran
with their poses and batteries, the same steps, the same injected events (pauses, operator commands,
slowdowns) at the same sim times, confirmations after the recorded delay — as fast as the machine allows,
seeded, so the same recording and overrides give bit-identical trajectories.

Overrides (what-if studies), as `key=value`:
    MODEL_PARAM=V        for the robots that carry out the missions: max_speed, max_accel, max_decel,
                         max_yaw_rate, max_yaw_accel, radius, battery_capacity_wh, idle_power_w,
                         drive_power_w, charge_power_w; ROBOT.MODEL_PARAM=V for one robot
    world=SITE           another site folder (its world, navgraph, fleet models and zones)
    seed=N               another seed for the simulator and the agents
    robot=ID             the (one) mission carried out by another robot, from that robot's recorded pose
    allocation=auto      the allocator (core/allocation.py) chooses the robots, as for a queued mission;
                         battery_reserve_pct=P sets its reserve (default: the recorded setting)
    speed_factor=F       the mission robots slowed to F (0..1] for the whole run
    confirm_delay=S      confirmations come S seconds after they are asked for
    events=off           no injected events
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol

from labfleet_robot.agent import Command, CommandResult
from labfleet_sim.fleet_config import FleetConfig, Pose

from fleet_manager.core.allocation import MissionRequest, RobotCandidate, assign
from fleet_manager.core.errors import InvalidInput, NotFound
from fleet_manager.core.missions import PRIORITY_RANK
from fleet_manager.replay.initial_state import FAULT, ROBOT_COMMAND, InitialState, MissionStart
from fleet_manager.replay.lockstep import Job, LockstepSite, sweep_waypoints
from fleet_manager.replay.runs import MissionRun, Run, Trajectory
from fleet_manager.sites.service import Site

MODEL_PARAMS = ("max_speed", "max_accel", "max_decel", "max_yaw_rate", "max_yaw_accel", "radius",
                "battery_capacity_wh", "idle_power_w", "drive_power_w", "charge_power_w")
CHOICES = {"allocation": ("recorded", "auto"), "events": ("recorded", "off")}
SAMPLE_EVERY = 2  # physics steps per trajectory sample (10 Hz)
MAX_RUN_S = 6 * 3600.0
_COMMANDS = {"pause": Command.PAUSE, "resume": Command.RESUME, "estop": Command.ESTOP, "release": Command.RELEASE,
             "dock": Command.DOCK}


def parse_overrides(items: Sequence[str] | Mapping[str, Any]) -> dict[str, Any]:
    """`key=value` strings (or a mapping) to checked values; InvalidInput names `overrides.KEY`."""
    pairs: list[tuple[str, Any]] = []
    if isinstance(items, Mapping):
        pairs = [(str(k), v) for k, v in items.items()]
    else:
        for item in items:
            key, sep, value = str(item).partition("=")
            if not sep or not key.strip():
                raise InvalidInput(f"an override is KEY=VALUE, got {item!r}", field="overrides")
            pairs.append((key.strip(), value.strip()))
    out: dict[str, Any] = {}
    for key, value in pairs:
        where = f"overrides.{key}"
        param = key.rpartition(".")[2]
        if param in MODEL_PARAMS or key in ("speed_factor", "confirm_delay", "battery_reserve_pct"):
            number = _number(value, where)
            low_ok = key == "confirm_delay" or param in ("idle_power_w", "drive_power_w")
            if not (number >= 0 if low_ok else number > 0) or (key == "speed_factor" and number > 1) or (
                    key == "battery_reserve_pct" and number > 100):
                raise InvalidInput(f"{where}: {number:g} is out of range", field=where)
            out[key] = number
        elif key == "seed":
            out[key] = int(_number(value, where, whole=True))
        elif key in ("world", "robot"):
            if not isinstance(value, str) or not value or "/" in value or value.startswith("."):
                raise InvalidInput(f"{where}: expected a name, got {value!r}", field=where)
            out[key] = value
        elif key in CHOICES:
            if value not in CHOICES[key]:
                raise InvalidInput(f"{where}: expected one of {CHOICES[key]}, got {value!r}", field=where)
            out[key] = value
        else:
            raise InvalidInput(f"unknown override {key!r} (robot model parameters {', '.join(MODEL_PARAMS)}, "
                               f"optionally ROBOT.PARAM; world, seed, robot, allocation, battery_reserve_pct, "
                               f"speed_factor, confirm_delay, events)", field=where)
    if "robot" in out and out.get("allocation") == "auto":
        raise InvalidInput("overrides robot and allocation=auto exclude each other", field="overrides.robot")
    return out


def _number(value: Any, where: str, whole: bool = False) -> float:
    try:
        if isinstance(value, bool):
            raise ValueError
        number = float(value)
        if whole and not number.is_integer():
            raise ValueError
    except (TypeError, ValueError):
        raise InvalidInput(f"{where}: expected a {'whole ' if whole else ''}number, got {value!r}",
                           field=where) from None
    if not math.isfinite(number):
        raise InvalidInput(f"{where}: expected a finite number, got {value!r}", field=where)
    return number


# -- the run's inputs -------------------------------------------------------------------------------------
def job_steps(mission: MissionStart, confirm_delays: Mapping[int, float], default_delay: float | None
              ) -> tuple[list[tuple[str, Any]], dict[int, dict[str, Any]]]:
    """A mission's step records as lock-step job steps and per-step options; InvalidInput names a step kind
    that cannot be re-simulated."""
    steps: list[tuple[str, Any]] = []
    options: dict[int, dict[str, Any]] = {}
    for record in mission.steps:
        kind = record.get("kind")
        extra: dict[str, Any] = {"retries": int(record.get("retries") or 0)}
        if kind == "patrol":  # a spec not yet unrolled (Mission.steps are): its places, `repeat` times
            steps += [("go_to", p) for _ in range(int(record.get("repeat", 1))) for p in record.get("places", [])]
            continue
        index = len(steps)
        if kind in ("go_to", "dock"):
            steps.append((kind, record["target"]))
        elif kind == "cover":
            steps.append((kind, record["zone"]))
            extra["spacing"] = record.get("spacing")
        elif kind == "action":
            steps.append((kind, record["action"]))
        elif kind == "wait":
            steps.append((kind, float(record["seconds"])))
        elif kind == "confirm":
            delay = default_delay if default_delay is not None else confirm_delays.get(int(record.get("index", index)),
                                                                                      0.0)
            steps.append((kind, delay))
            extra["timeout"] = record.get("timeout")
        else:
            raise InvalidInput(f"mission {mission.mission_id} step {index}: a {kind!r} step cannot be re-simulated "
                               f"(go_to, dock, cover, action, wait, confirm, patrol can)",
                               field=f"steps[{index}].kind")
        options[index] = extra
    return steps, options


def confirm_delays(events: Sequence[Mapping[str, Any]], mission_id: int) -> dict[int, float]:
    """Per confirm step: seconds from "awaiting_confirmation" to "done" (inf: it ended otherwise)."""
    asked: dict[int, float] = {}
    out: dict[int, float] = {}
    for e in events:
        if e.get("mission_id") != mission_id or e.get("type") != "mission_step" or e.get("step_index") is None:
            continue
        index, status = int(e["step_index"]), e.get("status")
        if status == "awaiting_confirmation":
            asked[index] = float(e["t"])
        elif index in asked and index not in out and status in ("done", "failed", "canceled", "retrying"):
            out[index] = float(e["t"]) - asked[index] if status == "done" else math.inf
    return out


def injections(events: Sequence[Mapping[str, Any]], robot_of: Mapping[int, str], renamed: Mapping[str, str]
               ) -> list[tuple[float, str, str, float]]:
    """(sim time, robot, pause | resume | estop | release | dock | slowdown, factor) in time order: the mission
    service's pauses and resumes of the replayed missions, the operator commands their robots took (recorded
    by Lab.command) and the faults of their robots."""
    out: list[tuple[float, str, str, float]] = []
    paused: set[int] = set()
    for e in events:
        kind, t = e.get("type"), float(e["t"])
        if kind == "mission_event" and e.get("mission_id") in robot_of:
            mission = int(e["mission_id"])
            if e.get("status") == "paused":
                paused.add(mission)
                out.append((t, robot_of[mission], "pause", 0.0))
            elif e.get("status") == "underway" and mission in paused:
                paused.discard(mission)
                out.append((t, robot_of[mission], "resume", 0.0))
        elif (kind == ROBOT_COMMAND and e.get("robot_id") in renamed and e.get("command") in _COMMANDS
              and e.get("result", "ok") == "ok"):  # a command the robot refused changed nothing
            out.append((t, renamed[str(e["robot_id"])], str(e["command"]), 0.0))
        elif kind == FAULT and e.get("kind") == "slowdown" and e.get("robot_id") in renamed:
            out.append((t, renamed[str(e["robot_id"])], "slowdown", float(e.get("factor", 1.0))))
    return out


def _in_lab(site: Site, initial: InitialState) -> set[str] | None:
    """The robots the lab ran when the mission was recorded (`labfleet up --robots N` runs part of the site's
    fleet), or None (every robot of the site) for another world or a recording that does not list them."""
    return set(initial.robots) if site.name == initial.site and initial.robots else None


def _fleet(site: Site, initial: InitialState, robots: Sequence[str], overrides: Mapping[str, Any]) -> FleetConfig:
    """The site's fleet as the lab ran it (the robots it recorded, and those the missions are given), with the
    recorded poses and batteries and the model overrides."""
    fleet = site.fleet
    present = _in_lab(site, initial)
    known = {r.id for r in fleet.robots}
    for key in overrides:
        robot, dot, param = key.rpartition(".")
        if dot and param in MODEL_PARAMS and robot not in known:
            raise InvalidInput(f"overrides.{key}: no robot {robot!r} in site {site.name!r}", field=f"overrides.{key}")
    out = []
    for r in fleet.robots:
        if present is not None and r.id not in present and r.id not in robots:
            continue  # not in the lab then
        start = initial.robots.get(r.id)
        update: dict[str, Any] = {} if start is None else {"spawn": Pose(x=start.x, y=start.y, yaw=start.yaw),
                                                             "battery": min(100.0, max(0.0, start.battery))}
        params = {p: v for p in MODEL_PARAMS for v in [overrides.get(f"{r.id}.{p}", overrides.get(p)
                                                                      if r.id in robots else None)] if v is not None}
        if params:
            update["model"] = r.model.model_copy(update=params)
        out.append(r.model_copy(update=update) if update else r)
    return fleet.model_copy(update={"robots": out})


def _allocate(site: Site, initial: InitialState, reserve_pct: float) -> dict[int, str]:
    """Mission id -> robot chosen by the allocator among the robots in the lab, each idle where it was recorded."""
    graph = site.navgraph
    candidates = []
    present = _in_lab(site, initial)
    for r in site.fleet.robots:
        if present is not None and r.id not in present:
            continue
        start = initial.robots.get(r.id)
        x, y, battery = (start.x, start.y, start.battery) if start else (r.spawn.x, r.spawn.y, r.battery)
        place, offset = graph.nearest_place(x, y)
        cap = r.model.battery_capacity_wh
        candidates.append(RobotCandidate(r.id, r.model.kind, frozenset(r.model.capabilities), place.name, offset,
                                         site.max_speed(r.id), cap * battery / 100.0, r.model.drive_power_w,
                                         r.model.idle_power_w, cap * reserve_pct / 100.0))
    requests = []
    ranks = {str(p): r for p, r in PRIORITY_RANK.items()}
    for m in initial.missions:
        places = [s["target"] for s in m.steps if s.get("target")]
        work = sum(float(s.get("seconds") or 0.0) for s in m.steps if s.get("kind") == "wait")
        requests.append(MissionRequest(m.mission_id, m.robot_kind, frozenset(m.capabilities),
                                       places[0] if places else None, None, tuple(places), work,
                                       ranks.get(m.priority, 2)))
    chargers = [p.name for p in graph.places.values() if p.kind == "charger"]
    chosen = assign(requests, candidates, graph, chargers)
    missing = [m.mission_id for m in initial.missions if m.mission_id not in chosen]
    if missing:
        raise InvalidInput(f"allocation=auto: no robot can take mission(s) {missing} (kind, capabilities, battery "
                           f"reserve {reserve_pct:g} %)", field="overrides.allocation")
    return chosen


def _load_site(sites_dir: Path, name: str) -> Site:
    try:
        return Site.load(sites_dir / name)
    except NotFound:
        raise InvalidInput(f"no site {name!r}", field="overrides.world") from None


# -- the run ---------------------------------------------------------------------------------------------
def resimulate(initial: InitialState, events: Sequence[Mapping[str, Any]], sites_dir: Path,
               overrides: Mapping[str, Any] | None = None, *, max_run_s: float | None = None,
               observer: Observer | None = None) -> Run:
    """Run the recorded missions again in lock-step; `overrides` as parse_overrides returns them."""
    overrides = dict(overrides or {})
    site = _load_site(sites_dir, overrides.get("world", initial.site))
    fleet_ids = {r.id for r in site.fleet.robots}
    if "robot" in overrides:
        if len(initial.missions) != 1:
            raise InvalidInput("override robot: the recording holds several missions", field="overrides.robot")
        if overrides["robot"] not in fleet_ids:
            raise InvalidInput(f"no robot {overrides['robot']!r} in site {site.name!r}", field="overrides.robot")
        robot_of = {initial.missions[0].mission_id: str(overrides["robot"])}
    elif overrides.get("allocation") == "auto":
        reserve = float(overrides.get("battery_reserve_pct", initial.settings.get("battery_reserve_pct", 10.0)))
        robot_of = _allocate(site, initial, reserve)
    else:
        robot_of = {m.mission_id: m.robot_id for m in initial.missions}
    unknown = sorted(set(robot_of.values()) - fleet_ids)
    if unknown:
        raise InvalidInput(f"site {site.name!r} has no robot {unknown[0]!r}", field="overrides.world")
    fleet = _fleet(site, initial, list(robot_of.values()), overrides)
    jobs: list[tuple[float, Job]] = []
    for m in initial.missions:
        steps, options = job_steps(m, confirm_delays(events, m.mission_id), overrides.get("confirm_delay"))
        for kind, arg in steps:
            if kind in ("go_to", "dock") and arg not in site.navgraph.places:
                raise InvalidInput(f"mission {m.mission_id}: no place {arg!r} in site {site.name!r}",
                                   field="overrides.world")
        jobs.append((m.start_s, Job(m.mission_id, robot_of[m.mission_id], steps, m.start_s, "", options)))
    renamed = {m.robot_id: robot_of[m.mission_id] for m in initial.missions}
    plan = [] if overrides.get("events") == "off" else injections(events, robot_of, renamed)
    seed = int(overrides.get("seed", initial.seed))
    runner = _Resim(site, fleet, seed, min(t for t, _ in jobs), jobs, plan, overrides, observer)
    return runner.run(max_run_s if max_run_s is not None else MAX_RUN_S, initial, robot_of)


def build_lockstep(site: Site, fleet: FleetConfig, seed: int, start: float) -> LockstepSite:
    """The site in lock-step as the live fleet manager runs it: traffic keeps the operating zones and each
    robot's speed cap, coverage sweeps go at the cleaning pace under the zones' limits."""
    caps = {r.id: min(site.max_speed(r.id), r.model.max_speed) for r in fleet.robots}
    zones = site.operating_zones

    def sweep(robot: str, zone: Any, spacing: float | None) -> Any:
        return sweep_waypoints(zone, site.navgraph, fleet.robot(robot).model.radius, spacing,
                               min(0.5, caps[robot]), zones.limit_on_segment)

    return LockstepSite(site.world, fleet, site.navgraph, seed=seed, start_time=start, zones=site.cleaning_zones,
                        sweep=sweep, traffic_options={"zones": zones, "robot_caps": caps})


class Observer(Protocol):
    """Sees a run as the live lab would record it (synthetic.py records lock-step runs through one)."""

    def event(self, event: dict[str, Any]) -> None:
        """A mission event in the form the mission service streams it (with "sim_time")."""

    def stepped(self, site: LockstepSite) -> None:
        """After each physics step."""


class _Resim:
    def __init__(self, site: Site, fleet: FleetConfig, seed: int, start: float, jobs: list[tuple[float, Job]],
                 plan: list[tuple[float, str, str, float]], overrides: dict[str, Any],
                 observer: Observer | None) -> None:
        self.site = build_lockstep(site, fleet, seed, start)
        self.name, self.seed, self.start = site.name, seed, start
        self.queues: dict[str, deque[tuple[float, Job]]] = {}
        for item in sorted(jobs, key=lambda tj: tj[0]):  # stable: a robot's missions keep their recorded order
            self.queues.setdefault(item[1].robot, deque()).append(item)
        self.plan, self.overrides, self.observer = list(plan), overrides, observer
        self.runs: dict[int, MissionRun] = {}
        self.odometer: dict[int, tuple[float, float]] = {}
        self.applied: list[dict[str, Any]] = []
        self.site.on_step = self._on_step
        self.site.on_job_end = self._on_end

    def _emit(self, type_: str, mission_id: int | None, **fields: Any) -> None:
        if self.observer is not None:
            self.observer.event({"type": type_, "mission_id": mission_id, **fields, "sim_time": self.site.now})

    def _on_step(self, driver: Any, job: Job, index: int, status: str, message: str) -> None:
        run = self.runs.get(job.id)
        if run is not None and job.id > 0:
            run.events.append({"t": round(self.site.now - (run.started_s or 0.0), 3), "step_index": index,
                               "status": status, "message": message})
            self._emit("mission_step", job.id, step_index=index, status=status, message=message)

    def _on_end(self, driver: Any, job: Job) -> None:
        run = self.runs.get(job.id)
        if run is None or job.id <= 0:
            return
        body = self.site.sim.bodies[job.robot]
        d0, e0 = self.odometer[job.id]
        run.outcome, run.reason, run.finished_s = job.status, job.reason, self.site.now
        run.distance_m, run.energy_wh = body.distance_m - d0, body.energy_wh - e0
        self._emit("mission_event", job.id, status=job.status, robot_id=job.robot, message=job.reason or job.status,
                   mission={"id": job.id, "status": job.status, "failure_reason": job.reason or None,
                            "distance_m": run.distance_m, "energy_wh": run.energy_wh})

    def _start_due(self) -> None:
        """Assign the missions due whose robots are free (a robot's next mission waits for it, as queued)."""
        site = self.site
        for robot, queue in self.queues.items():
            if not queue or queue[0][0] > site.now + 1e-9 or site.drivers[robot].job is not None:
                continue
            _, job = queue.popleft()
            x, y, _ = site.pose(job.robot)
            job.start_place = site.graph.nearest_place(x, y)[0].name
            body = site.sim.bodies[job.robot]
            self.odometer[job.id] = (body.distance_m, body.energy_wh)
            self.runs[job.id] = MissionRun(job.id, job.robot, "unfinished", started_s=site.now)
            self._emit("mission_event", job.id, status="underway", robot_id=job.robot, message="underway")
            site.assign(job)

    def _inject_due(self) -> None:
        site = self.site
        while self.plan and self.plan[0][0] <= site.now + 1e-9:
            t, robot, what, factor = self.plan.pop(0)
            job = site.drivers[robot].job
            mission = job.id if job is not None and job.id > 0 else None
            if what == "slowdown":
                site.sim.set_speed_factor(robot, factor)
                result = f"speed factor {factor:g}"
                self._emit(FAULT, None, kind="slowdown", robot_id=robot, factor=factor)
            else:
                code, message = site.command(robot, _COMMANDS[what])
                result = f"{code.name.lower()}: {message}"
                if what in ("pause", "resume") and code is CommandResult.OK and mission is not None:
                    self._emit("mission_event", mission, status="paused" if what == "pause" else "underway",
                               robot_id=robot, message=f"{what}d by operator")
                elif what in ("estop", "release"):
                    self._emit(ROBOT_COMMAND, mission, robot_id=robot, command=what)
                    if code is CommandResult.OK and mission is not None:  # held, not failed (missions/holds.py)
                        self._emit("mission_event", mission, status="paused" if what == "estop" else "underway",
                                   robot_id=robot, message=f"held: robot {robot} is e-stopped" if what == "estop"
                                   else f"resumed: the e-stop of robot {robot} was released")
            self.applied.append({"t": round(t - self.start, 3), "robot_id": robot, "event": what, "result": result})

    def _only_estopped_left(self) -> bool:
        """Every unfinished mission is held by an e-stop: each is ended "paused", held (the recording released
        none of them)."""
        left = [r for r in self.runs.values() if r.outcome == "unfinished"]
        drivers = self.site.drivers
        if not left or not all(drivers[r.robot_id].estopped and drivers[r.robot_id].job is not None for r in left):
            return False
        for run in left:
            run.outcome, run.finished_s = "paused", self.site.now
            run.reason = f"held: robot {run.robot_id} is e-stopped, and the recording does not release it"
        return True

    def run(self, max_run_s: float, initial: InitialState, robot_of: Mapping[int, str]) -> Run:
        site = self.site
        robots = sorted(set(robot_of.values()))
        if "speed_factor" in self.overrides:
            for robot in robots:
                site.sim.set_speed_factor(robot, float(self.overrides["speed_factor"]))
        samples: dict[str, list[tuple[float, float, float]]] = {r: [] for r in robots}
        bodies = [(samples[r], site.sim.bodies[r]) for r in robots]
        wall0, cpu0 = time.perf_counter(), time.process_time()
        deadline = self.start + max_run_s
        while True:
            self._start_due()
            self._inject_due()
            if site.steps % SAMPLE_EVERY == 0:
                now = site.now
                for rows, body in bodies:
                    rows.append((now, body.x, body.y))
            if not any(self.queues.values()) and all(r.outcome != "unfinished" for r in self.runs.values()):
                break
            if not self.plan and not any(self.queues.values()) and self._only_estopped_left():
                break  # nothing left to release them: they stay held, as in the recorded run
            if site.now >= deadline:
                break
            site.step()
            if self.observer is not None:
                self.observer.stepped(site)
        wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
        contacts = [{"t": round(c.time - self.start, 3), "robot_id": c.robot_id, "other": c.other, "by": c.by}
                    for c in site.stats.contacts if c.robot_id in robot_of.values()]
        missions = [self.runs.get(m.mission_id) or MissionRun(m.mission_id, robot_of[m.mission_id], "unfinished")
                    for m in initial.missions]
        return Run(self.name, missions, {r: Trajectory.of(rows) for r, rows in samples.items()}, self.start, site.now,
                   self.seed, wall, cpu, dict(self.overrides), self.applied, contacts)
