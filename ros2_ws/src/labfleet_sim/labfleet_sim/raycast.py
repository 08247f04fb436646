"""2D lidars of many robots cast in one vectorised pass (pure Python, numpy).

For every robot, the wall edges and discs (other robots, pedestrians) within its lidar's reach are paired with it;
each pair is tested only against the rays whose angles fall within what it subtends seen from the robot, and the
edges of a convex obstacle facing away from a robot outside it are left out
(the ray meets the facing side first). The hit test of a ray with an edge or a disc is the same arithmetic as one
robot's scan always was (labfleet_sim.reference keeps that scan), so the ranges agree within float rounding (a ray
within rounding of an obstacle's outline may be taken to pass it or to touch it).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from labfleet_sim.fleet_config import LidarSpec
from labfleet_sim.world import World

LIDAR_RANGE_MIN = 0.05  # m: the least range a lidar reports (LaserScan.range_min)
TWO_PI = 2.0 * math.pi


@dataclass(frozen=True)
class RayTable:
    """One lidar model's rays: angles in the robot frame (ray k at angles[0] + k * step), their cos and sin."""

    angles: np.ndarray
    cos: np.ndarray
    sin: np.ndarray
    step: float
    reach: float

    @classmethod
    def of(cls, lidar: LidarSpec) -> RayTable:
        if lidar.fov_deg >= 360:
            angles = np.linspace(-math.pi, math.pi, lidar.samples, endpoint=False)
            step = TWO_PI / lidar.samples
        else:
            fov = math.radians(lidar.fov_deg)
            angles = np.linspace(-fov / 2, fov / 2, lidar.samples)
            step = fov / (lidar.samples - 1)
        return cls(angles, np.cos(angles), np.sin(angles), step, lidar.range_max)


class Lidars:
    """The lidars of a list of robots, their rays laid end to end."""

    def __init__(self, tables: Sequence[RayTable]) -> None:
        self.rays = np.array([len(t.angles) for t in tables], dtype=np.int64)
        self.offset = np.concatenate([[0], np.cumsum(self.rays)[:-1]]).astype(np.int64)
        self.reach = np.array([t.reach for t in tables], dtype=float)
        self.first_angle = np.array([t.angles[0] for t in tables], dtype=float)
        self.step = np.array([t.step for t in tables], dtype=float)
        self.cos = np.concatenate([t.cos for t in tables]) if tables else np.zeros(0)
        self.sin = np.concatenate([t.sin for t in tables]) if tables else np.zeros(0)
        self.uniform = len(set(self.rays.tolist())) <= 1  # one ray count: the flat rays reshape to N x R


@dataclass(frozen=True)
class Discs:
    """Round bodies the lidars see: centres (M x 2), radii, which are people (a person over a lidar blinds it), and
    for each lidar the index of its own robot's disc (-1: none), which it does not see."""

    centres: np.ndarray
    radii: np.ndarray
    person: np.ndarray
    own: np.ndarray


def _convex_orientation(ring: Sequence[tuple[float, float]]) -> float:
    """+1 or -1 (counter-clockwise or clockwise) for a convex ring; 0 for any other (never culled)."""
    pts = np.asarray(ring, dtype=float)
    if len(pts) < 3:
        return 0.0
    e = np.roll(pts, -1, axis=0) - pts
    turns = e[:, 0] * np.roll(e, -1, axis=0)[:, 1] - e[:, 1] * np.roll(e, -1, axis=0)[:, 0]
    if (turns >= 0).all() and (turns > 0).any():
        return 1.0
    if (turns <= 0).all() and (turns < 0).any():
        return -1.0
    return 0.0


class LidarCaster:
    """Casts lidars against a world's static edges and a set of discs; built once per world."""

    def __init__(self, world: World) -> None:
        segs = np.array(world.segments(), dtype=float).reshape(-1, 4)
        self.a = segs[:, 0:2]
        self.d = segs[:, 2:4] - segs[:, 0:2]
        self.len2 = np.maximum((self.d**2).sum(axis=1), 1e-12)
        sides = [len(o.polygon) for o in world.obstacles]
        self.poly_start = np.concatenate([[0], np.cumsum(sides)[:-1]]).astype(np.int64) if sides else np.zeros(0, int)
        self.seg_poly = np.repeat(np.arange(len(sides)), sides)
        orient = np.array([_convex_orientation(o.polygon) for o in world.obstacles], dtype=float)
        self.seg_orient = orient[self.seg_poly] if len(sides) else np.zeros(0)

    def cast(self, x: np.ndarray, y: np.ndarray, yaw: np.ndarray, lidars: Lidars, discs: Discs) -> list[np.ndarray]:
        """Ranges of lidar i at (x[i], y[i]) heading yaw[i] (map frame); inf where nothing is hit."""
        if not len(x):
            return []
        rays = lidars.rays
        cy, sy = np.repeat(np.cos(yaw), rays), np.repeat(np.sin(yaw), rays)
        dx = lidars.cos * cy - lidars.sin * sy  # ray directions in the map frame
        dy = lidars.sin * cy + lidars.cos * sy
        best = np.full(len(dx), np.inf)
        origin = np.stack([x, y], axis=1)
        first_angle = lidars.first_angle + yaw  # of each lidar's ray 0, in the map frame
        self._walls(origin, lidars, first_angle, dx, dy, best)
        blinded = self._discs(origin, lidars, first_angle, dx, dy, best, discs)
        # a person over the lidar (walking into the robot): every ray returns its least range
        best[np.repeat(blinded, rays)] = np.minimum(best[np.repeat(blinded, rays)], LIDAR_RANGE_MIN)
        best[best > np.repeat(lidars.reach, rays)] = np.inf
        if lidars.uniform:
            return list(best.reshape(len(x), -1))
        return np.split(best, lidars.offset[1:])

    @staticmethod
    def _rays_of(pair_lidar: np.ndarray, start: np.ndarray, width: np.ndarray, lidars: Lidars,
                 first_angle: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The rays within each pair's angular interval [start, start + width] (map frame, width < pi): for each
        (pair, ray), the pair's index and the ray's index in the flat ray arrays."""
        step, rays = lidars.step[pair_lidar], lidars.rays[pair_lidar]
        lo = np.mod(start - first_angle[pair_lidar], TWO_PI) / step  # in rays from ray 0, within one turn
        hi = lo + width / step
        turn = TWO_PI / step  # rays in a turn (360-degree lidars: exactly `rays`)
        pieces = []
        for shift in (0.0, turn):  # the interval, and its part past a full turn, which wraps round to ray 0
            first = np.maximum(np.ceil(lo - shift), 0).astype(np.int64)
            last = np.minimum(np.floor(hi - shift), rays - 1).astype(np.int64)
            pieces.append((first, np.maximum(last - first + 1, 0)))
        first = np.concatenate([pieces[0][0], pieces[1][0]])
        count = np.concatenate([pieces[0][1], pieces[1][1]])
        pair = np.tile(np.arange(len(pair_lidar)), 2)
        total = int(count.sum())
        starts = np.cumsum(count) - count
        ray = np.repeat(lidars.offset[pair_lidar[pair]] + first - starts, count) + np.arange(total)
        return np.repeat(pair, count), ray

    def _walls(self, origin: np.ndarray, lidars: Lidars, first_angle: np.ndarray, dx: np.ndarray, dy: np.ndarray,
               best: np.ndarray) -> None:
        if not len(self.a):
            return
        q = self.a[None, :, :] - origin[:, None, :]  # N x S x 2: edge starts relative to each lidar
        qx, qy = q[..., 0], q[..., 1]
        ex, ey = self.d[:, 0], self.d[:, 1]
        t_near = np.clip(-(qx * ex + qy * ey) / self.len2, 0.0, 1.0)
        nx, ny = qx + t_near * ex, qy + t_near * ey
        keep = nx * nx + ny * ny <= (lidars.reach * lidars.reach)[:, None]
        t_num = qx * ey - qy * ex  # N x S: distance along a ray times its denominator (0: the lidar is on the line)
        facing = t_num * self.seg_orient  # > 0: the lidar is strictly inside the edge's line (a back face)
        if len(self.poly_start):
            outside = np.logical_or.reduceat(facing < 0, self.poly_start, axis=1)[:, self.seg_poly]
            keep &= ~(outside & (facing > 0))
        keep &= t_num != 0.0
        li, si = np.nonzero(keep)
        if not len(li):
            return
        pqx, pqy, pex, pey = qx[li, si], qy[li, si], ex[si], ey[si]
        phi_a = np.arctan2(pqy, pqx)
        span = np.mod(np.arctan2(pqy + pey, pqx + pex) - phi_a + math.pi, TWO_PI) - math.pi
        pid, ray = self._rays_of(li, np.where(span >= 0, phi_a, phi_a + span), np.abs(span), lidars, first_angle)
        with np.errstate(divide="ignore", invalid="ignore"):  # (as the scan of before rounds it)
            t = t_num[li, si][pid] * (1.0 / (dx[ray] * pey[pid] - dy[ray] * pex[pid]))
        t[~(t > 0)] = np.inf  # (a ray along the edge, seen edge on)
        np.minimum.at(best, ray, t)

    def _discs(self, origin: np.ndarray, lidars: Lidars, first_angle: np.ndarray, dx: np.ndarray, dy: np.ndarray,
               best: np.ndarray, discs: Discs) -> np.ndarray:
        """Hits on the discs into `best`; returns which lidars a person stands over (a disc over a lidar hides
        nothing from it otherwise: every ray leaves it)."""
        n, reach = len(origin), lidars.reach
        if not len(discs.radii):
            return np.zeros(n, dtype=bool)
        c = discs.centres[None, :, :] - origin[:, None, :]  # N x M x 2
        cx, cy = c[..., 0], c[..., 1]
        c2 = cx * cx + cy * cy
        dist = np.sqrt(c2)
        r = discs.radii
        keep = dist - r[None, :] <= reach[:, None]
        own = discs.own >= 0
        keep[np.flatnonzero(own), discs.own[own]] = False
        inside = c2 < (r * r)[None, :]
        blinded = (keep & inside & discs.person[None, :]).any(axis=1)
        li, mi = np.nonzero(keep & ~inside)
        if not len(li):
            return blinded
        pr = r[mi]
        half = np.arcsin(np.minimum(pr / dist[li, mi], 1.0))
        pid, ray = self._rays_of(li, np.arctan2(cy[li, mi], cx[li, mi]) - half, 2 * half, lidars, first_angle)
        gx, gy = cx[li, mi][pid], cy[li, mi][pid]
        proj = dx[ray] * gx + dy[ray] * gy
        gap2 = (pr * pr)[pid] - (c2[li, mi][pid] - proj * proj)
        with np.errstate(invalid="ignore"):
            hit = proj - np.sqrt(gap2)
        hit[~(hit > 0)] = np.inf  # (nan: a ray within rounding of the tangent that misses)
        np.minimum.at(best, ray, hit)
        return blinded
