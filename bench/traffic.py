"""Traffic: a fleet of tuggers in smart_factory runs material-transport missions for hours of
simulated time, in lock-step (bench/lockstep.py: the simulator's physics, the robot agents and the
fleet manager's traffic layer, no ROS).

Every idle robot gets the next mission at once (the `material_transport` template: drive to a cart bay,
hitch, drive to a line station, unhitch) to a bay and a station no other mission or robot claims; a
robot left on a station or bay with no mission to take drives back to its home spot (not counted). After
the horizon no mission is handed out and the ones under way may finish (the drain). Printed per run:
robot-robot contacts, missions completed, failed and never finished, missions per hour, and the ratio
of that throughput to a free-flow bound computed in the same run: the missions that can be under way at
once (the robots, or fewer when there are fewer bays or stations, as every mission claims one of each)
x 3600 s over the mean free-flow time of the completed missions (each leg driven by the robot alone,
plus the actions).
Planning: the wall time of every plan made while robots moved (median, p99, max) against planning the
same kind of query with no other robot on the site (the baseline, same run).

The second run injects delays: each robot is slowed to 50% for random periods.

Any site with pickup places and line stations (or, without stations, dropoff places: an imported warehouse,
`labfleet site import`) and enough robots in its fleet.yaml will do. `--sweep 20,40,60,100` runs the plain run
once per fleet size (the first N robots of the fleet) and prints one row per size.

    .venv/bin/python bench/traffic.py [--site DIR] [--hours 2] [--robots 20] [--seed 1] [--runs plain,delays]
    .venv/bin/python bench/traffic.py --site sim_worlds/warehouse --hours 1 --sweep 20,40,60,100
"""

from __future__ import annotations

import argparse
import os
import random
import re
import statistics
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.lockstep import (  # noqa: E402
    FM_EVERY,
    Job,
    LockstepSite,
    free_flow_seconds,
    load_site,
    random_periods,
)
from fleet_manager.core.missions import StepKind  # noqa: E402
from fleet_manager.core.templates import TemplateLibrary  # noqa: E402
from fleet_manager.missions.traffic import TrafficManager  # noqa: E402

SLOW_FACTOR = 0.5
SLOW_MEAN_GAP_S = 600.0  # mean time between a robot's slow periods
SLOW_LENGTH_S = (30.0, 180.0)
OCCUPIED_M = 1.0  # a robot this close to a bay or station occupies it
VERBOSE = bool(os.environ.get("TRAFFIC_VERBOSE"))  # failure reasons whole (who was waited for, how long)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


class Bench:
    def __init__(self, site_dir: Path, robots: int, seed: int) -> None:
        self.world, self.fleet, self.graph = load_site(site_dir)
        self.robot_ids = [r.id for r in self.fleet.robots][:robots]
        self.wall_s = 0.0  # of the last run
        if len(self.robot_ids) < robots:
            raise SystemExit(f"{site_dir.name} has {len(self.robot_ids)} robots, not {robots}")
        self.seed = seed
        self.bays = sorted(p.name for p in self.graph.places.values() if p.kind == "pickup")
        self.stations = sorted(p.name for p in self.graph.places.values() if p.kind == "station") \
            or sorted(p.name for p in self.graph.places.values() if p.kind == "dropoff")
        if not self.bays or not self.stations:
            raise SystemExit(f"{site_dir}: no pickup places, or neither stations nor dropoff places: "
                             f"nothing to carry between")
        self.template = TemplateLibrary.load(ROOT / "missions").get("material_transport")
        self.free_flow_cache: dict[tuple[str, str], float] = {}
        spawn = {r.id: (r.spawn.x, r.spawn.y) for r in self.fleet.robots}
        self.homes = {rid: self.graph.nearest_place(*spawn[rid])[0].name for rid in self.robot_ids}

    def steps(self, bay: str, station: str) -> list[tuple[str, str]]:
        _, steps = self.template.instantiate({"pickup": bay, "station": station}, set(self.graph.places))
        return [("go_to", s.target) if s.kind is StepKind.GO_TO else ("action", str(s.action))
                for s in steps if s.target or s.action]

    def run(self, hours: float, drain_s: float, delays: bool) -> dict[str, float | int | str]:
        rng = random.Random(self.seed)
        site = LockstepSite(self.world, self.fleet, self.graph, seed=self.seed, robots=self.robot_ids)
        horizon = hours * 3600.0
        jobs: list[Job] = []
        slow = {r: random_periods(rng, horizon + drain_s, SLOW_MEAN_GAP_S, SLOW_LENGTH_S) for r in self.robot_ids} \
            if delays else {}

        def occupied() -> set[str]:
            taken = {t for d in site.drivers.values() if d.job for t in d.job.targets()}
            for rid in site.drivers:
                x, y, _ = site.pose(rid)
                place, dist = self.graph.nearest_place(x, y)
                if dist <= OCCUPIED_M:
                    taken.add(place.name)
            return taken

        def feed() -> None:
            now = site.now
            for rid, factor_periods in slow.items():
                factor = SLOW_FACTOR if any(a <= now < b for a, b in factor_periods) else 1.0
                if site.sim.bodies[rid].speed_factor != factor:
                    site.sim.set_speed_factor(rid, factor)
            if site.steps % FM_EVERY or now >= horizon:
                return
            idle = [d for d in site.drivers.values() if d.job is None]
            if not idle:
                return
            taken = occupied()
            for driver in idle:
                if driver.job is not None:  # sent out of the way meanwhile, to let one just assigned pass
                    continue
                x, y, _ = site.pose(driver.robot)
                here, dist = self.graph.nearest_place(x, y)
                mine = {here.name} if dist <= OCCUPIED_M else set()
                bays = [b for b in self.bays if b not in taken - mine]
                stations = [s for s in self.stations if s not in taken - mine]
                if not bays or not stations:
                    if here.name in self.stations or here.name in self.bays:  # free the spot: go park
                        home = self.homes[driver.robot]
                        site.assign(Job(0, driver.robot, [("go_to", home)], now, here.name))
                    continue
                bay, station = rng.choice(bays), rng.choice(stations)
                taken |= {bay, station}
                job = Job(len(jobs) + 1, driver.robot, self.steps(bay, station), now, here.name)
                jobs.append(job)
                site.assign(job)

        t0, next_report = time.perf_counter(), 600.0
        self.wall_s = 0.0
        while site.now < horizon + drain_s:
            site.run_until(min(next_report, horizon + drain_s), before_step=feed)
            done = Counter(j.status for j in jobs)
            robot_contacts = sum(1 for c in site.stats.contacts if c.other in site.drivers and c.by == "robot")
            print(f"  t={site.now / 60:5.0f} min  completed {done['completed']:4d}  failed {done['failed']:3d}  "
                  f"under way {done['underway']:2d}  contacts {robot_contacts}  yields {site.stats.yields}  "
                  f"({time.perf_counter() - t0:.0f} s)", flush=True)
            next_report += 600.0
            if site.now >= horizon and done["underway"] == 0:
                break
        self.wall_s = time.perf_counter() - t0
        return self.summarise(site, jobs, hours, horizon)

    def summarise(self, site: LockstepSite, jobs: list[Job], hours: float, horizon: float
                  ) -> dict[str, float | int | str]:
        model = self.fleet.robot(self.robot_ids[0]).model
        completed = [j for j in jobs if j.status == "completed"]
        in_window = [j for j in completed if j.finished is not None and j.finished <= horizon]
        free = []
        for job in completed:
            goals = [arg for kind, arg in job.steps if kind == "go_to"]
            legs = list(zip([job.start_place, *goals[:-1]], goals, strict=True))
            acts = sum(model.actions[arg].duration_s for kind, arg in job.steps if kind == "action")
            free.append(free_flow_seconds(self.world, self.fleet, self.graph, job.robot, legs,
                                          self.free_flow_cache) + acts)
        per_hour = len(in_window) / hours
        at_once = min(len(self.robot_ids), len(self.bays), len(self.stations))
        bound = at_once * 3600.0 / statistics.fmean(free) if free else float("nan")
        reasons = Counter(j.reason if VERBOSE else re.split(r" \(| for ", j.reason)[0]
                          for j in jobs if j.status == "failed")
        return {
            "robot_contacts": sum(1 for c in site.stats.contacts if c.other in site.drivers and c.by == "robot"),
            "wall_contacts": sum(1 for c in site.stats.contacts if c.other not in site.drivers and c.by == "robot"),
            "missions": len(jobs), "completed": len(completed),
            "failed": sum(1 for j in jobs if j.status == "failed"),
            "unfinished": sum(1 for j in jobs if j.status == "underway"),
            "per_hour": per_hour, "bound_per_hour": bound, "ratio": per_hour / bound if free else float("nan"),
            "mean_mission_s": statistics.fmean(j.finished - j.created for j in completed if j.finished) if completed
            else float("nan"),
            "mean_free_flow_s": statistics.fmean(free) if free else float("nan"),
            "at_once": at_once, "asides": site.stats.asides, "yields": site.stats.yields,
            "plans": len(site.stats.plan_seconds),
            "plan_median_ms": 1000 * percentile(site.stats.plan_seconds, 0.5),
            "plan_p99_ms": 1000 * percentile(site.stats.plan_seconds, 0.99),
            "plan_max_ms": 1000 * max(site.stats.plan_seconds, default=float("nan")),
            "fail_reasons": "; ".join(f"{n} x {r}" for r, n in reasons.most_common()) or "none",
            "sim_speed": site.now / self.wall_s if self.wall_s > 0 else float("nan"),
        }

    def empty_site_plans(self, count: int) -> list[float]:
        """Baseline: wall time of plans between random bays and stations with no other robot on the site."""
        rng = random.Random(self.seed + 1)
        traffic = TrafficManager(self.graph)
        model = self.fleet.robot(self.robot_ids[0]).model
        mover = traffic.mover("probe", model.radius, model.max_speed, model.safety_params())
        out = []
        ends = self.bays + self.stations
        for _ in range(count):
            a, b = rng.sample(ends, 2)
            pa = self.graph.place(a)
            traffic.finish("probe", pa.x, pa.y, 0.0)
            t0 = time.perf_counter()
            traffic.plan(mover, pa.x, pa.y, b, 0.0)
            out.append(time.perf_counter() - t0)
        return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--site", type=Path, default=ROOT / "sim_worlds" / "smart_factory")
    parser.add_argument("--hours", type=float, default=2.0)
    parser.add_argument("--robots", type=int, default=20)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--drain-minutes", type=float, default=20.0)
    parser.add_argument("--runs", default="plain,delays", help="comma-separated: plain, delays")
    parser.add_argument("--sweep", default="", help="fleet sizes, comma-separated: one plain run per size")
    args = parser.parse_args()
    if args.sweep:
        return sweep(args.site, [int(n) for n in args.sweep.split(",")], args.hours, args.seed,
                     args.drain_minutes * 60.0)
    bench = Bench(args.site, args.robots, args.seed)
    print(f"site {args.site.name}: {args.robots} robots, {len(bench.bays)} cart bays, {len(bench.stations)} "
          f"line stations; {args.hours:g} h of simulated time per run, seed {args.seed}")
    base = bench.empty_site_plans(500)
    print(f"baseline planning (no other robot), 500 plans: median {1000 * percentile(base, 0.5):.2f} ms, "
          f"p99 {1000 * percentile(base, 0.99):.2f} ms")
    ok = True
    for name in [r.strip() for r in args.runs.split(",") if r.strip()]:
        if name not in ("plain", "delays"):
            raise SystemExit(f"--runs: unknown run {name!r} (plain, delays)")
        print(f"run {name}{' (robots slowed to 50% for random periods)' if name == 'delays' else ''}:")
        t0 = time.perf_counter()
        r = bench.run(args.hours, args.drain_minutes * 60.0, name == "delays")
        print(f"run {name} done in {time.perf_counter() - t0:.0f} s of wall time")
        print(f"  robot-robot contacts: {r['robot_contacts']} (wall contacts {r['wall_contacts']})")
        print(f"  missions: {r['missions']} handed out, {r['completed']} completed, {r['failed']} failed "
              f"({r['fail_reasons']}), never finished: {r['unfinished']}")
        print(f"  missions per hour: {r['per_hour']:.1f}; free-flow bound {r['bound_per_hour']:.1f}/h "
              f"({r['at_once']} missions at once; "
              f"mean free-flow mission {r['mean_free_flow_s']:.0f} s, actual {r['mean_mission_s']:.0f} s); "
              f"throughput ratio {r['ratio']:.3f}")
        p99_ratio = float(r["plan_p99_ms"]) / (1000 * percentile(base, 0.99))
        print(f"  planning one mission with robots in motion ({r['plans']} plans): median {r['plan_median_ms']:.2f} "
              f"ms, p99 {r['plan_p99_ms']:.2f} ms, max {r['plan_max_ms']:.2f} ms; p99 ratio to the empty site "
              f"{p99_ratio:.2f}; standstills given way {r['yields']}, robots stepped aside {r['asides']}")
        ok = ok and r["robot_contacts"] == 0 and r["unfinished"] == 0
    return 0 if ok else 1


def sweep(site: Path, sizes: list[int], hours: float, seed: int, drain_s: float) -> int:
    """One plain run per fleet size; a row each (after every run's own progress lines)."""
    rows = []
    for size in sizes:
        bench = Bench(site, size, seed)
        print(f"site {site.name}: {size} robots, {len(bench.bays)} pickups, {len(bench.stations)} drop places, "
              f"{hours:g} h, seed {seed}", flush=True)
        rows.append((size, bench.run(hours, drain_s, delays=False)))
    print(f"{'robots':>6} {'contacts':>8} {'completed':>9} {'failed':>6} {'unfinished':>10} {'ratio':>6} "
          f"{'plan p50/p99/max ms':>20} {'sim speed':>9}  failed by reason")
    for size, r in rows:
        plan = f"{r['plan_median_ms']:.0f}/{r['plan_p99_ms']:.0f}/{r['plan_max_ms']:.0f}"
        print(f"{size:>6} {r['robot_contacts']:>8} {r['completed']:>9} {r['failed']:>6} {r['unfinished']:>10} "
              f"{r['ratio']:>6.2f} {plan:>20} {r['sim_speed']:>8.1f}x  {r['fail_reasons']}")
    return 0 if all(r["robot_contacts"] == 0 and r["unfinished"] == 0 for _, r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
