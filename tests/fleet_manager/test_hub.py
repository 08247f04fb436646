from __future__ import annotations

import asyncio
import json

from fleet_manager.telemetry.hub import EVENT_QUEUE, TOO_SLOW, TelemetryHub, stream


def _states(frame: str) -> dict[str, int]:
    """robot id -> seq of a robot_states frame."""
    parsed = json.loads(frame)
    assert parsed["type"] == "robot_states" and parsed["v"] == 2
    return {s["id"]: s["seq"] for s in parsed["states"]}


def test_a_tick_sends_the_newest_state_of_each_robot_that_changed_in_one_frame_shared_by_all_clients():
    async def scenario():
        hub = TelemetryHub(asyncio.get_running_loop(), tick_hz=1000)
        a, b = hub.connect("a"), hub.connect("b")
        for i in range(1000):
            hub.publish_state("r1", {"id": "r1", "seq": i})
            hub.publish_state("r2", {"id": "r2", "seq": i})
        assert a.take() == [] and hub.ticks == 0  # nothing before the tick
        await asyncio.sleep(0.05)
        assert hub.ticks == 1
        assert a.shared is b.shared  # encoded once: the very same text for every client that keeps up
        frames_a, frames_b = a.take(), b.take()
        assert frames_a == frames_b and [_states(f) for f in frames_a] == [{"r1": 999, "r2": 999}]
        hub.publish_state("r2", {"id": "r2", "seq": 1000})
        await asyncio.sleep(0.05)
        assert [_states(f) for f in a.take()] == [{"r2": 1000}]  # only what changed
        await asyncio.sleep(0.05)
        assert hub.ticks == 2 and a.take() == []  # no change, no tick, no frame

        late = hub.connect()  # a new client starts with the latest state of every robot
        assert [_states(f) for f in late.take()] == [{"r1": 999, "r2": 1000}]
        hub.disconnect(a)
        hub.publish_state("r1", {"id": "r1", "seq": 1001})
        await asyncio.sleep(0.05)
        assert a.take() == [] and [_states(f) for f in late.take()] == [{"r1": 1001}]
        hub.close()

    asyncio.run(scenario())


def test_events_from_worker_threads_arrive_on_the_loop_and_an_events_only_tap_gets_no_states():
    async def scenario():
        hub = TelemetryHub(asyncio.get_running_loop(), tick_hz=1000)
        hub.publish_state("r1", {"id": "r1", "seq": 0})
        client, tap = hub.connect(), hub.connect(states=False)
        await asyncio.sleep(0.05)  # the tick
        assert [_states(f) for f in client.take()] == [{"r1": 0}]  # once: not in its first frame and in the tick's
        await asyncio.to_thread(hub.publish_event, {"type": "mission_event", "seq": 1})
        await asyncio.wait_for(client.wake.wait(), timeout=2)
        assert [json.loads(f)["seq"] for f in client.take()] == [1]
        for i in range(EVENT_QUEUE + 10):  # the lab's own tap takes every event, without a bound
            hub.publish_event({"type": "mission_event", "seq": i})
        hub.publish_state("r1", {"id": "r1", "seq": 1})
        await asyncio.sleep(0.05)
        frames = [json.loads(f) for f in tap.take()]
        assert [f["seq"] for f in frames] == [1, *range(EVENT_QUEUE + 10)] and not tap.too_slow
        hub.close()

    asyncio.run(scenario())


def test_a_client_whose_send_blocks_holds_one_frame_and_does_not_hold_up_the_others():
    async def scenario():
        hub = TelemetryHub(asyncio.get_running_loop(), tick_hz=1000)
        stalled, reader = hub.connect("stalled"), hub.connect("reader")
        release = asyncio.Event()
        received: list[dict] = []
        sent_by_stalled: list[str] = []
        closed: list[tuple[int, str]] = []

        async def stuck(frame: str) -> None:  # a client that stopped reading: its send waits
            await release.wait()
            sent_by_stalled.append(frame)

        async def read(frame: str) -> None:
            received.append(json.loads(frame))

        async def close(code: int, reason: str) -> None:
            closed.append((code, reason))

        pumps = [asyncio.create_task(stream(stalled, stuck, close)),
                 asyncio.create_task(stream(reader, read, close))]
        for i in range(300):
            for rid in ("r1", "r2", "r3"):
                hub.publish_state(rid, {"id": rid, "seq": i})
            if i % 2:
                hub.publish_event({"type": "mission_event", "seq": i})
            await asyncio.sleep(0.002)  # ticks and the reader's pump run between publications
        await asyncio.sleep(0.01)
        stats = {c["peer"]: c for c in hub.stats()["clients"]}
        assert stats["stalled"]["sending"] and stats["stalled"]["sent"] == 0
        assert stats["stalled"]["queued_states"] == 3  # coalesced: the robots it misses, never a queue of frames
        assert stats["stalled"]["replaced_states"] > 3 * 100
        assert stats["stalled"]["queued_events"] == 150
        assert stats["reader"]["queued_states"] == 0 and not stats["reader"]["sending"]
        newest = {}
        for frame in received:
            if frame["type"] == "robot_states":
                newest.update({s["id"]: s["seq"] for s in frame["states"]})
        assert newest == {"r1": 299, "r2": 299, "r3": 299}  # the reader got the newest of every robot
        assert [f["seq"] for f in received if f["type"] == "mission_event"] == list(range(1, 300, 2))  # all, in order

        release.set()  # the stalled client reads again: every event, then one frame of the newest states
        await asyncio.sleep(0.05)
        frames = [json.loads(f) for f in sent_by_stalled]
        assert [f["seq"] for f in frames if f["type"] == "mission_event"] == list(range(1, 300, 2))
        state_frames = [f for f in frames if f["type"] == "robot_states"]
        assert len(state_frames) == 2  # the one it was sending, and one with what it missed
        assert {s["id"]: s["seq"] for s in state_frames[-1]["states"]} == {"r1": 299, "r2": 299, "r3": 299}
        assert closed == []
        for pump in pumps:
            pump.cancel()
        await asyncio.gather(*pumps, return_exceptions=True)
        hub.close()

    asyncio.run(scenario())


def test_a_client_that_falls_too_far_behind_on_events_is_closed_never_silently_short_of_one():
    async def scenario():
        hub = TelemetryHub(asyncio.get_running_loop())
        slow = hub.connect("slow")
        release = asyncio.Event()
        got: list[str] = []
        closed: list[tuple[int, str]] = []

        async def stuck(frame: str) -> None:
            await release.wait()
            got.append(frame)

        async def close(code: int, reason: str) -> None:
            closed.append((code, reason))

        pump = asyncio.create_task(stream(slow, stuck, close))
        hub.publish_event({"type": "mission_event", "seq": 0})
        await asyncio.sleep(0.01)  # its pump takes the first event and waits in the send
        for i in range(1, EVENT_QUEUE + 2):
            hub.publish_event({"type": "mission_event", "seq": i})
        assert slow.too_slow and len(slow.events) == EVENT_QUEUE and not closed  # and one in its stuck send
        release.set()
        await asyncio.wait_for(pump, timeout=2)
        assert closed and closed[0][0] == TOO_SLOW and "reconnect" in closed[0][1]
        assert [json.loads(f)["seq"] for f in got] == [0]  # what it was sending; the rest on reconnecting
        hub.close()

    asyncio.run(scenario())
