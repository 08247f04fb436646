"""Path following for a differential-drive robot: regulated pure pursuit along a polyline of waypoints,
with speed/acceleration limits, per-segment speed caps (braking ahead of a slower segment, so the robot
enters it within its cap), slowing to stop at the end of what is released, and obstacle slow-down
and stops from the lidar. Pure Python: the agent node and lock-step research runs use the same code."""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum

import numpy as np


@dataclass(frozen=True)
class Limits:
    max_speed: float = 1.0
    max_accel: float = 0.6
    max_yaw_rate: float = 1.5
    max_yaw_accel: float = 3.0
    radius: float = 0.3


@dataclass(frozen=True)
class Tuning:
    # The lookahead grows with speed: `lookahead_time` seconds of travel, from `lookahead` (at low speed, by
    # doors and on spurs) up to `max_lookahead`. A fixed 0.6 m at 1.5 m/s steers so hard that a few tenths
    # of a second of lag (odometry, scan and commands in a loaded ROS lab) make the robot weave across its
    # sidewalk into the wall beside it. Bends are followed as closely as before: the lookahead point never
    # passes a stop-and-turn corner (see sharp_turn) or the end of what is released, it stays within
    # `lookahead` of a gentler bend ahead, and past such a bend the lookahead grows back as the robot
    # leaves it behind.
    lookahead: float = 0.6  # m
    lookahead_time: float = 1.5  # s
    max_lookahead: float = 2.25  # m
    goal_tolerance: float = 0.08  # m
    yaw_tolerance: float = 0.08  # rad
    rotate_in_place: float = 0.9  # rad: turn on the spot above this heading error
    heading_gain: float = 2.5
    slow_distance: float = 1.5  # m: obstacles closer than this slow the robot
    stop_margin: float = 0.25  # m beyond the footprint: obstacles closer stop the robot
    corridor_margin: float = 0.1  # m beside the footprint that counts as "in the way"
    creep_speed: float = 0.05  # m/s: the least speed while still approaching
    sharp_turn: float = 0.6  # rad: the robot stops and turns on the spot at waypoints turning more


STOP_BAND = 0.05  # m: this close to the stop distance counts as stopped for the obstacle
BEND = 0.02  # rad: the path bends at a waypoint that turns it more than this


class Status(StrEnum):
    DRIVING = "driving"
    TURNING = "turning"
    WAITING_OBSTACLE = "waiting_obstacle"
    WAITING_RELEASE = "waiting_release"
    ARRIVED = "arrived"


def wrap(angle: float) -> float:
    return math.atan2(math.sin(angle), math.cos(angle))


def _toward(current: float, target: float, step: float) -> float:
    return current + max(-step, min(step, target - current))


def obstacle_distance(ranges: np.ndarray, angles: np.ndarray, limits: Limits, tuning: Tuning) -> float:
    """Distance ahead to the nearest return inside the robot's forward corridor (inf if clear)."""
    if ranges.size == 0:
        return math.inf
    ok = np.isfinite(ranges)
    xs = ranges[ok] * np.cos(angles[ok])
    ys = ranges[ok] * np.sin(angles[ok])
    ahead = (xs > 0.0) & (np.abs(ys) < limits.radius + tuning.corridor_margin)
    return float(xs[ahead].min()) if ahead.any() else math.inf


class PathFollower:
    def __init__(self, limits: Limits, tuning: Tuning | None = None) -> None:
        self.limits = limits
        self.tuning = tuning or Tuning()
        self.points: list[tuple[float, float]] = []
        self.speeds: list[float] = []
        self.final_yaw: float | None = None
        self.released = 0  # number of path points the robot may drive to (index 0 is the start)
        self._seg = 0
        self.v = 0.0
        self.w = 0.0

    def set_path(self, start: tuple[float, float], waypoints: list[tuple[float, float]],
                 speeds: list[float], final_yaw: float | None, released: int) -> None:
        """Path from the robot's position through the waypoints; `released` waypoints may be driven."""
        self.points = [start, *waypoints]
        self.speeds = [0.0, *speeds]
        self.final_yaw = final_yaw
        self.released = len(self.points) if released <= 0 else min(len(self.points), released + 1)
        self._seg = 0

    def release(self, released_waypoints: int) -> None:
        self.released = max(self.released, min(len(self.points), released_waypoints + 1))

    # -- geometry along the path ----------------------------------------------------------------
    def _turn(self, k: int) -> float:
        """How much the path turns at point k (rad, 0 at its ends)."""
        if k <= 0 or k >= len(self.points) - 1:
            return 0.0
        (ax, ay), (bx, by), (cx, cy) = self.points[k - 1], self.points[k], self.points[k + 1]
        return abs(wrap(math.atan2(cy - by, cx - bx) - math.atan2(by - ay, bx - ax)))

    def _sharp(self, k: int) -> bool:
        """Whether the path turns sharply at point k (a stop-and-turn corner)."""
        return self._turn(k) > self.tuning.sharp_turn

    def _next_stop(self, seg: int) -> int:
        """The first point after segment `seg` where the robot must stop: a sharp corner or the release end."""
        end = self._segments_end()
        return next((k for k in range(seg + 1, end) if self._sharp(k)), end)

    def _segments_end(self) -> int:
        """Index of the last released path point."""
        return max(1, self.released) - 1

    def _project(self, x: float, y: float) -> tuple[int, float]:
        """(segment, fraction) of the closest path point, searching a few segments on from the last."""
        hi = max(self._seg, min(self._segments_end() - 1, self._seg + 2))
        best = (self._seg, 0.0, math.inf)
        for i in range(self._seg, hi + 1):
            (ax, ay), (bx, by) = self.points[i], self.points[i + 1]
            dx, dy = bx - ax, by - ay
            length2 = dx * dx + dy * dy
            t = 0.0 if length2 == 0 else max(0.0, min(1.0, ((x - ax) * dx + (y - ay) * dy) / length2))
            d = math.hypot(ax + t * dx - x, ay + t * dy - y)
            if d < best[2] - 1e-9:
                best = (i, t, d)
        return best[0], best[1]

    def remaining(self, x: float, y: float) -> tuple[float, float]:
        """(distance along the path to the next stop, to the end of the whole path)."""
        if len(self.points) < 2:
            return 0.0, 0.0
        seg, t = self._project(x, y)
        (ax, ay), (bx, by) = self.points[seg], self.points[seg + 1]
        first = math.hypot(bx - (ax + t * (bx - ax)), by - (ay + t * (by - ay)))
        steps = [math.dist(self.points[i], self.points[i + 1]) for i in range(seg + 1, len(self.points) - 1)]
        stop = self._next_stop(seg) - seg - 1
        return first + sum(steps[:stop]), first + sum(steps)

    def lookahead(self) -> float:
        """The lookahead distance at the present (commanded) speed."""
        tun = self.tuning
        return min(max(tun.lookahead, abs(self.v) * tun.lookahead_time), max(tun.max_lookahead, tun.lookahead))

    def _past_bend(self, seg: int, px: float, py: float) -> float:
        """How far along the path the point (px, py) of segment `seg` lies past the last bend the robot drove
        round (inf if it stopped and turned on the spot since, or there is none)."""
        k = seg
        while k > 0 and self._turn(k) <= BEND:
            k -= 1
        if k == 0 or self._sharp(k):
            return math.inf
        return math.dist(self.points[seg], (px, py)) + sum(
            math.dist(self.points[j], self.points[j + 1]) for j in range(k, seg))

    def _lookahead_point(self, x: float, y: float) -> tuple[float, float]:
        seg, t = self._project(x, y)
        end = self._next_stop(seg)
        (ax, ay), (bx, by) = self.points[seg], self.points[seg + 1]
        px, py = ax + t * (bx - ax), ay + t * (by - ay)
        need = min(self.lookahead(), self.tuning.lookahead + self._past_bend(seg, px, py))
        walked = 0.0
        i = seg
        while True:
            nx, ny = self.points[i + 1]
            d = math.hypot(nx - px, ny - py)
            if d >= need or i + 1 >= end:
                if d >= need:
                    f = need / d
                    return px + f * (nx - px), py + f * (ny - py)
                return nx, ny
            need -= d
            walked += d
            if self._turn(i + 1) > BEND:  # past a bend, no farther than the least lookahead would reach
                need = min(need, max(self.tuning.lookahead - walked, 0.0))
                if need <= 0.0:
                    return nx, ny
            px, py = nx, ny
            i += 1

    def _cap_ahead(self, x: float, y: float) -> float:
        """The speed cap here: the current segment's, and low enough to brake (at half the acceleration
        limit, as for a stop) to the cap of each slower segment ahead by the time the robot enters it."""
        lim = self.limits
        decel = 0.5 * lim.max_accel
        k = min(self._seg + 1, len(self.speeds) - 1)
        cap = self.speeds[k] or lim.max_speed
        d = math.dist((x, y), self.points[k])  # to the start of segment k + 1
        reach = lim.max_speed ** 2 / (2 * decel)  # no cap farther than this slows the robot now
        for j in range(k + 1, len(self.speeds)):
            if d > reach:
                break
            if self.speeds[j]:
                cap = min(cap, math.sqrt(self.speeds[j] ** 2 + 2 * decel * d))
            d += math.dist(self.points[j - 1], self.points[j])
        return cap

    # -- control --------------------------------------------------------------------------------
    def compute(
        self, x: float, y: float, yaw: float, dt: float, obstacle: float = math.inf
    ) -> tuple[float, float, Status]:
        """Velocity command (v, w) for this control step, within speed and acceleration limits."""
        lim, tun = self.limits, self.tuning
        if len(self.points) >= 2:
            self._seg = self._project(x, y)[0]
            corner = self._seg + 1
            if self._sharp(corner) and corner < self._segments_end() and \
                    math.dist((x, y), self.points[corner]) < 2 * tun.goal_tolerance:
                self._seg = corner  # reached a stop-and-turn corner: on to the next segment
        goal_x, goal_y = self.points[self._segments_end()]
        at_end = self._segments_end() == len(self.points) - 1
        d_goal = math.hypot(goal_x - x, goal_y - y)
        heading_to_goal = wrap(math.atan2(goal_y - y, goal_x - x) - yaw)
        arrived_here = self._seg >= self._segments_end() - 1 and (
            d_goal < tun.goal_tolerance or (d_goal < 2 * tun.goal_tolerance and abs(heading_to_goal) > math.pi / 2))
        target_v, target_w = 0.0, 0.0
        if arrived_here or len(self.points) < 2:
            if not at_end:
                status = Status.WAITING_RELEASE
            elif self.final_yaw is not None and abs(wrap(self.final_yaw - yaw)) > tun.yaw_tolerance:
                status = Status.TURNING
                err = wrap(self.final_yaw - yaw)
                target_w = max(-lim.max_yaw_rate, min(lim.max_yaw_rate, tun.heading_gain * err))
                target_w = math.copysign(max(abs(target_w), 0.15), err)
            else:
                status = Status.ARRIVED
        else:
            lx, ly = self._lookahead_point(x, y)
            alpha = wrap(math.atan2(ly - y, lx - x) - yaw)
            to_stop, _ = self.remaining(x, y)
            v_max = min(lim.max_speed, self._cap_ahead(x, y))
            v_max = min(v_max, math.sqrt(2 * 0.5 * lim.max_accel * max(to_stop - tun.goal_tolerance / 2, 0.0))
                        + tun.creep_speed)
            status = Status.DRIVING
            stop_at = lim.radius + tun.stop_margin
            if obstacle > to_stop + lim.radius + tun.goal_tolerance:
                obstacle = math.inf  # beyond where the robot stops anyway (a wall behind a goal)
            if obstacle < tun.slow_distance:
                free = max(obstacle - stop_at, 0.0)
                v_max = min(v_max, lim.max_speed * free / (tun.slow_distance - stop_at),
                            math.sqrt(2 * 0.8 * lim.max_accel * free))
                if obstacle <= stop_at + STOP_BAND:
                    v_max = 0.0
                    status = Status.WAITING_OBSTACLE
            if abs(alpha) > tun.rotate_in_place or (v_max == 0.0 and abs(alpha) > tun.yaw_tolerance):
                # a sharp heading error, or stopped for an obstacle (e.g. a wall beside a turn): turn on
                # the spot (the round footprint sweeps nothing new) toward the path
                target_v = 0.0
                target_w = math.copysign(min(lim.max_yaw_rate, tun.heading_gain * abs(alpha)), alpha)
                if status is Status.DRIVING:
                    status = Status.TURNING
            else:
                target_v = v_max * max(0.3, math.cos(alpha))
                lookahead = max(math.hypot(lx - x, ly - y), 1e-3)
                curvature = 2.0 * math.sin(alpha) / lookahead
                target_w = target_v * curvature
                if abs(target_w) > lim.max_yaw_rate:
                    target_v *= lim.max_yaw_rate / abs(target_w)
                    target_w = math.copysign(lim.max_yaw_rate, target_w)
        self.v = _toward(self.v, target_v, lim.max_accel * dt)
        self.w = _toward(self.w, target_w, lim.max_yaw_accel * dt)
        return self.v, self.w, status

    def slew(self, target_v: float, target_w: float, dt: float) -> tuple[float, float]:
        """A command toward (target_v, target_w) within the acceleration limits (for motions off the path, e.g.
        backing straight out of a dock)."""
        self.v = _toward(self.v, target_v, self.limits.max_accel * dt)
        self.w = _toward(self.w, target_w, self.limits.max_yaw_accel * dt)
        return self.v, self.w

    def stop(self, dt: float | None = None) -> tuple[float, float]:
        """Brake: within the deceleration limit when dt is given, at once otherwise (e-stop)."""
        if dt is None:
            self.v = self.w = 0.0
        else:
            self.v = _toward(self.v, 0.0, self.limits.max_accel * dt)
            self.w = _toward(self.w, 0.0, self.limits.max_yaw_accel * dt)
        return self.v, self.w
