"""Re-simulation speed (issue 6, acceptance 3): how many times faster than real time a recorded mission is
replayed, for a ~10-minute one-robot mission and for four robots on missions at the same time.

Each original is a lock-step run of living_lab recorded as the live lab records a mission
(fleet_manager/replay/synthetic.py: MissionRecorder, replay metadata, the mission service's events). It is
then replayed through the service (fleet_manager/replay/service.py: read the recording, re-simulate in
lock-step, compare with the original, store in SQLite), as `labfleet replay` does. Printed per scenario: the
sim seconds replayed, the wall seconds of the re-simulation alone and of the whole replay (reading,
comparing, storing included), the CPU seconds of the re-simulation, and the speed as a multiple of real time
(sim seconds per wall second; the live lab runs at 1x), against the target (30x). There is no baseline to
divide by: real time is the unit.

    .venv/bin/python bench/replay.py [--rounds 6] [--repeat 2] [--seed 0]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from sqlmodel import Session

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from fleet_manager.core.templates import TemplateLibrary  # noqa: E402
from fleet_manager.db.engine import make_engine, upgrade  # noqa: E402
from fleet_manager.db.tables import Mission, utcnow  # noqa: E402
from fleet_manager.replay.runs import MissionRun  # noqa: E402
from fleet_manager.replay.service import recording_path, replay_mission  # noqa: E402
from fleet_manager.replay.synthetic import PlannedMission, record_lockstep_run  # noqa: E402

SITES = ROOT / "sim_worlds"
SITE = "living_lab"
TARGET = 30.0


def scenarios(rounds: int) -> dict[str, list[PlannedMission]]:
    """The one-robot patrol; and four robots kept busy about as long, each in its own part of the lab, its
    missions queued back to back: a patrol, deliveries (a confirmation each), shuttles between the workshop's
    stations, floor cleanings."""
    patrol = {"start": "lobby", "via": "warehouse", "rounds": rounds}
    four = [PlannedMission(100, "guide_1", "security_patrol", {"start": "lab", "via": "warehouse",
                                                              "rounds": rounds + 1})]
    stations = ("workshop_station_1", "workshop_station_2")
    four += [PlannedMission(200 + k, "delivery_1", "delivery",
                            {"pickup": "pharmacy", "destination": ("ward_bed_2", "ward_bed_1")[k % 2]})
             for k in range(6)]
    four += [PlannedMission(300 + k, "delivery_2", "delivery", {"pickup": stations[k % 2],
                                                                "destination": stations[1 - k % 2]})
             for k in range(16)]
    four += [PlannedMission(400 + k, "cleaner_1", "floor_cleaning", {"zone": "lobby_floor"}) for k in range(16)]
    return {
        f"1 robot: security patrol, {rounds} rounds lobby-warehouse (guide_1)": [
            PlannedMission(1, "guide_1", "security_patrol", patrol)],
        "4 robots at once: a patrol lab-warehouse, 6 deliveries, 16 workshop shuttles, 16 floor cleanings": four,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--rounds", type=int, default=6, help="patrol rounds (6: about 10 minutes)")
    parser.add_argument("--repeat", type=int, default=2, help="replays per scenario (the median is reported)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    templates = TemplateLibrary.load(ROOT / "missions")
    ok = True
    with tempfile.TemporaryDirectory(prefix="labfleet-replay-bench-") as tmp:
        recordings = Path(tmp) / "recordings"
        recordings.mkdir()
        engine = make_engine(f"sqlite:///{Path(tmp) / 'bench.db'}")
        upgrade(engine)
        print(f"site {SITE}, seed {args.seed}; speeds are sim seconds per wall second (the live lab runs at 1x); "
              f"target {TARGET:g}x; load average "
              f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs (wall-time speeds drop under load; the "
              f"per-CPU-second speed does not)")
        for name, missions in scenarios(args.rounds).items():
            main_id = missions[0].mission_id
            t0 = time.perf_counter()
            original, stats = record_lockstep_run(recording_path(recordings, main_id), SITES, SITE, missions,
                                                  templates, seed=args.seed, sim_start_ns=3600 * 10**9,
                                                  confirm_delay_s=10.0)
            recorded_s = time.perf_counter() - t0
            with Session(engine) as session:
                session.add(Mission(id=main_id, site=SITE, template=missions[0].template, status="completed",
                                    robot_id=missions[0].robot_id, created_at=utcnow()))
                session.commit()
            busy: dict[str, list[MissionRun]] = {}
            for m in original.missions:
                busy.setdefault(m.robot_id, []).append(m)
            outcomes = "; ".join(
                f"{rid} {len(runs)} mission{'s' if len(runs) > 1 else ''} "
                f"({', '.join(f'{n} {o}' for o, n in Counter(r.outcome for r in runs).items())}, "
                f"{sum(r.duration_s or 0.0 for r in runs):.0f} s)" for rid, runs in busy.items())
            print(f"{name}:")
            print(f"  original: {original.sim_s:.0f} s of sim time ({original.sim_s / 60:.1f} min): {outcomes}; "
                  f"recorded {sum(stats.messages.values())} messages in {recorded_s:.1f} s")
            sims, walls, cpus, totals = [], [], [], []
            for k in range(args.repeat):
                t0 = time.perf_counter()
                replay = replay_mission(engine, SITES, recordings, main_id)
                totals.append(time.perf_counter() - t0)
                assert replay.sim_s is not None and replay.wall_s and replay.comparison and replay.result
                sims.append(replay.sim_s)
                walls.append(replay.wall_s)
                cpus.append(replay.result["cpu_s"])
                path = max(m["path"]["frechet_m"] or 0.0 for m in replay.comparison["missions"])
                print(f"  replay {k + 1}: {replay.sim_s:.0f} sim s re-simulated in {replay.wall_s:.2f} wall s "
                      f"({replay.sim_s / replay.wall_s:.1f}x; CPU {cpus[-1]:.2f} s, {replay.sim_s / cpus[-1]:.1f}x), "
                      f"{totals[-1]:.2f} wall s in all ({replay.sim_s / totals[-1]:.1f}x); same outcome "
                      f"{replay.comparison['same_outcome']}, largest Frechet to the original {path:.3f} m")
            speed = statistics.median(s / w for s, w in zip(sims, walls, strict=True))
            per_cpu = statistics.median(s / c for s, c in zip(sims, cpus, strict=True))
            overall = statistics.median(s / w for s, w in zip(sims, totals, strict=True))
            print(f"  re-simulation speed {speed:.1f}x real time (whole replay {overall:.1f}x; per CPU second "
                  f"{per_cpu:.1f}x); target {TARGET:g}x: {'met' if speed >= TARGET else 'NOT met'}")
            ok = ok and speed >= TARGET
        engine.dispose()
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
