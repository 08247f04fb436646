"""The VDA 5050 test bench: the built-in simulator's vehicles on an MQTT broker, without ROS.

    labfleet-sim --vda5050-only --world WORLD.sdf --fleet FLEET.yaml [--navgraph NAVGRAPH.yaml] [--seed N]
                 [--speed X] [--mqtt-url URL] [--mqtt-username NAME] [--interface NAME] [--map-id ID]
                 [--robots id,id]

Steps the same physics as the ROS node (walls, pedestrians, lidar, battery, chargers, seeded odometry and
localisation) in its own loop at `--speed` times real time, and runs each robot with `robot_api: vda5050` (or
each robot named by `--robots`, whatever its robot_api: the others are then left out of the world) as a VDA 5050
2.0 vehicle driven by the built-in controller: it takes orders and instant actions on
`<interface>/v2/<manufacturer>/<serial>/{order,instantActions}` and publishes state (1 Hz and on every event),
visualization, connection (ONLINE, OFFLINE on a clean stop, CONNECTIONBROKEN as its last will) and its factsheet.
Node positions are in the robot's own map frame (fleet.yaml `map_transform`), on the map id `--map-id` (default:
the fleet's site). Any VDA 5050 master control can drive them: this is a test bench, not LabFleet's fleet
manager. Robots that are not vehicles stand still where they spawned.

The broker's password comes from the environment (LABFLEET_MQTT_PASSWORD), never from the command line. A broker
that is down at start-up or goes away does not stop the bench: the vehicles keep stepping (a vehicle stops at the
end of its base, as the standard says) and reconnect when it is back. Ctrl-C or SIGTERM stops it cleanly
(connection OFFLINE). Exit status 2 for unusable arguments or site files. This module never imports rclpy.
"""

from __future__ import annotations

import argparse
import logging
import signal
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from types import FrameType

from labfleet_sim.site import SimConfigError, Simulation, load_simulation
from labfleet_sim.vda_fleet import VdaFleet, broker_settings, mqtt_bus, vda_robots

log = logging.getLogger("labfleet_sim.vda_bench")
PHYSICS_HZ = 50.0
STATUS_EVERY_S = 30.0  # wall-clock seconds between status lines
BEHIND_S = 0.5  # further behind real time than this, the loop gives up catching up


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="labfleet-sim --vda5050-only",
        description="The built-in simulator's VDA 5050 vehicles on an MQTT broker, without ROS: a test bench "
                    "for any VDA 5050 master control. The broker password is read from LABFLEET_MQTT_PASSWORD.")
    parser.add_argument("--vda5050-only", action="store_true", required=True, help="run without ROS (this mode)")
    parser.add_argument("--world", type=Path, required=True, help="the site's world.sdf")
    parser.add_argument("--fleet", type=Path, required=True, help="the site's fleet.yaml (or a copy of it)")
    parser.add_argument("--navgraph", type=Path, default=None,
                        help="where the chargers are (default: navgraph.yaml beside the world)")
    parser.add_argument("--seed", type=int, default=0, help="the simulation's seed (default 0)")
    parser.add_argument("--speed", type=float, default=1.0, help="real-time factor (default 1)")
    parser.add_argument("--mqtt-url", default="mqtt://127.0.0.1:1883",
                        help="the broker, mqtt://host:port or mqtts://host:port (default mqtt://127.0.0.1:1883)")
    parser.add_argument("--mqtt-username", default="", help="the broker user name (password: LABFLEET_MQTT_PASSWORD)")
    parser.add_argument("--interface", default="uagv", help="the first MQTT topic level (default uagv)")
    parser.add_argument("--map-id", default="", help="the vehicles' map id (default: the fleet's site)")
    parser.add_argument("--robots", default="",
                        help="comma-separated ids of the robots to simulate, each as a VDA 5050 vehicle (default: "
                             "every robot of the fleet; those with robot_api: vda5050 are the vehicles)")
    return parser.parse_args(list(argv))


def build(args: argparse.Namespace) -> tuple[Simulation, VdaFleet]:
    """The simulation and its vehicles (on the broker, not yet started); SimConfigError when unusable."""
    if args.speed <= 0:
        raise SimConfigError(f"--speed must be positive, not {args.speed}")
    named = [r.strip() for r in args.robots.split(",") if r.strip()] or None
    loaded = load_simulation(args.world, args.fleet, navgraph_file=args.navgraph, rate_hz=PHYSICS_HZ,
                             seed=args.seed, robots=named)
    robots = loaded.fleet.robots if named else vda_robots(loaded.fleet)
    if not robots:
        raise SimConfigError(f"{args.fleet}: no robot has robot_api: vda5050; give one that, or name robots with "
                             f"--robots (robots: {', '.join(r.id for r in loaded.fleet.robots)})")
    try:
        settings = broker_settings(args.mqtt_url, args.interface, args.mqtt_username)
        vda = VdaFleet(loaded.sim, robots, mqtt_bus(settings), map_id=args.map_id or loaded.fleet.site
                       or loaded.world.name, seed=args.seed)
    except ValueError as exc:
        raise SimConfigError(str(exc)) from None
    return loaded, vda


class Bench:
    """Steps the physics and the vehicles at `speed` times real time until told to stop."""

    def __init__(self, loaded: Simulation, vda: VdaFleet, speed: float = 1.0,
                 clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep) -> None:
        self.loaded, self.sim, self.vda, self.speed = loaded, loaded.sim, vda, speed
        self._clock, self._sleep = clock, sleep
        self._busy = {rid: False for rid in vda.vehicles}

    def tick(self) -> None:
        """One physics step, then the vehicles when a control period is due."""
        for c in self.sim.step():
            log.warning("contact: %s hit %s at (%.2f, %.2f)", c.robot_id, c.other, c.x, c.y)
        if self.vda.step():
            self._report()

    def _report(self) -> None:
        for rid, vehicle in self.vda.vehicles.items():
            busy = vehicle.has_order
            if busy != self._busy[rid]:
                self._busy[rid] = busy
                x, y, _ = vehicle.pose or (0.0, 0.0, 0.0)
                log.info("%s: %s at (%.2f, %.2f) in its map, sim time %.1f s", rid,
                         "driving an order" if busy else "order done, idle", x, y, self.sim.time)

    def run(self, stopping: Callable[[], bool]) -> None:
        period = self.sim.dt / self.speed
        start = due = status = self._clock()
        sim_start = self.sim.time
        while not stopping():
            self.tick()
            due += period
            now = self._clock()
            if now < due:
                self._sleep(due - now)
            elif now - due > BEHIND_S:
                log.warning("%.1f s behind real time x%g: carrying on from now", now - due, self.speed)
                due = now
            if now - status >= STATUS_EVERY_S:
                status = now
                log.info("sim time %.0f s, %.2fx real time", self.sim.time,
                         (self.sim.time - sim_start) / max(now - start, 1e-9))


def main(argv: Sequence[str]) -> int:
    """`labfleet-sim --vda5050-only ...`: the exit status (0 after Ctrl-C / SIGTERM, 2 for bad arguments)."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    args = parse_args(argv)
    try:
        loaded, vda = build(args)
    except SimConfigError as exc:
        log.error("%s", exc)
        return 2
    stop: list[int] = []

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        stop.append(signum)

    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    world = loaded.world
    log.info("VDA 5050 test bench: world %r (%d obstacles, %d pedestrians), robots %s, seed %d, %g x real time",
             world.name, len(world.obstacles), len(world.actors), ", ".join(loaded.sim.bodies), args.seed, args.speed)
    for rid, vehicle in vda.vehicles.items():
        d = vehicle.description
        log.info("%s: VDA 5050 vehicle %s/v2/%s/%s on map %r, actions %s", rid, args.interface, d.manufacturer,
                 d.serial_number, d.map_id, ", ".join(vehicle.actions) or "(the standard ones only)")
    standing = sorted(set(loaded.sim.bodies) - set(vda.vehicles))
    if standing:
        log.info("not vehicles, standing still: %s", ", ".join(standing))
    log.info("broker %s (a broker that is down is retried); Ctrl-C stops", args.mqtt_url)
    vda.start()
    try:
        Bench(loaded, vda, args.speed).run(lambda: bool(stop))
    finally:
        vda.stop()
        for s, handler in previous.items():
            signal.signal(s, handler)
    log.info("stopped (%s) at sim time %.1f s: connection OFFLINE published", signal.Signals(stop[0]).name
             if stop else "done", loaded.sim.time)
    return 0
