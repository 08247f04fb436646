"""How a simulated robot knows where it is (REP 105), pure Python: drifting wheel odometry and a localisation
that corrects it now and then, as on a real robot with AMCL.

Per robot (fleet.yaml `localisation`, all zero by default = perfect):
- odometry, `<id>/odom → <id>/base_link`: (0, 0, 0) where the robot spawns; every physics step adds the true
  motion of the step with a distance scale error (1 + e, e drawn once within ±odom_scale_error) and a heading
  drift (d rad per metre driven, drawn once within ±odom_yaw_drift);
- localisation, `<map_frame> → <id>/odom`: every `period_s` of sim time recomputed so that map→odom·odom→base_link
  is the robot's true pose in its own map (the site pose through `map_transform.to_map`) plus Gaussian noise
  (noise_m, noise_yaw); held in between, so the odometry's drift shows until the next correction.

The random draws come from a stream of the robot's own (`robot_rng`: the sim seed and the robot's index), so
the physics' rng and every seeded result made before this module existed stay as they were.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from labfleet_robot.frames import Transform

from labfleet_sim.fleet_config import RobotConfig

ODOMETRY_STREAM = 105  # spawn key of the per-robot streams: apart from the physics' default_rng(seed)
CORRECTION_EPS_S = 1e-9  # a correction falls due at the step its time lands on, whatever the float rounding


def robot_rng(seed: int, index: int) -> np.random.Generator:
    """The random stream of robot `index` (fleet order) of a simulation seeded with `seed`."""
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(ODOMETRY_STREAM, index)))


def _wrap(angle: float) -> float:
    return math.atan2(math.sin(angle), math.cos(angle))


class RobotFrames:
    """One robot's odometry (odom → base_link) and localisation estimate (map → odom, in its own map frame)."""

    def __init__(self, robot: RobotConfig, rng: np.random.Generator, x: float, y: float, yaw: float,
                 now: float = 0.0) -> None:
        """Odometry zero at the site pose (x, y, yaw) where the robot starts; the first correction at `now`."""
        self.robot = robot
        self.map_frame = robot.map_frame
        self.odom_frame = f"{robot.id}/odom"
        self.base_frame = f"{robot.id}/base_link"
        self._rng = rng
        loc = robot.localisation
        self.scale = 1.0 + float(rng.uniform(-loc.odom_scale_error, loc.odom_scale_error))
        self.drift = float(rng.uniform(-loc.odom_yaw_drift, loc.odom_yaw_drift))  # rad per metre driven
        self.x = self.y = self.yaw = 0.0  # odom → base_link
        self.map_to_odom = Transform()
        self.corrected_at = self._next_correction = now
        self.correct(now, x, y, yaw)

    # -- odometry ---------------------------------------------------------------------------------
    def moved(self, distance: float, turned: float) -> None:
        """One physics step: the robot drove `distance` (m, signed) along the mid-step heading and turned by
        `turned` (rad); the odometry sees them through its scale error and drift."""
        if distance == 0.0 and turned == 0.0:
            return
        ds = distance * self.scale
        dyaw = turned + self.drift * abs(distance)
        mid = self.yaw + dyaw / 2
        self.x += ds * math.cos(mid)
        self.y += ds * math.sin(mid)
        self.yaw = _wrap(self.yaw + dyaw)

    @property
    def odom(self) -> Transform:
        """odom → base_link: the odometry pose."""
        return Transform.planar(self.x, self.y, self.yaw)

    # -- localisation -----------------------------------------------------------------------------
    def update(self, now: float, x: float, y: float, yaw: float) -> bool:
        """After a step: correct map → odom from the true site pose (x, y, yaw) when a correction is due.
        True when it corrected."""
        if now + CORRECTION_EPS_S < self._next_correction:
            return False
        self.correct(now, x, y, yaw)
        return True

    def correct(self, now: float, x: float, y: float, yaw: float) -> None:
        """Recompute map → odom now (as AMCL on a new estimate, or on an initial pose after a teleport): the true
        site pose (x, y, yaw) in the robot's own map, with the localisation's noise."""
        loc = self.robot.localisation
        mx, my, myaw = self.robot.map_transform.to_map(x, y, yaw)
        if loc.noise_m > 0:
            mx += float(self._rng.normal(0.0, loc.noise_m))
            my += float(self._rng.normal(0.0, loc.noise_m))
        if loc.noise_yaw > 0:
            myaw += float(self._rng.normal(0.0, loc.noise_yaw))
        self.map_to_odom = Transform.planar(mx, my, myaw) * self.odom.inverse()
        self.corrected_at = now
        self._next_correction = now + loc.period_s

    def map_pose(self) -> tuple[float, float, float]:
        """Where the robot believes it is in its own map frame: (map → odom) · (odom → base_link)."""
        return (self.map_to_odom * self.odom).pose2d()

    def site_pose(self) -> tuple[float, float, float]:
        """The believed pose taken to the site map with the robot's map_transform."""
        return self.robot.map_transform.to_site(*self.map_pose())


class FleetOdometry:
    """RobotFrames.moved for a fleet at once (the robots' scale errors and drifts are drawn once: kept in arrays)."""

    def __init__(self, frames: Sequence[RobotFrames]) -> None:
        self.frames = list(frames)
        self.scale = np.array([f.scale for f in self.frames], dtype=float)
        self.drift = np.array([f.drift for f in self.frames], dtype=float)

    def moved(self, distance: np.ndarray, turned: np.ndarray) -> None:
        """frames[i] drove distance[i] (m, signed, along the mid-step heading) and turned by turned[i] (rad)."""
        which = np.flatnonzero((distance != 0.0) | (turned != 0.0))
        if not len(which):
            return
        some = [self.frames[i] for i in which.tolist()]
        x = np.array([f.x for f in some])
        y = np.array([f.y for f in some])
        yaw = np.array([f.yaw for f in some])
        d = distance[which]
        ds = d * self.scale[which]
        dyaw = turned[which] + self.drift[which] * np.abs(d)
        mid = yaw + dyaw / 2
        x += ds * np.cos(mid)
        y += ds * np.sin(mid)
        turned_to = (yaw + dyaw).tolist()
        for f, fx, fy, fyaw in zip(some, x.tolist(), y.tolist(), turned_to, strict=True):
            f.x, f.y, f.yaw = fx, fy, _wrap(fyaw)
