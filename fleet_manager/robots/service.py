"""The live robot registry: latest state per robot, online/offline, and which mission holds it."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from fleet_manager.core.errors import NotFound
from fleet_manager.core.robots import RobotMode, RobotReport

_FREE_MODES = (RobotMode.IDLE, RobotMode.CHARGING)


@dataclass
class RobotEntry:
    report: RobotReport
    last_seen: float  # wall seconds when the fleet manager received the state


class RobotRegistry:
    def __init__(self, timeout_s: float, clock: Callable[[], float] = time.time) -> None:
        self.timeout_s = timeout_s
        self._clock = clock
        self._robots: dict[str, RobotEntry] = {}
        self._used_pct: dict[str, float] = {}  # robot id → battery percent points used since first seen
        self.assignments: dict[str, int] = {}  # robot id → mission id

    def update(self, report: RobotReport) -> bool:
        """Store a state; True when the robot is new."""
        old = self._robots.get(report.id)
        if old is None:
            self._used_pct[report.id] = 0.0
        elif not (report.charging or old.report.charging) and report.battery < old.report.battery:
            self._used_pct[report.id] += old.report.battery - report.battery
        self._robots[report.id] = RobotEntry(report, self._clock())
        return old is None

    def battery_used_pct(self, robot_id: str) -> float:
        """Battery percent points the robot used since it was first seen: every drop between two states
        while not charging (a rise, or any change while charging, counts nothing). 0 for an unknown robot."""
        return self._used_pct.get(robot_id, 0.0)

    def ids(self) -> list[str]:
        return sorted(self._robots)

    def entry(self, robot_id: str) -> RobotEntry:
        try:
            return self._robots[robot_id]
        except KeyError:
            raise NotFound(f"unknown robot {robot_id!r}", field="robot_id") from None

    def online(self, robot_id: str) -> bool:
        entry = self._robots.get(robot_id)
        return entry is not None and self._clock() - entry.last_seen <= self.timeout_s

    def mode(self, robot_id: str) -> RobotMode:
        return self.entry(robot_id).report.mode if self.online(robot_id) else RobotMode.OFFLINE

    def available(self) -> list[RobotReport]:
        """Online robots that no mission holds, idle or charging."""
        return [
            e.report for rid, e in sorted(self._robots.items())
            if rid not in self.assignments and self.online(rid) and e.report.mode in _FREE_MODES
        ]

    def view(self, robot_id: str) -> dict[str, Any]:
        entry = self.entry(robot_id)
        r = entry.report
        return {
            "id": r.id,
            "kind": r.kind,
            "model": r.model,
            "mode": str(self.mode(robot_id)),
            "pose": {"x": r.x, "y": r.y, "yaw": r.yaw},
            "velocity": {"linear": r.linear, "angular": r.angular},
            "battery": {"percentage": r.battery, "charging": r.charging},
            "current_mission_id": self.assignments.get(robot_id),
            "last_seen": datetime.fromtimestamp(entry.last_seen, UTC).isoformat(),
            "errors": list(r.errors),
            "stamp": r.stamp,
            "wall_time": r.wall_time,
        }

    def views(self) -> list[dict[str, Any]]:
        return [self.view(rid) for rid in self.ids()]
