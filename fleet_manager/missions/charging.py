"""Chargers: which robot holds which charger, and which idle robots must go and charge."""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field

from fleet_manager.core.navgraph import NavGraph
from fleet_manager.core.robots import RobotReport

OCCUPIED_M = 0.5  # a robot this close to a charger occupies it


@dataclass
class ChargerBook:
    """Reservations: a charger is held by the robot sent to it until that robot leaves for other work."""

    graph: NavGraph
    reserved: dict[str, str] = field(default_factory=dict)  # charger → robot id
    chargers: list[str] = field(init=False)

    def __post_init__(self) -> None:
        self.chargers = sorted(p.name for p in self.graph.places.values() if p.kind == "charger")

    def occupant(self, charger: str, robots: Iterable[RobotReport]) -> str | None:
        place = self.graph.place(charger)
        return next((r.id for r in robots if math.hypot(r.x - place.x, r.y - place.y) <= OCCUPIED_M), None)

    def held_by(self, robot_id: str) -> str | None:
        return next((c for c, r in self.reserved.items() if r == robot_id), None)

    def free_for(self, robot: RobotReport, robots: list[RobotReport]) -> str | None:
        """The nearest charger (navgraph distance) neither reserved for nor occupied by another robot."""
        start, offset = self.graph.nearest_place(robot.x, robot.y)
        best: tuple[float, str] | None = None
        for charger in self.chargers:
            holder = self.reserved.get(charger)
            if holder not in (None, robot.id):
                continue
            occupant = self.occupant(charger, robots)
            if occupant not in (None, robot.id):
                continue
            distance = offset + self.graph.distance(start.name, charger)
            if math.isfinite(distance) and (best is None or distance < best[0]):
                best = (distance, charger)
        return best[1] if best else None

    def reserve(self, charger: str, robot_id: str) -> None:
        self.release(robot_id)
        self.reserved[charger] = robot_id

    def release(self, robot_id: str) -> None:
        for charger in [c for c, r in self.reserved.items() if r == robot_id]:
            del self.reserved[charger]


def needs_charge(robot: RobotReport, threshold_pct: float, book: ChargerBook, robots: list[RobotReport]) -> bool:
    """Idle, below the threshold, and not already on a charger it may use."""
    if robot.battery >= threshold_pct or robot.charging:
        return False
    return not any(book.occupant(c, robots) == robot.id for c in book.chargers)
