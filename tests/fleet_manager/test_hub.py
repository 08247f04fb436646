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
