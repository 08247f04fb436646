"""People: robots among crowds (issue 20), in lock-step (bench/lockstep.py: the simulator's physics, the
robot agents with their safety layers and the fleet manager's traffic layer, no ROS).

On each site every robot of its fleet.yaml runs the same N missions (drive to a random place people also walk
to, then to another), first with nobody about (the baseline, same run), then with reactive crowds of each size
(people walking the navgraph between its rooms, doors and shops, one in ten distracted, labfleet_sim.social)
and with the largest crowd scripted: nobody gives way to a robot (every person walks on until touching one).
Printed per run:
- contacts a moving robot made with a person (its own move closed in: must be 0), per 100 km; contacts where
  a person walked into a robot (standing, or moving slower than them or away), apart; robot-robot and wall
  contacts;
- protective stops and slowdowns of the safety layers per km; near misses per km (a person within 0.15 m of
  the footprint of a robot standing for an obstacle, once per stop episode: the pilot watch's rule);
- the mission time ratio: the baseline's time for the missions completed in both runs over this run's;
- the least robot-person gap (footprint to footprint) seen by each robot each second a person was within 3 m:
  its minimum, 1st, 5th and 50th percentiles.

    .venv/bin/python bench/people.py [--sites living_lab,city_block,clinic] [--people 10,30,60] [--missions 3]
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import random
import re
import sys
import time
from collections import Counter
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from labfleet_robot.safety import Measure  # noqa: E402
from labfleet_sim.pedestrians import PEDESTRIAN_RADIUS  # noqa: E402
from labfleet_sim.people import CrowdSpec, PeopleSpec  # noqa: E402
from labfleet_sim.site import load_walkways  # noqa: E402

from bench.lockstep import FM_EVERY, Job, LockstepSite, load_site  # noqa: E402
from fleet_manager.core.robots import STANDING_MPS  # noqa: E402
from fleet_manager.pilots.watch import NEAR_MISS_M  # noqa: E402  (the pilot watch's rules)

GOAL_KINDS = ("pickup", "dropoff", "room", "station")  # where missions go, and where crowds walk
SAMPLE_S = 1.0
CLOSE_M = 3.0
VERBOSE = bool(__import__("os").environ.get("PEOPLE_VERBOSE"))
HORIZON_S = 4 * 3600.0  # sim seconds: a run that has not finished by then is reported as such


@dataclasses.dataclass
class Outcome:
    name: str
    completed: dict[int, float]  # job id (robot k: 1000 k + its mission index) -> mission time, s
    failed: int
    unfinished: int
    km: float
    moving_person: int  # the robot's own move closed in (the simulator's `by: robot`)
    person_into_standing: int
    person_into_moving: int  # a person walked into a robot that was moving (slower than them, or away)
    robot_robot: int
    walls: int
    stops: int
    slowdowns: int
    near_misses: int
    gaps: list[float]
    reasons: Counter[str]
    sim_s: float
    wall_s: float


def missions(site_dir: Path, per_robot: int, seed: int) -> dict[str, list[tuple[str, str]]]:
    """Per robot, `per_robot` drives between goal places of its own (no two robots share one, so that no robot
    waits for another's spot: people are what is measured), the same for every run."""
    _, fleet, graph = load_site(site_dir)
    goals = sorted(p.name for p in graph.places.values() if p.kind in GOAL_KINDS)
    rng = random.Random(seed)
    rng.shuffle(goals)
    share = max(2, len(goals) // len(fleet.robots))
    plan = {}
    for k, robot in enumerate(fleet.robots):
        own = goals[k * share:(k + 1) * share] if (k + 1) * share <= len(goals) else rng.sample(goals, 2)
        plan[robot.id] = [(own[i % len(own)], own[(i + 1) % len(own)]) for i in range(per_robot)]
    return plan


def crowd(size: int, *, scripted: bool) -> PeopleSpec:
    """A crowd walking between the goal places: reactive (one in ten distracted) or giving way to no robot."""
    spec = CrowdSpec("crowd", size, GOAL_KINDS, speed=(0.8, 1.5), distracted=1.0 if scripted else 0.1)
    return PeopleSpec(reactive=not scripted, crowds=(spec,))


def run(site_dir: Path, name: str, people: PeopleSpec | None, plan: dict[str, list[tuple[str, str]]],
        seed: int) -> Outcome:
    world, fleet, graph = load_site(site_dir)
    if people is None:  # the baseline: nobody about
        world = dataclasses.replace(world, actors=())
    walkways = load_walkways(site_dir / "navgraph.yaml")
    site = LockstepSite(world, fleet, graph, seed=seed, people=people, walkways=walkways)
    queue = {rid: list(enumerate(jobs)) for rid, jobs in plan.items()}
    running: dict[str, Job] = {}
    completed: dict[int, float] = {}
    failed = 0
    reasons: Counter[str] = Counter()
    gaps: list[float] = []
    near: dict[str, int] = {}  # robot -> the stop episode (its stop count) that already had its near miss
    next_sample = [0.0]
    radius = {r.id: r.model.radius for r in fleet.robots}
    ids = {rid: k for k, rid in enumerate(plan)}

    def feed() -> None:
        nonlocal failed
        if site.steps % FM_EVERY == 0:
            for rid, job in list(running.items()):
                if job.status != "underway":
                    del running[rid]
                    if job.status == "completed" and job.finished is not None and job.started is not None:
                        completed[job.id] = job.finished - job.started
                    else:
                        failed += 1
                        reasons[job.reason if VERBOSE else re.split(r" \(| for ", job.reason)[0]] += 1
            for rid, jobs in queue.items():  # (the site may have sent an idle robot out of the way meanwhile)
                if rid not in running and jobs and site.drivers[rid].job is None:
                    index, (a, b) = jobs.pop(0)
                    x, y, _ = site.pose(rid)
                    here = graph.nearest_place(x, y)[0].name
                    running[rid] = Job(ids[rid] * 1000 + index, rid, [("go_to", a), ("go_to", b)], site.now, here)
                    site.assign(running[rid])
        if site.now + 1e-9 >= next_sample[0]:
            next_sample[0] = site.now + SAMPLE_S
            people_xy = np.array([(p.x, p.y) for p in site.sim.pedestrians()]).reshape(-1, 2)
            if not len(people_xy):
                return
            for rid, body in site.sim.bodies.items():
                gap = float((np.hypot(*(people_xy - (body.x, body.y)).T) - radius[rid] - PEDESTRIAN_RADIUS).min())
                if gap < CLOSE_M:
                    gaps.append(gap)
                stops = site.drivers[rid].agent.safety_counts[Measure.STOP]
                if gap <= NEAR_MISS_M and abs(body.v) < STANDING_MPS and stops and near.get(rid) != stops:
                    near[rid] = stops
    t0 = time.perf_counter()
    while (any(queue.values()) or running) and site.now < HORIZON_S:
        site.run_until(site.now + 60.0, before_step=feed)
    contacts = site.stats.contacts
    persons = [c for c in contacts if c.other_kind == "person"]
    return Outcome(
        name, completed, failed, len(running) + sum(len(j) for j in queue.values()),
        sum(b.distance_m for b in site.sim.bodies.values()) / 1000.0,
        sum(1 for c in persons if c.by == "robot"),
        sum(1 for c in persons if c.by == "person" and c.robot_speed < STANDING_MPS),
        sum(1 for c in persons if c.by == "person" and c.robot_speed >= STANDING_MPS),
        sum(1 for c in contacts if c.other_kind == "robot"), sum(1 for c in contacts if c.other_kind == "obstacle"),
        sum(d.agent.safety_counts[Measure.STOP] for d in site.drivers.values()),
        sum(d.agent.safety_counts[Measure.SLOWDOWN] for d in site.drivers.values()),
        len(near), gaps, reasons, site.now, time.perf_counter() - t0)


def per(count: float, km: float, scale: float = 1.0) -> str:
    return f"{count / km * scale:.2f}" if km > 0 else "n/a"


def report(base: Outcome, o: Outcome) -> bool:
    both = sorted(set(base.completed) & set(o.completed))
    ratio = sum(base.completed[i] for i in both) / sum(o.completed[i] for i in both) if both else float("nan")
    g = np.array(o.gaps) if o.gaps else np.array([math.inf])
    why = "; ".join(f"{n} x {r}" for r, n in o.reasons.most_common())
    print(f"  {o.name:<16} missions {len(o.completed)} done, {o.failed} failed{f' ({why})' if why else ''}, "
          f"{o.unfinished} unfinished; {o.km:.2f} km in {o.sim_s / 60:.0f} sim min ({o.wall_s:.0f} s wall)")
    print(f"  {'':<16} contacts by a moving robot with a person {o.moving_person} "
          f"({per(o.moving_person, o.km, 100)} per 100 km); a person into a standing robot {o.person_into_standing}, "
          f"into a moving one {o.person_into_moving}; "
          f"robot-robot {o.robot_robot}; walls {o.walls}")
    print(f"  {'':<16} protective stops {per(o.stops, o.km)}/km ({o.stops}), slowdowns {per(o.slowdowns, o.km)}/km, "
          f"near misses {per(o.near_misses, o.km)}/km ({o.near_misses})")
    print(f"  {'':<16} mission time ratio (no people / people, {len(both)} missions in both) {ratio:.2f}; "
          f"least gap to a person: min {g.min():.2f} m, p1 {np.percentile(g, 1):.2f}, "
          f"p5 {np.percentile(g, 5):.2f}, p50 {np.percentile(g, 50):.2f} ({len(o.gaps)} samples)", flush=True)
    return o.moving_person == 0 and ratio >= 0.7


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--sites", default="living_lab,city_block,clinic")
    parser.add_argument("--people", default="10,30,60", help="crowd sizes, comma-separated")
    parser.add_argument("--missions", type=int, default=3, help="missions per robot")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    sizes = [int(n) for n in args.people.split(",")]
    verdicts = []
    for name in args.sites.split(","):
        site_dir = ROOT / "sim_worlds" / name
        plan = missions(site_dir, args.missions, args.seed)
        print(f"site {name}: {len(plan)} robots x {args.missions} missions, seed {args.seed}", flush=True)
        base = run(site_dir, "no people", None, plan, args.seed)
        report(base, base)
        for size in sizes:
            verdicts.append((name, f"{size} reactive", report(base, run(site_dir, f"{size} reactive",
                                                                          crowd(size, scripted=False), plan,
                                                                          args.seed))))
        verdicts.append((name, f"{sizes[-1]} scripted", report(base, run(site_dir, f"{sizes[-1]} scripted",
                                                                          crowd(sizes[-1], scripted=True), plan,
                                                                          args.seed))))
    print("verdict (no contact by a moving robot, mission time ratio >= 0.70):")
    for site, run_name, ok in verdicts:
        print(f"  {site:<12} {run_name:<14} {'PASS' if ok else 'FAIL'}")
    return 0 if all(ok for *_, ok in verdicts) else 1


if __name__ == "__main__":
    sys.exit(main())
