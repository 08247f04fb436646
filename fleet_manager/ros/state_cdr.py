"""RobotState read straight from its CDR bytes, without building the rclpy message.

At a city fleet's rate (500 robots at 10 Hz) the bridge's ROS thread spent most of its time making Python message
objects (a RobotState holds a Time, a Pose2D, a Twist of two Vector3 and a list) only to copy nine numbers and four
strings out of them. The bridge subscribes raw and reads the bytes here with a few struct calls.

Layout (XCDR1 as ROS 2's rmw writes it, the mirror of recording/fastcdr.robot_state): a 4-byte encapsulation
header (little endian here: byte 1 is 1), then fields aligned to their size from the end of the header; a
string is a uint32 length (the terminating NUL included), its bytes and the NUL; a sequence a uint32 count.
Anything that does not fit (a truncated message, another layout) raises CdrError: the bridge then falls back to
rclpy's deserialisation, so a changed .msg file costs speed, never a state. Tests compare with rclpy's bytes.
"""

from __future__ import annotations

import struct

from fleet_manager.core.robots import MODE_BY_CODE, RobotMode, RobotReport


class CdrError(ValueError):
    """The bytes are not a RobotState as this reader knows it."""


_TIME = struct.Struct("<iId")
_U32 = struct.Struct("<I")
_POSE_TWIST = struct.Struct("<9d")
_F32_BOOL = struct.Struct("<f?")
_F32 = struct.Struct("<f")


def _string(data: bytes, at: int) -> tuple[str, int]:
    at += -(at - 4) % 4
    (size,) = _U32.unpack_from(data, at)
    at += 4
    end = at + size
    if size == 0 or end > len(data) or data[end - 1] != 0:
        raise CdrError(f"a string of {size} bytes at {at - 4} does not fit {len(data)} bytes")
    return data[at:end - 1].decode(), end


def robot_report(data: bytes) -> RobotReport:
    """The RobotReport of a serialized labfleet_interfaces/msg/RobotState (CdrError if it is not one)."""
    if len(data) < 4 or data[1] != 1:
        raise CdrError("not little-endian CDR")  # (a big-endian robot's: rclpy reads those)
    try:
        sec, nanosec, wall_time = _TIME.unpack_from(data, 4)
        rid, at = _string(data, 20)
        kind, at = _string(data, at)
        model, at = _string(data, at)
        code = data[at]
        at += 1
        at += -(at - 4) % 8
        x, y, yaw, linear, _, _, _, _, angular = _POSE_TWIST.unpack_from(data, at)
        battery, charging = _F32_BOOL.unpack_from(data, at + 72)
        task_id, at = _string(data, at + 77)
        at += -(at - 4) % 4
        (progress,) = _F32.unpack_from(data, at)
        (count,) = _U32.unpack_from(data, at + 4)
        at += 8
        if count > len(data) - at:
            raise CdrError(f"{count} errors cannot fit the {len(data) - at} bytes left")
        errors = []
        for _ in range(count):
            error, at = _string(data, at)
            errors.append(error)
    except (struct.error, IndexError, UnicodeDecodeError) as exc:
        raise CdrError(str(exc)) from exc
    return RobotReport(
        id=rid, kind=kind, model=model,
        mode=MODE_BY_CODE[code] if code < len(MODE_BY_CODE) else RobotMode.ERROR,
        x=x, y=y, yaw=yaw, linear=linear, angular=angular,
        battery=battery, charging=charging, task_id=task_id, task_progress=progress, errors=tuple(errors),
        stamp=sec + nanosec * 1e-9, wall_time=wall_time,
    )
