from __future__ import annotations

import asyncio
import json

from fleet_manager.telemetry.hub import EVENT_QUEUE, TelemetryHub


def test_states_coalesce_per_robot_and_events_are_bounded():
    async def scenario():
        hub = TelemetryHub(asyncio.get_running_loop())
        slow = hub.connect()
        for i in range(1000):
            hub.publish_state("r1", {"type": "robot_state", "id": "r1", "seq": i})
            hub.publish_state("r2", {"type": "robot_state", "id": "r2", "seq": i})
        for i in range(EVENT_QUEUE + 50):
            hub.publish_event({"type": "mission_event", "seq": i})
        frames = [json.loads(f) for f in slow.take()]
        events = [f for f in frames if f["type"] == "mission_event"]
        states = [f for f in frames if f["type"] == "robot_state"]
        assert len(events) == EVENT_QUEUE and events[0]["seq"] == 50 and slow.dropped_events == 50
        assert sorted((s["id"], s["seq"]) for s in states) == [("r1", 999), ("r2", 999)]
        assert slow.take() == []

        late = hub.connect()  # a new client starts with the latest state of every robot
        assert sorted(json.loads(f)["id"] for f in late.take()) == ["r1", "r2"]
        hub.disconnect(slow)
        hub.publish_state("r1", {"type": "robot_state", "id": "r1", "seq": 1000})
        assert slow.take() == [] and len(late.take()) == 1

    asyncio.run(scenario())


def test_events_from_worker_threads_arrive_on_the_loop():
    async def scenario():
        hub = TelemetryHub(asyncio.get_running_loop())
        client = hub.connect()
        client.take()
        await asyncio.to_thread(hub.publish_event, {"type": "mission_event", "seq": 1})
        await asyncio.wait_for(client.wake.wait(), timeout=2)
        assert [json.loads(f)["seq"] for f in client.take()] == [1]

    asyncio.run(scenario())


def test_a_client_whose_send_blocks_holds_a_bounded_backlog_and_does_not_hold_up_the_others():
    async def scenario():
        hub = TelemetryHub(asyncio.get_running_loop())
        stalled, reader = hub.connect("stalled"), hub.connect("reader")
        never = asyncio.Event()
        received: list[dict] = []

        async def stuck(_frame: str) -> None:  # a client that stopped reading: its send never returns
            await never.wait()

        async def read(frame: str) -> None:
            received.append(json.loads(frame))

        pumps = [asyncio.create_task(stalled.pump(stuck)), asyncio.create_task(reader.pump(read))]
        for i in range(500):
            for rid in ("r1", "r2", "r3"):
                hub.publish_state(rid, {"type": "robot_state", "id": rid, "seq": i})
            if i % 2:
                hub.publish_event({"type": "mission_event", "seq": i})
            await asyncio.sleep(0)  # the reader's pump runs between publications
        await asyncio.sleep(0.01)
        stats = {c["peer"]: c for c in hub.stats()["clients"]}
        assert stats["stalled"]["sending"] and stats["stalled"]["sent"] == 0
        assert stats["stalled"]["queued_states"] == 3  # coalesced: one per robot, never more
        assert stats["stalled"]["queued_events"] == 250  # the frame stuck in the send is r1's first state
        assert stats["stalled"]["replaced_states"] >= 3 * 499 - 3
        assert stats["reader"]["queued_states"] == 0 and not stats["reader"]["sending"]
        assert max(f["seq"] for f in received if f.get("id") == "r3") == 499  # the reader got the newest
        for i in range(EVENT_QUEUE + 10):
            hub.publish_event({"type": "mission_event", "seq": 1000 + i})
        await asyncio.sleep(0.01)
        stalled_stats = next(c for c in hub.stats()["clients"] if c["peer"] == "stalled")
        assert stalled_stats["queued_events"] == EVENT_QUEUE and stalled_stats["dropped_events"] == 260
        assert stalled_stats["queued_bytes"] < (EVENT_QUEUE + 4) * 100
        for pump in pumps:
            pump.cancel()
        await asyncio.gather(*pumps, return_exceptions=True)

    asyncio.run(scenario())
