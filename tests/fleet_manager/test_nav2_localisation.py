"""A Nav2 robot's localisation as the adapter judges it from TF (adapters/nav2.py): lost when its map → base_link
chain is older than 2 s on the robot's clock and no newer one came for 2 s of wall time. A lagging but steady
TF (a busy host, a simulation faster than real time) is no loss; a TF that stopped is. No rclpy: the buffer is
filled by hand and the wall clock is the test's."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

import pytest
from labfleet_robot.frames import TfBuffer, Transform
from labfleet_sim.fleet_config import Pose, RobotConfig, RobotModel

from fleet_manager.adapters import nav2
from fleet_manager.robots.roster import Registration

MODEL = RobotModel(name="tb4", kind="delivery", radius=0.2, mass_kg=30, max_speed=0.5, max_accel=0.5,
                   max_yaw_rate=1.0, max_yaw_accel=2.0, battery_capacity_wh=50, idle_power_w=5, drive_power_w=20)
ROBOT = Registration(RobotConfig(id="tb4_1", model=MODEL, spawn=Pose(x=0, y=0), robot_api="nav2"), "lab", "tb4")


def test_late_tf_is_localised_and_stopped_tf_is_lost(monkeypatch: pytest.MonkeyPatch) -> None:
    wall = SimpleNamespace(t=100.0)
    monkeypatch.setattr(nav2.time, "monotonic", lambda: wall.t)

    async def scenario() -> list[bool]:
        adapter = nav2.Nav2Adapter(SimpleNamespace(running=False), lambda *_: None, lambda *_: None)  # type: ignore[arg-type]
        adapter.attach(ROBOT)
        tf = adapter._tf.setdefault("/tf", TfBuffer(clock=lambda: wall.t))
        robot = adapter._robots["tb4_1"]
        seen = []

        def publish(stamp: float) -> None:
            tf.set("map", "tb4_1/odom", Transform.planar(1.0, 2.0, 0.0), stamp=stamp)
            tf.set("tb4_1/odom", "tb4_1/base_link", Transform.planar(0.5, 0.0, 0.0), stamp=stamp)

        def judge(now: float) -> bool:
            robot.heard_at = wall.t  # its odometry keeps coming
            report = adapter._report(robot, now)
            seen.append(robot.localised)
            assert report is not None and report.x == pytest.approx(1.5)
            assert (nav2.LOCALISATION_LOST in report.errors) is not robot.localised
            return robot.localised

        publish(10.0)
        judge(11.0)  # 1 s old: localised
        wall.t += 0.1
        publish(10.5)
        judge(13.5)  # 3 s old on the robot's clock, but it just came: a late TF, localised
        wall.t += 1.0
        judge(14.5)  # nothing newer for 1 s of wall time yet
        wall.t += 1.5
        judge(16.0)  # nothing newer for 2.5 s of wall time, 5.5 s old: lost
        wall.t += 0.1
        publish(15.9)
        judge(16.1)  # it came back
        return seen

    assert asyncio.run(scenario()) == [True, True, True, False, True]
