"""Faults injected into the simulator (service /sim/fault; tests, demos, fault drills), pure Python.

- `localisation_dropout`: the robot's /tf (both of its edges, map → odom and odom → base_link) is not
  published; its odometry, scan and battery go on.
- `slowdown`: the robot's achievable speeds scale by `value` (0 < value <= 1; Simulator.set_speed_factor).
- `clear`: ends every fault of the robot now.

A fault lasts `duration_s` seconds of sim time (0: until cleared); injecting a fault the robot already has
replaces it. The ROS node only wires the service and asks `expire` each step and `dropped` when it publishes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from labfleet_sim.physics import Simulator

LOCALISATION_DROPOUT = "localisation_dropout"
SLOWDOWN = "slowdown"
CLEAR = "clear"
FAULTS = (LOCALISATION_DROPOUT, SLOWDOWN, CLEAR)


@dataclass(frozen=True)
class FaultAnswer:
    ok: bool
    message: str


@dataclass(frozen=True)
class ActiveFault:
    robot_id: str
    kind: str
    until: float  # sim seconds; inf: until cleared
    value: float = 0.0


class FaultInjector:
    """The faults in force on the robots of a Simulator."""

    def __init__(self, sim: Simulator) -> None:
        self.sim = sim
        self._active: dict[tuple[str, str], ActiveFault] = {}
        self._dropped: set[str] = set()  # robots whose /tf is dropped now

    def inject(self, robot_id: str, fault: str, duration_s: float, value: float = 0.0) -> FaultAnswer:
        """Start (or, for `clear`, end) a fault at the simulator's current time; the answer says what happened
        or what is wrong with the request (naming what exists)."""
        if robot_id not in self.sim.bodies:
            return FaultAnswer(False, f"unknown robot {robot_id!r}; robots: {', '.join(self.sim.bodies)}")
        if fault not in FAULTS:
            return FaultAnswer(False, f"unknown fault {fault!r}; faults: {', '.join(FAULTS)}")
        if fault == CLEAR:
            ended = self._end([key for key in self._active if key[0] == robot_id])
            return FaultAnswer(True, f"{robot_id}: cleared {', '.join(ended) or 'nothing (no fault in force)'}")
        if not math.isfinite(duration_s) or duration_s < 0:
            return FaultAnswer(False, f"duration_s must be 0 (until cleared) or a positive number of sim "
                                      f"seconds, not {duration_s}")
        if fault == SLOWDOWN and not (0 < value <= 1):
            return FaultAnswer(False, f"slowdown needs a speed factor value with 0 < value <= 1, not {value}")
        now = self.sim.time
        until = now + duration_s if duration_s > 0 else math.inf
        self._active[(robot_id, fault)] = ActiveFault(robot_id, fault, until, value)
        if fault == SLOWDOWN:
            self.sim.set_speed_factor(robot_id, value)
            what = f"slowdown to {value:g} of its speed"
        else:
            self._dropped.add(robot_id)
            what = "localisation dropout (no /tf)"
        lasting = f"for {duration_s:g} s of sim time" if duration_s > 0 else "until cleared"
        return FaultAnswer(True, f"{robot_id}: {what} from {now:.2f} s {lasting}")

    def expire(self) -> list[ActiveFault]:
        """End the faults whose time is up (call after each step); returns them."""
        if not self._active:
            return []
        now = self.sim.time
        due = [key for key, fault in self._active.items() if fault.until <= now + 1e-9]
        ended = [self._active[key] for key in due]
        self._end(due)
        return ended

    def dropped(self, robot_id: str) -> bool:
        """True while the robot's /tf is dropped."""
        return robot_id in self._dropped

    @property
    def dropped_robots(self) -> frozenset[str]:
        """The robots whose /tf is dropped now."""
        return frozenset(self._dropped)

    def active(self, robot_id: str | None = None) -> list[ActiveFault]:
        return [f for f in self._active.values() if robot_id is None or f.robot_id == robot_id]

    def _end(self, keys: list[tuple[str, str]]) -> list[str]:
        ended = []
        for robot_id, kind in keys:
            del self._active[(robot_id, kind)]
            if kind == SLOWDOWN:
                self.sim.set_speed_factor(robot_id, 1.0)
            else:
                self._dropped.discard(robot_id)
            ended.append(kind)
        return ended
