"""Coordinate frames (REP 105) without tf2_ros: a small transform buffer fed from tf2_msgs/TFMessage.

Robots publish `map → odom` (localisation, e.g. AMCL) and `odom → base_link` (odometry) on /tf, fixed
frames on /tf_static. `TfBuffer.lookup(map, base_link)` chains the newest transform of every edge between
the two frames and says how old the oldest dynamic one is, so a caller can tell a stale localisation
(no map → odom for seconds) from a live one. Pure Python: the agent, the Nav2 stand-in and the fleet
manager's nav2 adapter share it, and it is tested without rclpy.
"""

from __future__ import annotations

import builtins
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum


@dataclass(frozen=True)
class Transform:
    """A rigid transform: translation (x, y, z) and rotation as a unit quaternion (qx, qy, qz, qw)."""

    x: float = 0.0
    y: float = 0.0
    z: float = 0.0
    qx: float = 0.0
    qy: float = 0.0
    qz: float = 0.0
    qw: float = 1.0

    @classmethod
    def planar(cls, x: float, y: float, yaw: float) -> Transform:
        return cls(x, y, 0.0, 0.0, 0.0, math.sin(yaw / 2), math.cos(yaw / 2))

    @property
    def yaw(self) -> float:
        """Rotation about z (the heading of a planar robot)."""
        return math.atan2(2 * (self.qw * self.qz + self.qx * self.qy), 1 - 2 * (self.qy * self.qy + self.qz * self.qz))

    def _rotate(self, px: float, py: float, pz: float) -> tuple[float, float, float]:
        # v' = v + 2 w (q cross v) + 2 q cross (q cross v), q the vector part
        qx, qy, qz, qw = self.qx, self.qy, self.qz, self.qw
        tx, ty, tz = 2 * (qy * pz - qz * py), 2 * (qz * px - qx * pz), 2 * (qx * py - qy * px)
        return (px + qw * tx + (qy * tz - qz * ty), py + qw * ty + (qz * tx - qx * tz),
                pz + qw * tz + (qx * ty - qy * tx))

    def __mul__(self, other: Transform) -> Transform:
        """self ∘ other: `other` expressed in self's parent frame (parent→a times a→b gives parent→b)."""
        rx, ry, rz = self._rotate(other.x, other.y, other.z)
        a, b = self, other
        return Transform(
            self.x + rx, self.y + ry, self.z + rz,
            a.qw * b.qx + a.qx * b.qw + a.qy * b.qz - a.qz * b.qy,
            a.qw * b.qy - a.qx * b.qz + a.qy * b.qw + a.qz * b.qx,
            a.qw * b.qz + a.qx * b.qy - a.qy * b.qx + a.qz * b.qw,
            a.qw * b.qw - a.qx * b.qx - a.qy * b.qy - a.qz * b.qz,
        )

    def inverse(self) -> Transform:
        inv = Transform(0.0, 0.0, 0.0, -self.qx, -self.qy, -self.qz, self.qw)
        x, y, z = inv._rotate(self.x, self.y, self.z)
        return Transform(-x, -y, -z, inv.qx, inv.qy, inv.qz, inv.qw)

    def pose2d(self) -> tuple[float, float, float]:
        return self.x, self.y, self.yaw


@dataclass(frozen=True)
class _Edge:
    parent: str
    transform: Transform  # parent → child
    stamp: float  # seconds; static edges never go stale
    static: bool
    came: float  # when it came, on the buffer's wall clock (monotonic)


@dataclass(frozen=True)
class Lookup:
    transform: Transform  # target → source: the source frame's pose in the target frame
    stamp: float  # the oldest stamp of the dynamic edges on the chain (inf when all are static)
    came: float = math.inf  # when the edge of that oldest stamp came (buffer's wall clock; inf when all static)


class Velocity:
    """A planar body velocity (forward m/s, yaw rate rad/s) from successive transforms of one frame in another
    (odom → base_link: what the robot's odometry integrated), as a reporting figure: a robot's own odometry
    message carries the same twist, but decoding it at the odometry rate only to report a velocity a few times
    a second cost an agent a quarter of its CPU."""

    def __init__(self) -> None:
        self._last: tuple[float, Transform] | None = None
        self.value = (0.0, 0.0)

    def update(self, found: Lookup | None) -> tuple[float, float]:
        """Feed the newest lookup of the frame; the velocity between the last two stamps it had."""
        if found is None or math.isinf(found.stamp):
            return self.value
        last = self._last
        if last is not None and found.stamp <= last[0]:
            return self.value  # no newer transform: the last velocity holds
        self._last = (found.stamp, found.transform)
        if last is not None and found.stamp - last[0] < 1.0:  # after a long gap, start again
            step = last[1].inverse() * found.transform  # the motion in the earlier body frame
            dt = found.stamp - last[0]
            self.value = (step.x / dt, step.yaw / dt)
        elif last is not None:
            self.value = (0.0, 0.0)
        return self.value


class Localisation(StrEnum):
    """Whether a robot knows where it is: its map → base_link chain is there and fresh."""

    OK = "ok"
    MISSING = "missing"  # the two frames are not connected (no transform yet)
    STALE = "stale"  # connected, but the oldest dynamic link is older than the timeout


@dataclass(frozen=True)
class Located:
    status: Localisation
    pose: tuple[float, float, float] | None  # (x, y, yaw) of the source frame in the target frame; None if missing
    age: float  # seconds between now and the chain's oldest dynamic stamp (0 when all static, inf when missing)

    @property
    def ok(self) -> bool:
        return self.status is Localisation.OK


def normalise(frame: str) -> str:
    """tf2 ignores a leading slash in frame ids."""
    return frame[1:] if frame.startswith("/") else frame


class TfBuffer:
    """The newest transform of every parent → child edge (a frame has one parent, as in tf2)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._edges: dict[str, _Edge] = {}
        self._clock = clock  # wall time, for when a transform came

    def set(self, parent: str, child: str, transform: Transform, stamp: float, static: bool = False) -> None:
        child, parent = normalise(child), normalise(parent)
        old = self._edges.get(child)
        if old is not None and not static and not old.static and stamp < old.stamp:
            return  # an older message arriving late never replaces a newer one
        # the same stamp sent again is no news: only a newer transform counts as having come
        same = old is not None and not static and stamp == old.stamp
        self._edges[child] = _Edge(parent, transform, stamp, static, old.came if same and old else self._clock())

    def frames(self) -> builtins.set[str]:
        return set(self._edges) | {e.parent for e in self._edges.values()}

    def _up(self, frame: str) -> list[str]:
        """frame, its parent, its grandparent, ... up to its root."""
        chain = [frame]
        while chain[-1] in self._edges and len(chain) <= len(self._edges) + 1:
            chain.append(self._edges[chain[-1]].parent)
        return chain

    def lookup(self, target: str, source: str) -> Lookup | None:
        """The pose of `source` in `target` (tf2's lookupTransform(target, source)); None when the two frames
        are not connected."""
        target, source = normalise(target), normalise(source)
        up_source, up_target = self._up(source), self._up(target)
        common = next((f for f in up_source if f in set(up_target)), None)
        if common is None:
            return None
        oldest: _Edge | None = None

        def to_ancestor(chain: list[str]) -> Transform:
            nonlocal oldest
            result = Transform()
            for frame in chain[: chain.index(common)]:
                edge = self._edges[frame]
                result = edge.transform * result
                if not edge.static and (oldest is None or edge.stamp < oldest.stamp):
                    oldest = edge
            return result

        common_from_source = to_ancestor(up_source)
        common_from_target = to_ancestor(up_target)
        transform = common_from_target.inverse() * common_from_source
        if oldest is None:
            return Lookup(transform, math.inf)
        return Lookup(transform, oldest.stamp, oldest.came)

    def locate(self, target: str, source: str, now: float, timeout_s: float) -> Located:
        """Where `source` is in `target` at time `now`, and whether that is fresh: STALE when the chain's oldest
        dynamic stamp is more than `timeout_s` before `now` and that link came more than `timeout_s` ago on the
        wall clock (a localisation that stopped coming). A transform that keeps coming late (a busy host, a
        simulation faster than real time, a skewed clock) is not stale."""
        found = self.lookup(target, source)
        if found is None:
            return Located(Localisation.MISSING, None, math.inf)
        age = 0.0 if math.isinf(found.stamp) else max(0.0, now - found.stamp)
        stale = age > timeout_s and self._clock() - found.came > timeout_s
        return Located(Localisation.STALE if stale else Localisation.OK, found.transform.pose2d(), age)

    def transform_pose2d(self, target: str, frame: str, pose: tuple[float, float, float]
                         ) -> tuple[float, float, float] | None:
        """A planar pose given in `frame` expressed in `target` (any age of the transforms, as tf2 with time 0);
        None when the frames are not connected. An empty `frame` counts as `target`."""
        if not normalise(frame) or normalise(frame) == normalise(target):
            return pose
        found = self.lookup(target, frame)
        if found is None:
            return None
        return (found.transform * Transform.planar(*pose)).pose2d()
