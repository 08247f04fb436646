"""Scripted pedestrians: the world's `<actor>`s as discs walking their trajectories (pure Python).

Where a pedestrian is depends on sim time only, so seeded replays see the same crowd. The script plays
as gz-sim plays it: the actor stands on its first waypoint for `delay_start` seconds, then walks its
waypoints (linear in time between them; Gazebo follows the same straight segments with `tension="1"`);
a looping script starts over after its last waypoint's time (the delay is not repeated), a script that
does not loop stays on its last waypoint. Pedestrians do not react to robots.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np

from labfleet_sim.world import Actor

PEDESTRIAN_RADIUS = 0.3  # m: a pedestrian's footprint in the simulator's physics and lidar


class PedestrianPose(NamedTuple):
    name: str
    x: float
    y: float
    yaw: float


def _wrap(angle: float) -> float:
    return math.atan2(math.sin(angle), math.cos(angle))


class Track:
    """One actor's trajectory, ready to be sampled at any sim time."""

    def __init__(self, actor: Actor) -> None:
        self.actor = actor
        self.times = [w.time for w in actor.waypoints]

    def script_time(self, t: float) -> float:
        """Seconds into the trajectory at sim time t."""
        s = t - self.actor.delay_start
        end = self.times[-1]
        if s <= 0 or end <= 0:
            return 0.0
        if self.actor.loop:
            return s % end
        return min(s, end)

    def pose(self, t: float) -> tuple[float, float, float]:
        """x, y, yaw at sim time t: interpolated between the waypoints around the script time."""
        s = self.script_time(t)
        wps = self.actor.waypoints
        i = bisect.bisect_right(self.times, s)
        if i == 0:
            return wps[0].x, wps[0].y, wps[0].yaw
        if i == len(wps):
            return wps[-1].x, wps[-1].y, wps[-1].yaw
        a, b = wps[i - 1], wps[i]
        f = (s - a.time) / (b.time - a.time)
        return a.x + f * (b.x - a.x), a.y + f * (b.y - a.y), _wrap(a.yaw + f * _wrap(b.yaw - a.yaw))


def pose_at(actor: Actor, t: float) -> tuple[float, float, float]:
    """Where an actor is at sim time t (x, y, yaw in the map frame)."""
    return Track(actor).pose(t)


class Crowd:
    """Every pedestrian of a world; positions are computed once per sim time asked for, the last two times kept
    (a physics step asks for the time now, for the scans, and for the end of the step, for contacts, in turn)."""

    def __init__(self, actors: Sequence[Actor]) -> None:
        self.tracks = [Track(a) for a in actors]
        self.names = [a.name for a in actors]
        self._index = {name: i for i, name in enumerate(self.names)}
        self._cache: dict[float, tuple[list[tuple[float, float, float]], np.ndarray]] = {}

    def __len__(self) -> int:
        return len(self.tracks)

    def __contains__(self, name: object) -> bool:
        return name in self._index

    def _at(self, t: float) -> tuple[list[tuple[float, float, float]], np.ndarray]:
        found = self._cache.get(t)
        if found is None:
            poses = [track.pose(t) for track in self.tracks]
            found = (poses, np.array([(x, y) for x, y, _ in poses], dtype=float).reshape(-1, 2))
            if len(self._cache) >= 2:
                del self._cache[next(iter(self._cache))]  # the older of the two
            self._cache[t] = found
        return found

    def describe(self) -> str:
        return f"{len(self.tracks)} actors scripted"

    def advance(self, t: float, dt: float, robots: np.ndarray) -> None:
        """Nothing to do: a script depends on sim time alone (ReactiveCrowd works out its next step here)."""

    def centres(self, t: float) -> np.ndarray:
        """N x 2: every pedestrian's position at sim time t, in the order of `names`."""
        return self._at(t)[1]

    def poses(self, t: float) -> list[PedestrianPose]:
        poses = self._at(t)[0]
        return [PedestrianPose(name, x, y, yaw) for name, (x, y, yaw) in zip(self.names, poses, strict=True)]

    def distance(self, name: str, x: float, y: float, t: float) -> float:
        """Distance from a point to a pedestrian's centre at sim time t."""
        cx, cy = self.centres(t)[self._index[name]]
        return math.hypot(x - cx, y - cy)
