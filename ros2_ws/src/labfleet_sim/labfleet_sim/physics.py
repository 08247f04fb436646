"""The built-in simulator's physics: planar differential-drive robots among static walls and pedestrians
(pure Python).

Robot state lives in arrays (bodies.py) and a step moves the whole fleet at once: walls are looked up in a grid
of the floor, other robots through a KD-tree of the robots close enough to touch in this step, and only the few
robots that might touch something are then resolved one by one, in fleet order, as the step always did (a robot
meets the robots before it where they moved to). `scans()` casts every lidar in one vectorised pass (raycast.py).
labfleet_sim.reference keeps the robot-at-a-time step and scan that this replaced, for the tests that compare them.

Fixed step, seeded, deterministic: the same commands give the same trajectories (scripted pedestrians walk
as a function of sim time alone, see pedestrians.py; reactive ones, social.py, are stepped here with seeded
randomness). The ROS node (sim_node.py) wraps it; benchmarks and
replays may step it directly in lock-step with the agents. Bodies move in the site's `map` frame (the truth);
what each robot believes (odometry from zero at its spawn pose, a localisation in its own map) is in
`Simulator.frames` (odometry.py).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.spatial import cKDTree

from labfleet_sim.bodies import Body, BodyArrays, BodyState
from labfleet_sim.fleet_config import FleetConfig
from labfleet_sim.odometry import FleetOdometry, RobotFrames, robot_rng
from labfleet_sim.pedestrians import PEDESTRIAN_RADIUS, Crowd, PedestrianPose
from labfleet_sim.people import PeopleSpec
from labfleet_sim.raycast import LIDAR_RANGE_MIN, Discs, LidarCaster, Lidars, RayTable
from labfleet_sim.social import ReactiveCrowd, Walkways
from labfleet_sim.walls import WallGrid
from labfleet_sim.world import World

__all__ = ["CHARGER_RADIUS_M", "COMMAND_TIMEOUT_S", "CONTACT_MARGIN", "LIDAR_RANGE_MIN", "Body", "BodyState",
           "Contact", "Every", "Simulator"]

COMMAND_TIMEOUT_S = 0.5
CONTACT_MARGIN = 0.05  # m a robot must back off before a new contact counts as new
CHARGER_RADIUS_M = 0.25  # a robot this close to a charger's contact point, standing still, charges
LIDAR_CACHE = 8  # lidar layouts kept (one per set of robots scanned together)


class Every:
    """Fires once per period of sim time (publishing rates, control periods)."""

    def __init__(self, rate_hz: float) -> None:
        self.period = 1.0 / rate_hz
        self.next = 0.0

    def due(self, now: float) -> bool:
        if now + 1e-9 < self.next:
            return False
        self.next = max(self.next + self.period, now)
        return True


@dataclass(frozen=True)
class Contact:
    time: float
    robot_id: str
    other: str  # another robot's id, the obstacle's model name or the pedestrian's (actor's) name
    x: float
    y: float
    yaw: float
    by: str = "robot"  # robot: its own move closed in; person: a pedestrian walked into it
    robot_speed: float = 0.0  # m/s at the contact (0: the robot stood)
    relative_speed: float = 0.0  # m/s at which the two closed in
    other_kind: str = "obstacle"  # robot | person | obstacle: what `other` is



def _clip(value: np.ndarray, limit: np.ndarray) -> np.ndarray:
    """Each value within ±limit."""
    return np.maximum(-limit, np.minimum(limit, value))


def _atan2(y: np.ndarray, x: np.ndarray) -> np.ndarray:
    """math.atan2 of each pair: numpy's arctan2 rounds some last bits otherwise, and a robot's steering feeds on
    them (the results stay those of the robot-at-a-time step to the bit)."""
    return np.array(list(map(math.atan2, y.tolist(), x.tolist())), dtype=float)


def _hypot(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """math.hypot of each pair (see _atan2)."""
    return np.array(list(map(math.hypot, x.tolist(), y.tolist())), dtype=float)


class Simulator:
    """Steps every robot of a fleet by a fixed dt; `rng` (seeded) is the physics' source of randomness, and
    each robot's odometry and localisation (`frames`) draw from a seeded stream of their own."""

    def __init__(
        self, world: World, fleet: FleetConfig, *, dt: float = 0.02, seed: int = 0,
        chargers: Sequence[tuple[float, float]] = (), people: PeopleSpec | None = None,
        walkways: Walkways | None = None,
    ) -> None:
        self.world = world
        self.chargers = [(float(x), float(y)) for x, y in chargers]
        self._chargers = np.array(self.chargers, dtype=float).reshape(-1, 2)
        self.dt = dt
        self.time = 0.0
        self.rng = np.random.default_rng(seed)
        self.arrays = BodyArrays(fleet.robots)
        self.bodies: dict[str, Body] = {}
        self.frames: dict[str, RobotFrames] = {}
        for index, robot in enumerate(fleet.robots):
            self.bodies[robot.id] = Body(robot, self.arrays, index)
            self.frames[robot.id] = RobotFrames(robot, robot_rng(seed, index), robot.spawn.x, robot.spawn.y,
                                                robot.spawn.yaw)
        self._ids = list(self.bodies)
        self._body_list = list(self.bodies.values())
        self._odometry = FleetOdometry(list(self.frames.values()))
        self._index = {rid: i for i, rid in enumerate(self._ids)}
        self._seg_model = [o.model for o in world.obstacles for _ in o.polygon]
        radius = max((r.model.radius for r in fleet.robots), default=0.0)
        self._walls = WallGrid(np.array(world.segments(), dtype=float), reach=radius + CONTACT_MARGIN + 0.1)
        self._caster = LidarCaster(world)
        self._tables: dict[str, RayTable] = {}
        self._lidars: dict[tuple[str, ...], Lidars] = {}
        self.crowd: Crowd | ReactiveCrowd = Crowd(world.actors)
        if people is not None and not people.scripted_only:
            self.crowd = ReactiveCrowd(world, people, walkways, seed, self._robot_discs())
        clash = sorted(set(self.crowd.names) & set(self.bodies))
        if clash:
            raise ValueError(f"actors {clash} of world {world.name!r} have the ids of robots")

    # -- inputs ---------------------------------------------------------------------------------
    def set_command(self, robot_id: str, v: float, w: float) -> None:
        body = self.bodies[robot_id]
        body.cmd_v, body.cmd_w, body.cmd_time = v, w, self.time

    def set_speed_factor(self, robot_id: str, factor: float) -> None:
        """Slow a robot down (fault injection): its achievable speeds scale by factor (0..1]."""
        self.bodies[robot_id].speed_factor = max(0.0, min(1.0, factor))

    def set_charging_allowed(self, robot_id: str, allowed: bool) -> None:
        """Whether the robot charges when it stands on a charger (it does by default; a VDA 5050 vehicle stops
        charging on stopCharging until startCharging)."""
        self.bodies[robot_id].charging_allowed = allowed

    def set_pose(self, robot_id: str, x: float, y: float, yaw: float) -> None:
        """Put a robot somewhere else (site frame). Its wheels did not turn, so its odometry stays; its
        localisation is corrected at once, as a real robot's on an initial pose."""
        body = self.bodies[robot_id]
        body.x, body.y, body.yaw, body.v, body.w = x, y, yaw, 0.0, 0.0
        body.contacts.clear()
        self.frames[robot_id].correct(self.time, x, y, yaw)

    # -- outputs --------------------------------------------------------------------------------
    def state(self, robot_id: str) -> BodyState:
        b = self.bodies[robot_id]
        return BodyState(robot_id, b.x, b.y, b.yaw, b.v, b.w, b.battery_percentage, b.distance_m, b.energy_wh,
                         b.charging)

    def pedestrians(self) -> list[PedestrianPose]:
        """Every pedestrian (world actor) where it is now: name, x, y, yaw in the map frame."""
        return self.crowd.poses(self.time)

    def _robot_discs(self) -> np.ndarray:
        """K x 6: every robot's x, y, velocity (vx, vy), radius and heading, for the people around them."""
        a = self.arrays
        return np.column_stack([a.x, a.y, a.v * np.cos(a.yaw), a.v * np.sin(a.yaw), a.radius, a.yaw])

    # -- stepping -------------------------------------------------------------------------------
    def step(self) -> list[Contact]:
        """Advance every robot (and every reactive pedestrian) by dt; returns the contacts that began in this step."""
        dt, a = self.dt, self.arrays
        if len(self.crowd):
            self.crowd.advance(self.time, dt, self._robot_discs())
        fresh = self.time - a.cmd_time <= COMMAND_TIMEOUT_S
        target_v = _clip(np.where(fresh, a.cmd_v, 0.0), a.max_speed * a.speed_factor)
        target_w = _clip(np.where(fresh, a.cmd_w, 0.0), a.max_yaw_rate * a.speed_factor)
        flat = a.battery_wh <= 0
        target_v[flat] = target_w[flat] = 0.0
        braking = (np.abs(target_v) < np.abs(a.v)) & (target_v * a.v >= 0)
        a.v += _clip(target_v - a.v, np.where(braking, a.max_decel, a.max_accel) * dt)
        a.w += _clip(target_w - a.w, a.max_yaw_accel * dt)
        mid = a.yaw + a.w * dt / 2
        nx, ny = a.x + a.v * np.cos(mid) * dt, a.y + a.v * np.sin(mid) * dt
        contacts, moved = self._resolve(nx, ny)
        a.v[~moved] = 0.0
        a.distance_m += np.where(moved, _hypot(nx - a.x, ny - a.y), 0.0)
        a.x[moved], a.y[moved] = nx[moved], ny[moved]
        turned = a.w * dt
        a.yaw[:] = _atan2(np.sin(a.yaw + turned), np.cos(a.yaw + turned))
        self._odometry.moved(a.v * dt, turned)  # signed, along the mid-step heading
        later = self.time + dt
        for f, x, y, yaw in zip(self._odometry.frames, a.x.tolist(), a.y.tolist(), a.yaw.tolist(), strict=True):
            f.update(later, x, y, yaw)
        used = (a.idle_power_w + a.drive_power_w * np.abs(a.v) / a.max_speed) * dt / 3600.0
        a.battery_wh -= used
        a.energy_wh += used
        a.charging[:] = self._on_charger()
        a.battery_wh[:] = np.where(a.charging, np.minimum(a.capacity_wh, a.battery_wh + a.charge_power_w * dt / 3600.0),
                                   a.battery_wh)
        if len(self.crowd):
            contacts += self._walked_into()
        self.time += dt
        return contacts

    def _resolve(self, nx: np.ndarray, ny: np.ndarray) -> tuple[list[Contact], np.ndarray]:
        """The contacts that began and which robots make their move to (nx, ny): a move that closes in on a wall, a
        robot or a person it would overlap is stopped; a robot clear again forgets its contacts. Only the robots
        near something are taken one by one, in fleet order: one meets the robots before it where they moved to."""
        a, n = self.arrays, len(self._ids)
        moving = a.v != 0.0
        clear, seg = self._walls.nearest(np.column_stack([np.concatenate([nx, a.x]), np.concatenate([ny, a.y])]))
        new_clear, new_seg, old_clear = clear[:n], seg[:n], clear[n:]
        wall = moving & (new_clear < a.radius) & (new_clear < old_clear)
        people = np.zeros((n, 0), dtype=bool)
        if len(self.crowd):  # where they are at the end of this step; a hit only if the robot's own move closes in
            later = self.crowd.centres(self.time + self.dt)
            new_d = np.hypot(later[None, :, 0] - nx[:, None], later[None, :, 1] - ny[:, None])
            old_d = np.hypot(later[None, :, 0] - a.x[:, None], later[None, :, 1] - a.y[:, None])
            people = moving[:, None] & (new_d < a.radius[:, None] + PEDESTRIAN_RADIUS) & (new_d < old_d)
        partners: dict[int, list[int]] = {}
        if n > 1 and moving.any():
            reach = 2 * float(a.radius.max()) + 2 * float(np.abs(a.v).max()) * self.dt + 1e-6
            pairs = cKDTree(np.column_stack([a.x, a.y])).query_pairs(reach, output_type="ndarray")
            for i, j in pairs.tolist():
                if moving[i]:
                    partners.setdefault(i, []).append(j)
                if moving[j]:
                    partners.setdefault(j, []).append(i)
        busy = set(np.flatnonzero(wall | people.any(axis=1)).tolist()) | set(partners)
        busy |= {i for i, body in enumerate(self._body_list) if body.contacts}
        moved = np.ones(n, dtype=bool)
        contacts: list[Contact] = []
        for i in sorted(busy):
            body = self.bodies[self._ids[i]]
            hits = []
            if moving[i]:
                if wall[i]:
                    hits.append(self._seg_model[new_seg[i]])
                hits += self._robots_hit(i, sorted(partners.get(i, ())), nx, ny, moved)
                hits += [self.crowd.names[p] for p in np.flatnonzero(people[i])]
            if hits:
                speed = abs(body.v)
                for other in hits:
                    if other not in body.contacts:
                        contacts.append(Contact(self.time, body.config.id, other, body.x, body.y, body.yaw, "robot",
                                                speed, self._closing(body.x, body.y, other, nx[i], ny[i], speed),
                                                self._kind_of(other)))
                body.contacts = set(hits)
                moved[i] = False
            elif body.contacts:
                self._forget_contacts(i, nx, ny, moved)
        return contacts, moved

    def _where(self, j: int, i: int, nx: np.ndarray, ny: np.ndarray, moved: np.ndarray) -> tuple[float, float]:
        """Where robot j is while robot i's move is resolved: moved already if it comes before i and was free to."""
        if j < i and moved[j]:
            return float(nx[j]), float(ny[j])
        return float(self.arrays.x[j]), float(self.arrays.y[j])

    def _robots_hit(self, i: int, others: list[int], nx: np.ndarray, ny: np.ndarray, moved: np.ndarray) -> list[str]:
        a = self.arrays
        x, y, px, py = float(a.x[i]), float(a.y[i]), float(nx[i]), float(ny[i])
        hits = []
        for j in others:
            ox, oy = self._where(j, i, nx, ny, moved)
            new = math.hypot(px - ox, py - oy)
            if new < a.radius[i] + a.radius[j] and new < math.hypot(x - ox, y - oy):
                hits.append(self._ids[j])
        return hits

    def _forget_contacts(self, i: int, nx: np.ndarray, ny: np.ndarray, moved: np.ndarray) -> None:
        """A contact ends once the robot (moved to (nx, ny)) is clear of it again (with a margin, so touching is one
        contact)."""
        body = self.bodies[self._ids[i]]
        x, y = float(nx[i]), float(ny[i])
        clear = body.config.model.radius + CONTACT_MARGIN
        still = set()
        for other in body.contacts:
            if other in self._index:
                j = self._index[other]
                ox, oy = self._where(j, i, nx, ny, moved)
                if math.hypot(x - ox, y - oy) < clear + self.arrays.radius[j]:
                    still.add(other)
            elif other in self.crowd:
                if self.crowd.distance(other, x, y, self.time + self.dt) < clear + PEDESTRIAN_RADIUS:
                    still.add(other)
            elif self._walls.nearest(np.array([[x, y]]))[0][0] < clear:
                still.add(other)
        body.contacts = still

    def _kind_of(self, other: str) -> str:
        return "robot" if other in self.bodies else "person" if other in self.crowd else "obstacle"

    def _closing(self, x: float, y: float, other: str, nx: float, ny: float, speed: float) -> float:
        """How fast the robot's move from (x, y) toward (nx, ny) closes in on `other` (a pedestrian's own motion
        included)."""
        if other not in self.crowd:
            return speed
        before = self.crowd.distance(other, x, y, self.time)
        after = self.crowd.distance(other, float(nx), float(ny), self.time + self.dt)
        return max(0.0, (before - after) / self.dt)

    def _walked_into(self) -> list[Contact]:
        """Pedestrians that came to overlap a robot by their own motion in this step (the robot's own moves into
        them are stopped and reported by step())."""
        a, out = self.arrays, []
        now, later = self.crowd.centres(self.time), self.crowd.centres(self.time + self.dt)
        d_now = np.hypot(now[None, :, 0] - a.x[:, None], now[None, :, 1] - a.y[:, None])
        d_later = np.hypot(later[None, :, 0] - a.x[:, None], later[None, :, 1] - a.y[:, None])
        touching = d_later < (a.radius + PEDESTRIAN_RADIUS)[:, None]
        closing = touching & (d_later < d_now)
        for i, rid in enumerate(self._ids):
            body = self.bodies[rid]
            if not body.touched_by and not touching[i].any():
                continue
            for p in np.flatnonzero(closing[i]):
                name = self.crowd.names[p]
                if name not in body.touched_by and name not in body.contacts:
                    out.append(Contact(self.time, rid, name, body.x, body.y, body.yaw, "person", abs(body.v),
                                       float((d_now[i, p] - d_later[i, p]) / self.dt), "person"))
            clear = body.config.model.radius + CONTACT_MARGIN + PEDESTRIAN_RADIUS
            names = body.touched_by | {self.crowd.names[p] for p in np.flatnonzero(touching[i])}
            body.touched_by = {n for n in names if self.crowd.distance(n, body.x, body.y, self.time + self.dt) < clear}
        return out

    def _on_charger(self) -> np.ndarray:
        """Docked: standing still within CHARGER_RADIUS_M of a charger's contact point (not when charging is not
        allowed, nor when full unless it was charging)."""
        a = self.arrays
        if not len(self._chargers):
            return np.zeros(len(a.x), dtype=bool)
        near = (np.hypot(a.x[:, None] - self._chargers[None, :, 0], a.y[:, None] - self._chargers[None, :, 1])
                <= CHARGER_RADIUS_M).any(axis=1)
        full = (a.battery_wh >= a.capacity_wh) & ~a.charging
        return near & a.charging_allowed & (np.abs(a.v) <= 0.02) & ~full

    # -- sensing --------------------------------------------------------------------------------
    def _table(self, robot_id: str) -> RayTable:
        table = self._tables.get(robot_id)
        if table is None:
            table = self._tables[robot_id] = RayTable.of(self.bodies[robot_id].config.model.lidar)
        return table

    def scan_angles(self, robot_id: str) -> np.ndarray:
        return self._table(robot_id).angles.copy()

    def scan(self, robot_id: str) -> np.ndarray:
        """Ranges of the robot's 2D lidar (robot frame angles from scan_angles); inf where nothing is hit."""
        return self.scans([robot_id])[robot_id]

    def scans(self, robot_ids: Sequence[str] | None = None) -> dict[str, np.ndarray]:
        """The lidar ranges of these robots (default: all), cast together: wall edges, the other robots and the
        pedestrians; inf where nothing is hit."""
        ids = tuple(self._ids if robot_ids is None else robot_ids)
        lidars = self._lidars.get(ids)
        if lidars is None:
            if len(self._lidars) >= LIDAR_CACHE:
                del self._lidars[next(iter(self._lidars))]
            lidars = self._lidars[ids] = Lidars([self._table(rid) for rid in ids])
        a = self.arrays
        which = np.array([self._index[rid] for rid in ids], dtype=np.int64)
        centres, radii = np.column_stack([a.x, a.y]), a.radius
        person = np.zeros(len(radii), dtype=bool)
        if len(self.crowd):
            centres = np.vstack([centres, self.crowd.centres(self.time)])
            radii = np.concatenate([radii, np.full(len(self.crowd), PEDESTRIAN_RADIUS)])
            person = np.concatenate([person, np.ones(len(self.crowd), dtype=bool)])
        ranges = self._caster.cast(a.x[which], a.y[which], a.yaw[which], lidars, Discs(centres, radii, person, which))
        return dict(zip(ids, ranges, strict=True))
