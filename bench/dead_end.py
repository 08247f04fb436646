"""Deliveries from a dead-end pickup (issue 17): on pharmacy_wing (scripts/gen_pharmacy_wing.py) N ward robots
carry D deliveries, all submitted at once, from the pharmacy at the end of a single-lane corridor to a few
rooms, in lock-step (simulator physics, robot agents, the fleet manager's traffic layer and the dispatcher's
allocation with its dead-end rule: fleet_manager/replay/dispatch_loop.py, no ROS).

Printed: deliveries completed and failed (with the reasons), robot-robot contacts, move-asides, the sim time
the deliveries took, and per room the length of the deliveries (metres driven from assignment to the end).

    .venv/bin/python bench/dead_end.py [--robots 3] [--deliveries 40] [--rooms room_2,room_3,room_4]
"""

from __future__ import annotations

import argparse
import math
import statistics
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from fleet_manager.replay.dispatch_loop import DispatchLoop  # noqa: E402
from fleet_manager.replay.lockstep import LockstepSite, load_site  # noqa: E402

SITE = ROOT / "sim_worlds" / "pharmacy_wing"


def run(robots: int, deliveries: int, rooms: list[str], horizon_s: float) -> list[str]:
    world, fleet, graph = load_site(SITE)
    site = LockstepSite(world, fleet, graph, robots=[r.id for r in fleet.robots][:robots])
    loop = DispatchLoop(site)
    for k in range(deliveries):
        loop.submit(k + 1, [("go_to", "pharmacy"), ("action", "load"), ("go_to", rooms[k % len(rooms)]),
                            ("action", "unload")])
    driven: dict[int, float] = {}
    last = {rid: site.pose(rid)[:2] for rid in site.drivers}

    def before_step() -> None:
        loop.tick()
        for rid, driver in site.drivers.items():
            x, y, _ = site.pose(rid)
            if driver.job is not None and not driver.job.move_aside:
                job_id = driver.job.id
                driven[job_id] = driven.get(job_id, 0.0) + math.hypot(x - last[rid][0], y - last[rid][1])
            last[rid] = (x, y)

    t0 = time.perf_counter()
    site.run_until(horizon_s, before_step=before_step, until=loop.done)
    wall = time.perf_counter() - t0
    status = Counter(j.status for j in loop.jobs)
    out = [f"{robots} robots, {deliveries} deliveries to {', '.join(rooms)}: {status['completed']} completed, "
           f"{status['failed']} failed, {deliveries - status['completed'] - status['failed']} never finished; "
           f"{len(site.stats.contacts)} contacts, {site.stats.asides} move-asides; {site.now:.0f} sim s "
           f"({wall:.0f} s wall)"]
    for room in rooms:
        lengths = [driven.get(j.id, 0.0) for j in loop.jobs if j.steps[2][1] == room and j.status == "completed"]
        if lengths:
            out.append(f"  {room}: deliveries of {min(lengths):.0f}-{max(lengths):.0f} m "
                       f"(median {statistics.median(lengths):.0f} m)")
    out += [f"  failed: {reason} x{n}" for reason, n in Counter(j.reason for j in loop.jobs if j.reason).items()]
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--robots", type=int, default=3)
    parser.add_argument("--deliveries", type=int, default=40)
    parser.add_argument("--rooms", default="room_2,room_3,room_4")
    parser.add_argument("--horizon", type=float, default=12_000.0, help="sim seconds at most")
    args = parser.parse_args()
    sys.stdout.write("\n".join(run(args.robots, args.deliveries, args.rooms.split(","), args.horizon)) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
