"""How reactive people who mind robots share a floor with them, as people do in a corridor (for social.py):

- **keep right**: a person walks a lane's right-hand side (up to KEEP_RIGHT_M off its centre line, as far as the
  walls leave room), like the robots, which keep right on two-way lanes: so people meet robots coming the other
  way on the robots' far side instead of head on, and do not walk down the middle where they are in the way of
  both carriageways;
- **make way early**: a person about to meet a robot (coming at them, or being caught up or overtaken: within
  MAKE_WAY_S at the speeds both have) steps to the side with room, their right unless they are already on the
  other side, until MAKE_WAY_GAP_M clear of the band the robot sweeps, and holds back where there is no room
  yet; so they pass beside the robot without entering its stop or slowdown zones. One caught up from behind
  steps aside only on their own side (else the robot follows them). bench/people.py measures what it is worth
  (README).

Pure numpy functions; the distracted and scripted people do neither (they are the stress test).
"""

from __future__ import annotations

import math

import numpy as np

from labfleet_sim.pedestrians import PEDESTRIAN_RADIUS
from labfleet_sim.walls import WallGrid

KEEP_RIGHT_M = 1.2  # m: furthest a person keeps off a lane's centre line to their right
WALL_ROOM_M = 0.1  # m: the room a person keeps between their body and a wall
MAKE_WAY_S = 3.0  # s: how far ahead a person sees they are about to meet a robot
MAKE_WAY_GAP_M = 0.35  # m: how far beside the band a robot sweeps a person passes it (past its slowdown margin)
MAKE_WAY_SPEED = 0.8  # m/s: the most a person steps sideways at
MAKE_WAY_TAU = 0.4  # s: how fast they close the lateral gap
HOLD_BACK_S = 1.5  # s: a person meeting a robot this soon with no room beside it yet holds back (walks slower)
MOVING_MPS = 0.05  # a robot slower than this stands


def keep_right(path: list[tuple[float, float]], walls: WallGrid) -> list[tuple[float, float]]:
    """The points of a walk along `path` (lane vertices) shifted to the walker's right, each leg as far as the
    walls leave room along it (no shift through a door); the first and last points stay (where the walker is,
    the place they go to)."""
    pts = np.asarray(path, dtype=float)
    if len(pts) < 3:
        return [tuple(p) for p in path]  # type: ignore[misc]
    legs = np.diff(pts, axis=0)
    lengths = np.maximum(np.hypot(*legs.T), 1e-9)
    right = np.column_stack((legs[:, 1], -legs[:, 0])) / lengths[:, None]
    offsets = np.array([_room(pts[k], pts[k + 1], right[k], walls) for k in range(len(legs))])
    out = [tuple(pts[0])]
    for j in range(1, len(pts) - 1):
        n_in, n_out = right[j - 1], right[j]
        cos = float(n_in @ n_out)
        if cos < 0.3:  # a sharp turn: the corner itself (no miter far off into the room)
            out.append(tuple(pts[j]))
            continue
        miter = (n_in + n_out) / (1.0 + cos)  # keeps both legs at the offset
        out.append(tuple(pts[j] + miter * min(offsets[j - 1], offsets[j])))
    out.append(tuple(pts[-1]))
    return out  # type: ignore[return-value]


def _room(a: np.ndarray, b: np.ndarray, right: np.ndarray, walls: WallGrid) -> float:
    """The largest shift (of KEEP_RIGHT_M, in steps of 0.1 m) of the leg a-b to its right that leaves a walker
    WALL_ROOM_M from every wall along it."""
    along = a + np.outer(np.linspace(0.0, 1.0, 7), b - a)
    for shift in np.arange(KEEP_RIGHT_M, 0.0, -0.1):
        dist = walls.nearest(along + right * shift)[0]
        if (dist >= PEDESTRIAN_RADIUS + WALL_ROOM_M).all() and _open(along, right, shift, walls):
            return float(shift)
    return 0.0


def _open(along: np.ndarray, right: np.ndarray, shift: float, walls: WallGrid) -> bool:
    """No wall between the leg and its shifted copy (a shift through a wall into the next room is no room)."""
    for f in np.arange(0.1, 1.0, 0.2):
        if (walls.nearest(along + right * shift * f)[0] < PEDESTRIAN_RADIUS).any():
            return False
    return True


def make_way(p: np.ndarray, desired: np.ndarray, robots: np.ndarray, walls: WallGrid) -> np.ndarray:
    """The velocity a person at `p` who wants `desired` walks at so as to pass the robot they are about to meet
    (the soonest; robots: K x 6, x, y, vx, vy, radius, heading) beside the band it sweeps: `desired` with the part
    across the robot's way replaced by a step to the side with room, and slowed toward the robot while that step
    is not done and they meet within HOLD_BACK_S. `desired` unchanged when no robot is about to be met."""
    best: tuple[float, np.ndarray, np.ndarray, float, float] | None = None  # (when, heading, left, lateral, need)
    for robot in robots:
        speed = math.hypot(robot[2], robot[3])
        if speed < MOVING_MPS:
            continue  # a standing robot: the person walks round it (social forces; steps aside if held, social.py)
        h = robot[2:4] / speed
        rel = p - robot[0:2]
        ahead = float(rel @ h)
        left = np.array([-h[1], h[0]])
        lateral = float(rel @ left)
        need = robot[4] + PEDESTRIAN_RADIUS + MAKE_WAY_GAP_M
        if abs(lateral) >= need:
            continue
        closing = speed - float(desired @ h)  # how fast the gap along the robot's way shrinks (person ahead)
        gap = abs(ahead) - robot[4] - PEDESTRIAN_RADIUS
        if ahead >= 0 and closing > 0.1:
            when = max(gap, 0.0) / closing
        elif ahead < 0 and closing < -0.1:  # the person catches the robot up from behind
            when = max(gap, 0.0) / -closing
        else:
            continue
        if when <= MAKE_WAY_S and (best is None or when < best[0]):
            best = (when, h, left, lateral, need)
    if best is None:
        return desired
    when, h, left, lateral, need = best
    side = _side(p, desired, left, lateral, need, walls, flip=float(desired @ h) <= 0.0)
    if side is None:  # no room on either side: one coming at it holds back until it has passed (or stopped)
        return desired * 0.2 if when < HOLD_BACK_S and float(desired @ h) < 0 else desired
    missing = need - side * lateral  # how far the person still has to step to be clear
    step = min(MAKE_WAY_SPEED, max(missing, 0.0) / MAKE_WAY_TAU)
    out = desired - left * float(desired @ left) + left * side * step
    if missing > 0.1 and when < HOLD_BACK_S and float(out @ h) < 0:  # coming at it, not clear yet: slow down
        out = out - h * float(out @ h) * 0.7
    return out


def _side(p: np.ndarray, desired: np.ndarray, left: np.ndarray, lateral: float, need: float, walls: WallGrid,
          *, flip: bool = True) -> float | None:
    """Which side of the robot's way the person passes on (+1 its left, -1 its right): the side they are on,
    or, near its middle, their own right; the other where a wall leaves no room (unless not `flip`: one caught up
    from behind does not cross the robot's way, into that of robots coming the other way); None where none has."""
    if abs(lateral) > 0.15:
        first = math.copysign(1.0, lateral)
    else:
        right_of_walker = np.array([desired[1], -desired[0]])
        first = -1.0 if float(right_of_walker @ left) < 0 else 1.0
    for side in (first, -first) if flip else (first,):
        spot = p + left * (side * need - lateral)
        if walls.nearest(spot[None, :])[0][0] >= PEDESTRIAN_RADIUS and \
                walls.nearest((p + (spot - p) * 0.5)[None, :])[0][0] >= PEDESTRIAN_RADIUS * 0.9:
            return side
    return None
