"""A run of one or more missions, as recorded or as re-simulated: the form both sides of a comparison take."""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass(frozen=True)
class Trajectory:
    """One robot's path: sim seconds and map metres, in time order."""

    t: np.ndarray
    x: np.ndarray
    y: np.ndarray

    @classmethod
    def of(cls, rows: list[tuple[float, float, float]]) -> Trajectory:
        a = np.array(rows, dtype=np.float64).reshape(-1, 3)
        return cls(a[:, 0].copy(), a[:, 1].copy(), a[:, 2].copy())

    def __len__(self) -> int:
        return len(self.t)

    def between(self, start: float, end: float) -> Trajectory:
        keep = (self.t >= start) & (self.t <= end)
        return Trajectory(self.t[keep], self.x[keep], self.y[keep])

    def length_m(self) -> float:
        return float(np.hypot(np.diff(self.x), np.diff(self.y)).sum()) if len(self) > 1 else 0.0

    def identical(self, other: Trajectory) -> bool:
        """Bit for bit the same samples."""
        return all(a.shape == b.shape and a.tobytes() == b.tobytes()
                   for a, b in ((self.t, other.t), (self.x, other.x), (self.y, other.y)))

    def digest(self) -> str:
        """SHA-256 of every sample (t, x, y as little-endian float64): equal digests, bit-identical paths."""
        h = hashlib.sha256()
        for a in (self.t, self.x, self.y):
            h.update(np.ascontiguousarray(a, dtype="<f8").tobytes())
        return h.hexdigest()

    def rows(self, every_s: float = 0.0, origin: float = 0.0) -> list[list[float]]:
        """[t - origin, x, y] rows (JSON-ready), at most one per `every_s` seconds (and always the last)."""
        out: list[list[float]] = []
        last = -math.inf
        n = len(self)
        for i, (t, x, y) in enumerate(zip(self.t.tolist(), self.x.tolist(), self.y.tolist(), strict=True)):
            if t - last >= every_s or i == n - 1:
                out.append([round(t - origin, 3), round(x, 4), round(y, 4)])
                last = t
        return out


@dataclass
class MissionRun:
    """One mission of a run. Times are absolute sim seconds; event times are seconds from `started_s`."""

    mission_id: int
    robot_id: str
    outcome: str  # completed | failed | canceled | paused (held by an e-stop never released) | unfinished
    reason: str = ""
    started_s: float | None = None
    finished_s: float | None = None
    distance_m: float = 0.0
    energy_wh: float | None = None
    events: list[dict[str, Any]] = field(default_factory=list)  # {"t", "step_index", "status", "message"}

    @property
    def duration_s(self) -> float | None:
        if self.started_s is None or self.finished_s is None:
            return None
        return self.finished_s - self.started_s

    def summary(self) -> dict[str, Any]:
        return {"mission_id": self.mission_id, "robot_id": self.robot_id, "outcome": self.outcome,
                "reason": self.reason, "duration_s": _round(self.duration_s), "distance_m": _round(self.distance_m),
                "energy_wh": _round(self.energy_wh), "events": self.events}


@dataclass
class Run:
    """Missions run together on one site, and the trajectories of their robots."""

    site: str
    missions: list[MissionRun]
    trajectories: dict[str, Trajectory]
    start_s: float
    end_s: float
    seed: int | None = None
    wall_s: float | None = None  # re-simulations: the wall time it took
    cpu_s: float | None = None  # ... and the CPU time of this process meanwhile
    overrides: dict[str, Any] = field(default_factory=dict)
    injected: list[dict[str, Any]] = field(default_factory=list)  # events applied (pauses, e-stops, slowdowns)
    contacts: list[dict[str, Any]] = field(default_factory=list)

    @property
    def sim_s(self) -> float:
        return self.end_s - self.start_s

    @property
    def speedup(self) -> float | None:
        """Sim seconds per wall second."""
        return self.sim_s / self.wall_s if self.wall_s else None

    def mission(self, mission_id: int) -> MissionRun | None:
        return next((m for m in self.missions if m.mission_id == mission_id), None)

    def summary(self, trajectory_every_s: float = 1.0) -> dict[str, Any]:
        """JSON-ready: every mission, the robots' trajectories (t from the run's start, `start_s` in sim seconds;
        sampled every `trajectory_every_s`), the digest of each whole trajectory and the figures."""
        return {"site": self.site, "seed": self.seed, "overrides": self.overrides, "start_s": _round(self.start_s),
                "sim_s": _round(self.sim_s), "wall_s": _round(self.wall_s), "cpu_s": _round(self.cpu_s),
                "speedup": _round(self.speedup),
                "missions": [m.summary() for m in self.missions], "injected": self.injected,
                "contacts": self.contacts,
                "trajectories": {rid: tr.rows(trajectory_every_s, self.start_s)
                                 for rid, tr in self.trajectories.items()},
                "trajectory_digests": {rid: {"sha256": tr.digest(), "samples": len(tr)}
                                       for rid, tr in self.trajectories.items()}}


def _round(value: float | None, digits: int = 3) -> float | None:
    return None if value is None or not math.isfinite(value) else round(value, digits)
