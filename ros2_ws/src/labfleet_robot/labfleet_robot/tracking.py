"""Moving objects from a planar lidar: the scan is cut into clusters where neighbouring returns are far apart,
and the small ones (a person, a robot, a cart: not a wall) are followed from scan to scan by their centre on the
map, with a smoothed velocity. Pure numpy, for the agent's safety layer (safety.py): it predicts where a person
will be in the next second or two, so that a robot yields to someone about to cross its path, not only to
someone already standing in it.

Nearest-neighbour association within a gate that grows with the time since the last scan; a track no longer seen
for `forget_s` is dropped. Velocities are in the map frame, so the robot's own motion does not show as the
object's (the caller gives the robot's pose with each scan)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

GAP = 0.2  # m: neighbouring returns farther apart than this start a new cluster
MAX_EXTENT = 1.2  # m: a cluster longer than this is structure (a wall, a shelf), not an object that moves
MIN_POINTS = 3  # returns: fewer are noise or the far, sparse end of a wall (a person 6 m away still gives 3)
GATE = 0.4  # m: an object may be this far from where its track predicted it, plus `max_speed` times the gap
MAX_SPEED = 2.5  # m/s: the fastest a tracked object is taken to move (a running person)
SMOOTHING = 0.5  # weight of a new velocity measurement
MOVING = 0.25  # m/s: slower than this counts as standing
STILL_SPEED = 0.2  # m/s: a scan-to-scan move slower than this keeps an object still (a wall stub's centre drifts
#                    a little as the robot's view of it changes)
SETTLED_S = 2.0  # s: an object still this long is settled (a door jamb, a bin; a person who stands there)


@dataclass
class Track:
    id: int
    x: float
    y: float
    vx: float = 0.0
    vy: float = 0.0
    seen: float = 0.0  # when it was last seen (the caller's clock, s)
    hits: int = 1
    points: np.ndarray = field(default_factory=lambda: np.zeros((0, 2)))  # its returns in the map frame, last scan
    still_since: float = 0.0  # when it last moved (was first seen): see `settled`

    @property
    def speed(self) -> float:
        return math.hypot(self.vx, self.vy)

    @property
    def moving(self) -> bool:
        return self.hits >= 3 and self.speed >= MOVING

    def settled(self, now: float) -> bool:
        """Seen standing still for SETTLED_S: structure or someone standing, not one the tracker may have mixed
        up with a neighbour in a crowd (whose track jumps)."""
        return now - self.still_since >= SETTLED_S


def scan_points(ranges: np.ndarray, angles: np.ndarray, max_range: float = math.inf) -> np.ndarray:
    """The finite returns as points in the robot's frame (N x 2: forward, left), in scan order."""
    ok = np.isfinite(ranges) & (ranges < max_range)
    r, a = ranges[ok], angles[ok]
    return np.column_stack((r * np.cos(a), r * np.sin(a))) if r.size else np.zeros((0, 2))


def to_map(local: np.ndarray, pose: tuple[float, float, float]) -> np.ndarray:
    """Points of the robot's frame (N x 2) in the map frame, the robot at `pose`."""
    if not len(local):
        return np.zeros((0, 2))
    x, y, yaw = pose
    c, s = math.cos(yaw), math.sin(yaw)
    return local @ np.array([[c, s], [-s, c]]) + (x, y)


def clusters(points: np.ndarray) -> list[np.ndarray]:
    """Runs of consecutive points (scan order) no more than GAP apart; the first and last join if they are close
    (a full circle of rays)."""
    if len(points) == 0:
        return []
    steps = np.hypot(*(np.diff(points, axis=0).T)) if len(points) > 1 else np.zeros(0)
    cuts = np.flatnonzero(steps > GAP) + 1
    runs = np.split(points, cuts)
    if len(runs) > 1 and math.dist(points[0], points[-1]) <= GAP:
        runs[0] = np.vstack((runs.pop(), runs[0]))
    return runs


def small(run: np.ndarray) -> bool:
    """Whether a cluster may be an object (a person, a robot, a cart) rather than structure or noise."""
    return len(run) >= MIN_POINTS and bool(np.hypot(*(run.max(axis=0) - run.min(axis=0))) <= MAX_EXTENT)


class Tracker:
    def __init__(self, forget_s: float = 0.6) -> None:
        self.forget_s = forget_s
        self.tracks: list[Track] = []
        self._next = 0

    def update(self, points: np.ndarray, now: float) -> list[Track]:
        """Feed one scan taken at `now`, its returns in the map frame (scan order: `to_map`); the tracks seen in
        it."""
        objects = [run for run in clusters(points) if small(run)]
        free = list(self.tracks)
        seen: list[Track] = []
        for pts in objects:
            cx, cy = pts.mean(axis=0)
            best, best_d = None, math.inf
            for t in free:
                gap = now - t.seen
                px, py = t.x + t.vx * gap, t.y + t.vy * gap
                d = math.hypot(cx - px, cy - py)
                if d < best_d and d <= GATE + MAX_SPEED * gap:
                    best, best_d = t, d
            if best is None:
                track = Track(self._next, float(cx), float(cy), seen=now, points=pts, still_since=now)
                self._next += 1
            else:
                free.remove(best)
                gap = now - best.seen
                if gap > 0:
                    vx, vy = (cx - best.x) / gap, (cy - best.y) / gap
                    if math.hypot(vx, vy) > STILL_SPEED:
                        best.still_since = now
                    k = 1.0 if best.hits == 1 else SMOOTHING
                    best.vx += k * (vx - best.vx)
                    best.vy += k * (vy - best.vy)
                    speed = best.speed
                    if speed > MAX_SPEED:
                        best.vx, best.vy = best.vx * MAX_SPEED / speed, best.vy * MAX_SPEED / speed
                best.x, best.y, best.seen, best.points = float(cx), float(cy), now, pts
                best.hits += 1
                track = best
            seen.append(track)
        self.tracks = seen + [t for t in free if now - t.seen <= self.forget_s]
        return seen
