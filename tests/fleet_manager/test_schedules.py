from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from fleet_manager.core.errors import InvalidInput
from fleet_manager.core.schedules import next_run, parse_clock, zone

SEOUL = ZoneInfo("Asia/Seoul")
HALF_HOUR = timedelta(minutes=30)


def at(day: int, hh: int, mm: int, tz=SEOUL) -> datetime:
    return datetime(2026, 11, day, hh, mm, tzinfo=tz)


def test_every_30_minutes_between_9_and_18():
    window = (time(9, 0), time(18, 0))
    assert next_run(at(24, 7, 12), HALF_HOUR, *window, SEOUL) == at(24, 9, 0)  # before the window: its start
    assert next_run(at(24, 9, 0), HALF_HOUR, *window, SEOUL) == at(24, 9, 30)  # strictly after
    assert next_run(at(24, 9, 10), HALF_HOUR, *window, SEOUL) == at(24, 9, 30)
    assert next_run(at(24, 17, 31), HALF_HOUR, *window, SEOUL) == at(24, 18, 0)  # the end is a slot
    assert next_run(at(24, 18, 0), HALF_HOUR, *window, SEOUL) == at(25, 9, 0)  # after it: tomorrow
    # the same instant given in UTC (09:10 KST is 00:10 UTC)
    assert next_run(datetime(2026, 11, 24, 0, 10, tzinfo=UTC), HALF_HOUR, *window, SEOUL) == at(24, 9, 30)


def test_no_window_and_a_window_over_midnight():
    assert next_run(at(24, 10, 7), timedelta(hours=4), None, None, SEOUL) == at(24, 12, 0)
    assert next_run(at(24, 23, 59), timedelta(hours=4), None, None, SEOUL) == at(25, 0, 0)
    night = (time(22, 0), time(2, 0))
    assert next_run(at(24, 23, 45), timedelta(hours=1), *night, SEOUL) == at(25, 0, 0)
    assert next_run(at(25, 2, 30), timedelta(hours=1), *night, SEOUL) == at(25, 22, 0)


def test_bad_times_and_zones_are_named():
    assert parse_clock("09:30", "between[0]") == time(9, 30)
    with pytest.raises(InvalidInput, match=r"between\[1\]: expected a time of day HH:MM, got '25:00'"):
        parse_clock("25:00", "between[1]")
    with pytest.raises(InvalidInput, match="unknown time zone 'Mars/Olympus'"):
        zone("Mars/Olympus")
