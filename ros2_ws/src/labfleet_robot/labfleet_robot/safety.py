"""The agent's safety layer: the last word on every velocity command, between the path follower and the base.

It needs nothing but the robot's own scan and pose, so it holds when the network or the fleet manager is gone.
Each control step it takes the follower's command (v, w) and may lower it:

- **approach**: the robot's own motion (the command held for `approach_time` seconds) is projected against the
  scan, with the objects the tracker (tracking.py) sees moving carried along at their velocity; the speed is
  capped so that the robot can stop, after `reaction_time` and at `brake_decel`, before its footprint plus
  `stop_margin` reaches anything on that projection. Nothing ahead on the robot's way stops it, whatever
  side it comes from; a person crossing the path a second from now slows it now.
  A return already within CLEARANCE of the footprint stops any motion that closes in on it; motion that opens
  the distance stays allowed (a person walking up behind a robot does not pin it), a round robot may turn on the
  spot (it sweeps nothing new), and it never reverses into anyone (the projection follows the sign of v).
  What the projection meets beyond where the robot stops anyway (`stops_within`) is not on its way.
- **stop zone**: an object (not a wall, nor one standing still for 2 s) with a return within `stop_margin`
  (plus the reaction distance at the speed) of the footprint, ahead of it (in the band it sweeps, widened by
  `stop_margin`), stops it, whatever velocity the tracker gives it (in a crowd it mixes people up, and may miss
  one walking in from the side).
- **slowdown**: an object (a cluster of returns no longer than a person or a cart: not a wall) within the
  slowdown zone ahead (footprint plus `slow_margin` plus `slow_time` seconds of travel, beside the path by
  `slow_margin`) caps the speed at `slow_speed`.
- **caution** (junctions, doorways, lane changes, crossings: the caller says where; the agent from its route,
  which the fleet manager derives from the navgraph) caps the speed at `caution_speed` and grows the margins
  by `caution_scale`. The cap alone is the planned caution level, not an event.

Every stop or slowdown it causes is a `Decision` with its reason, the distance and what it saw (a moving
object or a static return), for the robot's reports and the pilot KPIs. Footprints are round (the fleet's
robot models are), the speed and separation rule follows ISO/TS 15066's idea: the separation must cover the
robot's stopping distance at its speed, and the speed drops as the separation does.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass, fields
from enum import StrEnum

import numpy as np

from labfleet_robot.controller import PathFollower
from labfleet_robot.tracking import Track, Tracker, scan_points, to_map

STEP = 0.1  # s between projected poses
STOPPED = 0.02  # m/s: slower counts as stopped
CLEARANCE = 0.05  # m beside the footprint that counts as touching (a door jamb passes at more)


@dataclass(frozen=True)
class SafetyParams:
    stop_margin: float = 0.2  # m beyond the footprint
    slow_margin: float = 0.3  # m beyond the footprint, ahead and beside
    slow_time: float = 1.0  # s of travel the slowdown zone reaches ahead
    slow_speed: float = 0.5  # m/s with an object in the slowdown zone
    approach_time: float = 1.5  # s of own motion projected
    reaction_time: float = 0.15  # s from a scan to the base braking (a control period and the base's lag)
    brake_decel: float = 1.0  # m/s^2 the layer counts on: no more than the base's braking
    caution_speed: float = 0.5  # m/s at caution places
    caution_scale: float = 1.5  # margins grow by this at caution places
    caution_radius: float = 1.5  # m around a junction where the caution level holds

    @classmethod
    def from_mapping(cls, values: dict[str, float]) -> SafetyParams:
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ValueError(f"safety: unknown parameters {unknown}; known: {sorted(known)}")
        return cls(**{k: float(v) for k, v in values.items()})

    def as_ros(self) -> dict[str, float]:
        """As ROS parameters of the agent (`safety_<name>`)."""
        return {f"safety_{f.name}": float(getattr(self, f.name)) for f in fields(self)}

    @classmethod
    def ros_defaults(cls) -> dict[str, float]:
        return cls().as_ros()

    def problems(self, radius: float, max_decel: float) -> list[str]:
        """What makes these parameters unsafe for a robot of this footprint and braking (empty: none)."""
        out = []
        for f in fields(self):
            value = getattr(self, f.name)
            if not math.isfinite(value) or value < 0:
                out.append(f"{f.name}: {value} must be a finite number, 0 or more")
        if out:
            return out
        if self.stop_margin < 0.05:
            out.append(f"stop_margin: {self.stop_margin} m would leave a stop zone no larger than the footprint "
                       f"({radius} m); at least 0.05 m")
        for name in ("slow_speed", "caution_speed", "approach_time", "brake_decel"):
            if getattr(self, name) <= 0:
                out.append(f"{name}: must be more than 0")
        if self.brake_decel > max_decel:
            out.append(f"brake_decel: {self.brake_decel} m/s^2 is more than the base brakes ({max_decel} m/s^2)")
        if self.caution_scale < 1:
            out.append(f"caution_scale: {self.caution_scale} would make zones smaller at caution places; 1 or more")
        return out


class Measure(StrEnum):
    """What the safety layer did to a command."""

    NONE = "none"
    SLOWDOWN = "slowdown"
    STOP = "stop"


@dataclass(frozen=True)
class Decision:
    v: float
    w: float
    action: Measure = Measure.NONE
    reason: str = ""  # approach | slowdown_zone | caution (and the agent's obstacle_ahead)
    distance: float = math.inf  # m from the footprint to what caused it
    seen: str = ""  # "moving object at 1.3 m/s" | "static return" | ""


class SafetyLayer:
    def __init__(self, radius: float, params: SafetyParams | None = None) -> None:
        self.radius = radius
        self.params = params or SafetyParams()
        self.tracker = Tracker()
        self._points = np.zeros((0, 2))  # the last scan's returns, map frame
        self._ranges: np.ndarray | None = None  # the last scan taken
        self._seen: list[Track] = []  # the objects of the last scan
        self._moving: list[Track] = []
        self._now = 0.0  # when the last scan was taken

    def observe(self, ranges: np.ndarray, angles: np.ndarray, pose: tuple[float, float, float], now: float) -> None:
        """A scan, taken at `pose` (map frame); the scan it last took (the same array), given again, is ignored:
        callers hand over the latest scan each control step."""
        if ranges is self._ranges:
            return
        self._ranges = ranges
        self._points = to_map(scan_points(ranges, angles), pose)
        self._seen = self.tracker.update(self._points, now)
        self._now = now
        self._moving = [t for t in self._seen if t.moving]

    def limit(self, pose: tuple[float, float, float], v: float, w: float, caution: bool = False,
              stops_within: float = math.inf) -> Decision:
        """The command (v, w) made safe at `pose`. `stops_within`: the robot stops anyway after this much travel
        (its goal, a stop-and-turn corner, the end of its release): what the projection meets beyond is not on
        its way (a wall behind a goal, a charger's back wall)."""
        p = self.params
        scale = p.caution_scale if caution else 1.0
        decision = Decision(v, w)
        if caution and abs(v) > p.caution_speed:
            decision = _slow(decision, p.caution_speed, "caution", math.inf, "")
        v = decision.v
        if abs(v) < STOPPED or len(self._points) == 0:
            return decision  # standing, or turning on the spot: a round footprint sweeps nothing new
        x, y, yaw = pose
        hit = self._first_hit(x, y, yaw, v, decision.w)
        if hit is not None and hit[0] > stops_within:
            hit = None
        approach: tuple[float, float, str] | None = None  # (allowed speed, travel, what)
        if hit is not None:
            travel, _, seen = hit
            allowed = _stoppable(travel - p.stop_margin * scale, p.reaction_time, p.brake_decel)
            if allowed < STOPPED:
                return Decision(0.0, decision.w, Measure.STOP, "approach", max(travel, 0.0), seen)
            approach = (allowed, travel, seen)
        zone = min(p.stop_margin * scale + abs(v) * p.reaction_time, stops_within + CLEARANCE)  # (it stops anyway)
        near = self._in_stop_zone(x, y, yaw, v, zone, p.stop_margin * scale)
        if near is not None:
            return Decision(0.0, decision.w, Measure.STOP, "stop_zone", *near)
        if approach is not None and approach[0] < abs(v):
            decision = _slow(decision, approach[0], "approach", approach[1], approach[2])
        reach = p.stop_margin * scale + p.slow_margin * scale + abs(decision.v) * p.slow_time
        ahead = self._ahead(x, y, yaw, decision.v, reach, self.radius + p.slow_margin * scale)
        if ahead is not None and abs(decision.v) > p.slow_speed:
            decision = _slow(decision, p.slow_speed, "slowdown_zone", *ahead)
        return decision

    def guard(self, follower: PathFollower, pose: tuple[float, float, float], v: float, w: float,
              caution: bool = False) -> Decision:
        """The path follower's command (v, w) made safe at `pose` (limit, the robot stopping anyway at the end of the
        follower's path); the follower carries on from what was allowed."""
        decision = self.limit(pose, v, w, caution, stops_within=follower.remaining(pose[0], pose[1])[0])
        follower.v, follower.w = decision.v, decision.w
        return decision

    def _in_stop_zone(self, x: float, y: float, yaw: float, v: float, margin: float, beside: float
                      ) -> tuple[float, str] | None:
        """An object (a cluster no longer than a person or a cart: not a wall) not settled (Track.settled) with a
        return within `margin` of the footprint ahead of it (in the band it sweeps, widened by `beside`, on the side
        it drives to): (its distance, what). In a crowd the tracker may mix people up and miss one walking in from
        the side; this holds whatever velocity it gives them."""
        best: tuple[float, str] | None = None
        for track, fwd, side in self._relative(x, y, yaw, v):
            if track.settled(self._now):
                continue  # structure (a door jamb) or someone standing: the approach check sees to them
            gap = np.hypot(fwd, side) - self.radius
            inside = (fwd > 0) & (gap < margin) & (np.abs(side) < self.radius + beside)
            if inside.any():
                d = float(gap[inside].min())
                if best is None or d < best[0]:
                    best = (max(d, 0.0), _describe(track))
        return best

    def _first_hit(self, x: float, y: float, yaw: float, v: float, w: float) -> tuple[float, float, str] | None:
        """Where the footprint (plus CLEARANCE) first meets a return on the projected motion: (travel to the last
        clear pose, time from now, what it meets); None if it meets nothing within `approach_time`."""
        body = self.radius + CLEARANCE
        near = np.hypot(self._points[:, 0] - x, self._points[:, 1] - y)
        if (near < body).any():  # already that close: only motion that opens the distance is clear
            nx, ny = _advance(x, y, yaw, v, w, np.array([STEP]))[0]
            close = near < body
            if (np.hypot(self._points[close, 0] - nx, self._points[close, 1] - ny) < near[close]).any():
                return 0.0, 0.0, self._what(x, y, 0.0, body)
        steps = math.ceil(self.params.approach_time / STEP)
        ts = STEP * np.arange(1, steps + 1)
        path = _advance(x, y, yaw, v, w, ts)  # K x 2: the projected centres
        reach = body + abs(v) * ts[-1]
        static = self._points[(near >= body) & (near <= reach)]  # those already touching were judged above
        first = steps
        if len(static):
            d = np.hypot(path[:, None, 0] - static[None, :, 0], path[:, None, 1] - static[None, :, 1])  # K x M
            touching = np.flatnonzero(d.min(axis=1) < body)
            first = int(touching[0]) if len(touching) else steps
        for track in self._moving:
            moved = track.points[None, :, :] + ts[:, None, None] * np.array([track.vx, track.vy])  # K x P x 2
            d = np.hypot(moved[:, :, 0] - path[:, None, 0], moved[:, :, 1] - path[:, None, 1])
            touching = np.flatnonzero(d.min(axis=1) < body)
            if len(touching):
                first = min(first, int(touching[0]))
        if first >= steps:
            return None
        t = float(ts[first])
        return abs(v) * (t - STEP), t, self._what(float(path[first, 0]), float(path[first, 1]), t, body)

    def _what(self, px: float, py: float, t: float, body: float) -> str:
        """What the footprint at (px, py) meets t seconds from now: a moving object or a static return."""
        for track in self._moving:
            pts = track.points + np.array([track.vx, track.vy]) * t
            if float(np.min(np.hypot(pts[:, 0] - px, pts[:, 1] - py))) < body + 0.05:
                return _describe(track)
        return "static return"

    def describe_ahead(self, pose: tuple[float, float, float]) -> str:
        """What stands in the band straight ahead of the robot: an object (moving or not) or structure."""
        found = self._ahead(*pose, 1.0, math.inf, self.radius + self.params.slow_margin)
        return found[1] if found is not None else "static return"

    def _ahead(self, x: float, y: float, yaw: float, v: float, reach: float, half_width: float
               ) -> tuple[float, str] | None:
        """The nearest object (not structure) in the band ahead of the motion: (distance from the footprint, what)."""
        best: tuple[float, str] | None = None
        for track, fwd, side in self._relative(x, y, yaw, v):
            inside = (fwd > 0) & (fwd < self.radius + reach) & (np.abs(side) < half_width)
            if inside.any():
                d = float(fwd[inside].min()) - self.radius
                if best is None or d < best[0]:
                    best = (d, _describe(track))
        return best

    def _relative(self, x: float, y: float, yaw: float, v: float) -> Iterator[tuple[Track, np.ndarray, np.ndarray]]:
        """Each object of the last scan with its returns in the frame of the motion from (x, y, yaw): how far ahead
        (in the direction the sign of v drives) and how far to the left of the robot's centre."""
        sign = 1.0 if v >= 0 else -1.0
        c, s = math.cos(yaw), math.sin(yaw)
        for track in self._seen:
            rel = track.points - (x, y)
            yield track, sign * (rel[:, 0] * c + rel[:, 1] * s), -rel[:, 0] * s + rel[:, 1] * c


def _slow(d: Decision, speed: float, reason: str, distance: float, seen: str) -> Decision:
    """d at no more than `speed` (curvature kept); the reason is the nearest cause so far."""
    if abs(d.v) <= speed:
        return d
    k = speed / abs(d.v)
    if d.action is not Measure.NONE and d.distance <= distance:
        return Decision(d.v * k, d.w * k, d.action, d.reason, d.distance, d.seen)
    return Decision(d.v * k, d.w * k, Measure.SLOWDOWN, reason, distance, seen)


def _describe(track: Track) -> str:
    return f"moving object at {track.speed:.1f} m/s" if track.moving else "object"


def _advance(x: float, y: float, yaw: float, v: float, w: float, ts: np.ndarray) -> np.ndarray:
    """Where constant (v, w) takes (x, y) at each time of `ts` (K x 2, exact arcs)."""
    if abs(w) < 1e-6:
        return np.column_stack((x + v * ts * math.cos(yaw), y + v * ts * math.sin(yaw)))
    r = v / w
    yaw2 = yaw + w * ts
    return np.column_stack((x + r * (np.sin(yaw2) - math.sin(yaw)), y - r * (np.cos(yaw2) - math.cos(yaw))))


def _stoppable(distance: float, reaction: float, decel: float) -> float:
    """The highest speed from which a robot stops within `distance`: v * reaction + v^2 / (2 decel) = distance."""
    if distance <= 0:
        return 0.0
    return -decel * reaction + math.sqrt((decel * reaction) ** 2 + 2 * decel * distance)
