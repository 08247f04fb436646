"""fleet_manager/aio.py: a task cancelled in the loop turn in which what it waits for completes is cancelled (on
Python 3.11 `asyncio.wait_for` returned the result instead, and a loop around it ran on for ever)."""

from __future__ import annotations

import asyncio
import contextlib

import pytest

from fleet_manager.aio import wait_event, within


async def _loop_on_event(event: asyncio.Event) -> None:
    while True:
        await wait_event(event, 0.5)
        event.clear()


async def _loop_on_within(event: asyncio.Event) -> None:
    while True:
        with contextlib.suppress(TimeoutError):
            await within(event.wait(), 0.5)
        event.clear()


@pytest.mark.parametrize("loop", [_loop_on_event, _loop_on_within])
def test_a_loop_cancelled_as_its_event_is_set_ends(loop: object) -> None:
    async def scenario() -> None:
        for _ in range(20):
            event = asyncio.Event()
            task = asyncio.create_task(loop(event))  # type: ignore[operator]
            for _ in range(3):
                await asyncio.sleep(0)
            event.set()
            task.cancel()  # the same turn: the wait completes and the task is cancelled
            with pytest.raises(asyncio.CancelledError):
                await asyncio.wait_for(task, 1.0)

    asyncio.run(scenario())


def test_the_waits_answer_as_before() -> None:
    async def scenario() -> None:
        event = asyncio.Event()
        assert not await wait_event(event, 0.01)
        asyncio.get_running_loop().call_later(0.01, event.set)
        assert await wait_event(event, 1.0)
        assert await within(asyncio.sleep(0, "done"), 1.0) == "done"
        with pytest.raises(TimeoutError):
            await within(asyncio.sleep(1.0), 0.01)

    asyncio.run(scenario())
