"""The simulator's physics and lidar as they were before robot state moved into arrays (physics.py): every robot
stepped one at a time in Python, every lidar cast on its own. Kept as the reference that the vectorised step and
scans are tested against (tests/labfleet_sim/test_vectorised.py) and measured against (bench/sim_speed.py); nothing
else should use it (pure Python)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from labfleet_sim.fleet_config import FleetConfig, RobotConfig
from labfleet_sim.pedestrians import PEDESTRIAN_RADIUS
from labfleet_sim.people import PeopleSpec
from labfleet_sim.physics import (
    CHARGER_RADIUS_M,
    COMMAND_TIMEOUT_S,
    CONTACT_MARGIN,
    LIDAR_RANGE_MIN,
    Contact,
    Simulator,
)
from labfleet_sim.social import Walkways
from labfleet_sim.world import World


@dataclass
class PlainBody:
    """One robot's mutable state as plain attributes (the Body of before)."""

    config: RobotConfig
    x: float
    y: float
    yaw: float
    battery_wh: float
    v: float = 0.0
    w: float = 0.0
    cmd_v: float = 0.0
    cmd_w: float = 0.0
    cmd_time: float = -math.inf
    distance_m: float = 0.0
    energy_wh: float = 0.0
    speed_factor: float = 1.0
    contacts: set[str] = field(default_factory=set)
    touched_by: set[str] = field(default_factory=set)  # pedestrians overlapping it that walked into it
    charging: bool = False
    charging_allowed: bool = True  # False: it does not charge even on a charger (a VDA 5050 stopCharging)

    @property
    def battery_percentage(self) -> float:
        return 100.0 * max(self.battery_wh, 0.0) / self.config.model.battery_capacity_wh


def _clamp(value: float, limit: float) -> float:
    return max(-limit, min(limit, value))


class ReferenceSimulator(Simulator):
    """The Simulator with the robot-at-a-time step and scan of before (same inputs, same outputs)."""

    bodies: dict[str, PlainBody]  # type: ignore[assignment]

    def __init__(
        self, world: World, fleet: FleetConfig, *, dt: float = 0.02, seed: int = 0,
        chargers: Sequence[tuple[float, float]] = (), people: PeopleSpec | None = None,
        walkways: Walkways | None = None,
    ) -> None:
        super().__init__(world, fleet, dt=dt, seed=seed, chargers=chargers, people=people, walkways=walkways)
        self.bodies = {rid: PlainBody(b.config, b.x, b.y, b.yaw, b.battery_wh) for rid, b in self.bodies.items()}
        segs = np.array(world.segments(), dtype=float).reshape(-1, 4)
        self._seg_a = segs[:, 0:2]
        self._seg_d = segs[:, 2:4] - segs[:, 0:2]
        self._seg_len2 = np.maximum((self._seg_d**2).sum(axis=1), 1e-12)
        self._rays: dict[str, tuple[np.ndarray, np.ndarray]] = {}

    def scans(self, robot_ids: Sequence[str] | None = None) -> dict[str, np.ndarray]:
        return {rid: self.scan(rid) for rid in (self.bodies if robot_ids is None else robot_ids)}

    def _wall_clearance(self, x: float, y: float) -> tuple[float, int]:
        """Distance from a point to the nearest wall edge, and that edge's index."""
        if len(self._seg_a) == 0:
            return math.inf, -1
        p = np.array([x, y])
        t = np.clip(((p - self._seg_a) * self._seg_d).sum(axis=1) / self._seg_len2, 0.0, 1.0)
        nearest = self._seg_a + t[:, None] * self._seg_d
        dist = np.hypot(*(nearest - p).T)
        i = int(np.argmin(dist))
        return float(dist[i]), i

    def _blocked_by(self, body: PlainBody, x: float, y: float) -> list[str]:
        """What the body would overlap at (x, y) while getting closer to it."""
        hits = []
        radius = body.config.model.radius
        clearance, seg = self._wall_clearance(x, y)
        if clearance < radius and clearance < self._wall_clearance(body.x, body.y)[0]:
            hits.append(self._seg_model[seg])
        for other in self.bodies.values():
            if other is body:
                continue
            limit = radius + other.config.model.radius
            new = math.hypot(x - other.x, y - other.y)
            if new < limit and new < math.hypot(body.x - other.x, body.y - other.y):
                hits.append(other.config.id)
        if len(self.crowd):  # where they are at the end of this step; a hit only if the robot's own move closes in
            centres = self.crowd.centres(self.time + self.dt)
            new_d = np.hypot(centres[:, 0] - x, centres[:, 1] - y)
            old_d = np.hypot(centres[:, 0] - body.x, centres[:, 1] - body.y)
            near = (new_d < radius + PEDESTRIAN_RADIUS) & (new_d < old_d)
            hits += [self.crowd.names[i] for i in np.flatnonzero(near)]
        return hits

    def _forget_contacts_of(self, body: PlainBody) -> None:
        """A contact ends once the robot is clear of it again (with a margin, so touching is one contact)."""
        clear = body.config.model.radius + CONTACT_MARGIN
        still = set()
        for other in body.contacts:
            if other in self.bodies:
                o = self.bodies[other]
                if math.hypot(body.x - o.x, body.y - o.y) < clear + o.config.model.radius:
                    still.add(other)
            elif other in self.crowd:
                if self.crowd.distance(other, body.x, body.y, self.time + self.dt) < clear + PEDESTRIAN_RADIUS:
                    still.add(other)
            elif self._wall_clearance(body.x, body.y)[0] < clear:
                still.add(other)
        body.contacts = still

    def _robot_discs(self) -> np.ndarray:
        """K x 6: every robot's x, y, velocity (vx, vy), radius and heading, for the people around them."""
        return np.array([(b.x, b.y, b.v * math.cos(b.yaw), b.v * math.sin(b.yaw), b.config.model.radius, b.yaw)
                         for b in self.bodies.values()], dtype=float).reshape(-1, 6)

    def step(self) -> list[Contact]:
        """Advance every robot (and every reactive pedestrian) by dt; returns the contacts that began in this step."""
        dt = self.dt
        contacts: list[Contact] = []
        if len(self.crowd):
            self.crowd.advance(self.time, dt, self._robot_discs())
        for rid, body in self.bodies.items():
            model = body.config.model
            fresh = self.time - body.cmd_time <= COMMAND_TIMEOUT_S
            target_v = _clamp(body.cmd_v if fresh else 0.0, model.max_speed * body.speed_factor)
            target_w = _clamp(body.cmd_w if fresh else 0.0, model.max_yaw_rate * body.speed_factor)
            if body.battery_wh <= 0:
                target_v = target_w = 0.0
            braking = abs(target_v) < abs(body.v) and target_v * body.v >= 0
            body.v += _clamp(target_v - body.v, (model.max_decel if braking else model.max_accel) * dt)
            body.w += _clamp(target_w - body.w, model.max_yaw_accel * dt)
            mid = body.yaw + body.w * dt / 2
            nx, ny = body.x + body.v * math.cos(mid) * dt, body.y + body.v * math.sin(mid) * dt
            hits = self._blocked_by(body, nx, ny) if body.v != 0.0 else []
            driven = body.v * dt  # signed, along the mid-step heading
            if hits:
                speed = abs(body.v)
                body.v = driven = 0.0
                for other in hits:
                    if other not in body.contacts:
                        closing = self._closing(body.x, body.y, other, nx, ny, speed)
                        contacts.append(Contact(self.time, rid, other, body.x, body.y, body.yaw, "robot", speed,
                                                closing, self._kind_of(other)))
                body.contacts = set(hits)
            else:
                body.distance_m += math.hypot(nx - body.x, ny - body.y)
                body.x, body.y = nx, ny
                if body.contacts:
                    self._forget_contacts_of(body)
            body.yaw = math.atan2(math.sin(body.yaw + body.w * dt), math.cos(body.yaw + body.w * dt))
            frames = self.frames[rid]
            frames.moved(driven, body.w * dt)
            frames.update(self.time + dt, body.x, body.y, body.yaw)
            power = model.idle_power_w + model.drive_power_w * abs(body.v) / model.max_speed
            used = power * dt / 3600.0
            body.battery_wh -= used
            body.energy_wh += used
            body.charging = self._docked(body)
            if body.charging:
                body.battery_wh = min(model.battery_capacity_wh, body.battery_wh + model.charge_power_w * dt / 3600.0)
        if len(self.crowd):
            contacts += self._walked_into()
        self.time += dt
        return contacts

    def _walked_into(self) -> list[Contact]:
        """Pedestrians that came to overlap a robot by their own motion in this step (the robot's own moves into
        them are stopped and reported by step())."""
        out = []
        now, later = self.crowd.centres(self.time), self.crowd.centres(self.time + self.dt)
        for rid, body in self.bodies.items():
            limit = body.config.model.radius + PEDESTRIAN_RADIUS
            d_now = np.hypot(now[:, 0] - body.x, now[:, 1] - body.y)
            d_later = np.hypot(later[:, 0] - body.x, later[:, 1] - body.y)
            touching = {self.crowd.names[i] for i in np.flatnonzero(d_later < limit)}
            for i in np.flatnonzero((d_later < limit) & (d_later < d_now)):
                name = self.crowd.names[i]
                if name not in body.touched_by and name not in body.contacts:
                    out.append(Contact(self.time, rid, name, body.x, body.y, body.yaw, "person", abs(body.v),
                                       float((d_now[i] - d_later[i]) / self.dt), "person"))
            clear = body.config.model.radius + CONTACT_MARGIN + PEDESTRIAN_RADIUS
            body.touched_by = {n for n in body.touched_by | touching
                               if self.crowd.distance(n, body.x, body.y, self.time + self.dt) < clear}
        return out

    def _docked(self, body: PlainBody) -> bool:
        """Docked: standing still within CHARGER_RADIUS_M of a charger's contact point."""
        if not body.charging_allowed or abs(body.v) > 0.02:
            return False
        if body.battery_wh >= body.config.model.battery_capacity_wh and not body.charging:
            return False
        return any(math.hypot(body.x - cx, body.y - cy) <= CHARGER_RADIUS_M for cx, cy in self.chargers)

    def scan(self, robot_id: str) -> np.ndarray:
        """Ranges of the robot's 2D lidar (robot frame angles from scan_angles); inf where nothing is hit.

        Vectorised over rays x wall edges and rays x discs (other robots, pedestrians); edges and discs out
        of range are culled first.
        """
        body = self.bodies[robot_id]
        lidar = body.config.model.lidar
        cos_a, sin_a = self._ray_table(robot_id)
        cy, sy = math.cos(body.yaw), math.sin(body.yaw)
        dx = cos_a * cy - sin_a * sy  # ray directions in the map frame, R
        dy = sin_a * cy + cos_a * sy
        ranges = np.full(len(dx), np.inf)
        reach = lidar.range_max
        if len(self._seg_a):
            q = self._seg_a - (body.x, body.y)  # S x 2, segment starts relative to the robot
            t_near = np.clip(-(q * self._seg_d).sum(axis=1) / self._seg_len2, 0.0, 1.0)
            near = q + t_near[:, None] * self._seg_d
            keep = (near * near).sum(axis=1) <= reach * reach
            q, e = q[keep], self._seg_d[keep]
            if len(q):
                qx, qy, ex, ey = q[:, 0], q[:, 1], e[:, 0], e[:, 1]
                denom = np.outer(dx, ey) - np.outer(dy, ex)  # R x S
                t_num = qx * ey - qy * ex  # S: distance along the ray times denom
                u_num = np.outer(dy, qx) - np.outer(dx, qy)  # R x S: position along the edge times denom
                with np.errstate(divide="ignore", invalid="ignore"):
                    inv = 1.0 / denom
                    t = t_num * inv
                    u = u_num * inv
                valid = (t > 0) & (u >= 0) & (u <= 1)
                ranges = np.where(valid, t, np.inf).min(axis=1)
        c, r = self._discs_around(body)
        if len(c):
            near_discs = np.hypot(c[:, 0], c[:, 1]) - r <= reach
            person = (np.arange(len(c)) >= len(c) - len(self.crowd))[near_discs]
            c, r = c[near_discs], r[near_discs]
            if len(c):
                proj = np.outer(dx, c[:, 0]) + np.outer(dy, c[:, 1])  # R x N
                gap2 = (r * r)[None, :] - ((c * c).sum(axis=1)[None, :] - proj * proj)
                with np.errstate(invalid="ignore"):
                    hit = proj - np.sqrt(gap2)
                hit = np.where((gap2 >= 0) & (hit > 0), hit, np.inf).min(axis=1)
                if (person & ((c * c).sum(axis=1) < r * r)).any():  # a person over the lidar (walking into the
                    hit = np.full(len(dx), LIDAR_RANGE_MIN)  # robot) blinds it: every ray returns its least range
                ranges = np.minimum(ranges, hit)
        return np.where(ranges <= reach, ranges, np.inf)

    def _discs_around(self, body: PlainBody) -> tuple[np.ndarray, np.ndarray]:
        """Centres relative to the body (N x 2) and radii of the other robots and of the pedestrians."""
        others = [o for o in self.bodies.values() if o is not body]
        c = np.array([(o.x - body.x, o.y - body.y) for o in others], dtype=float).reshape(-1, 2)
        r = np.array([o.config.model.radius for o in others], dtype=float)
        if len(self.crowd):
            c = np.vstack([c, self.crowd.centres(self.time) - (body.x, body.y)])
            r = np.concatenate([r, np.full(len(self.crowd), PEDESTRIAN_RADIUS)])
        return c, r

    def _ray_table(self, robot_id: str) -> tuple[np.ndarray, np.ndarray]:
        """cos and sin of the lidar's ray angles in the robot frame (cached per robot)."""
        table = self._rays.get(robot_id)
        if table is None:
            angles = self.scan_angles(robot_id)
            table = self._rays[robot_id] = (np.cos(angles), np.sin(angles))
        return table
