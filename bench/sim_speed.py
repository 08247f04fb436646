"""Simulator speed: how many sim seconds the built-in simulator runs per wall second with many robots and their
lidars, in lock-step (no ROS) and, with --ros, as the real labfleet-sim node.

Lock-step: N robots of the site's first model with `--rays`-ray 360-degree lidars, spawned at seeded random free
spots of the site (smart_factory by default, 60 x 40 m), are stepped at the lock-step site's rates (SIM_DT physics,
a scan every SCAN_EVERY steps: bench/lockstep.py); every scan tick each robot steers by its own scan (drive on, slow
down and turn away when something is within 1.5 m ahead), so they meet walls and one another. The same scenario
runs on the robot-at-a-time simulator of before (labfleet_sim.reference: the baseline, same run) for fewer sim
seconds, the two in turns over three windows each; printed per fleet size: sim seconds per wall second of both (the
median of the windows) and their ratio.

ROS (--ros): the labfleet-sim node on the same site and fleet (a generated fleet.yaml) at real_time_factor 1000,
i.e. as fast as it can step, on the environment's ROS_DOMAIN_ID (default 0), discovery on this host only; each robot
gets a cmd_vel driving it in a circle; the speed is measured on /clock. No baseline there.

    .venv/bin/python bench/sim_speed.py [--robots 10,50,100,200] [--seconds 30] [--baseline-seconds 6]
                                        [--rays 360] [--site sim_worlds/smart_factory] [--seed 1] [--ros]
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from labfleet_sim.fleet_config import FleetConfig, load_fleet, parse_fleet  # noqa: E402
from labfleet_sim.physics import Simulator  # noqa: E402
from labfleet_sim.reference import ReferenceSimulator  # noqa: E402
from labfleet_sim.world import World, load_world  # noqa: E402

from bench.lockstep import SCAN_EVERY, SIM_DT  # noqa: E402

AHEAD_RAD = math.radians(30)  # a robot looks this far either side of straight ahead to steer
CLEAR_M = 1.5
PROGRESS_S = 10.0  # wall seconds between progress lines
WINDOWS = 3  # measuring windows per fleet size and implementation (the median is printed)


def spawn_fleet(world: World, site_fleet: FleetConfig, robots: int, rays: int, seed: int) -> dict[str, Any]:
    """A fleet.yaml's content: `robots` robots of the site's first model (lidar: `rays` rays all round) at seeded
    random spots at least 0.3 m clear of every wall and 0.5 m clear of one another."""
    model = next(iter(site_fleet.models.values())).model_dump()
    model["lidar"] = {**model["lidar"], "samples": rays, "fov_deg": 360}
    segs = np.array(world.segments(), dtype=float).reshape(-1, 4)
    a, d = segs[:, 0:2], segs[:, 2:4] - segs[:, 0:2]
    len2 = np.maximum((d**2).sum(axis=1), 1e-12)
    lo, hi = np.array(world.bounds()[:2]), np.array(world.bounds()[2:])
    rng = np.random.default_rng(seed)
    radius = float(model["radius"])
    spots: list[tuple[float, float]] = []
    for _ in range(10000 * robots):
        if len(spots) == robots:
            break
        p = lo + rng.random(2) * (hi - lo)
        t = np.clip(((p - a) * d).sum(axis=1) / len2, 0.0, 1.0)
        if np.hypot(*(a + t[:, None] * d - p).T).min() < radius + 0.3:
            continue
        if any(math.hypot(p[0] - x, p[1] - y) < 2 * radius + 0.5 for x, y in spots):
            continue
        spots.append((float(p[0]), float(p[1])))
    if len(spots) < robots:
        raise SystemExit(f"only {len(spots)} free spots for {robots} robots on {world.name}")
    name = model.pop("name")
    return {"site": site_fleet.site, "models": {name: model}, "robots": [
        {"id": f"bot_{i:03d}", "model": name, "spawn": {"x": x, "y": y, "yaw": float(rng.uniform(-math.pi, math.pi))}}
        for i, (x, y) in enumerate(spots)]}


def steer(sim: Simulator, angles: np.ndarray, turn: np.ndarray) -> None:
    """Every robot from its own scan: drive on when clear ahead, slow down and turn away when not."""
    ranges = np.stack(list(sim.scans().values()))
    ahead = np.abs(angles) <= AHEAD_RAD
    nearest = ranges[:, ahead].min(axis=1)
    v = np.where(nearest > CLEAR_M, 1.0, np.where(nearest > 0.8, 0.3, 0.0))
    w = np.where(nearest > CLEAR_M, 0.2 * turn, turn)
    for rid, vi, wi in zip(sim.bodies, v.tolist(), w.tolist(), strict=True):
        sim.set_command(rid, vi, wi)


class Lockstep:
    """One simulator and its robots' steering, run in windows of sim time."""

    def __init__(self, sim: Simulator, label: str) -> None:
        self.sim, self.label = sim, label
        self.angles = sim.scan_angles(next(iter(sim.bodies)))
        self.turn = np.where(np.arange(len(sim.bodies)) % 2 == 0, 0.8, -0.8)
        self.steps = 0
        self.contacts = 0
        self.run(1.0)  # warm-up (not measured)

    def run(self, seconds: float) -> float:
        """Runs `seconds` of sim time; returns sim seconds per wall second."""
        start = last = time.perf_counter()
        for _ in range(round(seconds / SIM_DT)):
            if self.steps % SCAN_EVERY == 0:
                steer(self.sim, self.angles, self.turn)
            self.contacts += len(self.sim.step())
            self.steps += 1
            now = time.perf_counter()
            if now - last > PROGRESS_S:
                last = now
                print(f"    {self.label}: {self.sim.time:.0f} sim s", flush=True)
        return seconds / (time.perf_counter() - start)


def ros_speed(world_file: Path, fleet_data: dict[str, Any], seconds: float) -> float:
    """Sim seconds per wall second of the labfleet-sim node, measured on /clock over `seconds` of wall time."""
    import rclpy
    from geometry_msgs.msg import Twist
    from rosgraph_msgs.msg import Clock

    env = dict(os.environ, ROS_AUTOMATIC_DISCOVERY_RANGE="LOCALHOST", PYTHONUNBUFFERED="1")
    env.setdefault("ROS_DOMAIN_ID", "0")
    os.environ.update(ROS_AUTOMATIC_DISCOVERY_RANGE="LOCALHOST", ROS_DOMAIN_ID=env["ROS_DOMAIN_ID"])
    with tempfile.TemporaryDirectory() as tmp:
        fleet_file = Path(tmp) / "fleet.yaml"
        fleet_file.write_text(yaml.safe_dump(fleet_data, sort_keys=False))
        argv = [str(ROOT / ".venv" / "bin" / "labfleet-sim"), "--ros-args", "-p", f"world_file:={world_file}",
                "-p", f"fleet_file:={fleet_file}", "-p", "real_time_factor:=1000.0"]
        log = (Path(tmp) / "sim.log").open("w")  # (a pipe left unread would stall the node once full)
        proc = subprocess.Popen(argv, env=env, stdout=log, stderr=subprocess.STDOUT)
        rclpy.init()
        node = rclpy.create_node("sim_speed_probe")
        clock: list[tuple[float, float]] = []

        def on_clock(msg: Clock) -> None:
            clock.append((time.perf_counter(), msg.clock.sec + msg.clock.nanosec * 1e-9))

        node.create_subscription(Clock, "/clock", on_clock, 10)
        cmd = Twist()
        cmd.linear.x, cmd.angular.z = 0.5, 0.4
        pubs = [node.create_publisher(Twist, f"/{r['id']}/cmd_vel", 10) for r in fleet_data["robots"]]
        try:
            deadline = time.perf_counter() + 60.0
            while not clock and time.perf_counter() < deadline and proc.poll() is None:
                rclpy.spin_once(node, timeout_sec=0.1)
            if not clock:
                raise SystemExit(f"labfleet-sim published no /clock: {(Path(tmp) / 'sim.log').read_text()[-2000:]}")
            end, next_cmd = time.perf_counter() + seconds, 0.0
            while time.perf_counter() < end:
                if time.perf_counter() >= next_cmd:  # within the simulator's command timeout of sim time
                    next_cmd = time.perf_counter() + 0.1
                    for pub in pubs:
                        pub.publish(cmd)
                rclpy.spin_once(node, timeout_sec=0.01)
        finally:
            node.destroy_node()
            rclpy.try_shutdown()
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            log.close()
    (w0, s0), (w1, s1) = clock[len(clock) // 5], clock[-1]  # past the start-up
    return (s1 - s0) / (w1 - w0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--robots", default="10,50,100,200")
    parser.add_argument("--seconds", type=float, default=30.0, help="sim seconds measured per fleet size")
    parser.add_argument("--baseline-seconds", type=float, default=6.0, help="for the reference (0: no baseline)")
    parser.add_argument("--rays", type=int, default=360)
    parser.add_argument("--site", type=Path, default=ROOT / "sim_worlds" / "smart_factory")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--ros", action="store_true", help="also the labfleet-sim node (wall seconds: --seconds / 2)")
    args = parser.parse_args()
    world = load_world(args.site / "world.sdf")
    site_fleet = load_fleet(args.site / "fleet.yaml")
    counts = [int(n) for n in args.robots.split(",")]
    print(f"{world.name}: {len(world.segments())} wall edges, {args.rays}-ray lidars at "
          f"{1 / (SCAN_EVERY * SIM_DT):g} Hz, physics at {1 / SIM_DT:g} Hz; {args.seconds:g} sim s per size "
          f"(baseline {args.baseline_seconds:g} s)", flush=True)
    rows = []
    for n in counts:
        fleet_data = spawn_fleet(world, site_fleet, n, args.rays, args.seed)
        fleet = parse_fleet(fleet_data)
        fast = Lockstep(Simulator(world, fleet, dt=SIM_DT, seed=args.seed), f"{n} robots")
        before = (Lockstep(ReferenceSimulator(world, fleet, dt=SIM_DT, seed=args.seed), f"{n} robots, baseline")
                  if args.baseline_seconds > 0 else None)
        speeds: list[float] = []
        base_speeds: list[float] = []
        for _ in range(WINDOWS):  # taken in turns, so that a burst of other work on the host hits both alike
            speeds.append(fast.run(args.seconds / WINDOWS))
            if before is not None:
                base_speeds.append(before.run(args.baseline_seconds / WINDOWS))
        speed, contacts = statistics.median(speeds), fast.contacts
        base_speed = statistics.median(base_speeds) if base_speeds else math.nan
        ros = ros_speed(args.site / "world.sdf", fleet_data, args.seconds / 2) if args.ros else math.nan
        rows.append((n, speed, base_speed, contacts, ros))
        windows = ", ".join(f"{v:.1f}" for v in speeds) + " / " + ", ".join(f"{v:.1f}" for v in base_speeds)
        print(f"  {n} robots: {speed:.1f}x real time (baseline {base_speed:.1f}x, {speed / base_speed:.1f} times as "
              f"fast; windows {windows}), {contacts} contacts" + (f"; ROS node {ros:.1f}x" if args.ros else ""),
              flush=True)
    ros_column = " ROS node (x) |" if args.ros else ""
    print(f"\n| robots | lock-step (x real time) | baseline: before (x) | ratio |{ros_column}")
    print("|---|---|---|---|" + ("---|" if args.ros else ""))
    for n, speed, base, _, ros in rows:
        print(f"| {n} | {speed:.1f} | {base:.1f} | {speed / base:.1f} |" + (f" {ros:.1f} |" if args.ros else ""))


if __name__ == "__main__":
    main()
