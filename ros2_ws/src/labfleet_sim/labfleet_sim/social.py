"""Pedestrians that react: a social-force model (Helbing and Molnar, 1995) in numpy, stepped with the physics.

Each person is driven toward its next target at its own walking speed (relaxation time TAU) and pushed away
from other people (from where the two would be closest within ANTICIPATE_S, as in Zanlungo et al.'s
collision-prediction model, and anisotropic: what is ahead counts more than what is behind), from walls and, unless the
person is distracted, from robots, the robot's next second of motion included (people step aside from a
robot coming at them, round it on the side with room). A person held up in front of a robot that stands
waiting for them steps out of its way after HELD_S (sideways, or back along its way where a wall leaves no
room beside it), as people do for a robot that waits. Distracted people do neither, until they bump into a
robot: then they mind robots for NOTICED_S. People who give way also walk a lane's right-hand side and step
aside early for a robot they are about to meet (labfleet_sim.making_way); the distracted never do. Walls and
robots are also hard limits: a person never passes through a wall, and a person who walks into a robot stops
touching it (the simulator records that contact as the person's).

Who walks: the world's actors (reactive, toward their script's waypoints at the script's pace, or scripted,
exactly as labfleet_sim.pedestrians plays them) and the crowds of people.yaml, walking the navgraph's lanes
between random places of their kinds. No maintained library fits (pysocialforce was last released in 2020
and needs numba; socialforce needs PyTorch); the model is small and tested (tests/labfleet_sim/test_social.py).
Everything random draws from streams seeded by the simulator's seed, so a seeded run replays the same.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import networkx as nx
import numpy as np

from labfleet_sim.making_way import keep_right, make_way
from labfleet_sim.pedestrians import PEDESTRIAN_RADIUS, PedestrianPose, Track
from labfleet_sim.people import CrowdSpec, PeopleSpec
from labfleet_sim.walls import WallGrid
from labfleet_sim.world import Actor, World

DECIDE_S = 0.1  # s: how often people choose their velocity anew (they walk on at it in between)
TAU = 0.5  # s: how fast a person takes up the walking speed and direction they want
PEOPLE_A, PEOPLE_B, LAMBDA = 2.0, 0.3, 0.35  # m/s^2, m, weight of what is behind a person
ANTICIPATE_S = 2.0  # s: how far ahead people judge where they would meet
WALL_A, WALL_B, WALL_REACH_M = 4.0, 0.15, 1.5
ROBOT_A, ROBOT_B, ROBOT_LOOKAHEAD_S = 4.0, 0.35, 1.0
PERSONAL_M = 0.1  # a person who gives way comes no closer to a robot's footprint than this
MAX_FORCE = 8.0  # m/s^2: nobody is thrown across the room
MAX_SPEED_FACTOR = 1.3  # of a person's own walking speed
ARRIVED_M = 0.4
STALLED_S = 20.0  # a person who has not got anywhere for this long gives up the target (turns back, leaves)
HELD_S = 3.0  # a person held up this long in front of a robot that stands (waiting for them) steps out of its way
GIVE_WAY_M = 1.2  # how far ahead of a standing robot a person counts as in its way (gap to its footprint)
GIVE_WAY_SPEED = 0.6  # m/s: stepping out of a robot's way
GIVE_WAY_GAP_M = 0.05  # out of its way: this far beside its footprint
NOTICED_S = 10.0  # a distracted person who bumped into a robot minds robots this long
DWELL_S = (2.0, 8.0)  # a crowd person who stays pauses this long at each place
JITTER_M = 0.2  # people do not all walk the lanes' centre lines
PARKED = 1.0e6  # where people who are not on the site are kept (far from everything)
TOUCH_M = 0.01  # how far a person who walked into a robot overlaps it (so the contact is seen)


class Walkways:
    """Where crowd people walk: the places and lanes of a site's navgraph (undirected, by length)."""

    def __init__(self, places: dict[str, tuple[float, float, str | None]], lanes: Sequence[tuple[str, str]]) -> None:
        self.places = places
        self.graph = nx.Graph()
        for a, b in lanes:
            if a in places and b in places:
                (ax, ay, _), (bx, by, _) = places[a], places[b]
                self.graph.add_edge(a, b, length=math.hypot(bx - ax, by - ay))

    def of_kinds(self, kinds: Sequence[str]) -> list[str]:
        """The places on a lane whose kind, or name, is one of `kinds`."""
        return sorted(n for n, (_, _, kind) in self.places.items() if (kind in kinds or n in kinds) and n in self.graph)

    def kinds(self) -> set[str]:
        return {kind for _, _, kind in self.places.values() if kind}

    def route(self, a: str, b: str) -> list[tuple[float, float]] | None:
        try:
            names = nx.shortest_path(self.graph, a, b, weight="length")
        except (nx.NetworkXNoPath, nx.NodeNotFound):
            return None
        return [(self.places[n][0], self.places[n][1]) for n in names]


@dataclass
class Target:
    x: float
    y: float
    speed: float  # m/s toward it
    dwell: float = 0.0  # s to stand here once arrived


@dataclass
class Walker:
    """One person's plan: the targets ahead and what happens when they run out."""

    name: str
    speed: float
    yields: bool
    crowd: CrowdSpec | None = None
    actor: Actor | None = None
    targets: list[Target] = field(default_factory=list)
    index: int = 0
    dwell_until: float = 0.0
    progress_at: float = 0.0  # sim time of the last progress toward the target
    best: float = math.inf  # closest the person has come to the current target
    noticed_until: float = -math.inf  # a distracted person who bumped into a robot minds robots until then

    def minds_robots(self, t: float) -> bool:
        return self.yields or t < self.noticed_until


def _parked(i: int) -> tuple[float, float]:
    """Where person i is kept while not on the site: far from everything, and from the others parked."""
    return PARKED + 10.0 * i, PARKED


def _script_targets(actor: Actor) -> list[Target]:
    """An actor's waypoints as targets at the pace of its script (a leg that does not move is a pause)."""
    out: list[Target] = []
    wps = actor.waypoints
    for a, b in itertools.pairwise(wps):
        length, duration = math.hypot(b.x - a.x, b.y - a.y), b.time - a.time
        if length < 0.05:
            if out:
                out[-1].dwell += duration
            else:
                out.append(Target(a.x, a.y, 1.0, duration))
        else:
            out.append(Target(b.x, b.y, min(2.0, max(0.3, length / duration))))
    return out or [Target(wps[0].x, wps[0].y, 1.0)]


class ReactiveCrowd:
    """Every pedestrian of a site when any of them reacts; the same interface as pedestrians.Crowd, plus
    `advance`, which the physics calls at the start of each step with the robots where they are."""

    def __init__(self, world: World, spec: PeopleSpec, walkways: Walkways | None, seed: int = 0,
                 robots: np.ndarray | None = None) -> None:
        self.spec = spec
        self.walkways = walkways
        self.rng = np.random.default_rng([seed, 0x50E0])
        actors = list(world.actors)
        self.tracks = {a.name: Track(a) for a in actors if not spec.reactive}
        self.walkers: list[Walker | None] = []
        self.names: list[str] = []
        for a in actors:
            self.names.append(a.name)
            self.walkers.append(None if not spec.reactive else
                                Walker(a.name, 1.0, a.name not in spec.distracted, actor=a, targets=_script_targets(a),
                                       dwell_until=a.delay_start))
        for crowd in spec.crowds:  # all there from the start (a crowd with a rate then comes and goes)
            if walkways is None or len(walkways.of_kinds(crowd.places)) < 2:
                raise ValueError(f"crowd {crowd.name!r}: fewer than two places of kind {', '.join(crowd.places)} "
                                 "on the navgraph's lanes")
            for k in range(crowd.people):
                self.names.append(f"{crowd.name}_{k + 1}")
                self.walkers.append(Walker(f"{crowd.name}_{k + 1}", 0.0, True, crowd=crowd))
        self._index = {n: i for i, n in enumerate(self.names)}
        self._reactive = np.array([w is not None for w in self.walkers], dtype=bool)  # the rest walk scripts
        n = len(self.names)
        self.present: np.ndarray = np.zeros(n, dtype=bool)
        self.pos: np.ndarray = np.array([_parked(i) for i in range(n)], dtype=float).reshape(-1, 2)
        self.vel: np.ndarray = np.zeros((n, 2))
        self.yaw: np.ndarray = np.zeros(n)
        self.arrivals = {c.name: (float(self.rng.exponential(3600.0 / c.rate_per_hour)) if c.rate_per_hour else
                                  math.inf) for c in spec.crowds}
        self.turned_away = 0  # arrivals that found the crowd full or no free place to appear at
        self._walls = WallGrid(np.array(world.segments(), dtype=float), reach=WALL_REACH_M)
        self._now_t, self._next_t, self._decide_at = 0.0, 0.0, 0.0
        self._started: float | None = None
        for i, a in enumerate(actors):
            x, y, yaw = Track(a).pose(0.0)
            self.pos[i], self.yaw[i], self.present[i] = (x, y), yaw, True
        for i, w in enumerate(self.walkers):
            if w is not None and w.crowd is not None:
                self._appear(i, 0.0, np.zeros((0, 5)) if robots is None else robots, midway=True)
        self._next = (self.pos.copy(), self.yaw.copy(), self.present.copy())
        self._now = self._next

    def describe(self) -> str:
        """What walks, for the simulator's start-up line."""
        actors = sum(1 for w in self.walkers if w is not None and w.actor is not None) + len(self.tracks)
        crowds = [f"{c.name} (up to {c.people}" + (f", {c.rate_per_hour:g} an hour)" if c.rate_per_hour else ")")
                  for c in self.spec.crowds]
        return (f"{actors} actors {'reactive' if self.spec.reactive else 'scripted'}"
                + (f", crowds {', '.join(crowds)}" if crowds else ""))

    # -- the interface of pedestrians.Crowd --------------------------------------------------------
    def __len__(self) -> int:
        return len(self.names)

    def __contains__(self, name: object) -> bool:
        return name in self._index

    def _state(self, t: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        return self._next if abs(t - self._next_t) < abs(t - self._now_t) else self._now

    def centres(self, t: float) -> np.ndarray:
        """N x 2: every person's position at sim time t (now or the end of the step under way); people not on
        the site are parked far away."""
        return self._state(t)[0]

    def poses(self, t: float) -> list[PedestrianPose]:
        pos, yaw, present = self._state(t)
        return [PedestrianPose(self.names[i], float(pos[i, 0]), float(pos[i, 1]), float(yaw[i]))
                for i in np.flatnonzero(present)]

    def distance(self, name: str, x: float, y: float, t: float) -> float:
        cx, cy = self.centres(t)[self._index[name]]
        return math.hypot(x - cx, y - cy)

    # -- stepping ----------------------------------------------------------------------------------
    def advance(self, t: float, dt: float, robots: np.ndarray) -> None:
        """Work out where everyone is at t + dt. `robots`: K x 5 (x, y, vx, vy, radius) or K x 6 (and heading) at t."""
        if self._started is None:  # the first step (a lock-step site may start at any sim time)
            self._started = t
            self.arrivals = {name: when + t for name, when in self.arrivals.items()}
            self._decide_at = t
            for w in self.walkers:
                if w is not None:
                    w.dwell_until, w.progress_at = w.dwell_until + t, t
        self._now_t, self._now = t, self._next
        pos, yaw, present = self._next
        self.pos, self.yaw, self.present = pos.copy(), yaw.copy(), present.copy()
        self._spawn(t, robots)
        reactive = self._reactive & self.present
        for name, track in self.tracks.items():
            i = self._index[name]
            x, y, heading = track.pose(t + dt)
            self.vel[i] = ((x, y) - self.pos[i]) / dt
            self.pos[i], self.yaw[i] = (x, y), heading
        if reactive.any():
            self._walk(np.flatnonzero(reactive), t, dt, robots)
        self._next_t, self._next = t + dt, (self.pos.copy(), self.yaw.copy(), self.present.copy())

    def _walk(self, idx: np.ndarray, t: float, dt: float, robots: np.ndarray) -> None:
        """Move the reactive people by dt at the velocities they chose (choosing anew every DECIDE_S), never
        into a robot."""
        if t + 1e-9 >= self._decide_at:
            self._decide_at = t + DECIDE_S
            self._decide(idx, t, robots)
            idx = idx[self.present[idx]]  # who left on reaching their place stays parked off the site
        p = self.pos[idx] + self.vel[idx] * dt
        if len(robots):
            p, self.vel[idx], touched = self._keep_out_of_robots(p, self.vel[idx], robots)
            for i in idx[touched]:  # bumped into a robot: even a distracted person looks up
                self.walkers[i].noticed_until = t + NOTICED_S  # type: ignore[union-attr]
        self.pos[idx] = p

    def _decide(self, idx: np.ndarray, t: float, robots: np.ndarray) -> None:
        """The social forces on each reactive person, integrated over DECIDE_S into the velocity they walk at
        until the next decision; off the walls, and no velocity into a wall they are about to touch."""
        desired = np.zeros((len(idx), 2))
        for k, i in enumerate(idx):
            desired[k] = self._desired(int(i), t, robots)
        still = self.present[idx]  # (a crowd person who reached their place has left)
        idx, desired = idx[still], desired[still]
        p, v = self.pos[idx], self.vel[idx]
        force = (desired - v) / TAU
        heading = np.where(np.hypot(*desired.T)[:, None] > 1e-6, desired, v)
        heading = heading / np.maximum(np.hypot(*heading.T), 1e-9)[:, None]
        force += self._people_force(idx, p, v, heading) + self._wall_force(p)
        yields = np.array([self.walkers[i].minds_robots(t) for i in idx], dtype=bool)  # type: ignore[union-attr]
        if len(robots) and yields.any():
            force[yields] += self._robot_force(p[yields], robots)
        magnitude = np.hypot(*force.T)
        force *= np.minimum(1.0, MAX_FORCE / np.maximum(magnitude, 1e-9))[:, None]
        v = v + force * DECIDE_S
        limit = MAX_SPEED_FACTOR * np.array([max(self._target_speed(int(i)), 0.2) for i in idx])
        speed = np.hypot(*v.T)
        v *= np.minimum(1.0, limit / np.maximum(speed, 1e-9))[:, None]
        if len(robots):  # those who give way keep their distance; the distracted sidestep once they bump into one
            if yields.any():
                v[yields] = self._keep_clear_of_robots(p[yields], v[yields], robots, PERSONAL_M)
            if not yields.all():
                v[~yields] = self._keep_clear_of_robots(p[~yields], v[~yields], robots, 0.0, ahead=False)
        p, v = self._keep_out_of_walls(p, v)
        self.pos[idx], self.vel[idx] = p, v
        moving = np.hypot(*v.T) > 0.05
        self.yaw[idx] = np.where(moving, np.arctan2(v[:, 1], v[:, 0]), self.yaw[idx])

    def _target_speed(self, i: int) -> float:
        w = self.walkers[i]
        assert w is not None
        return w.targets[w.index].speed if w.targets else w.speed

    def _desired(self, i: int, t: float, robots: np.ndarray) -> np.ndarray:
        """The velocity person i wants: toward the current target at its speed, or none while pausing. A target
        a robot stands on is as good as reached (people do not queue for a robot's spot)."""
        w = self.walkers[i]
        assert w is not None
        if t < w.dwell_until or not w.targets:
            return np.zeros(2)
        target = w.targets[w.index]
        gap = np.array([target.x, target.y]) - self.pos[i]
        distance = float(np.hypot(*gap))
        if distance < w.best - 0.05:
            w.best, w.progress_at = distance, t
        taken = len(robots) and distance < 3.0 and bool(
            (np.hypot(robots[:, 0] - target.x, robots[:, 1] - target.y) < robots[:, 4] + PEDESTRIAN_RADIUS).any())
        if distance < ARRIVED_M or (taken and distance < 1.5):
            self._arrived(i, t)
            return np.zeros(2)
        if w.minds_robots(t) and robots.shape[1] > 5 and t - w.progress_at > HELD_S:
            aside = self._out_of_the_way(self.pos[i], robots)
            if aside is not None:
                return aside
        if t - w.progress_at > STALLED_S:
            self._gave_up(i, t)
            return np.zeros(2)
        if w.yields and robots.shape[1] > 5:  # (the distracted do not, even once they have noticed robots)
            return make_way(self.pos[i], gap / distance * target.speed, robots, self._walls)
        return gap / distance * target.speed

    def _out_of_the_way(self, p: np.ndarray, robots: np.ndarray) -> np.ndarray | None:
        """A person held up in front of a standing robot (each waiting for the other) steps sideways out of the
        lane ahead of it, to the side with room (the side they are on, unless a wall is there), or back along
        its way where neither side has room: the velocity of that step, or None when no standing robot has them
        in its way."""
        for robot in robots:
            if math.hypot(robot[2], robot[3]) > 0.05:
                continue  # it moves: the social forces and the keep-clear rule see to it
            heading = np.array([math.cos(robot[5]), math.sin(robot[5])])
            rel = p - robot[0:2]
            ahead, lateral = float(rel @ heading), float(heading[0] * rel[1] - heading[1] * rel[0])
            clear = robot[4] + PEDESTRIAN_RADIUS + GIVE_WAY_GAP_M
            if ahead < 0.0 or ahead > robot[4] + PEDESTRIAN_RADIUS + GIVE_WAY_M or abs(lateral) >= clear:
                continue
            side = np.array([-heading[1], heading[0]]) * (1.0 if lateral >= 0 else -1.0)
            side, room = self._side_with_room(robot, side, clear - robot[4] - PEDESTRIAN_RADIUS)
            return (side if room else heading) * GIVE_WAY_SPEED  # no room beside it: back along its way
        return None

    def _next_target(self, w: Walker, t: float) -> None:
        w.index += 1
        w.best, w.progress_at = math.inf, t

    def _arrived(self, i: int, t: float) -> None:
        w = self.walkers[i]
        assert w is not None
        w.dwell_until = t + w.targets[w.index].dwell
        if w.index + 1 < len(w.targets):
            self._next_target(w, t)
        elif w.actor is not None:
            if w.actor.loop:
                w.index = -1
                self._next_target(w, t)
        elif w.crowd is not None and w.crowd.rate_per_hour:
            self._leave(i)
        else:
            self._set_route(i, t, pause=True)

    def _gave_up(self, i: int, t: float) -> None:
        """Stuck (a robot or a knot of people in a door): an actor skips the target, a crowd person goes
        elsewhere (or leaves, if it came for one walk)."""
        w = self.walkers[i]
        assert w is not None
        if w.crowd is None:
            if w.index + 1 < len(w.targets) or (w.actor is not None and w.actor.loop):
                w.index = w.index if w.index + 1 < len(w.targets) else -1
                self._next_target(w, t)
            else:
                w.progress_at = t
        elif w.crowd.rate_per_hour:
            self._leave(i)
        else:
            self._set_route(i, t, pause=False)

    # -- crowds ------------------------------------------------------------------------------------
    def _place_xy(self, name: str) -> tuple[float, float]:
        assert self.walkways is not None
        x, y, _ = self.walkways.places[name]
        return x, y

    def _nearest_place(self, i: int, kinds: Sequence[str]) -> str:
        assert self.walkways is not None
        x, y = self.pos[i]
        return min(self.walkways.of_kinds(kinds), key=lambda n: math.hypot(self._place_xy(n)[0] - x,
                                                                          self._place_xy(n)[1] - y))

    def _set_route(self, i: int, t: float, *, pause: bool, start: str | None = None) -> bool:
        w = self.walkers[i]
        assert w is not None and w.crowd is not None and self.walkways is not None
        here = start or self._nearest_place(i, w.crowd.places)
        choices = [n for n in self.walkways.of_kinds(w.crowd.places) if n != here]
        for _ in range(4):
            there = choices[int(self.rng.integers(len(choices)))]
            path = self.walkways.route(here, there)
            if path and w.yields:
                path = keep_right(path, self._walls)
            if path:
                jitter = self.rng.uniform(-JITTER_M, JITTER_M, size=(len(path), 2))
                jitter[-1] = 0.0
                w.targets = [Target(float(x + jx), float(y + jy), w.speed)
                             for (x, y), (jx, jy) in zip(path[1:], jitter[1:], strict=True)] or \
                    [Target(*self._place_xy(there), w.speed)]
                w.index, w.best, w.progress_at = 0, math.inf, t
                w.dwell_until = t + (float(self.rng.uniform(*DWELL_S)) if pause else 0.0)
                return True
        return False

    def _appear(self, i: int, t: float, robots: np.ndarray, *, midway: bool = False) -> bool:
        """Person i comes onto the site at a free place of its crowd's kinds, or anywhere along a walk between
        two of them when `midway` (a crowd that is there from the start); False: nowhere free now."""
        w = self.walkers[i]
        assert w is not None and w.crowd is not None and self.walkways is not None
        places = self.walkways.of_kinds(w.crowd.places)
        for _ in range(8):
            start = places[int(self.rng.integers(len(places)))]
            w.speed = float(self.rng.uniform(*w.crowd.speed))
            w.yields = bool(self.rng.random() >= w.crowd.distracted)
            if not self._set_route(i, t, pause=False, start=start):
                continue
            points = np.array([self._place_xy(start), *((g.x, g.y) for g in w.targets)])
            x, y = points[0]
            if midway:
                legs = np.hypot(*np.diff(points, axis=0).T)
                along = float(self.rng.uniform(0.0, legs.sum()))
                k = min(int(np.searchsorted(np.cumsum(legs), along)), len(legs) - 1)
                f = (along - (legs[:k].sum())) / max(legs[k], 1e-9)
                x, y = points[k] + f * (points[k + 1] - points[k])
                w.targets = w.targets[k:]
            people = self.pos[self.present]
            if len(people) and np.hypot(people[:, 0] - x, people[:, 1] - y).min() < 2 * PEDESTRIAN_RADIUS + 0.2:
                continue
            if len(robots) and (np.hypot(robots[:, 0] - x, robots[:, 1] - y) - robots[:, 4]).min() < 1.0:
                continue
            self.pos[i], self.vel[i], self.present[i] = (x, y), (0.0, 0.0), True
            return True
        return False

    def _leave(self, i: int) -> None:
        self.present[i] = False
        self.pos[i] = _parked(i)
        self.vel[i] = 0.0

    def _spawn(self, t: float, robots: np.ndarray) -> None:
        for crowd in self.spec.crowds:
            while self.arrivals[crowd.name] <= t:
                assert crowd.rate_per_hour is not None
                self.arrivals[crowd.name] += float(self.rng.exponential(3600.0 / crowd.rate_per_hour))
                free = [i for i, w in enumerate(self.walkers)
                        if w is not None and w.crowd is crowd and not self.present[i]]
                if not free or not self._appear(free[0], t, robots):
                    self.turned_away += 1

    # -- forces ------------------------------------------------------------------------------------
    def _people_force(self, idx: np.ndarray, p: np.ndarray, v: np.ndarray, heading: np.ndarray) -> np.ndarray:
        """Away from every other person where the two would be closest within the next ANTICIPATE_S at the speeds
        they have (Zanlungo's collision prediction: two people meeting head on sidestep early)."""
        present = np.flatnonzero(self.present)
        if len(present) < 2:
            return np.zeros_like(p)
        diff = p[:, None, :] - self.pos[present][None, :, :]  # from each other person to each walker
        rel_v = v[:, None, :] - self.vel[present][None, :, :]
        speed2 = (rel_v**2).sum(axis=2)
        when = np.clip(-(diff * rel_v).sum(axis=2) / np.maximum(speed2, 1e-9), 0.0, ANTICIPATE_S)
        closest = diff + rel_v * when[..., None]
        dist = np.hypot(closest[..., 0], closest[..., 1])
        normal = closest / np.maximum(dist, 1e-9)[..., None]
        strength = PEOPLE_A * np.exp((2 * PEDESTRIAN_RADIUS - dist) / PEOPLE_B)
        cos_phi = -(normal * heading[:, None, :]).sum(axis=2)  # 1: the other is straight ahead
        strength *= LAMBDA + (1 - LAMBDA) * (1 + cos_phi) / 2
        strength[idx[:, None] == present[None, :]] = 0.0  # oneself
        strength[np.hypot(diff[..., 0], diff[..., 1]) > 4.0] = 0.0  # people too far to matter
        return (normal * strength[..., None]).sum(axis=1)

    def _wall_force(self, p: np.ndarray) -> np.ndarray:
        dist, away = self._walls.near(p)
        strength = np.where(dist < WALL_REACH_M, WALL_A * np.exp((PEDESTRIAN_RADIUS - dist) / WALL_B), 0.0)
        return (away / np.maximum(dist, 1e-9)[..., None] * strength[..., None]).sum(axis=1)

    def _robot_force(self, p: np.ndarray, robots: np.ndarray) -> np.ndarray:
        """Away from the nearest point of each robot's next ROBOT_LOOKAHEAD_S of motion."""
        start, path = robots[:, 0:2], robots[:, 2:4] * ROBOT_LOOKAHEAD_S
        rel = p[:, None, :] - start[None]
        s = np.clip((rel * path[None]).sum(axis=2) / np.maximum((path**2).sum(axis=1), 1e-9)[None], 0.0, 1.0)
        away = rel - s[..., None] * path[None]
        dist = np.hypot(away[..., 0], away[..., 1])
        gap = dist - robots[None, :, 4] - PEDESTRIAN_RADIUS
        strength = np.where(gap < 2.5, ROBOT_A * np.exp(-gap / ROBOT_B), 0.0)
        return (away / np.maximum(dist, 1e-9)[..., None] * strength[..., None]).sum(axis=1)

    def _keep_out_of_walls(self, p: np.ndarray, v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Push anyone inside a wall's reach back out, and take away the part of their velocity that would carry
        them into the nearest wall before the next decision."""
        rows = np.arange(len(p))
        for _ in range(2):  # a corner pushes twice
            dist, away = self._walls.near(p)
            j = dist.argmin(axis=1)
            d = dist[rows, j]
            n = away[rows, j] / np.maximum(d, 1e-9)[:, None]
            inside = d < PEDESTRIAN_RADIUS
            p[inside] += n[inside] * (PEDESTRIAN_RADIUS - d[inside])[:, None]
            into = (v * n).sum(axis=1)
            reach = d + into * DECIDE_S < PEDESTRIAN_RADIUS + 0.02
            v[reach & (into < 0)] -= (n * into[:, None])[reach & (into < 0)]
            if not (inside | reach).any():
                break
        return p, v

    def _keep_clear_of_robots(self, p: np.ndarray, v: np.ndarray, robots: np.ndarray, margin: float, *,
                              ahead: bool = True) -> np.ndarray:
        """A person does not step closer than `margin` to a robot's footprint (looking a decision `ahead`, or only
        once there): the part of their velocity toward a robot that near turns into a sidestep round it, on the
        side they already go round it, or meeting it head on to their right (keeping right, as people pass); to the
        other side when a wall leaves no way past."""
        rel = p[:, None, :] - robots[None, :, 0:2]
        dist = np.hypot(rel[..., 0], rel[..., 1])
        gap = dist - robots[None, :, 4] - PEDESTRIAN_RADIUS
        reach = margin + (np.hypot(v[:, 0], v[:, 1])[:, None] * DECIDE_S if ahead else 0.0)
        for k, r in zip(*np.nonzero(gap < reach), strict=True):
            n = rel[k, r] / max(dist[k, r], 1e-9)  # from the robot to the person
            into = float(v[k] @ n)
            if into < 0:
                side = np.array([-n[1], n[0]])  # along the robot's edge: the way they already go round it,
                along = float(v[k] @ side)
                if abs(along) > 0.2 * abs(into):
                    side = side if along > 0 else -side
                elif side @ np.array([v[k, 1], -v[k, 0]]) < 0:  # or, meeting it head on, on their right
                    side = -side
                side, _ = self._side_with_room(robots[r], side, margin)
                v[k] += -n * into + side * (-into)
        return v

    def _side_with_room(self, robot: np.ndarray, side: np.ndarray, margin: float) -> tuple[np.ndarray, bool]:
        """`side`, unless a wall leaves a person no room to pass the robot that way and the other side has more;
        and whether the side returned has room."""
        reach = robot[4] + PEDESTRIAN_RADIUS + margin
        ways = np.array([robot[0:2] + side * reach, robot[0:2] - side * reach])
        room = self._walls.near(ways)[0].min(axis=1) >= PEDESTRIAN_RADIUS
        return (side, True) if room[0] else (-side, True) if room[1] else (side, False)

    def _keep_out_of_robots(self, p: np.ndarray, v: np.ndarray, robots: np.ndarray
                            ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """No one walks into a robot further than touching it: positions, velocities, and who touched one."""
        rel = p[:, None, :] - robots[None, :, 0:2]
        dist = np.hypot(rel[..., 0], rel[..., 1])
        limit = robots[None, :, 4] + PEDESTRIAN_RADIUS - TOUCH_M
        touched = np.zeros(len(p), dtype=bool)
        for k, r in zip(*np.nonzero(dist < limit), strict=True):
            touched[k] = True
            n = rel[k, r] / max(dist[k, r], 1e-9)
            p[k] = robots[r, 0:2] + n * limit[0, r]
            into = float(v[k] @ n)
            if into < 0:
                v[k] -= n * into
        return p, v, touched
