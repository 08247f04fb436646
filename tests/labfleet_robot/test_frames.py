"""The transform buffer: chains, inverses, staleness and late messages (pure, no rclpy)."""

from __future__ import annotations

import math

import pytest
from labfleet_robot.frames import Localisation, TfBuffer, Transform, Velocity


def close(a: tuple[float, ...], b: tuple[float, ...], tol: float = 1e-9) -> bool:
    return all(abs(x - y) <= tol for x, y in zip(a, b, strict=True))


def test_planar_compose_and_inverse() -> None:
    a = Transform.planar(1.0, 2.0, math.pi / 2)
    b = Transform.planar(3.0, 0.0, math.pi / 4)
    assert close((a * b).pose2d(), (1.0, 5.0, 3 * math.pi / 4))
    assert close((a * a.inverse()).pose2d(), (0.0, 0.0, 0.0))
    assert close((a.inverse() * (a * b)).pose2d(), b.pose2d())


def test_map_odom_base_chain_gives_the_map_pose() -> None:
    tf = TfBuffer()
    tf.set("map", "r1/odom", Transform.planar(10.0, 5.0, math.pi / 2), stamp=4.0)  # where the robot started
    tf.set("r1/odom", "r1/base_link", Transform.planar(2.0, 0.0, 0.0), stamp=5.0)  # it drove 2 m ahead
    found = tf.lookup("map", "/r1/base_link")  # a leading slash is ignored, as in tf2
    assert found is not None
    assert close(found.transform.pose2d(), (10.0, 7.0, math.pi / 2))
    assert found.stamp == 4.0  # the oldest link of the chain: localisation last came at 4 s
    back = tf.lookup("r1/base_link", "map")
    assert back is not None and close((back.transform * found.transform).pose2d(), (0.0, 0.0, 0.0))


def test_static_edges_never_age_and_unconnected_frames_give_none() -> None:
    tf = TfBuffer()
    tf.set("base_link", "laser", Transform.planar(0.2, 0.0, 0.0), stamp=0.0, static=True)
    tf.set("odom", "base_link", Transform.planar(1.0, 1.0, 0.0), stamp=7.0)
    found = tf.lookup("odom", "laser")
    assert found is not None and found.stamp == 7.0 and close(found.transform.pose2d(), (1.2, 1.0, 0.0))
    assert tf.lookup("map", "laser") is None  # no map → odom yet
    assert tf.lookup("odom", "odom") is not None


def test_a_late_older_message_does_not_replace_a_newer_one() -> None:
    tf = TfBuffer()
    tf.set("odom", "base_link", Transform.planar(2.0, 0.0, 0.0), stamp=3.0)
    tf.set("odom", "base_link", Transform.planar(1.0, 0.0, 0.0), stamp=2.0)
    found = tf.lookup("odom", "base_link")
    assert found is not None and found.transform.x == pytest.approx(2.0)


def test_three_d_rotation_round_trip() -> None:
    s = math.sqrt(0.5)
    roll = Transform(0.0, 0.0, 1.0, s, 0.0, 0.0, s)  # 90° about x, 1 m up
    p = Transform(0.0, 1.0, 0.0)
    moved = roll * p
    assert close((moved.x, moved.y, moved.z), (0.0, 0.0, 2.0))
    assert close((roll.inverse() * moved).pose2d(), p.pose2d())


def test_locate_tells_a_fresh_pose_from_a_stale_or_missing_one() -> None:
    wall = [100.0]
    tf = TfBuffer(clock=lambda: wall[0])
    missing = tf.locate("map", "r1/base_link", now=5.0, timeout_s=2.0)
    assert missing.status is Localisation.MISSING and missing.pose is None and not missing.ok
    tf.set("map", "r1/odom", Transform.planar(10.0, 5.0, 0.0), stamp=4.0)
    tf.set("r1/odom", "r1/base_link", Transform.planar(1.0, 0.0, 0.0), stamp=5.0)
    fresh = tf.locate("map", "r1/base_link", now=6.0, timeout_s=2.0)
    assert fresh.ok and fresh.age == pytest.approx(2.0) and close(fresh.pose or (), (11.0, 5.0, 0.0))
    late = tf.locate("map", "r1/base_link", now=6.1, timeout_s=2.0)  # 2.1 s old, but it came just now
    assert late.ok and late.age == pytest.approx(2.1)
    wall[0] += 2.1
    tf.set("map", "r1/odom", Transform.planar(10.0, 5.0, 0.0), stamp=4.0)  # the same stamp again is no news
    stale = tf.locate("map", "r1/base_link", now=6.1, timeout_s=2.0)  # map → odom last came 2.1 s ago, at 4 s
    assert stale.status is Localisation.STALE and close(stale.pose or (), (11.0, 5.0, 0.0))
    tf.set("map", "r1/odom", Transform.planar(10.0, 5.0, 0.0), stamp=4.5)  # late, but a newer one: it comes
    assert tf.locate("map", "r1/base_link", now=8.0, timeout_s=2.0).ok


def test_transform_pose2d_puts_a_pose_into_the_target_frame() -> None:
    tf = TfBuffer()
    tf.set("map", "r1/odom", Transform.planar(10.0, 5.0, math.pi / 2), stamp=1.0)
    assert tf.transform_pose2d("map", "", (1.0, 2.0, 0.5)) == (1.0, 2.0, 0.5)  # "" is the target frame
    assert close(tf.transform_pose2d("map", "r1/odom", (2.0, 0.0, 0.0)) or (), (10.0, 7.0, math.pi / 2))
    assert tf.transform_pose2d("map", "elsewhere", (0.0, 0.0, 0.0)) is None


def test_velocity_from_successive_odometry_transforms() -> None:
    buffer = TfBuffer()
    velocity = Velocity()
    assert velocity.update(buffer.lookup("r/odom", "r/base_link")) == (0.0, 0.0)  # no transform yet
    # heading 90°, driving 0.5 m/s forward (along +y of odom) and turning 0.2 rad/s, odometry at 20 Hz
    for k in range(3):
        t = k * 0.05
        buffer.set("r/odom", "r/base_link", Transform.planar(1.0, 2.0 + 0.5 * t, math.pi / 2 + 0.2 * t), t)
        v, w = velocity.update(buffer.lookup("r/odom", "r/base_link"))
    assert v == pytest.approx(0.5, abs=0.01) and w == pytest.approx(0.2, abs=1e-6)
    # the same stamp again is no news: the velocity holds; then the robot stands still
    assert velocity.update(buffer.lookup("r/odom", "r/base_link")) == (v, w)
    buffer.set("r/odom", "r/base_link", Transform.planar(1.0, 2.05, math.pi / 2 + 0.02), 0.15)
    buffer.set("r/odom", "r/base_link", Transform.planar(1.0, 2.05, math.pi / 2 + 0.02), 0.2)
    velocity.update(buffer.lookup("r/odom", "r/base_link"))
    assert velocity.update(buffer.lookup("r/odom", "r/base_link")) == (0.0, 0.0)
