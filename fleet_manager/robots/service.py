"""The live robot registry: latest state per robot, online/offline, localised or not, registered or only
announced, and which mission holds it."""

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
        self._lost_since: dict[str, float] = {}  # robot id → wall time its reports first said localisation lost
        # robot id → (name, adapter, kind, model) of every registered robot
        self.registered: dict[str, tuple[str, str, str, str]] = {}
        self.adapter_of: dict[str, str] = {}  # robot id → the adapter an unregistered robot reports through
        self.assignments: dict[str, int] = {}  # robot id → mission id

    def set_registered(self, registered: dict[str, tuple[str, str, str, str]]) -> None:
        """The registered robots (after every roster change); others may report, but are never dispatched. A robot
        registered just now is forgotten until it reports as registered (what it said before, unregistered, is
        not what its adapter will say: it is never planned with)."""
        for robot_id in set(registered) ^ set(self.registered):  # registered or retired just now
            self._forget(robot_id)
        self.registered = dict(registered)

    def _forget(self, robot_id: str) -> None:
        """A robot registered just now is forgotten until it reports as registered; a retired one until it reports
        again (as unregistered, if it still runs)."""
        if self._robots.pop(robot_id, None) is not None:
            self._used_pct.pop(robot_id, None)
            self._lost_since.pop(robot_id, None)
        self.adapter_of.pop(robot_id, None)

    def update(self, report: RobotReport) -> bool:
        """Store a state; True when the robot is new."""
        old = self._robots.get(report.id)
        if old is None:
            self._used_pct[report.id] = 0.0
        elif not (report.charging or old.report.charging) and report.battery < old.report.battery:
            self._used_pct[report.id] += old.report.battery - report.battery
        now = self._clock()
        if report.localised:
            self._lost_since.pop(report.id, None)
        else:
            self._lost_since.setdefault(report.id, now)
        self._robots[report.id] = RobotEntry(report, now)
        return old is None

    def battery_used_pct(self, robot_id: str) -> float:
        """Battery percent points the robot used since it was first seen: every drop between two states
        while not charging (a rise, or any change while charging, counts nothing). 0 for an unknown robot."""
        return self._used_pct.get(robot_id, 0.0)

    def ids(self) -> list[str]:
        """Robots that have reported (registered or not)."""
        return sorted(self._robots)

    def localised(self, robot_id: str) -> bool:
        return robot_id not in self._lost_since

    def lost_for(self, robot_id: str) -> float:
        """Wall seconds the robot has been reporting that it lost its localisation (0 when localised)."""
        since = self._lost_since.get(robot_id)
        return 0.0 if since is None else self._clock() - since

    def entry(self, robot_id: str) -> RobotEntry:
        try:
            return self._robots[robot_id]
        except KeyError:
            raise NotFound(f"unknown robot {robot_id!r}", field="robot_id") from None

    def online(self, robot_id: str, now: float | None = None) -> bool:
        """Whether the robot reported within the robot timeout, as of `now` (wall seconds; default the clock)."""
        entry = self._robots.get(robot_id)
        return entry is not None and (self._clock() if now is None else now) - entry.last_seen <= self.timeout_s

    def mode(self, robot_id: str) -> RobotMode:
        return self.entry(robot_id).report.mode if self.online(robot_id) else RobotMode.OFFLINE

    def available(self) -> list[RobotReport]:
        """Registered, online and localised robots that no mission holds, idle or charging."""
        return [
            e.report for rid, e in sorted(self._robots.items())
            if rid in self.registered and rid not in self.assignments and self.online(rid)
            and e.report.mode in _FREE_MODES and e.report.localised
        ]

    def public(self, robot_id: str, now: float | None = None) -> dict[str, Any]:
        """The robot as the API answers it: RobotPublic's fields, in its order and with the types its validation
        gives them (floats as floats, `last_seen` a datetime), online as of `now` (wall seconds): what serialises
        to the bytes RobotPublic's serializer writes, without building and validating a model per robot (a list
        of a hundred robots spent most of its time there). NotFound for a robot neither registered, announced nor
        reporting."""
        if now is None:
            now = self._clock()
        entry = self._robots.get(robot_id)
        name, adapter, kind, model = self.registered.get(robot_id, (robot_id, "", "", ""))
        adapter = adapter or self.adapter_of.get(robot_id, "")
        registration = "registered" if robot_id in self.registered else "unregistered"
        if entry is None:  # registered, or announced (e.g. a Nav2 namespace), but no state received yet
            if robot_id not in self.registered and robot_id not in self.adapter_of:
                raise NotFound(f"unknown robot {robot_id!r}", field="robot_id")
            return {"id": robot_id, "name": name, "kind": kind, "model": model, "adapter": adapter,
                    "registration": registration, "mode": str(RobotMode.OFFLINE), "localisation": "unknown",
                    "pose": None, "velocity": None, "battery": None,
                    "current_mission_id": self.assignments.get(robot_id), "last_seen": None, "errors": [],
                    "stamp": None, "wall_time": None}
        r = entry.report
        online = self.online(robot_id, now)
        return {
            "id": robot_id, "name": name, "kind": r.kind, "model": r.model, "adapter": adapter,
            "registration": registration,
            "mode": str(r.mode if online else RobotMode.OFFLINE),
            "localisation": "ok" if r.localised else "lost",
            "pose": {"x": float(r.x), "y": float(r.y), "yaw": float(r.yaw)},
            "velocity": {"linear": float(r.linear), "angular": float(r.angular)},
            "battery": {"percentage": float(r.battery), "charging": bool(r.charging)},
            "current_mission_id": self.assignments.get(robot_id),
            "last_seen": datetime.fromtimestamp(entry.last_seen, UTC),
            "errors": list(r.errors),
            "stamp": None if r.stamp is None else float(r.stamp),
            "wall_time": None if r.wall_time is None else float(r.wall_time),
        }

    def publics(self) -> list[dict[str, Any]]:
        """`public` of every robot that reported, every registered one and every one that announced itself (those
        that never reported a state: offline, no pose), online as of one reading of the clock."""
        now = self._clock()
        return [self.public(rid, now) for rid in sorted(set(self._robots) | set(self.registered)
                                                        | set(self.adapter_of))]

    def view(self, robot_id: str) -> dict[str, Any]:
        """`public` with `last_seen` as ISO 8601 text: the robot's state as the telemetry stream sends it."""
        out = self.public(robot_id)
        if out["last_seen"] is not None:
            out["last_seen"] = out["last_seen"].isoformat()
        return out
