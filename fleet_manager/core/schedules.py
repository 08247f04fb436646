"""Recurring schedules: when the next mission of "every N minutes between HH:MM and HH:MM" is due."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from fleet_manager.core.errors import InvalidInput


def parse_clock(value: str, field: str) -> time:
    try:
        hours, minutes = value.split(":")
        return time(int(hours), int(minutes))
    except (ValueError, AttributeError):
        raise InvalidInput(f"{field}: expected a time of day HH:MM, got {value!r}", field=field) from None


def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidInput(f"timezone: unknown time zone {name!r}", field="timezone") from None


def next_run(after: datetime, every: timedelta, start: time | None, end: time | None, tz: ZoneInfo) -> datetime:
    """The first slot strictly after `after` (aware). Slots are start + k * every, up to end, each day;
    with no window they are every `every` from midnight. A window whose end is before its start runs
    over midnight."""
    if every <= timedelta(0):
        raise ValueError("every must be positive")
    local = after.astimezone(tz)
    first = start or time(0, 0)
    for day in range(-1, 3):
        date = local.date() + timedelta(days=day)
        begin = datetime.combine(date, first, tz)
        if end is None:
            stop = begin + timedelta(days=1) - timedelta(microseconds=1)
        else:
            stop = datetime.combine(date, end, tz)
            if stop < begin:
                stop += timedelta(days=1)
        if stop <= local:
            continue
        if begin > local:
            return begin
        k = (local - begin) // every + 1
        slot = begin + k * every
        if slot <= stop:
            return slot
    raise AssertionError("unreachable: a later day always has a slot")
