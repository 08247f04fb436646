"""Time limits on awaits that never lose a cancellation.

On Python 3.11, `asyncio.wait_for(aw, t)` swallows a cancellation that arrives in the loop turn in which `aw`
completes: it returns the result, and the task that was cancelled runs on. A loop around
`wait_for(event.wait(), t)` then never ends once its task is cancelled just as the event is set: the dispatcher
did so (bench/request_cost.py --only submit never exited, and a lab's stop could wait for ever), and the Nav2 and
VDA 5050 jobs wait for their wake-up events the same way. `asyncio.timeout` raises the cancellation
(tests/fleet_manager/test_aio.py)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import TypeVar

T = TypeVar("T")


async def within(aw: Awaitable[T], timeout: float) -> T:
    """`await aw`, TimeoutError after `timeout` seconds (as asyncio.wait_for); a cancellation is always raised."""
    async with asyncio.timeout(timeout):
        return await aw


async def wait_event(event: asyncio.Event, timeout: float) -> bool:
    """Whether `event` is set within `timeout` seconds; a cancellation is always raised."""
    try:
        await within(event.wait(), timeout)
    except TimeoutError:
        return False
    return True
