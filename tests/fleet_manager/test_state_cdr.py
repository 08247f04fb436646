"""fleet_manager/ros/state_cdr.py against rclpy: the same RobotReport from the same bytes, never a wrong one."""

from __future__ import annotations

import random

import pytest
from labfleet_interfaces.msg import RobotState
from rclpy.serialization import deserialize_message, serialize_message

from fleet_manager.ros import conversions, state_cdr

WORDS = ["", "a", "ab", "abc", "abcd", "delivery_1", "배송로봇", "amr-ü", "x" * 37]


def _message(rng: random.Random) -> RobotState:
    m = RobotState()
    m.stamp.sec, m.stamp.nanosec = rng.randrange(0, 2**31), rng.randrange(0, 10**9)
    m.wall_time = rng.uniform(0, 2e9)
    m.id, m.kind, m.model = rng.choice(WORDS[1:]), rng.choice(WORDS), rng.choice(WORDS)
    m.mode = rng.randrange(0, 12)  # 10, 11: codes this fleet manager does not know (error)
    m.pose.x, m.pose.y, m.pose.yaw = (rng.uniform(-1e4, 1e4) for _ in range(3))
    m.velocity.linear.x, m.velocity.angular.z = rng.uniform(-2, 2), rng.uniform(-3, 3)
    m.velocity.linear.y = rng.uniform(-1, 1)  # (not read: a diff-drive robot's state carries none)
    m.battery_percentage = rng.uniform(0, 100)
    m.charging = rng.random() < 0.5
    m.current_task_id = rng.choice(WORDS)
    m.task_progress = rng.random()
    m.errors = [rng.choice(WORDS) for _ in range(rng.randrange(0, 4))]
    return m


def test_every_field_reads_as_rclpy_reads_it():
    rng = random.Random(7)
    for _ in range(2000):
        data = serialize_message(_message(rng))
        assert state_cdr.robot_report(data) == conversions.robot_report(deserialize_message(data, RobotState))


def test_a_message_cut_short_or_of_another_layout_is_refused_never_misread():
    rng = random.Random(8)
    refused = 0
    for _ in range(200):
        data = serialize_message(_message(rng))
        expected = conversions.robot_report(deserialize_message(data, RobotState))
        for end in range(0, len(data) - 1, 3):
            try:
                report = state_cdr.robot_report(data[:end])
            except state_cdr.CdrError:
                refused += 1
                continue
            assert report == expected, end  # only padding was cut: the same state
    assert refused > 1000
    data = bytearray(serialize_message(_message(rng)))
    data[1] = 0  # big endian: rclpy's to read
    with pytest.raises(state_cdr.CdrError, match="little-endian"):
        state_cdr.robot_report(bytes(data))
