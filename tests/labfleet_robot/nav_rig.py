"""A Navigator on an ideal unicycle base with its own clock, TF (map → odom → base_link, odometry zero at the
spawn pose) and a lidar that sees round obstacles: the Nav2 stand-in's core without rclpy."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from labfleet_robot.controller import Limits, wrap
from labfleet_robot.frames import TfBuffer, Transform
from labfleet_robot.navigation import (
    BatteryReading,
    DockFeedback,
    Finished,
    GoalKind,
    NavFeedback,
    NavigatorConfig,
    Request,
)
from labfleet_robot.navigator import Navigator
from labfleet_robot.safety import SafetyParams

DT = 0.05
LIMITS = Limits(max_speed=1.0, max_accel=0.6, max_yaw_rate=1.5, max_yaw_accel=3.0, radius=0.3)
ANGLES = np.linspace(-math.pi, math.pi, 720, endpoint=False)
RANGE_MAX = 8.0


@dataclass
class Sample:
    t: float
    pose: tuple[float, float, float]
    v: float
    w: float
    feedback: NavFeedback | DockFeedback | None


@dataclass
class Rig:
    spawn: tuple[float, float, float] = (2.0, 1.0, 0.0)
    config: NavigatorConfig = field(default_factory=lambda: NavigatorConfig(base_frame="r/base_link"))
    obstacles: list[tuple[float, float, float]] = field(default_factory=list)  # (x, y, radius) in the map
    tf_on: bool = True
    battery: BatteryReading | None = None
    map_noise: float = 0.0  # m: the localisation estimate jumps by this much (sigma) at every 1 s correction
    monitor: SafetyParams | None = None  # the collision monitor's parameters (None: none)

    def __post_init__(self) -> None:
        self.tf = TfBuffer(clock=lambda: self.t)  # lock-step: the rig's time is its wall clock too
        self.nav = Navigator(LIMITS, self.config, self.tf, monitor=self.monitor)
        self.t = 0.0
        self.odom = (0.0, 0.0, 0.0)
        self.v = self.w = 0.0
        self.results: list[tuple[float, Finished]] = []
        self.samples: list[Sample] = []
        self._ids = 0
        self._rng = np.random.default_rng(7)
        self._error = (0.0, 0.0, 0.0)  # the localisation's error now
        self.broadcast()

    @property
    def pose(self) -> tuple[float, float, float]:
        return (Transform.planar(*self.spawn) * Transform.planar(*self.odom)).pose2d()

    def broadcast(self) -> None:
        if self.map_noise and abs(self.t - round(self.t)) < DT / 2:  # corrected once a second, with noise
            self._error = (*self._rng.normal(0.0, self.map_noise, 2), 0.0)
        anchor = Transform.planar(*self._error) * Transform.planar(*self.spawn)
        self.tf.set("map", "r/odom", anchor, self.t)
        self.tf.set("r/odom", "r/base_link", Transform.planar(*self.odom), self.t)

    def scan(self) -> tuple[np.ndarray, np.ndarray]:
        x, y, yaw = self.pose
        ranges = np.full(ANGLES.shape, np.inf)
        for ox, oy, r in self.obstacles:
            dx, dy = ox - x, oy - y
            ux, uy = np.cos(ANGLES + yaw), np.sin(ANGLES + yaw)
            along = dx * ux + dy * uy
            miss2 = dx * dx + dy * dy - along * along
            hit = (along > 0) & (miss2 <= r * r)
            d = along - np.sqrt(np.maximum(r * r - miss2, 0.0))
            ranges = np.where(hit & (d < ranges) & (d < RANGE_MAX), d, ranges)
        return ranges, ANGLES.copy()

    def start(self, kind: GoalKind, request: Request) -> str:
        self._ids += 1
        goal_id = f"g{self._ids}"
        self.nav.start(goal_id, kind, request, self.t)
        self._collect()
        return goal_id

    def _collect(self) -> None:
        self.results += [(self.t, r) for r in self.nav.take_finished()]

    def result(self, goal_id: str) -> Finished | None:
        return next((r for _, r in self.results if r.goal_id == goal_id), None)

    def tick(self) -> None:
        if self.tf_on:
            self.broadcast()
        ranges, angles = self.scan()
        self.v, self.w = self.nav.step(self.t, ranges, angles, self.v, self.battery, self.odom)
        self._collect()
        self.samples.append(Sample(self.t, self.pose, self.v, self.w, self.nav.feedback(self.t, self.v)))
        x, y, yaw = self.odom
        mid = yaw + self.w * DT / 2
        self.odom = (x + self.v * math.cos(mid) * DT, y + self.v * math.sin(mid) * DT, wrap(yaw + self.w * DT))
        self.t = round(self.t + DT, 9)

    def run(self, seconds: float, until=None) -> None:
        end = self.t + seconds
        while self.t < end - 1e-9:
            self.tick()
            if until is not None and until():
                return
        if until is not None:
            raise AssertionError(f"condition not met within {seconds} s at t={self.t:.2f}, pose {self.pose}")

    def run_until_done(self, goal_id: str, seconds: float) -> Finished:
        self.run(seconds, until=lambda: self.result(goal_id) is not None)
        result = self.result(goal_id)
        assert result is not None
        return result
