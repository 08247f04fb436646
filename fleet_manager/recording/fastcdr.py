"""Hand-written CDR encoders for the high-rate recorded messages: RobotState, Odometry and Twist.

rosbags builds a message object and walks it twice (size, then bytes): ~15 µs for a RobotState,
most of the recorder's cost per robot state (bench/recording.py). These write the same bytes with a
few struct calls. They are never trusted blindly: Codec compares each with rosbags on sample items
when it starts and falls back to rosbags for any that differs (a .msg file changed), and the tests
compare them byte for byte.

Layout (XCDR1, little endian, as ROS 2 rmw writes it): a 4-byte encapsulation header, then fields
aligned to their size relative to the end of that header; a string is uint32 length (with the
terminating NUL), its bytes and the NUL; a fixed array has no length; a sequence a uint32 count.
"""

from __future__ import annotations

import math
import struct
from typing import Any

_HEADER = b"\x00\x01\x00\x00"
_U32 = struct.Struct("<I")
_F32 = struct.Struct("<f")
_TIME = struct.Struct("<iI")
_TIME_F64 = struct.Struct("<iId")
_F64X6 = struct.Struct("<6d")
_F64X7 = struct.Struct("<7d")
_F64X9 = struct.Struct("<9d")
_F32_BOOL = struct.Struct("<f?")
_COVARIANCE = bytes(36 * 8)  # float64[36] of zeros: unknown
_SECOND = 1_000_000_000


def _pad(buf: bytearray, size: int) -> None:
    gap = -(len(buf) - 4) % size
    if gap:
        buf += bytes(gap)


def _string(buf: bytearray, text: str) -> None:
    _pad(buf, 4)
    data = text.encode()
    buf += _U32.pack(len(data) + 1)
    buf += data
    buf.append(0)


def robot_state(item: tuple[Any, ...]) -> bytes:
    (_, _, rid, kind, model, mode, x, y, yaw, linear, angular, battery, charging, task_id, progress, errors,
     stamp_s, wall_time) = item
    sec, nanosec = divmod(round(stamp_s * 1e9), _SECOND)
    buf = bytearray(_HEADER)
    buf += _TIME_F64.pack(sec, nanosec, wall_time)
    _string(buf, rid)
    _string(buf, kind)
    _string(buf, model)
    buf.append(mode)
    _pad(buf, 8)
    buf += _F64X9.pack(x, y, yaw, linear, 0.0, 0.0, 0.0, 0.0, angular)
    buf += _F32_BOOL.pack(battery, charging)
    _string(buf, task_id)
    _pad(buf, 4)
    buf += _F32.pack(progress)
    buf += _U32.pack(len(errors))
    for error in errors:
        _string(buf, error)
    return bytes(buf)


def odometry(item: tuple[Any, ...]) -> bytes:
    _, t_ns, rid, x, y, yaw, linear, angular = item
    buf = bytearray(_HEADER)
    buf += _TIME.pack(*divmod(t_ns, _SECOND))
    _string(buf, f"{rid}/odom")
    _string(buf, f"{rid}/base_link")
    _pad(buf, 8)
    buf += _F64X7.pack(x, y, 0.0, 0.0, 0.0, math.sin(yaw / 2), math.cos(yaw / 2))
    buf += _COVARIANCE
    buf += _F64X6.pack(linear, 0.0, 0.0, 0.0, 0.0, angular)
    buf += _COVARIANCE
    return bytes(buf)


def twist(item: tuple[Any, ...]) -> bytes:
    _, _, _, linear, angular = item
    return _HEADER + _F64X6.pack(linear, 0.0, 0.0, 0.0, 0.0, angular)
