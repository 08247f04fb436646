"""The simulator's ROS messages (labfleet_sim/conversions.py), built without rclpy.init: odometry in the odom
frame, ground truth in the site map, one /tf message with both edges of every robot."""

from __future__ import annotations

import math

import pytest
from labfleet_robot.frames import Transform
from labfleet_sim import conversions
from labfleet_sim.physics import Simulator
from labfleet_sim.world import parse_world

from tests.labfleet_sim.test_odometry import EMPTY, drive, fleet


def pose(msg) -> tuple[float, float, float]:
    p, q = msg.pose.pose.position, msg.pose.pose.orientation
    return p.x, p.y, 2 * math.atan2(q.z, q.w)


def as_transform(t) -> Transform:
    tr, q = t.transform.translation, t.transform.rotation
    return Transform(tr.x, tr.y, tr.z, q.x, q.y, q.z, q.w)


@pytest.fixture
def sim() -> Simulator:
    """r0 on the site map, r1 on a map of its own; both driven for 5 s."""
    s = Simulator(parse_world(EMPTY), fleet({}, {"map_transform": {"x": 4.0, "y": 1.0, "yaw": 0.3}}))
    for _ in drive(s, 5.0):
        pass
    return s


def test_odometry_is_in_the_odom_frame_and_ground_truth_in_the_site_map(sim):
    when = conversions.stamp(sim.time)
    body, frames = sim.bodies["r1"], sim.frames["r1"]
    odom = conversions.odometry(body, frames, when)
    assert (odom.header.frame_id, odom.child_frame_id) == ("r1/odom", "r1/base_link")
    assert pose(odom) == pytest.approx((frames.x, frames.y, frames.yaw), abs=1e-12)
    assert (odom.twist.twist.linear.x, odom.twist.twist.angular.z) == (body.v, body.w)
    assert odom.header.stamp == when
    truth = conversions.ground_truth(body, when)
    assert (truth.header.frame_id, truth.child_frame_id) == ("map", "r1/base_link")
    assert pose(truth) == pytest.approx((body.x, body.y, body.yaw), abs=1e-12)
    again = conversions.odometry(sim.bodies["r0"], sim.frames["r0"], when, into=odom)  # refilled, not rebuilt
    assert again is odom and pose(odom) == pytest.approx(sim.frames["r0"].odom.pose2d(), abs=1e-12)
    assert odom.header.frame_id == "r0/odom"


def test_one_tf_message_holds_both_edges_of_every_robot_but_the_dropped(sim):
    builder = conversions.TfBuilder(sim.frames)
    when = conversions.stamp(sim.time)
    msg = builder.message(sim.frames, when)
    assert msg is not None
    edges = [(t.header.frame_id, t.child_frame_id) for t in msg.transforms]
    assert edges == [("map", "r0/odom"), ("r0/odom", "r0/base_link"),
                     ("r1/map", "r1/odom"), ("r1/odom", "r1/base_link")]
    assert all(t.header.stamp == when for t in msg.transforms)
    for rid, (map_odom, odom_base) in zip(("r0", "r1"), zip(msg.transforms[::2], msg.transforms[1::2],
                                                             strict=True), strict=True):
        chained = (as_transform(map_odom) * as_transform(odom_base)).pose2d()
        robot = sim.frames[rid].robot
        assert robot.map_transform.to_site(*chained) == pytest.approx(
            (sim.bodies[rid].x, sim.bodies[rid].y, sim.bodies[rid].yaw), abs=1e-9)
    only = builder.message(sim.frames, when, skip={"r0"})
    assert only is not None and [t.child_frame_id for t in only.transforms] == ["r1/odom", "r1/base_link"]
    assert builder.message(sim.frames, when, skip={"r0", "r1"}) is None


def test_stamps_round_to_whole_nanoseconds():
    assert conversions.stamp(4.9999999999) == conversions.stamp(5.0)
    assert (conversions.stamp(1.25).sec, conversions.stamp(1.25).nanosec) == (1, 250_000_000)
